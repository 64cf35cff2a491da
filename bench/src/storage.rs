//! Queue triggers against real storage: `cargo azfn start` on the quickstart with Azurite
//! (`AzureWebJobsStorage=UseDevelopmentStorage=true`), the host's default polling settings.
//!
//! Two figures, read from the local host's console as it prints them:
//! - enqueue → trigger start: `POST /api/orders` with one order (`accept` enqueues it on
//!   `orders`), from the HTTP answer to `Executing 'Functions.ship'`, one message at a time with
//!   pauses between;
//! - messages per second through the queue-to-queue function `ship` (`orders` → `shipping`):
//!   one request enqueues a batch, timed from its answer to the batch's last `Executed`.
//!
//! There is no baseline: what is measured is the local host's polling (an enqueue by the same
//! host wakes its poller) and Azurite's own speed.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::Settings;
use crate::binaries::{WORKSPACE, cargo};
use crate::process::request_blocking;
use crate::stats::median;
use crate::table::{self, Table};

/// How long the host may take to build the quickstart and start.
const START_PATIENCE: Duration = Duration::from_secs(600);
/// How long one message may take to reach its function.
const MESSAGE_PATIENCE: Duration = Duration::from_secs(60);

/// The local host with its console lines, each with when the runner read it.
struct Host {
    child: Child,
    lines: Receiver<(Instant, String)>,
    address: SocketAddr,
}

impl Drop for Host {
    fn drop(&mut self) {
        // SIGINT, so the host stops its Azurite, which saves its data.
        if let Ok(status) = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            && status.success()
        {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Host {
    /// The next console line containing `needle`, within `patience`.
    fn wait_for(&self, needle: &str, patience: Duration) -> Result<Instant, String> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.contains(needle) => return Ok(at),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(format!("no `{needle}` on the host's console in time")),
                Err(RecvTimeoutError::Disconnected) => return Err(format!("the host ended before `{needle}`")),
            }
        }
    }

    /// Reads lines until none has come for `quiet`: what earlier runs left in the queues runs
    /// before the measures start.
    fn drain(&self, quiet: Duration) {
        while self.lines.recv_timeout(quiet).is_ok() {}
    }

    fn post_orders(&self, orders: &[u32]) -> Result<(), String> {
        let body = serde_json::to_string(
            &orders
                .iter()
                .map(|id| serde_json::json!({"id": id, "item": "tea", "quantity": 1}))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| e.to_string())?;
        let head = format!(
            "POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        let (status, raw) = request_blocking(self.address, &head, body.as_bytes())?;
        if status == 202 {
            Ok(())
        } else {
            Err(format!("POST /api/orders answered {status}: {raw}"))
        }
    }
}

pub fn run(settings: &Settings) -> Result<Table, String> {
    let cli = build_cli()?;
    let host = start(&cli)?;
    host.drain(Duration::from_secs(3));

    let mut latencies_ms = Vec::new();
    for n in 0..settings.storage_messages {
        host.post_orders(&[1_000_000 + n])?;
        let enqueued = Instant::now();
        let started = host.wait_for("Executing 'Functions.ship'", MESSAGE_PATIENCE)?;
        latencies_ms.push(started.saturating_duration_since(enqueued).as_secs_f64() * 1e3);
        host.wait_for("Executed 'Functions.ship'", MESSAGE_PATIENCE)?;
        // Pauses of different lengths, so the poller is met in different states.
        std::thread::sleep(Duration::from_millis(100 + 137 * u64::from(n % 7)));
    }

    let mut rates = Vec::new();
    for round in 0..settings.storage_rounds {
        let batch: Vec<u32> = (0..settings.storage_batch)
            .map(|i| 2_000_000 + round * 100_000 + i)
            .collect();
        host.post_orders(&batch)?;
        let enqueued = Instant::now();
        let mut last = enqueued;
        for _ in 0..batch.len() {
            last = host.wait_for("Executed 'Functions.ship' (Succeeded", MESSAGE_PATIENCE)?;
        }
        rates.push(batch.len() as f64 / last.saturating_duration_since(enqueued).as_secs_f64());
        host.drain(Duration::from_secs(1));
    }
    drop(host);
    Ok(tabulate(&latencies_ms, &rates, settings))
}

/// Builds the tool in release.
fn build_cli() -> Result<PathBuf, String> {
    let status = Command::new(cargo())
        .current_dir(WORKSPACE)
        .args(["build", "--release", "-p", "cargo-azfn"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building cargo-azfn failed: {status}"));
    }
    Ok(PathBuf::from(WORKSPACE).join("target/release/cargo-azfn"))
}

/// `cargo azfn start --release -p quickstart` with development storage, its console read by a
/// thread of its own.
fn start(cli: &PathBuf) -> Result<Host, String> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let mut child = Command::new(cli)
        .current_dir(WORKSPACE)
        .args(["start", "--release", "-p", "quickstart", "--port", &port.to_string()])
        .env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", cli.display()))?;
    let stdout = child.stdout.take().ok_or("no console")?;
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let host = Host {
        child,
        lines,
        address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    };
    host.wait_for("Worker process is ready", START_PATIENCE)?;
    Ok(host)
}

fn tabulate(latencies_ms: &[f64], rates: &[f64], settings: &Settings) -> Table {
    let method = format!(
        "`cargo azfn start --release -p quickstart` with `AzureWebJobsStorage=UseDevelopmentStorage=true` \
         (Azurite from npm, started by the host), default host.json queue settings. Latency: {} messages, one at \
         a time with pauses of 0.1–0.9 s, each `POST /api/orders` with one order, from the HTTP answer (the \
         message is enqueued) to the console's `Executing 'Functions.ship'`. Throughput: {} rounds of one request \
         enqueueing {} orders, from its answer to the last `Executed 'Functions.ship'`; `ship` writes each \
         order to `shipping`. Console lines are timed when the runner reads them.",
        settings.storage_messages, settings.storage_rounds, settings.storage_batch
    );
    let mut sorted = latencies_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted
        .get(((sorted.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN);
    let mut table = Table::new(
        "Queue triggers against Azurite",
        &method,
        &["metric", "median", "p99", "rounds"],
    );
    table.row(vec![
        "enqueue (same host) → trigger start".into(),
        table::ms(median(latencies_ms)),
        table::ms(p99),
        format!("{} messages", latencies_ms.len()),
    ]);
    table.row(vec![
        "messages/s, queue → function → queue".into(),
        format!("{:.0}", median(rates)),
        String::new(),
        table::rounds(rates, |v| format!("{v:.0}")),
    ]);
    table
}
