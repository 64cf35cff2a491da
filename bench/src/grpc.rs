//! The gRPC transport: azfn's worker (`bench-app`, started as the native runtime starts a
//! worker) against `grpc-baseline` (a hand-written worker), both driven by the host's side of
//! `EventStream` (`azfn_wire::server`, as `cargo azfn start --transport grpc` serves workers).
//!
//! Four figures: exec → `WorkerInitResponse` (spawn, `StartStream`, the host's
//! `WorkerInitRequest`, its answer); `hello` invoked as `RpcHttp` requests, a fixed number in
//! flight at once on the one stream, each answer checked; the same through `HttpUri` (the
//! request forwarded over HTTP as the host's proxy does, its route half over gRPC); and the
//! worker's resident memory with 1,000 invocations of `nap` (200 ms each) in flight at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azfn_wire::rpc::streaming_message::Content;
use azfn_wire::rpc::typed_data::Data;
use azfn_wire::rpc::*;
use azfn_wire::server::{Server, Stream};
use bytes::Bytes;
use http_body_util::Full;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::Settings;
use crate::binaries::Binaries;
use crate::process::Scratch;
use crate::requests::GREETING;
use crate::stats::{median, percentile};
use crate::table::{self, Table};

/// The targets of the issue: throughput at least 0.9× the baseline's, p99 at most 1.2×, and
/// exec → `WorkerInitResponse` within 5 ms (median).
const THROUGHPUT_TARGET: f64 = 0.9;
const P99_TARGET: f64 = 1.2;
const INIT_TARGET_MS: f64 = 5.0;
/// How long the host waits for any one message.
const PATIENCE: Duration = Duration::from_secs(20);
const WORKERS: [&str; 2] = ["azfn", "baseline"];

/// A worker process and its stream.
struct Worker {
    child: Child,
    stream: Stream,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if std::env::var_os(WRAPPER_VARIABLE).is_some() {
            // A profiler writes its figures when the process ends, which SIGKILL prevents.
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

pub async fn run(binaries: &Binaries, settings: &Settings) -> Result<Vec<Table>, String> {
    let scratch = Scratch::new("grpc")?;
    let mut server = Server::start(usize::MAX)
        .await
        .map_err(|e| format!("the host side cannot listen: {e}"))?;
    let binaries = [&binaries.bench_app, &binaries.grpc_baseline];

    let mut init_ms: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..settings.cold_start_rounds {
        for which in abba(round) {
            let (worker, took, _) = start(&mut server, binaries[which], &scratch.0, Http::Rpc).await?;
            drop(worker);
            init_ms[which].push(took.as_secs_f64() * 1e3);
        }
    }

    let mut load_tables = Vec::new();
    for http in [Http::Rpc, Http::Uri] {
        let mut workers = Vec::new();
        for binary in binaries {
            let (mut worker, _, uri) = start(&mut server, binary, &scratch.0, http).await?;
            load_function(&mut worker.stream, "hello").await?;
            let address = match http {
                Http::Rpc => None,
                Http::Uri => Some(http_uri_address(uri.as_deref(), binary)?),
            };
            workers.push((worker, address));
        }
        let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.load_rounds {
            for which in abba(round) {
                let (worker, address) = &mut workers[which];
                let stream = &mut worker.stream;
                let mut measured = None;
                for duration in [settings.load_warm_up, settings.load_duration] {
                    let result = match address {
                        None => drive(stream, settings.connections, duration).await,
                        Some(address) => drive_forwarded(stream, *address, settings.connections, duration).await,
                    };
                    measured = Some(result.map_err(|e| format!("{} ({}): {e}", WORKERS[which], http.name()))?);
                }
                rounds[which].extend(measured);
            }
        }
        drop(workers);
        load_tables.push(load_table(&rounds, settings, http));
    }

    let mut memory: [Vec<Memory>; 2] = [Vec::new(), Vec::new()];
    for round in 0..settings.memory_rounds {
        for which in abba(round) {
            let (mut worker, _, _) = start(&mut server, binaries[which], &scratch.0, Http::Rpc).await?;
            let measured = memory_in_flight(&mut worker, settings.concurrent)
                .await
                .map_err(|e| format!("{}: {e}", WORKERS[which]))?;
            memory[which].push(measured);
        }
    }
    let mut tables = vec![init_table(&init_ms, settings)];
    tables.extend(load_tables);
    tables.push(memory_table(&memory, settings));
    Ok(tables)
}

/// How the host hands HTTP-triggered invocations to the worker.
#[derive(Clone, Copy, Debug)]
enum Http {
    /// The whole request in the `InvocationRequest` (`RpcHttp`).
    Rpc,
    /// `HttpUri`: the request forwarded to the worker's loopback HTTP server, its route half
    /// over gRPC.
    Uri,
}

impl Http {
    fn name(self) -> &'static str {
        match self {
            Http::Rpc => "RpcHttp",
            Http::Uri => "HttpUri",
        }
    }
}

/// The loopback address a worker advertised as its `HttpUri` capability.
fn http_uri_address(uri: Option<&str>, binary: &Path) -> Result<SocketAddr, String> {
    let uri = uri.ok_or_else(|| format!("{} did not advertise HttpUri", binary.display()))?;
    uri.strip_prefix("http://")
        .and_then(|address| address.trim_end_matches('/').parse().ok())
        .ok_or_else(|| {
            format!(
                "{} advertised HttpUri `{uri}`, not http://<ip>:<port>",
                binary.display()
            )
        })
}

/// A worker's resident memory, in KiB: once loaded and idle, and the most seen while
/// invocations were in flight.
struct Memory {
    idle: f64,
    peak: f64,
}

/// Loads `nap`, reads the idle resident set, sends `concurrent` invocations of it at once, and
/// samples the resident set every 5 ms until every answer is in.
async fn memory_in_flight(worker: &mut Worker, concurrent: usize) -> Result<Memory, String> {
    load_function(&mut worker.stream, "nap").await?;
    // Lets start-up work (thread stacks touched, lazy statics) settle before reading "idle".
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = worker.child.id();
    let idle = resident_kib(pid)?;
    let mut waiting: std::collections::HashSet<String> = std::collections::HashSet::new();
    for n in 0..concurrent {
        let mut request = hello_request(format!("nap-{n}"));
        request.function_id = "nap".into();
        waiting.insert(request.invocation_id.clone());
        send(&worker.stream, "", Content::InvocationRequest(request))?;
    }
    let mut peak = idle;
    while !waiting.is_empty() {
        tokio::select! {
            message = next(&mut worker.stream) => {
                if let Some(Content::InvocationResponse(response)) = message?.content {
                    check_greeting(&response)?;
                    waiting.remove(&response.invocation_id);
                }
            }
            () = tokio::time::sleep(Duration::from_millis(5)) => peak = peak.max(resident_kib(pid)?),
        }
    }
    Ok(Memory { idle, peak })
}

fn resident_kib(pid: u32) -> Result<f64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    crate::process::status_field_kib(&status, "VmRSS")
        .map(|kib| kib as f64)
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// ABBA order: whichever runs second in a round runs first in the next.
fn abba(round: usize) -> [usize; 2] {
    if round.is_multiple_of(2) { [0, 1] } else { [1, 0] }
}

/// Starts a worker as the host does and answers its `StartStream` with `WorkerInitRequest`;
/// returns it with the time from spawn to its `WorkerInitResponse` and the `HttpUri` it
/// advertised, if any.
/// The environment variable naming a command to start the workers under (a profiler).
const WRAPPER_VARIABLE: &str = "AZFN_BENCH_WORKER_WRAPPER";

async fn start(
    server: &mut Server,
    binary: &Path,
    workdir: &Path,
    http: Http,
) -> Result<(Worker, Duration, Option<String>), String> {
    let port = server.port.to_string();
    let spawned_at = Instant::now();
    // `AZFN_BENCH_WORKER_WRAPPER="valgrind --tool=callgrind"` starts the workers under a
    // profiler (BENCHMARKS.md, "gRPC": instructions per invocation).
    let wrapper = std::env::var(WRAPPER_VARIABLE).unwrap_or_default();
    let mut command = match wrapper.split_whitespace().collect::<Vec<_>>().as_slice() {
        [] => Command::new(binary),
        [program, args @ ..] => {
            let mut command = Command::new(program);
            command.args(args).arg(binary);
            command
        }
    };
    if let Http::Rpc = http {
        // Both workers would otherwise serve HTTP triggers through HttpUri.
        command.env(azfn_wire::DISABLE_HTTP_URI_VARIABLE, "1");
    } else {
        command.env_remove(azfn_wire::DISABLE_HTTP_URI_VARIABLE);
    }
    let child = command
        .current_dir(workdir)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--workerId",
            "bench-worker",
            "--requestId",
            "start-1",
            "--grpcMaxMessageLength",
            "2147483647",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let call = tokio::time::timeout(PATIENCE, server.calls.recv())
        .await
        .map_err(|_| format!("{} did not call EventStream", binary.display()))?
        .ok_or("the host side stopped")?;
    let mut worker = Worker { child, stream: call };
    match next(&mut worker.stream).await?.content {
        Some(Content::StartStream(_)) => {}
        other => return Err(format!("expected StartStream, got {other:?}")),
    }
    send(
        &worker.stream,
        "init-1",
        Content::WorkerInitRequest(WorkerInitRequest::default()),
    )?;
    loop {
        match next(&mut worker.stream).await?.content {
            Some(Content::WorkerInitResponse(init)) => {
                let took = spawned_at.elapsed();
                let uri = init.capabilities.get("HttpUri").cloned();
                return Ok((worker, took, uri));
            }
            Some(Content::RpcLog(_)) => {}
            other => return Err(format!("expected WorkerInitResponse, got {other:?}")),
        }
    }
}

/// Loads the function `name` (its id is its name, as azfn's metadata gives it).
async fn load_function(stream: &mut Stream, name: &str) -> Result<(), String> {
    let load = FunctionLoadRequest {
        function_id: name.into(),
        metadata: Some(RpcFunctionMetadata {
            name: name.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    send(stream, "load-1", Content::FunctionLoadRequest(load))?;
    loop {
        match next(stream).await?.content {
            Some(Content::FunctionLoadResponse(loaded)) => {
                let status = loaded.result.map(|r| r.status);
                return if status == Some(status_result::Status::Success as i32) {
                    Ok(())
                } else {
                    Err(format!("{name} did not load: {status:?}"))
                };
            }
            Some(Content::RpcLog(_)) => {}
            other => return Err(format!("expected FunctionLoadResponse, got {other:?}")),
        }
    }
}

/// One round of load on one worker.
struct Round {
    completed: u64,
    elapsed: Duration,
    /// Every invocation's round trip, in microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl Round {
    fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }
}

/// Keeps `in_flight` invocations of `hello` going on the stream for `duration` (the next sent
/// when an answer arrives), checks every answer, and waits for the last ones.
async fn drive(stream: &mut Stream, in_flight: usize, duration: Duration) -> Result<Round, String> {
    let started = Instant::now();
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let mut next_id = 0u64;
    let mut latencies_us = Vec::new();
    let mut send_one = |stream: &Stream, sent_at: &mut HashMap<String, Instant>| -> Result<(), String> {
        let id = format!("inv-{next_id}");
        next_id += 1;
        sent_at.insert(id.clone(), Instant::now());
        send(stream, "", Content::InvocationRequest(hello_request(id)))
    };
    for _ in 0..in_flight {
        send_one(stream, &mut sent_at)?;
    }
    while !sent_at.is_empty() {
        let Some(Content::InvocationResponse(response)) = next(stream).await?.content else {
            continue;
        };
        let at = sent_at
            .remove(&response.invocation_id)
            .ok_or_else(|| format!("an answer to {}, which was not asked", response.invocation_id))?;
        latencies_us.push(u32::try_from(at.elapsed().as_micros()).unwrap_or(u32::MAX));
        check_greeting(&response)?;
        if started.elapsed() < duration {
            send_one(stream, &mut sent_at)?;
        }
    }
    latencies_us.sort_unstable();
    Ok(Round {
        completed: latencies_us.len() as u64,
        elapsed: started.elapsed(),
        latencies_us,
    })
}

/// Keeps `in_flight` invocations of `hello` going for `duration` as a host does with
/// `HttpUri`: per invocation, the `InvocationRequest` (an `RpcHttp` with no URL: the route
/// half) on the stream and `GET /api/hello?name=x` with `x-ms-invocation-id` on one of
/// `in_flight` keep-alive connections to the worker's loopback server. An invocation is done
/// when both answers are in: the greeting over HTTP and the success over gRPC.
async fn drive_forwarded(
    stream: &mut Stream,
    address: SocketAddr,
    in_flight: usize,
    duration: Duration,
) -> Result<Round, String> {
    type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<InvocationResponse>>>>;
    let started = Instant::now();
    let deadline = started + duration;
    let waiting: Waiting = Arc::default();
    let next_id = Arc::new(AtomicU64::new(0));
    let mut connections = JoinSet::new();
    for _ in 0..in_flight {
        let (waiting, next_id, outbound) = (waiting.clone(), next_id.clone(), stream.outbound.clone());
        connections.spawn(async move {
            let mut sender = crate::load::connect(address).await?;
            let mut latencies_us = Vec::new();
            while Instant::now() < deadline {
                let id = format!("uri-{}", next_id.fetch_add(1, Ordering::Relaxed));
                let (answered, answer) = oneshot::channel();
                waiting.lock().expect("no panic holds it").insert(id.clone(), answered);
                let sent = Instant::now();
                outbound
                    .send(StreamingMessage {
                        request_id: String::new(),
                        content: Some(Content::InvocationRequest(forwarded_hello_request(id.clone()))),
                    })
                    .map_err(|_| "the worker's stream closed".to_owned())?;
                sender
                    .ready()
                    .await
                    .map_err(|e| format!("the connection closed: {e}"))?;
                let request = http::Request::get("/api/hello?name=x")
                    .header(http::header::HOST, "127.0.0.1")
                    .header("x-ms-invocation-id", &id)
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| format!("cannot build the request: {e}"))?;
                let (status, body) = crate::load::exchange(&mut sender, request).await?;
                if status != 200 || body != GREETING.as_bytes() {
                    return Err(format!("{id}: HTTP {status} {:?}", String::from_utf8_lossy(&body)));
                }
                let response = tokio::time::timeout(PATIENCE, answer)
                    .await
                    .map_err(|_| format!("{id}: no InvocationResponse in time"))?
                    .map_err(|_| format!("{id}: the stream ended"))?;
                if response.result.as_ref().map(|r| r.status) != Some(status_result::Status::Success as i32) {
                    return Err(format!("{id}: a failed invocation: {response:?}"));
                }
                latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Ok::<_, String>(latencies_us)
        });
    }
    let mut latencies_us = Vec::new();
    loop {
        tokio::select! {
            joined = connections.join_next() => match joined {
                None => break,
                Some(Ok(finished)) => latencies_us.extend(finished?),
                Some(Err(failed)) => return Err(format!("a connection task failed: {failed}")),
            },
            message = next(stream) => {
                if let Some(Content::InvocationResponse(response)) = message?.content {
                    let answered = waiting.lock().expect("no panic holds it").remove(&response.invocation_id);
                    let answered = answered.ok_or_else(|| {
                        format!("an answer to {}, which was not asked", response.invocation_id)
                    })?;
                    let _ = answered.send(response);
                }
            }
        }
    }
    latencies_us.sort_unstable();
    Ok(Round {
        completed: latencies_us.len() as u64,
        elapsed: started.elapsed(),
        latencies_us,
    })
}

/// The gRPC half of a forwarded `GET /api/hello?name=x`: the trigger's `RpcHttp` without a URL,
/// with the route values (none for `hello`).
fn forwarded_hello_request(invocation_id: String) -> InvocationRequest {
    InvocationRequest {
        invocation_id,
        function_id: "hello".into(),
        input_data: vec![ParameterBinding {
            name: "req".into(),
            rpc_data: Some(parameter_binding::RpcData::Data(TypedData {
                data: Some(Data::Http(Box::default())),
            })),
        }],
        ..Default::default()
    }
}

/// `GET /api/hello?name=x` as the host sends an HTTP trigger's request over gRPC.
fn hello_request(invocation_id: String) -> InvocationRequest {
    let http = RpcHttp {
        method: "GET".into(),
        url: "http://localhost:7071/api/hello?name=x".into(),
        headers: [("host".to_owned(), "localhost:7071".to_owned())].into(),
        query: [("name".to_owned(), "x".to_owned())].into(),
        ..Default::default()
    };
    InvocationRequest {
        invocation_id,
        function_id: "hello".into(),
        input_data: vec![ParameterBinding {
            name: "req".into(),
            rpc_data: Some(parameter_binding::RpcData::Data(TypedData {
                data: Some(Data::Http(Box::new(http))),
            })),
        }],
        ..Default::default()
    }
}

/// An answer counts when it succeeded with `Hello, x!` as the HTTP response's body.
fn check_greeting(response: &InvocationResponse) -> Result<(), String> {
    let ok = response.result.as_ref().map(|r| r.status) == Some(status_result::Status::Success as i32);
    let body = match response.return_value.as_ref().and_then(|v| v.data.as_ref()) {
        Some(Data::Http(http)) => match http.body.as_ref().and_then(|b| b.data.as_ref()) {
            Some(Data::String(text)) => text.clone(),
            Some(Data::Bytes(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    if ok && body == GREETING {
        Ok(())
    } else {
        Err(format!("{}: a wrong answer: {response:?}", response.invocation_id))
    }
}

fn send(stream: &Stream, request_id: &str, content: Content) -> Result<(), String> {
    let message = StreamingMessage {
        request_id: request_id.into(),
        content: Some(content),
    };
    stream
        .outbound
        .send(message)
        .map_err(|_| "the worker's stream closed".to_owned())
}

async fn next(stream: &mut Stream) -> Result<StreamingMessage, String> {
    tokio::time::timeout(PATIENCE, stream.inbound.recv())
        .await
        .map_err(|_| "the worker did not answer in time".to_owned())?
        .ok_or("the worker ended the stream")?
}

fn init_table(init_ms: &[Vec<f64>; 2], settings: &Settings) -> Table {
    let method = format!(
        "Each worker spawned as the native runtime starts one (`--host --port --workerId --requestId`), {} times, \
         alternating which goes first; the time from spawn to its `WorkerInitResponse` (it connects, opens \
         `EventStream`, sends `StartStream`, the host sends `WorkerInitRequest`). Medians.",
        settings.cold_start_rounds
    );
    let mut table = Table::new(
        "gRPC worker start-up",
        &method,
        &["metric", "azfn", "baseline", "azfn − baseline", "target", ""],
    );
    let (ours, theirs) = (median(&init_ms[0]), median(&init_ms[1]));
    table.row(vec![
        "exec → `WorkerInitResponse`".into(),
        table::ms(ours),
        table::ms(theirs),
        table::ms(ours - theirs),
        format!("≤ {INIT_TARGET_MS} ms"),
        table::verdict(ours <= INIT_TARGET_MS),
    ]);
    table
}

fn load_table(rounds: &[Vec<Round>; 2], settings: &Settings, http: Http) -> Table {
    let how = match http {
        Http::Rpc => "with an `RpcHttp` request (`GET /api/hello?name=x`)",
        Http::Uri => {
            "through `HttpUri`: `GET /api/hello?name=x` with `x-ms-invocation-id` forwarded over one of as many \
             keep-alive HTTP/1.1 connections to the worker's loopback server as there are invocations in flight, \
             and the `InvocationRequest` (an `RpcHttp` with no URL) on the stream; an invocation ends when both \
             answers are in"
        }
    };
    let method = format!(
        "`hello` invoked {how}, {} invocations in flight on the \
         one `EventStream` (the next sent when an answer arrives), each answer checked; the host's side is \
         `azfn_wire::server` in the runner. `bench-app` (azfn, 50 functions, `native` feature) and \
         `grpc-baseline` (hand-written hyper HTTP/2 worker) run side by side; {} rounds of {:?} each (after a \
         {:?} warm-up), alternating which goes first. Medians over rounds; percentiles per round, then the \
         median.",
        settings.connections, settings.load_rounds, settings.load_duration, settings.load_warm_up
    );
    let mut table = Table::new(
        &format!("Invocation throughput and latency over gRPC ({})", http.name()),
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
    let per_round = |which: usize, f: &dyn Fn(&Round) -> f64| -> Vec<f64> { rounds[which].iter().map(f).collect() };
    let rate = [per_round(0, &Round::per_second), per_round(1, &Round::per_second)];
    let p50 = [
        per_round(0, &|r| f64::from(percentile(&r.latencies_us, 50.0))),
        per_round(1, &|r| f64::from(percentile(&r.latencies_us, 50.0))),
    ];
    let p99 = [
        per_round(0, &|r| f64::from(percentile(&r.latencies_us, 99.0))),
        per_round(1, &|r| f64::from(percentile(&r.latencies_us, 99.0))),
    ];
    table::load_rows(
        &mut table,
        "invocations/s",
        &rate,
        &p50,
        &p99,
        (THROUGHPUT_TARGET, P99_TARGET),
    );
    let completed: [u64; 2] = [
        rounds[0].iter().map(|r| r.completed).sum(),
        rounds[1].iter().map(|r| r.completed).sum(),
    ];
    table.note(format!(
        "{} and {} invocations answered (azfn, baseline), every answer checked: success, `{GREETING}` as the body.",
        completed[0], completed[1]
    ));
    table
}

fn memory_table(memory: &[Vec<Memory>; 2], settings: &Settings) -> Table {
    let method = format!(
        "Each worker started fresh, `nap` loaded, its resident set (`VmRSS`) read idle, then {} invocations of \
         `nap` (answers after 200 ms) sent at once on the stream and `VmRSS` sampled every 5 ms until every \
         answer is in; {} rounds, alternating which goes first. Medians.",
        settings.concurrent, settings.memory_rounds
    );
    let mut table = Table::new(
        "gRPC worker memory with invocations in flight",
        &method,
        &["metric", "azfn", "baseline", "azfn / baseline"],
    );
    for (label, field) in [
        ("idle RSS", (|m: &Memory| m.idle) as fn(&Memory) -> f64),
        ("peak RSS, 1,000 in flight", |m: &Memory| m.peak),
    ] {
        let ours = median(&memory[0].iter().map(field).collect::<Vec<_>>());
        let theirs = median(&memory[1].iter().map(field).collect::<Vec<_>>());
        table.row(vec![
            label.into(),
            table::mib(ours),
            table::mib(theirs),
            table::ratio(ours / theirs),
        ]);
    }
    table
}
