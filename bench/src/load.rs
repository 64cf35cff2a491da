//! The load generator: K keep-alive HTTP/1.1 connections (hyper client), each sending one
//! request after another for a fixed time, recording every request's latency.
//!
//! Closed-loop, like the host's connection pool: a connection sends its next request when the
//! previous answer is read, so the offered load adapts to the server and the figures compare
//! servers, not queue build-up.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http::header::{CONTENT_TYPE, HOST};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::requests::{INVOCATION_ID, RequestSpec};
use crate::stats::percentile;

/// Time a run may overrun its duration (a request stuck in a server) before it is abandoned.
const OVERRUN: Duration = Duration::from_secs(30);

/// What one run measured.
pub struct LoadReport {
    pub completed: u64,
    pub failed: u64,
    /// The first failure, to report what went wrong.
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    /// Latency of every successful request, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl LoadReport {
    pub fn requests_per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_us(&self, p: f64) -> f64 {
        f64::from(percentile(&self.latencies_us, p))
    }
}

/// What one connection measured.
#[derive(Default)]
struct ConnectionReport {
    completed: u64,
    failed: u64,
    first_failure: Option<String>,
    latencies_us: Vec<u32>,
}

impl ConnectionReport {
    fn fail(&mut self, failure: String) {
        self.failed += 1;
        self.first_failure.get_or_insert(failure);
    }
}

/// Drives `connections` connections to `address` with `spec` for `duration`.
pub async fn run(address: SocketAddr, spec: &RequestSpec, connections: usize, duration: Duration) -> LoadReport {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(address, spec.clone(), deadline)))
        .collect();
    let mut report = LoadReport {
        completed: 0,
        failed: 0,
        first_failure: None,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for task in tasks {
        let connection = match tokio::time::timeout_at((deadline + OVERRUN).into(), task).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(join_error)) => ConnectionReport {
                failed: 1,
                first_failure: Some(format!("a connection task failed: {join_error}")),
                ..ConnectionReport::default()
            },
            Err(_) => ConnectionReport {
                failed: 1,
                first_failure: Some(format!("a connection was still busy {OVERRUN:?} after the run ended")),
                ..ConnectionReport::default()
            },
        };
        report.completed += connection.completed;
        report.failed += connection.failed;
        if report.first_failure.is_none() {
            report.first_failure = connection.first_failure;
        }
        report.latencies_us.extend(connection.latencies_us);
    }
    // Until the last answer: no request starts after the deadline, so this overruns the
    // duration by at most one request's latency.
    report.elapsed = started.elapsed();
    report.latencies_us.sort_unstable();
    report
}

/// One connection: requests back to back until `deadline`.
async fn drive(address: SocketAddr, spec: RequestSpec, deadline: Instant) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    let mut sender = match connect(address).await {
        Ok(sender) => sender,
        Err(failure) => {
            report.fail(failure);
            return report;
        }
    };
    while Instant::now() < deadline {
        if let Err(error) = sender.ready().await {
            report.fail(format!("the connection closed: {error}"));
            return report;
        }
        let request = match build(&spec) {
            Ok(request) => request,
            Err(failure) => {
                report.fail(failure);
                return report;
            }
        };
        let sent = Instant::now();
        match exchange(&mut sender, request).await {
            Ok((200, body)) if contains(&body, spec.expect.as_bytes()) => {
                let micros = sent.elapsed().as_micros();
                report.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
                report.completed += 1;
            }
            Ok((status, body)) => report.fail(format!(
                "status {status}, body {:?}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )),
            Err(failure) => {
                report.fail(failure);
                return report;
            }
        }
    }
    report
}

type Sender = http1::SendRequest<Full<Bytes>>;

/// Opens a keep-alive connection; its driver runs on a task of its own.
pub async fn connect(address: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {address} failed: {e}"))?;
    tokio::spawn(async move {
        // Its end is seen by the sender as an error; nothing more to report here.
        let _ = connection.await;
    });
    Ok(sender)
}

/// The request of `spec`, with the headers the host always sends.
pub fn build(spec: &RequestSpec) -> Result<Request<Full<Bytes>>, String> {
    let mut builder = Request::builder()
        .method(spec.method.clone())
        .uri(spec.path_and_query)
        .header(HOST, "127.0.0.1")
        .header(INVOCATION_ID.0, INVOCATION_ID.1)
        .header("user-agent", "Azure-Functions-Host/4.1037.0");
    if let Some(content_type) = spec.content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    builder
        .body(Full::new(spec.body.clone()))
        .map_err(|e| format!("cannot build the request: {e}"))
}

/// Sends one request and reads the whole answer.
pub async fn exchange(sender: &mut Sender, request: Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?
        .to_bytes();
    Ok((status, body))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
