//! Load: 1,000 invocations in flight at once for 30 s, and a 60 s soak whose memory must stay
//! flat, both with zero failed responses.
//!
//! The server is the real one (`custom_handler::serve` on 127.0.0.1:0, with the `#[function]`s
//! below); the clients speak raw HTTP/1.1 over keep-alive TCP connections, as the host does,
//! and check every answer in full: status, and the exact value each request asked for (each
//! request carries its own name, so an answer sent to the wrong request is a failure too).
//! Nothing here asserts a timing: the counts and the memory trend are what must hold.

#[path = "support/memory.rs"]
mod memory;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use azfn::prelude::*;
use memory::{median, resident_kib};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Invocations of `greet` running now, and the most seen at once.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// An HTTP function that takes a little while, so that invocations overlap in the server.
#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn greet(req: HttpRequest) -> String {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    format!("Hello, {}!", req.query("name").unwrap_or("world"))
}

#[derive(Serialize, Deserialize)]
struct Parcel {
    id: u64,
    note: String,
}

/// A queue function: message in (double-encoded JSON, as the host sends it), message out.
#[function(queue_trigger(queue_name = "parcels"), queue_output(queue_name = "sorted"))]
async fn sort(parcel: Parcel) -> Parcel {
    Parcel {
        id: parcel.id,
        note: format!("sorted {}", parcel.note),
    }
}

/// The two tests must not overlap: the soak reads this process's memory, which the other
/// test's thousand connections would swamp.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How long one answer may take before it counts as a failure. Generous: the machine may be
/// busy with other builds, and a slow answer is not what these tests look for.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_invocations_for_thirty_seconds_all_succeed() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start().await;
    let tally = run_load(server.address, 1000, Duration::from_secs(30)).await;
    server.stop().await;

    assert_eq!(
        tally.failed,
        0,
        "{} of {} requests failed; first failures: {:#?}",
        tally.failed,
        tally.failed + tally.completed,
        tally.failures
    );
    assert!(tally.completed > 0, "no request completed");
    assert_eq!(
        tally.idle_clients, 0,
        "connections that never got an answer: the server did not serve all 1,000 at once"
    );
    assert!(
        MOST_IN_FLIGHT.load(Ordering::SeqCst) > 1,
        "invocations never overlapped"
    );
    eprintln!(
        "load: {} requests answered on 1,000 connections, at most {} `greet` invocations in flight at once",
        tally.completed,
        MOST_IN_FLIGHT.load(Ordering::SeqCst)
    );
}

/// Samples of resident memory over the soak, one every `SAMPLE_EVERY`.
const SOAK: Duration = Duration::from_secs(60);
const SAMPLE_EVERY: Duration = Duration::from_secs(3);

/// How much the resident set may grow between the first and the last third of the soak.
///
/// Why 1.5× + 8 MiB: after the first seconds, the allocator's arenas and tokio's per-worker
/// pools have reached the working set of a steady load, and only fluctuate by a few MiB as
/// connections and buffers are reused (in a debug build it moved by less than 0.5 MiB after
/// the first samples); the slack covers that. A leak grows with the request count instead: even
/// a debug build answers some 50,000 requests between the two thirds, so anything above about
/// 300 bytes kept per request breaks the bound, and a leaked invocation (its envelope, the
/// `Invocation`, its outputs) is well over 1 KB. The factor keeps the bound proportionate
/// whatever the starting size, which depends on what ran before in this process.
const GROWTH_FACTOR: f64 = 1.5;
const GROWTH_SLACK_KIB: f64 = 8.0 * 1024.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/self/status")]
async fn memory_stays_flat_over_a_sixty_second_soak() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start().await;
    let load = tokio::spawn(run_load(server.address, 64, SOAK));
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next = started + SAMPLE_EVERY;
    while next <= started + SOAK {
        tokio::time::sleep_until(next).await;
        samples.push(resident_kib());
        next += SAMPLE_EVERY;
    }
    let tally = load.await.expect("the load task ran to its end");
    server.stop().await;

    assert_eq!(
        tally.failed, 0,
        "{} requests failed during the soak; first failures: {:#?}",
        tally.failed, tally.failures
    );
    assert!(tally.completed > 0, "no request completed");
    let third = samples.len() / 3;
    let first = median(&samples[..third]);
    let last = median(&samples[samples.len() - third..]);
    assert!(
        last <= first * GROWTH_FACTOR + GROWTH_SLACK_KIB,
        "resident memory grew from {first:.0} KiB to {last:.0} KiB (medians of the first and last thirds) over \
         {} requests; samples in KiB: {samples:?}",
        tally.completed
    );
    eprintln!(
        "soak: {} requests; resident memory {first:.0} KiB → {last:.0} KiB (samples {samples:?})",
        tally.completed
    );
}

// ---------------------------------------------------------------------------------------------
// The server under test.
// ---------------------------------------------------------------------------------------------

struct Server {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let registry = azfn::Registry::global().expect("function names are unique");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(azfn::custom_handler::serve(listener, registry, async {
            let _ = stopped.await;
        }));
        Server { address, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let served = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the server stops once its clients are gone");
        served
            .expect("the server task did not panic")
            .expect("the server ended cleanly");
    }
}

// ---------------------------------------------------------------------------------------------
// The clients: raw HTTP/1.1, one request at a time per keep-alive connection.
// ---------------------------------------------------------------------------------------------

/// What the clients saw.
#[derive(Default)]
struct Tally {
    completed: u64,
    failed: u64,
    /// The first few failures, to say what went wrong.
    failures: Vec<String>,
    /// Connections that got no successful answer at all.
    idle_clients: u64,
}

impl Tally {
    fn fail(&mut self, failure: String) {
        self.failed += 1;
        if self.failures.len() < 5 {
            self.failures.push(failure);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.completed += other.completed;
        self.failed += other.failed;
        self.idle_clients += other.idle_clients;
        for failure in other.failures {
            if self.failures.len() < 5 {
                self.failures.push(failure);
            }
        }
    }
}

/// `clients` connections, all open at once, each sending requests back to back for `duration`.
async fn run_load(address: SocketAddr, clients: usize, duration: Duration) -> Tally {
    let until = Instant::now() + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(address, id, until)))
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        match task.await {
            Ok(client) => tally.merge(client),
            Err(error) => tally.fail(format!("a client task panicked: {error}")),
        }
    }
    tally
}

/// One connection's requests, cycling through an invocation of `greet`, one of `sort`, and a
/// request forwarded raw to `greet`. A broken connection is a failure, and is reopened.
async fn client(address: SocketAddr, id: usize, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut connection = None;
    let mut sequence: u64 = 0;
    while Instant::now() < until {
        sequence += 1;
        let exchange = Exchange::new(id, sequence);
        if connection.is_none() {
            match Connection::open(address).await {
                Ok(opened) => connection = Some(opened),
                Err(failure) => {
                    tally.fail(failure);
                    // Not a busy loop if the server is gone.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let Some(open) = connection.as_mut() else { continue };
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, open.round_trip(&exchange.request)).await;
        let outcome = match answer {
            Ok(Ok((status, body))) => exchange.check(status, &body),
            Ok(Err(failure)) => {
                connection = None;
                Err(failure)
            }
            Err(_) => {
                connection = None;
                Err(format!("no answer within {ANSWER_TIMEOUT:?}"))
            }
        };
        match outcome {
            Ok(()) => tally.completed += 1,
            Err(failure) => tally.fail(format!("client {id}, request {sequence}: {failure}")),
        }
    }
    if tally.completed == 0 {
        tally.idle_clients = 1;
    }
    tally
}

/// One request and what its answer must be.
struct Exchange {
    request: Vec<u8>,
    expected: Expected,
}

enum Expected {
    /// An invocation envelope whose `ReturnValue` is an HTTP response with this text body.
    HttpReturn(String),
    /// An invocation envelope whose `ReturnValue` is this queue message.
    QueueReturn(Value),
    /// A forwarded request, answered with this text as it is.
    Text(String),
}

impl Exchange {
    fn new(client: usize, sequence: u64) -> Exchange {
        let name = format!("c{client}-{sequence}");
        match sequence % 3 {
            0 => {
                let data = json!({
                    "req": {
                        "Url": format!("http://localhost/api/greet?name={name}"),
                        "Method": "GET",
                        "Query": {"name": name},
                        "Headers": {"Host": ["localhost"]},
                        "Params": {}
                    }
                });
                let metadata = json!({"name": format!("\"{name}\""), "Query": {"name": name}});
                Exchange {
                    request: invocation("greet", &data, &metadata),
                    expected: Expected::HttpReturn(format!("Hello, {name}!")),
                }
            }
            1 => {
                // The host sends a queue message's JSON text as a JSON string.
                let message = json!({"id": sequence, "note": name}).to_string();
                let metadata = json!({"DequeueCount": "1", "Id": format!("\"{name}\"")});
                Exchange {
                    request: invocation("sort", &json!({ "message": message }), &metadata),
                    expected: Expected::QueueReturn(json!({"id": sequence, "note": format!("sorted {name}")})),
                }
            }
            _ => Exchange {
                request: format!("GET /api/greet?name={name} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes(),
                expected: Expected::Text(format!("Hello, {name}!")),
            },
        }
    }

    fn check(&self, status: u16, body: &[u8]) -> Result<(), String> {
        let body_text = || String::from_utf8_lossy(body).into_owned();
        if status != 200 {
            return Err(format!("status {status}: {}", body_text()));
        }
        let return_value = || -> Result<Value, String> {
            let envelope: Value = serde_json::from_slice(body).map_err(|e| format!("{e}: {}", body_text()))?;
            Ok(envelope["ReturnValue"].clone())
        };
        let matches = match &self.expected {
            Expected::HttpReturn(text) => {
                let value = return_value()?;
                value["statusCode"] == 200 && value["body"] == text.as_str()
            }
            Expected::QueueReturn(message) => return_value()? == *message,
            Expected::Text(text) => body == text.as_bytes(),
        };
        if matches {
            Ok(())
        } else {
            Err(format!("unexpected answer: {}", body_text()))
        }
    }
}

/// `POST /{function}` with the envelope, as the host sends it (with its headers).
fn invocation(function: &str, data: &Value, metadata: &Value) -> Vec<u8> {
    let body = json!({"Data": data, "Metadata": metadata}).to_string();
    format!(
        "POST /{function} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n\
         X-Azure-Functions-InvocationId: 00000000-0000-4000-8000-000000000000\r\n\
         User-Agent: Azure-Functions-Host/4.1037.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A keep-alive connection with its read buffer.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Connection, String> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Writes `request` and reads one whole answer (sized by `Content-Length`, which the server
    /// always sends); returns the status and the body.
    async fn round_trip(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).into_owned();
        let status = head
            .get(9..12)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("no status line in {head:?}"))?;
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        if self.buffer.len() > head_end + length {
            return Err("more bytes than the answer's Content-Length".into());
        }
        Ok((status, self.buffer[head_end..].to_vec()))
    }

    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(read) => {
                self.buffer.extend_from_slice(&chunk[..read]);
                Ok(())
            }
            Err(error) => Err(format!("cannot read: {error}")),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
