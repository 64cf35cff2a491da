//! Load over gRPC: 1,000 invocations in flight on one `EventStream` for 30 s, every answer
//! checked, none lost, and resident memory flat between the first and last thirds of the run.
//!
//! The host's side is the real server of `azfn_wire::server` (as `cargo azfn start --transport
//! grpc` uses it); the worker is `azfn::native::run`, in this process, with the `#[function]`
//! below. Nothing here asserts a timing: the counts and the memory trend are what must hold.
#![cfg(feature = "native")]

#[path = "support/memory.rs"]
mod memory;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use azfn::native::proto::{
    FunctionLoadRequest, InvocationRequest, ParameterBinding, RpcFunctionMetadata, StreamingMessage, TypedData,
    WorkerInitRequest, WorkerTerminate, parameter_binding::RpcData, status_result::Status, streaming_message::Content,
    typed_data::Data,
};
use azfn::native::server::{Server, Stream};
use azfn::prelude::*;
use memory::{median, resident_kib};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long new invocations keep being sent.
const LOAD: Duration = Duration::from_secs(30);
/// Invocations the host keeps in flight.
const IN_FLIGHT_TARGET: usize = 1_000;
/// Memory is sampled this often.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The same bound as the custom handler's soak (tests/load.rs): a leak grows with the count of
/// invocations, tens of thousands here, so anything kept per invocation breaks it.
const GROWTH_FACTOR: f64 = 1.5;
const GROWTH_SLACK_KIB: f64 = 8.0 * 1024.0;
/// How long the host waits for any one message before calling the worker stuck.
const PATIENCE: Duration = Duration::from_secs(30);

/// Invocations of `relay` running now, and the most seen at once.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A queue function that takes a little while, so that invocations overlap in the worker.
#[function(queue_trigger(queue_name = "load"), queue_output(queue_name = "relayed"))]
async fn relay(message: String) -> String {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_RUNNING.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    format!("relayed {message}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/self/status")]
async fn a_thousand_invocations_in_flight_over_grpc_for_thirty_seconds_are_all_answered_in_flat_memory() {
    let mut server = Server::start(usize::MAX).await.expect("the host listens");
    let mut args = azfn::native::parse_args(&command_line(server.port))
        .expect("a gRPC launch")
        .expect("valid arguments");
    args.http_uri = false;
    let registry = azfn::Registry::global().expect("function names are unique");
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(azfn::native::run(args, registry, async move {
        let _ = stopped.await;
    }));
    let mut stream = tokio::time::timeout(PATIENCE, server.calls.recv())
        .await
        .expect("the worker calls EventStream in time")
        .expect("a call");
    assert!(matches!(next(&mut stream).await.content, Some(Content::StartStream(_))));
    send(
        &stream,
        "init",
        Content::WorkerInitRequest(WorkerInitRequest::default()),
    );
    assert!(matches!(
        next(&mut stream).await.content,
        Some(Content::WorkerInitResponse(_))
    ));
    let load = FunctionLoadRequest {
        function_id: "relay-id".into(),
        metadata: Some(RpcFunctionMetadata {
            name: "relay".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    send(&stream, "load", Content::FunctionLoadRequest(load));
    match next(&mut stream).await.content {
        Some(Content::FunctionLoadResponse(loaded)) => {
            assert_eq!(loaded.result.map(|r| r.status), Some(Status::Success as i32));
        }
        other => panic!("expected FunctionLoadResponse, got {other:?}"),
    }

    let started = Instant::now();
    let mut expected: HashMap<String, String> = HashMap::new();
    let mut sent = 0u64;
    let mut answered = 0u64;
    let mut failures: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    let mut next_sample = started + SAMPLE_EVERY;
    while expected.len() < IN_FLIGHT_TARGET {
        expected.insert(invoke(&stream, sent), format!("relayed message {sent}"));
        sent += 1;
    }
    while !expected.is_empty() {
        let message = next(&mut stream).await;
        let Some(Content::InvocationResponse(response)) = message.content else {
            continue;
        };
        answered += 1;
        match expected.remove(&response.invocation_id) {
            None => failures.push(format!(
                "an answer to {:?}, which was not asked",
                response.invocation_id
            )),
            Some(want) => {
                let status = response.result.as_ref().map(|r| r.status);
                let value = response.return_value.and_then(|v| v.data);
                if status != Some(Status::Success as i32) || value != Some(Data::String(want.clone())) {
                    failures.push(format!(
                        "{}: status {status:?}, value {value:?}, want {want:?}",
                        response.invocation_id
                    ));
                }
            }
        }
        let now = Instant::now();
        if now >= next_sample {
            samples.push(resident_kib());
            next_sample += SAMPLE_EVERY;
        }
        if now < started + LOAD {
            expected.insert(invoke(&stream, sent), format!("relayed message {sent}"));
            sent += 1;
        }
    }
    send(&stream, "bye", Content::WorkerTerminate(WorkerTerminate::default()));
    let ended = tokio::time::timeout(PATIENCE, worker)
        .await
        .expect("the worker ends after WorkerTerminate")
        .expect("the worker does not panic");
    let _ = stop.send(());

    assert!(
        failures.is_empty(),
        "{} wrong answers; the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(answered, sent, "every invocation is answered once");
    assert!(ended.is_ok(), "the worker ends cleanly: {ended:?}");
    assert!(
        MOST_RUNNING.load(Ordering::SeqCst) >= IN_FLIGHT_TARGET / 2,
        "invocations overlapped in the worker (at most {} at once)",
        MOST_RUNNING.load(Ordering::SeqCst)
    );
    let third = samples.len() / 3;
    assert!(third > 0, "memory was sampled ({samples:?})");
    let first = median(&samples[..third]);
    let last = median(&samples[samples.len() - third..]);
    assert!(
        last <= first * GROWTH_FACTOR + GROWTH_SLACK_KIB,
        "resident memory grew from {first:.0} KiB to {last:.0} KiB (medians of the first and last thirds) over \
         {answered} invocations; samples in KiB: {samples:?}"
    );
    eprintln!(
        "gRPC load: {answered} invocations, {} at most at once in the worker; resident memory {first:.0} KiB → \
         {last:.0} KiB",
        MOST_RUNNING.load(Ordering::SeqCst)
    );
}

/// The command line the host starts a worker with.
fn command_line(port: u16) -> Vec<String> {
    let port = port.to_string();
    [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--workerId",
        "load-worker",
        "--requestId",
        "start-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn send(stream: &Stream, request_id: &str, content: Content) {
    let message = StreamingMessage {
        request_id: request_id.into(),
        content: Some(content),
    };
    stream.outbound.send(message).expect("the stream is open");
}

/// Sends invocation number `n`; returns its id.
fn invoke(stream: &Stream, n: u64) -> String {
    let invocation_id = format!("inv-{n}");
    let request = InvocationRequest {
        invocation_id: invocation_id.clone(),
        function_id: "relay-id".into(),
        input_data: vec![ParameterBinding {
            name: "message".into(),
            rpc_data: Some(RpcData::Data(TypedData {
                data: Some(Data::String(format!("message {n}"))),
            })),
        }],
        ..Default::default()
    };
    send(stream, "", Content::InvocationRequest(request));
    invocation_id
}

async fn next(stream: &mut Stream) -> StreamingMessage {
    tokio::time::timeout(PATIENCE, stream.inbound.recv())
        .await
        .expect("the worker answers in time")
        .expect("the stream is open")
        .expect("the worker's messages decode")
}
