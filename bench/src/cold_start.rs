//! Cold start: process spawn → first `GET /` answered (ready), and → first invocation answered.

use std::path::Path;

use crate::Settings;
use crate::binaries::Binaries;
use crate::process::{Scratch, Server, request_blocking};
use crate::requests::RequestSpec;
use crate::stats::median;
use crate::table::{self, Table};

/// Target of issue 8: ready within 5 ms, median.
const READY_TARGET_MS: f64 = 5.0;

/// One start: milliseconds to ready, and to the first invocation's answer.
struct Start {
    ready_ms: f64,
    first_invocation_ms: f64,
}

/// What `bench-app` reads to register an async state factory (`App::state_async`).
const ASYNC_STARTUP: [(&str, &str); 1] = [("BENCH_ASYNC_STARTUP", "1")];

pub fn run(binaries: &Binaries, settings: &Settings) -> Result<Table, String> {
    let scratch = Scratch::new("cold-start")?;
    // azfn, the baseline, and azfn with an async state factory.
    let servers: [(&Path, &[(&str, &str)]); 3] = [
        (&binaries.bench_app, &[]),
        (&binaries.baseline, &[]),
        (&binaries.bench_app, &ASYNC_STARTUP),
    ];
    let mut starts: [Vec<Start>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    // One unmeasured start each, so the binaries are in the page cache.
    for (binary, env) in servers {
        start_once(binary, env, &scratch.0)?;
    }
    for round in 0..settings.cold_start_rounds {
        let order = match round % 3 {
            0 => [0, 1, 2],
            1 => [1, 2, 0],
            _ => [2, 0, 1],
        };
        for which in order {
            let (binary, env) = servers[which];
            starts[which].push(start_once(binary, env, &scratch.0)?);
        }
    }
    Ok(tabulate(&starts, settings))
}

/// Spawns, polls `GET /` every millisecond until answered, sends one invocation, kills.
fn start_once(binary: &Path, env: &[(&str, &str)], workdir: &Path) -> Result<Start, String> {
    let mut server = Server::spawn_with_env(binary, workdir, env)?;
    let ready = server.wait_ready()?;
    let spec = RequestSpec::invocation("/hello");
    let (status, answer) = request_blocking(server.address, &spec.raw_head(), &spec.body)?;
    let first_invocation = server.spawned_at.elapsed();
    if status != 200 || !answer.contains(spec.expect) {
        return Err(format!(
            "the first invocation of {} answered {status}: {answer}",
            binary.display()
        ));
    }
    Ok(Start {
        ready_ms: ready.as_secs_f64() * 1000.0,
        first_invocation_ms: first_invocation.as_secs_f64() * 1000.0,
    })
}

fn tabulate(starts: &[Vec<Start>; 3], settings: &Settings) -> Table {
    let method = format!(
        "The runner spawns the process with `FUNCTIONS_CUSTOMHANDLER_PORT` set (as the host does), polls \
         `GET /` every 1 ms on fresh connections until any answer (the host polls every 25 ms), then sends \
         one `POST /hello` invocation on a new connection. Times are from just before `spawn` to the answer, \
         so they include fork/exec and the dynamic loader. `bench-app` has 50 functions; `baseline` is the \
         hand-written hyper server; \"with an async state factory\" is `bench-app` with an `App::state_async` \
         factory that awaits a ready future (`BENCH_ASYNC_STARTUP=1`), which runs before the port answers. \
         {} starts each, in rotating order, after one unmeasured start each; medians.",
        settings.cold_start_rounds
    );
    let mut table = Table::new(
        "Cold start",
        &method,
        &[
            "metric",
            "azfn",
            "baseline",
            "azfn / baseline",
            "azfn − baseline",
            "target",
            "",
        ],
    );
    let ready = [
        starts[0].iter().map(|s| s.ready_ms).collect::<Vec<_>>(),
        starts[1].iter().map(|s| s.ready_ms).collect::<Vec<_>>(),
    ];
    let first = [
        starts[0].iter().map(|s| s.first_invocation_ms).collect::<Vec<_>>(),
        starts[1].iter().map(|s| s.first_invocation_ms).collect::<Vec<_>>(),
    ];
    // A row of azfn's median against the baseline's, with the start-up target where it applies.
    let mut compare = |metric: &str, azfn: f64, baseline: f64, target: Option<f64>| {
        table.row(vec![
            metric.into(),
            table::ms(azfn),
            table::ms(baseline),
            table::ratio(azfn / baseline),
            table::ms(azfn - baseline),
            target.map_or_else(String::new, |target| format!("≤ {target} ms")),
            target.map_or_else(String::new, |target| table::verdict(azfn <= target)),
        ]);
    };
    let ready_median = [median(&ready[0]), median(&ready[1])];
    let first_median = [median(&first[0]), median(&first[1])];
    let with_factory_ready = median(&starts[2].iter().map(|s| s.ready_ms).collect::<Vec<_>>());
    let with_factory_first = median(&starts[2].iter().map(|s| s.first_invocation_ms).collect::<Vec<_>>());
    compare(
        "spawn → first `GET /` answered",
        ready_median[0],
        ready_median[1],
        Some(READY_TARGET_MS),
    );
    compare(
        "spawn → first invocation answered",
        first_median[0],
        first_median[1],
        None,
    );
    compare(
        "spawn → first `GET /` answered, with an async state factory",
        with_factory_ready,
        ready_median[1],
        Some(READY_TARGET_MS),
    );
    compare(
        "spawn → first invocation answered, with an async state factory",
        with_factory_first,
        first_median[1],
        None,
    );
    let spread = |values: &[f64]| {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        format!("{}–{}", table::ms(min), table::ms(max))
    };
    table.note(format!(
        "Range over rounds, ready: azfn {}, baseline {}.",
        spread(&ready[0]),
        spread(&ready[1])
    ));
    table
}
