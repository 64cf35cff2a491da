//! Throughput and latency of one function, azfn against the baseline: the envelope path
//! (`POST /hello`) or forwarding mode (`GET /api/hello?name=x`).

use std::time::Duration;

use crate::Settings;
use crate::binaries::Binaries;
use crate::load::{self, LoadReport};
use crate::process::{Scratch, Server, request_blocking};
use crate::requests::{HELLO_ENVELOPE, RequestSpec};
use crate::stats::median;
use crate::table::{self, Table};

/// Targets of issue 8: azfn's throughput at least 0.9× the baseline's, its p99 at most 1.2×.
const THROUGHPUT_TARGET: f64 = 0.9;
const P99_TARGET: f64 = 1.2;

#[derive(Clone, Copy)]
pub enum Mode {
    /// Invocations in the JSON envelope, as every host sends them.
    Envelope,
    /// HTTP requests forwarded as the client sent them (`enableForwardingHttpRequest`).
    Forwarding,
}

pub async fn run(binaries: &Binaries, settings: &Settings, mode: Mode) -> Result<Table, String> {
    let scratch = Scratch::new("throughput")?;
    let mut servers = [
        Server::spawn(&binaries.bench_app, &scratch.0)?,
        Server::spawn(&binaries.baseline, &scratch.0)?,
    ];
    for server in &mut servers {
        server.wait_ready()?;
    }
    let spec = match mode {
        Mode::Envelope => RequestSpec::invocation("/hello"),
        Mode::Forwarding => RequestSpec::forwarded(),
    };
    check_same_answer(&servers[0], &servers[1], &spec, mode)?;

    let mut reports: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for round in 0..settings.load_rounds {
        // ABBA order: whichever runs second in a round runs first in the next, so drift in the
        // machine's other load falls on both alike.
        let order = if round.is_multiple_of(2) { [0, 1] } else { [1, 0] };
        for which in order {
            let address = servers[which].address;
            let warm_up = load::run(address, &spec, settings.connections, settings.load_warm_up).await;
            check_no_failures(&warm_up, which)?;
            let cpu_before = servers[which].cpu_time()?;
            let report = load::run(address, &spec, settings.connections, settings.load_duration).await;
            let cpu = servers[which].cpu_time()?.saturating_sub(cpu_before);
            check_no_failures(&report, which)?;
            reports[which].push(Round { report, cpu });
        }
    }
    Ok(tabulate(&reports, settings, mode))
}

/// One server's measured round: the load generator's view, and the CPU time the server used.
struct Round {
    report: LoadReport,
    cpu: Duration,
}

impl Round {
    /// The server's CPU time (user and system) per answered request, in microseconds: what each
    /// request costs the server, which depends far less on the machine's other load than the
    /// request rate does.
    fn cpu_per_request_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.report.completed.max(1) as f64
    }
}

fn tabulate(reports: &[Vec<Round>; 2], settings: &Settings, mode: Mode) -> Table {
    let (title, request) = match mode {
        Mode::Envelope => (
            "Invocation throughput and latency (custom-handler envelope)",
            format!(
                "`POST /hello` with the JSON envelope of `GET /api/hello?name=x` ({} bytes, shaped like the recorded \
                 capture)",
                HELLO_ENVELOPE.len()
            ),
        ),
        Mode::Forwarding => (
            "Throughput and latency in forwarding mode",
            "`GET /api/hello?name=x`, forwarded raw (no envelope), answered `Hello, x!`".to_owned(),
        ),
    };
    let method = format!(
        "{request}, on {} keep-alive HTTP/1.1 connections from a closed-loop hyper client in the runner \
         (next request when the previous answer is read), over loopback. `bench-app` (azfn, 50 functions) and \
         `baseline` (hand-written hyper) run side by side; {} rounds of {:?} each (after a {:?} warm-up), \
         alternating which goes first. Figures are medians over rounds; latency percentiles are per round, \
         then the median of those. Client and server share the machine's cores.",
        settings.connections, settings.load_rounds, settings.load_duration, settings.load_warm_up
    );
    let mut table = Table::new(
        title,
        &method,
        &[
            "metric",
            "azfn",
            "baseline",
            "azfn / baseline",
            "target",
            "",
            "azfn rounds",
            "baseline rounds",
        ],
    );
    let per_round = |which: usize, f: &dyn Fn(&Round) -> f64| -> Vec<f64> { reports[which].iter().map(f).collect() };
    let rps = [
        per_round(0, &|r| r.report.requests_per_second()),
        per_round(1, &|r| r.report.requests_per_second()),
    ];
    let cpu = [
        per_round(0, &Round::cpu_per_request_us),
        per_round(1, &Round::cpu_per_request_us),
    ];
    let p50 = [
        per_round(0, &|r| r.report.percentile_us(50.0)),
        per_round(1, &|r| r.report.percentile_us(50.0)),
    ];
    let p99 = [
        per_round(0, &|r| r.report.percentile_us(99.0)),
        per_round(1, &|r| r.report.percentile_us(99.0)),
    ];

    table::load_rows(
        &mut table,
        "requests/s",
        &rps,
        &p50,
        &p99,
        (THROUGHPUT_TARGET, P99_TARGET),
    );
    let cpu_us = |v: f64| format!("{v:.1} µs");
    table.row(vec![
        "server CPU per request".into(),
        cpu_us(median(&cpu[0])),
        cpu_us(median(&cpu[1])),
        table::ratio(median(&cpu[0]) / median(&cpu[1])),
        String::new(),
        String::new(),
        table::rounds(&cpu[0], cpu_us),
        table::rounds(&cpu[1], cpu_us),
    ]);
    let completed: [u64; 2] = [
        reports[0].iter().map(|r| r.report.completed).sum(),
        reports[1].iter().map(|r| r.report.completed).sum(),
    ];
    table.note(format!(
        "{} and {} requests answered (azfn, baseline), none failed; both servers' answers were checked equal \
         before the run.",
        completed[0], completed[1]
    ));
    table
}

fn check_no_failures(report: &LoadReport, which: usize) -> Result<(), String> {
    if report.failed == 0 && report.completed > 0 {
        return Ok(());
    }
    Err(format!(
        "{}: {} of {} requests failed; first failure: {}",
        ["azfn", "baseline"][which],
        report.failed,
        report.failed + report.completed,
        report.first_failure.as_deref().unwrap_or("none recorded")
    ))
}

/// Refuses to compare servers that do not answer alike: the same JSON envelope (compared as
/// JSON) or the same text.
fn check_same_answer(azfn: &Server, baseline: &Server, spec: &RequestSpec, mode: Mode) -> Result<(), String> {
    let body_of = |server: &Server| -> Result<String, String> {
        let (status, raw) = request_blocking(server.address, &spec.raw_head(), &spec.body)?;
        let body = raw.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
        if status != 200 {
            return Err(format!("{} answered {status}: {body}", server.address));
        }
        Ok(body)
    };
    let (ours, theirs) = (body_of(azfn)?, body_of(baseline)?);
    let same = match mode {
        Mode::Envelope => {
            let parse =
                |text: &str| serde_json::from_str::<serde_json::Value>(text).map_err(|e| format!("{e}: {text}"));
            parse(&ours)? == parse(&theirs)?
        }
        Mode::Forwarding => ours == theirs,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "azfn and the baseline answer differently:\n  azfn:     {ours}\n  baseline: {theirs}"
        ))
    }
}
