//! Memory: resident set of the server idle, and with 1,000 invocations in flight at once.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::Settings;
use crate::binaries::Binaries;
use crate::load::{build, connect, exchange};
use crate::process::{Scratch, Server};
use crate::requests::RequestSpec;
use crate::stats::median;
use crate::table::{self, Table};

/// Target of issue 8: idle RSS at most 10 MB.
const IDLE_TARGET_KIB: f64 = 10.0 * 1000.0 * 1000.0 / 1024.0;

/// How long one request of the burst may take before it counts as failed; `nap` takes 200 ms.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads one of a [`Sample`]'s figures.
type Field = fn(&Sample) -> f64;

/// RSS samples of one server's life, in KiB.
struct Sample {
    idle: f64,
    peak: f64,
    after: f64,
}

pub async fn run(binaries: &Binaries, settings: &Settings) -> Result<Table, String> {
    let scratch = Scratch::new("memory")?;
    let servers = [&binaries.bench_app, &binaries.baseline];
    let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
    for round in 0..settings.memory_rounds {
        let order = if round.is_multiple_of(2) { [0, 1] } else { [1, 0] };
        for which in order {
            samples[which].push(measure(servers[which], &scratch.0, settings.concurrent).await?);
        }
    }
    Ok(tabulate(&samples, settings))
}

/// Starts the server, reads its idle RSS, sends `concurrent` sleeping invocations at once on as
/// many connections, samples RSS until all are answered, then once more after they drained.
async fn measure(binary: &Path, workdir: &Path, concurrent: usize) -> Result<Sample, String> {
    let mut server = Server::spawn(binary, workdir)?;
    server.wait_ready()?;
    // Lets start-up work (thread stacks touched, lazy statics) settle before reading "idle".
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = server.memory_kib("VmRSS")? as f64;

    // Every connection is open before any request is sent, so the requests overlap fully.
    let barrier = Arc::new(Barrier::new(concurrent + 1));
    let mut burst = JoinSet::new();
    for _ in 0..concurrent {
        burst.spawn(nap_once(server.address, Arc::clone(&barrier)));
    }
    barrier.wait().await;
    let mut peak = idle;
    let mut failures = Vec::new();
    loop {
        tokio::select! {
            joined = burst.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(failure))) => failures.push(failure),
                Some(Err(join_error)) => failures.push(format!("a request task failed: {join_error}")),
            },
            () = tokio::time::sleep(Duration::from_millis(5)) => {
                peak = peak.max(server.memory_kib("VmRSS")? as f64);
            }
        }
    }
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} of {concurrent} concurrent invocations of {} failed; first: {first}",
            failures.len(),
            binary.display()
        ));
    }
    // The kernel's own high-water mark catches a peak between two samples.
    peak = peak.max(server.memory_kib("VmHWM")? as f64);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.memory_kib("VmRSS")? as f64;
    Ok(Sample { idle, peak, after })
}

/// One `POST /nap` invocation on its own connection, sent when `barrier` opens.
async fn nap_once(address: SocketAddr, barrier: Arc<Barrier>) -> Result<(), String> {
    let connected = connect(address).await;
    // Waits even when the connection failed, so the barrier always opens.
    barrier.wait().await;
    let mut sender = connected?;
    let spec = RequestSpec::invocation("/nap");
    let request = build(&spec)?;
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&mut sender, request)).await {
        Ok(Ok((200, body))) if String::from_utf8_lossy(&body).contains(spec.expect) => Ok(()),
        Ok(Ok((status, body))) => Err(format!("status {status}: {}", String::from_utf8_lossy(&body))),
        Ok(Err(failure)) => Err(failure),
        Err(_) => Err(format!("no answer within {REQUEST_TIMEOUT:?}")),
    }
}

fn tabulate(samples: &[Vec<Sample>; 2], settings: &Settings) -> Table {
    let method = format!(
        "VmRSS from `/proc/<pid>/status`. Idle: 300 ms after the first `GET /` was answered, before any \
         invocation. Under load: {} connections opened first, then one `POST /nap` invocation on each at \
         once (`nap` sleeps 200 ms, so all are in flight together); the peak is the largest of RSS sampled \
         every 5 ms and the kernel's VmHWM. After: 500 ms after the last answer. {} starts each, alternating; \
         medians. The baseline's `/nap` parses the same envelope and sleeps the same 200 ms.",
        settings.concurrent, settings.memory_rounds
    );
    let mut table = Table::new(
        "Memory",
        &method,
        &[
            "metric",
            "azfn (bench-app)",
            "baseline",
            "azfn / baseline",
            "target",
            "",
        ],
    );
    let column =
        |which: usize, f: fn(&Sample) -> f64| -> f64 { median(&samples[which].iter().map(f).collect::<Vec<_>>()) };
    let rows: [(&str, Field); 3] = [
        ("idle RSS", |s| s.idle),
        ("peak RSS, 1,000 invocations in flight", |s| s.peak),
        ("RSS after the burst", |s| s.after),
    ];
    for (index, (label, field)) in rows.into_iter().enumerate() {
        let (ours, theirs) = (column(0, field), column(1, field));
        let (target, verdict) = if index == 0 {
            ("≤ 10 MB".to_owned(), table::verdict(ours <= IDLE_TARGET_KIB))
        } else {
            (String::new(), String::new())
        };
        let label = label.replace("1,000", &settings.concurrent.to_string());
        table.row(vec![
            label,
            table::mib(ours),
            table::mib(theirs),
            table::ratio(ours / theirs),
            target,
            verdict,
        ]);
    }
    table
}
