//! `unary`: calls per second and latency of `GetInstance` at fixed concurrency, both stacks
//! against one sidecar process, rounds in ABBA order, each round on a fresh connection.

use std::time::{Duration, Instant};

use crate::clients::{Client, Stack};
use crate::sidecar::SidecarProcess;
use crate::stats::{median, percentile, process_cpu};

/// A figure of a round: its name in the ratios, and how to read it.
type Figure = (&'static str, fn(&Round) -> f64);

/// What one round measured.
struct Round {
    stack: Stack,
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
    /// This process's CPU time per call (the client's: the server is another process).
    cpu_per_call: Duration,
}

/// The stacks compared, the first the reference of the ratios.
const STACKS: &[Stack] = &[Stack::Hand, Stack::Tonic, Stack::TonicOnHyper];

pub fn run(quick: bool) -> Result<(), String> {
    let (rounds, length) = if quick {
        (1, Duration::from_millis(300))
    } else {
        (8, Duration::from_secs(2))
    };
    let sidecar = SidecarProcess::start()?;
    // Two workers: the machine's two cores, as a Functions worker's runtime has.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!("## Unary GetInstance: hand-written vs. tonic ({rounds} passes of {length:?} per stack, ABBA)\n");
    println!("| concurrency | stack | calls/s | p50 | p99 | client CPU/call |");
    println!("|---|---|---|---|---|---|");
    let mut summary = Vec::new();
    for concurrency in [1usize, 32] {
        let mut results = Vec::new();
        for stack in Stack::abba(STACKS, rounds) {
            let round = runtime.block_on(round(stack, sidecar.port, concurrency, length))?;
            eprintln!(
                "  c={concurrency} {:>12}: {:>8.0} calls/s, p50 {:?}, p99 {:?}, cpu/call {:?}",
                stack.name(),
                round.calls_per_second,
                round.p50,
                round.p99,
                round.cpu_per_call
            );
            results.push(round);
        }
        let of = |stack: Stack, figure: fn(&Round) -> f64| {
            let values: Vec<f64> = results.iter().filter(|r| r.stack == stack).map(figure).collect();
            median(&values)
        };
        let figures: [Figure; 4] = [
            ("calls/s", |r| r.calls_per_second),
            ("p50", |r| r.p50.as_secs_f64() * 1e6),
            ("p99", |r| r.p99.as_secs_f64() * 1e6),
            ("cpu", |r| r.cpu_per_call.as_secs_f64() * 1e6),
        ];
        let row = |stack: Stack| {
            let [rate, p50, p99, cpu] = figures.map(|(_, f)| of(stack, f));
            println!(
                "| {concurrency} | {} | {rate:.0} | {p50:.0} µs | {p99:.0} µs | {cpu:.1} µs |",
                stack.name()
            );
        };
        for &stack in STACKS {
            row(stack);
        }
        for &stack in &STACKS[1..] {
            let ratios = figures.map(|(name, f)| (name, of(stack, f) / of(Stack::Hand, f)));
            summary.push((concurrency, stack, ratios));
        }
    }
    println!("\nMedians of the rounds, each stack ÷ hand-written:\n");
    for (concurrency, stack, ratios) in summary {
        let text: Vec<String> = ratios.iter().map(|(name, r)| format!("{name} {r:.2}×")).collect();
        println!("- concurrency {concurrency}, {}: {}", stack.name(), text.join(", "));
    }
    println!();
    Ok(())
}

/// A fresh client warmed up by 200 calls, then `concurrency` tasks calling for `length`.
async fn round(stack: Stack, port: u16, concurrency: usize, length: Duration) -> Result<Round, String> {
    let client = Client::connect(stack, port).await?;
    for _ in 0..200 {
        client.get_status().await?;
    }
    let cpu_before = process_cpu();
    let started = Instant::now();
    let deadline = started + length;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(100_000);
                while Instant::now() < deadline {
                    let call = Instant::now();
                    client.get_status().await?;
                    latencies.push(call.elapsed());
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    latencies.sort_unstable();
    let calls = latencies.len().max(1);
    Ok(Round {
        stack,
        calls_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        cpu_per_call: cpu / calls as u32,
    })
}
