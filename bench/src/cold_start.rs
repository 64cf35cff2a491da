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

pub fn run(binaries: &Binaries, settings: &Settings) -> Result<Table, String> {
    let scratch = Scratch::new("cold-start")?;
    let servers = [&binaries.bench_app, &binaries.baseline];
    let mut starts: [Vec<Start>; 2] = [Vec::new(), Vec::new()];
    // One unmeasured start each, so both binaries are in the page cache.
    for binary in servers {
        start_once(binary, &scratch.0)?;
    }
    for round in 0..settings.cold_start_rounds {
        let order = if round.is_multiple_of(2) { [0, 1] } else { [1, 0] };
        for which in order {
            starts[which].push(start_once(servers[which], &scratch.0)?);
        }
    }
    Ok(tabulate(&starts, settings))
}

/// Spawns, polls `GET /` every millisecond until answered, sends one invocation, kills.
fn start_once(binary: &Path, workdir: &Path) -> Result<Start, String> {
    let mut server = Server::spawn(binary, workdir)?;
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

fn tabulate(starts: &[Vec<Start>; 2], settings: &Settings) -> Table {
    let method = format!(
        "The runner spawns the process with `FUNCTIONS_CUSTOMHANDLER_PORT` set (as the host does), polls \
         `GET /` every 1 ms on fresh connections until any answer (the host polls every 25 ms), then sends \
         one `POST /hello` invocation on a new connection. Times are from just before `spawn` to the answer, \
         so they include fork/exec and the dynamic loader. `bench-app` has 50 functions; `baseline` is the \
         hand-written hyper server. {} starts each, alternating, after one unmeasured start each; medians.",
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
    let ready_median = [median(&ready[0]), median(&ready[1])];
    table.row(vec![
        "spawn → first `GET /` answered".into(),
        table::ms(ready_median[0]),
        table::ms(ready_median[1]),
        table::ratio(ready_median[0] / ready_median[1]),
        table::ms(ready_median[0] - ready_median[1]),
        format!("≤ {READY_TARGET_MS} ms"),
        table::verdict(ready_median[0] <= READY_TARGET_MS),
    ]);
    let first_median = [median(&first[0]), median(&first[1])];
    table.row(vec![
        "spawn → first invocation answered".into(),
        table::ms(first_median[0]),
        table::ms(first_median[1]),
        table::ratio(first_median[0] / first_median[1]),
        table::ms(first_median[0] - first_median[1]),
        String::new(),
        String::new(),
    ]);
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
