//! azfn's benchmarks, each figure a ratio to a baseline measured in the same run.
//!
//! ```text
//! cargo run -p azfn-bench --release -- [all|throughput|forwarding|cold-start|grpc|manifest|build|user-build|memory|durable-replay|storage] [--quick]
//! ```
//!
//! Prints one markdown table per scenario (method, medians over rounds, ratios, targets), the
//! way BENCHMARKS.md shows them. The machine is small and shared, so nothing is an absolute
//! figure alone: azfn and its baseline run alternately, round after round, and the ratios of
//! their medians are what the targets apply to. `--quick` shortens every scenario, to check the
//! runner works, not to publish figures.

mod binaries;
mod build_cost;
mod cold_start;
mod durable_replay;
mod grpc;
mod load;
mod machine;
mod manifest;
mod memory;
mod process;
mod requests;
mod stats;
mod storage;
mod table;
mod throughput;
mod user_build;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use binaries::Binaries;
use table::Table;

/// How long and how often each scenario runs.
struct Settings {
    /// Alternating rounds of each server, for throughput and latency.
    load_rounds: usize,
    load_duration: Duration,
    load_warm_up: Duration,
    /// Keep-alive connections of the load generator.
    connections: usize,
    cold_start_rounds: usize,
    manifest_rounds: usize,
    build_rounds: usize,
    memory_rounds: usize,
    /// Invocations in flight at once in the memory scenario.
    concurrent: usize,
    /// Interleaved rounds of the Durable replay scenario, and how long each side's turn lasts.
    replay_rounds: usize,
    replay_round_time: Duration,
    /// Messages timed one at a time, rounds and their batch size, in the storage scenario.
    storage_messages: u32,
    storage_rounds: u32,
    storage_batch: u32,
}

impl Settings {
    fn full() -> Self {
        Settings {
            load_rounds: 6,
            load_duration: Duration::from_secs(5),
            load_warm_up: Duration::from_secs(1),
            connections: 16,
            cold_start_rounds: 30,
            manifest_rounds: 10,
            build_rounds: 5,
            memory_rounds: 3,
            concurrent: 1000,
            replay_rounds: 7,
            replay_round_time: Duration::from_millis(300),
            storage_messages: 30,
            storage_rounds: 3,
            storage_batch: 300,
        }
    }

    fn quick() -> Self {
        Settings {
            load_rounds: 2,
            load_duration: Duration::from_secs(1),
            load_warm_up: Duration::from_millis(200),
            cold_start_rounds: 4,
            manifest_rounds: 2,
            build_rounds: 1,
            memory_rounds: 1,
            replay_rounds: 2,
            replay_round_time: Duration::from_millis(20),
            storage_messages: 5,
            storage_rounds: 1,
            storage_batch: 50,
            ..Settings::full()
        }
    }
}

const SCENARIOS: [&str; 10] = [
    "throughput",
    "forwarding",
    "cold-start",
    "grpc",
    "manifest",
    "build",
    "user-build",
    "memory",
    "durable-replay",
    "storage",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Not a scenario: one history replayed in a loop with nothing else in the process, for
    // `valgrind --tool=callgrind` (BENCHMARKS.md, "Durable replay").
    if args.first().map(String::as_str) == Some("replay-loop") {
        return match durable_replay::replay_loop(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("azfn-bench: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let quick = args.iter().any(|a| a == "--quick");
    let chosen: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let scenarios: Vec<&str> = match chosen.as_slice() {
        [] | ["all"] => SCENARIOS.to_vec(),
        names => names.to_vec(),
    };
    if let Some(unknown) = scenarios.iter().find(|s| !SCENARIOS.contains(s)) {
        eprintln!(
            "azfn-bench: unknown scenario `{unknown}`; choose all, {}",
            SCENARIOS.join(", ")
        );
        return ExitCode::FAILURE;
    }
    let settings = if quick { Settings::quick() } else { Settings::full() };
    let binaries = match Binaries::build() {
        Ok(binaries) => binaries,
        Err(error) => {
            eprintln!("azfn-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("## Machine\n\n{}\n", machine::describe());
    let mut failed = false;
    for scenario in scenarios {
        let started = Instant::now();
        eprintln!("azfn-bench: running {scenario}…");
        match run(scenario, &binaries, &settings) {
            Ok(tables) => {
                for table in tables {
                    println!("{table}");
                }
            }
            Err(error) => {
                failed = true;
                println!("### {scenario}\n\nfailed: {error}\n");
            }
        }
        eprintln!(
            "azfn-bench: {scenario} took {:.0?} (load average now {})",
            started.elapsed(),
            machine::load_average()
        );
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn run(scenario: &str, binaries: &Binaries, settings: &Settings) -> Result<Vec<Table>, String> {
    match scenario {
        "throughput" => with_runtime(throughput::run(binaries, settings, throughput::Mode::Envelope)).map(|t| vec![t]),
        "forwarding" => {
            with_runtime(throughput::run(binaries, settings, throughput::Mode::Forwarding)).map(|t| vec![t])
        }
        "cold-start" => cold_start::run(binaries, settings).map(|t| vec![t]),
        "grpc" => with_runtime(grpc::run(binaries, settings)),
        "manifest" => manifest::run(binaries, settings),
        "build" => build_cost::run(settings),
        "user-build" => user_build::run(settings),
        "memory" => with_runtime(memory::run(binaries, settings)).map(|t| vec![t]),
        "durable-replay" => durable_replay::run(settings),
        "storage" => storage::run(settings).map(|t| vec![t]),
        _ => Err(format!("unknown scenario `{scenario}`")),
    }
}

/// Runs a load scenario on a tokio runtime of its own, with as many workers as cores (as the
/// servers have): client and server share the machine alike for azfn and the baseline.
fn with_runtime<T>(scenario: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?
        .block_on(scenario)
}
