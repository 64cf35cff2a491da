//! Service Bus settlement from a function: over gRPC against a mock host that serves
//! `EventStream` and the Service Bus extension's `/Settlement/*` methods on one HTTP/2 server, as
//! the real host does; and over the custom handler, where there is no way to the host.
//!
//! The mock host reads the worker's settlement calls byte by byte and compares them with bytes
//! written here by hand from the protobuf and AMQP encoding rules, so the worker's encoders are
//! checked against an independent reading of both formats.
#![cfg(all(feature = "native", feature = "servicebus"))]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use azfn::native::proto::{
    FunctionEnvironmentReloadRequest, FunctionLoadRequest, FunctionLoadRequestCollection, FunctionsMetadataRequest,
    InvocationRequest, InvocationResponse, ParameterBinding, StreamingMessage, TypedData, WorkerInitRequest,
    WorkerTerminate, parameter_binding::RpcData, status_result::Status, streaming_message::Content, typed_data::Data,
};
use azfn::prelude::*;
use azfn::{PropertiesToModify, Registry, ServiceBusBatchMetadata, ServiceBusSettlement};
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

#[path = "support/example_app.rs"]
mod example_app;

#[path = "support/raw_http.rs"]
mod raw_http;

// ---------------------------------------------------------------------------------------------
// The app.
// ---------------------------------------------------------------------------------------------

/// Settles its message as the message says.
#[function(
    service_bus_trigger(queue_name = "orders", connection = "ServiceBus", auto_complete_messages = false),
    queue_output(queue_name = "settled")
)]
async fn settle(action: String, settlement: ServiceBusSettlement) -> Result<String, azfn::Error> {
    match action.as_str() {
        "complete" => settlement.complete().await?,
        "abandon" => settlement.abandon().await?,
        "abandon-with" => {
            let properties = PropertiesToModify::new().set("attempt", 2).set("why", "busy");
            settlement.abandon_with(properties).await?;
        }
        "dead-letter" => settlement.dead_letter("Invalid", "no such product").await?,
        "defer" => settlement.defer().await?,
        "renew" => settlement.renew_lock().await?,
        other => return Err(azfn::Error::msg(format!("no action {other:?}"))),
    }
    Ok(format!("{action}: done"))
}

/// Completes every message of a batch by its own lock token.
#[function(service_bus_trigger(queue_name = "bulk", connection = "ServiceBus", cardinality = "many"))]
async fn settle_batch(
    messages: Vec<String>,
    batch: ServiceBusBatchMetadata,
    settlement: ServiceBusSettlement,
) -> Result<(), azfn::Error> {
    assert_eq!(messages.len(), batch.messages.len());
    assert_eq!(settlement.lock_token(), None, "a batch has no single lock token");
    for message in &batch.messages {
        settlement.for_message(&message.lock_token).complete().await?;
    }
    Ok(())
}

fn registry() -> &'static Registry {
    Registry::global().expect("function names are unique")
}

// ---------------------------------------------------------------------------------------------
// The mock host: one HTTP/2 server for `EventStream` and `/Settlement/*`.
// ---------------------------------------------------------------------------------------------

const EVENT_STREAM: &str = "/AzureFunctionsRpcMessages.FunctionRpc/EventStream";
const PATIENCE: Duration = Duration::from_secs(30);
/// The lock token the mock host does not hold: it answers FAILED_PRECONDITION, trailers-only,
/// as the extension does for a token it cannot find.
const UNKNOWN_TOKEN: &str = "00000000-0000-0000-0000-00000000dead";
/// The lock token whose settlement Service Bus refuses: UNKNOWN in the trailers.
const REFUSED_TOKEN: &str = "00000000-0000-0000-0000-0000000f4115";

/// A response body made of queued frames, ending when the queue's senders are gone.
struct Frames(mpsc::UnboundedReceiver<Frame<Bytes>>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut().0.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

/// One settlement call, as it arrived.
#[derive(Debug)]
struct SettlementCall {
    path: String,
    authority: String,
    headers: HeaderMap,
    /// The whole request body: the gRPC frame with its 5-byte prefix.
    body: Bytes,
}

struct Shared {
    to_worker: Mutex<Option<mpsc::UnboundedReceiver<Frame<Bytes>>>>,
    from_worker: mpsc::UnboundedSender<StreamingMessage>,
    settlements: mpsc::UnboundedSender<SettlementCall>,
}

struct MockHost {
    address: SocketAddr,
    to_worker: mpsc::UnboundedSender<Frame<Bytes>>,
    from_worker: mpsc::UnboundedReceiver<StreamingMessage>,
    settlements: mpsc::UnboundedReceiver<SettlementCall>,
}

impl MockHost {
    async fn start() -> MockHost {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("address");
        let (to_worker, worker_half) = mpsc::unbounded_channel();
        let (from_worker_tx, from_worker) = mpsc::unbounded_channel();
        let (settlements_tx, settlements) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            to_worker: Mutex::new(Some(worker_half)),
            from_worker: from_worker_tx,
            settlements: settlements_tx,
        });
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("the worker connects");
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let shared = shared.clone();
                async move {
                    let response = if request.uri().path() == EVENT_STREAM {
                        event_stream(request, &shared)
                    } else {
                        settlement(request, &shared).await
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
        MockHost {
            address,
            to_worker,
            from_worker,
            settlements,
        }
    }

    fn send(&self, content: Content) {
        let message = StreamingMessage {
            request_id: "host".to_owned(),
            content: Some(content),
        };
        let _ = self.to_worker.send(Frame::data(frame(&message.encode_to_vec())));
    }

    /// The next message that is not a log line.
    async fn next_reply(&mut self) -> Content {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.from_worker.recv())
                .await
                .expect("the worker answers in time")
                .expect("the stream is open");
            match message.content {
                Some(Content::RpcLog(_)) | None => {}
                Some(content) => return content,
            }
        }
    }

    /// Init, indexing and loading, as the host does.
    async fn ready(&mut self) {
        self.send(Content::WorkerInitRequest(WorkerInitRequest::default()));
        assert!(matches!(self.next_reply().await, Content::WorkerInitResponse(_)));
        self.index_and_load().await;
    }

    /// Indexing and loading every function.
    async fn index_and_load(&mut self) {
        self.send(Content::FunctionsMetadataRequest(FunctionsMetadataRequest::default()));
        let Content::FunctionMetadataResponse(metadata) = self.next_reply().await else {
            panic!("expected FunctionMetadataResponse");
        };
        let requests = metadata
            .function_metadata_results
            .into_iter()
            .map(|m| FunctionLoadRequest {
                function_id: m.function_id.clone(),
                metadata: Some(m),
                managed_dependency_enabled: false,
            })
            .collect();
        self.send(Content::FunctionLoadRequestCollection(FunctionLoadRequestCollection {
            function_load_requests: requests,
        }));
        assert!(matches!(
            self.next_reply().await,
            Content::FunctionLoadResponseCollection(_)
        ));
    }

    async fn invoke(&mut self, request: InvocationRequest) -> InvocationResponse {
        let id = request.invocation_id.clone();
        self.send(Content::InvocationRequest(request));
        match self.next_reply().await {
            Content::InvocationResponse(response) => {
                assert_eq!(response.invocation_id, id);
                response
            }
            other => panic!("expected InvocationResponse, got {other:?}"),
        }
    }

    async fn next_settlement(&mut self) -> SettlementCall {
        tokio::time::timeout(PATIENCE, self.settlements.recv())
            .await
            .expect("a settlement call in time")
            .expect("the host is up")
    }
}

fn event_stream(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Frames> {
    let to_worker = shared
        .to_worker
        .lock()
        .expect("lock")
        .take()
        .expect("one EventStream call per worker");
    let from_worker = shared.from_worker.clone();
    tokio::spawn(async move {
        let mut body = request.into_body();
        let mut buffer = BytesMut::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else { continue };
            buffer.extend_from_slice(&data);
            while let Some(payload) = next_payload(&mut buffer) {
                let message = StreamingMessage::decode(payload).expect("the worker sends valid messages");
                let _ = from_worker.send(message);
            }
        }
    });
    grpc_response(Frames(to_worker))
}

/// Records a settlement call and answers it: OK with `google.protobuf.Empty`, or the extension's
/// refusals for the two tokens above.
async fn settlement(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Frames> {
    let (head, body) = request.into_parts();
    let body = body.collect().await.expect("the whole request").to_bytes();
    let call = SettlementCall {
        path: head.uri.path().to_owned(),
        authority: head.uri.authority().map(|a| a.to_string()).unwrap_or_default(),
        headers: head.headers,
        body: body.clone(),
    };
    let _ = shared.settlements.send(call);
    let (frames, queued) = mpsc::unbounded_channel();
    let text = String::from_utf8_lossy(&body);
    if text.contains(UNKNOWN_TOKEN) {
        // Trailers-only: the status in the response headers, no body.
        let mut response = grpc_response(Frames(queued));
        let headers = response.headers_mut();
        headers.insert("grpc-status", HeaderValue::from_static("9"));
        let message = format!("LockToken%20{UNKNOWN_TOKEN}%20not%20found.");
        headers.insert("grpc-message", HeaderValue::from_str(&message).expect("a header"));
        return response;
    }
    let mut trailers = HeaderMap::new();
    if text.contains(REFUSED_TOKEN) {
        trailers.insert("grpc-status", HeaderValue::from_static("2"));
        trailers.insert(
            "grpc-message",
            HeaderValue::from_static(
                "Azure.Messaging.ServiceBus.ServiceBusException:%20The%20lock%20supplied%20is%20invalid.",
            ),
        );
    } else {
        // `google.protobuf.Empty`: a frame of no bytes.
        let _ = frames.send(Frame::data(frame(&[])));
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
    }
    let _ = frames.send(Frame::trailers(trailers));
    grpc_response(Frames(queued))
}

fn grpc_response(body: Frames) -> Response<Frames> {
    Response::builder()
        .header("content-type", "application/grpc")
        .body(body)
        .expect("response")
}

/// One gRPC message, framed: no compression, big-endian length.
fn frame(payload: &[u8]) -> Bytes {
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(payload);
    Bytes::from(framed)
}

fn next_payload(buffer: &mut BytesMut) -> Option<BytesMut> {
    if buffer.len() < 5 {
        return None;
    }
    assert_eq!(buffer[0], 0, "the worker never compresses");
    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer.len() < 5 + length {
        return None;
    }
    buffer.advance(5);
    Some(buffer.split_to(length))
}

/// A worker running against a mock host.
struct Harness {
    host: MockHost,
    worker: JoinHandle<Result<(), String>>,
    shutdown: oneshot::Sender<()>,
}

impl Harness {
    async fn start() -> Harness {
        let mut host = MockHost::start().await;
        let port = host.address.port().to_string();
        let uri = format!("http://127.0.0.1:{port}/");
        let command_line: Vec<String> = [
            "--functions-uri",
            &uri,
            "--functions-worker-id",
            "worker-1",
            "--functions-request-id",
            "start-1",
            "--functions-grpc-max-message-length",
            "2147483647",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let args = azfn::native::parse_args(&command_line)
            .expect("a gRPC launch")
            .expect("valid arguments");
        let (shutdown, signal) = oneshot::channel::<()>();
        let worker = tokio::spawn(azfn::native::run(args, registry(), async move {
            let _ = signal.await;
        }));
        // StartStream first.
        let first = tokio::time::timeout(PATIENCE, host.from_worker.recv())
            .await
            .expect("in time")
            .expect("a first message");
        assert!(matches!(first.content, Some(Content::StartStream(_))));
        host.ready().await;
        Harness { host, worker, shutdown }
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        let result = tokio::time::timeout(PATIENCE, self.worker)
            .await
            .expect("run returns in time")
            .expect("run does not panic");
        assert_eq!(result, Ok(()));
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for messages.
// ---------------------------------------------------------------------------------------------

fn typed(data: Data) -> TypedData {
    TypedData { data: Some(data) }
}

/// A Service Bus invocation of `function` with one message whose lock token is `lock_token`.
fn message(id: &str, function: &str, body: &str, lock_token: &str) -> InvocationRequest {
    let trigger = registry().get(function).expect("a function").trigger().name;
    InvocationRequest {
        invocation_id: id.to_owned(),
        function_id: function.to_owned(),
        input_data: vec![ParameterBinding {
            name: trigger.to_owned(),
            rpc_data: Some(RpcData::Data(typed(Data::String(body.to_owned())))),
        }],
        trigger_metadata: [
            ("LockToken".to_owned(), typed(Data::String(lock_token.to_owned()))),
            ("MessageId".to_owned(), typed(Data::String(format!("m-{id}")))),
            ("DeliveryCount".to_owned(), typed(Data::Json("1".to_owned()))),
        ]
        .into(),
        ..InvocationRequest::default()
    }
}

fn status(response: &InvocationResponse) -> Status {
    Status::try_from(response.result.as_ref().expect("a result").status).expect("a known status")
}

fn exception_message(response: &InvocationResponse) -> String {
    response
        .result
        .as_ref()
        .and_then(|r| r.exception.as_ref())
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

/// A protobuf length-delimited field written by hand: key (`number << 3 | 2`), length, bytes.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2, u8::try_from(bytes.len()).expect("short")];
    out.extend_from_slice(bytes);
    out
}

/// Checks a call's path, headers and framing, and returns its protobuf message's bytes.
fn message_of(call: &SettlementCall, host: &MockHost, path: &str) -> Vec<u8> {
    assert_eq!(call.path, path);
    assert_eq!(call.authority, format!("127.0.0.1:{}", host.address.port()));
    assert_eq!(call.headers["content-type"], "application/grpc");
    assert_eq!(call.headers["te"], "trailers");
    assert!(call.headers.get("grpc-encoding").is_none(), "never compressed");
    let body = &call.body;
    assert_eq!(body[0], 0, "not compressed");
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    assert_eq!(body.len(), 5 + length, "one whole message");
    body[5..].to_vec()
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_settlement_is_a_unary_call_on_the_hosts_connection_with_the_exact_message() {
    let mut harness = Harness::start().await;
    let token = "5b7e2d0c-3c4a-4d7b-9a51-0c1f2e3d4a5b";
    let token_field = field(1, token.as_bytes());

    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("complete", "/Settlement/Complete", token_field.clone()),
        ("abandon", "/Settlement/Abandon", token_field.clone()),
        ("abandon-with", "/Settlement/Abandon", {
            // map32, size, count 4; "attempt" → int 2; "why" → "busy" (keys and strings as str32).
            let mut items = vec![0xb1, 0, 0, 0, 7];
            items.extend_from_slice(b"attempt");
            items.extend([0x71, 0, 0, 0, 2]);
            items.extend([0xb1, 0, 0, 0, 3]);
            items.extend_from_slice(b"why");
            items.extend([0xb1, 0, 0, 0, 4]);
            items.extend_from_slice(b"busy");
            let mut map = vec![0xd1];
            map.extend(u32::try_from(items.len() + 4).expect("small").to_be_bytes());
            map.extend(4u32.to_be_bytes());
            map.extend(items);
            [token_field.clone(), field(2, &map)].concat()
        }),
        ("dead-letter", "/Settlement/Deadletter", {
            // The reason and description are `google.protobuf.StringValue`s: { 1: text }.
            [
                token_field.clone(),
                field(3, &field(1, b"Invalid")),
                field(4, &field(1, b"no such product")),
            ]
            .concat()
        }),
        ("defer", "/Settlement/Defer", token_field.clone()),
        ("renew", "/Settlement/RenewMessageLock", token_field.clone()),
    ];
    for (n, (action, path, expected)) in cases.into_iter().enumerate() {
        let response = harness
            .host
            .invoke(message(&format!("inv-{n}"), "settle", action, token))
            .await;
        assert_eq!(
            status(&response),
            Status::Success,
            "{action}: {}",
            exception_message(&response)
        );
        let call = harness.host.next_settlement().await;
        assert_eq!(message_of(&call, &harness.host, path), expected, "{action}");
        let returned = response.return_value.and_then(|v| v.data);
        assert_eq!(returned, Some(Data::String(format!("{action}: done"))));
    }
    harness.stop().await;
}

#[tokio::test]
async fn a_refused_settlement_fails_that_invocation_only_and_the_worker_goes_on() {
    let mut harness = Harness::start().await;

    // An unknown lock token: FAILED_PRECONDITION, trailers-only.
    let response = harness
        .host
        .invoke(message("inv-unknown", "settle", "complete", UNKNOWN_TOKEN))
        .await;
    assert_eq!(status(&response), Status::Failure);
    let error = exception_message(&response);
    assert!(error.contains("gRPC status 9"), "{error}");
    assert!(
        error.contains(&format!("LockToken {UNKNOWN_TOKEN} not found.")),
        "{error}"
    );
    let call = harness.host.next_settlement().await;
    assert_eq!(
        message_of(&call, &harness.host, "/Settlement/Complete"),
        field(1, UNKNOWN_TOKEN.as_bytes())
    );

    // Service Bus refuses: UNKNOWN in the trailers, after the headers.
    let response = harness
        .host
        .invoke(message("inv-refused", "settle", "dead-letter", REFUSED_TOKEN))
        .await;
    assert_eq!(status(&response), Status::Failure);
    let error = exception_message(&response);
    assert!(error.contains("gRPC status 2"), "{error}");
    assert!(error.contains("The lock supplied is invalid."), "{error}");
    harness.host.next_settlement().await;

    // The next invocation is served as usual.
    let response = harness
        .host
        .invoke(message(
            "inv-after",
            "settle",
            "complete",
            "11111111-2222-3333-4444-555555555555",
        ))
        .await;
    assert_eq!(status(&response), Status::Success, "{}", exception_message(&response));
    harness.host.next_settlement().await;
    harness.stop().await;
}

#[tokio::test]
async fn a_batch_settles_each_message_by_its_own_lock_token() {
    let mut harness = Harness::start().await;
    let trigger = registry().get("settle_batch").expect("the function").trigger().name;
    let strings = |items: &[&str]| {
        typed(Data::Json(
            serde_json::to_string(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("JSON"),
        ))
    };
    let request = InvocationRequest {
        invocation_id: "inv-batch".to_owned(),
        function_id: "settle_batch".to_owned(),
        input_data: vec![ParameterBinding {
            name: trigger.to_owned(),
            rpc_data: Some(RpcData::Data(strings(&["one", "two"]))),
        }],
        trigger_metadata: [
            ("LockTokenArray".to_owned(), strings(&["token-1", "token-2"])),
            ("MessageIdArray".to_owned(), strings(&["m1", "m2"])),
        ]
        .into(),
        ..InvocationRequest::default()
    };
    let response = harness.host.invoke(request).await;
    assert_eq!(status(&response), Status::Success, "{}", exception_message(&response));
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let call = harness.host.next_settlement().await;
        tokens.push(message_of(&call, &harness.host, "/Settlement/Complete"));
    }
    assert_eq!(tokens, [field(1, b"token-1"), field(1, b"token-2")]);
    harness.stop().await;
}

/// Under the custom handler there is no channel to the host: the function's settlement fails
/// with the reason, and so does the invocation (the host then abandons the message).
#[tokio::test]
async fn over_the_custom_handler_settlement_fails_with_the_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(azfn::custom_handler::serve(listener, registry(), async {
        let _ = stopped.await;
    }));

    let trigger = registry().get("settle").expect("the function").trigger().name;
    let body = serde_json::json!({
        "Data": { trigger: "\"complete\"" },
        "Metadata": { "LockToken": "\"5b7e2d0c-3c4a-4d7b-9a51-0c1f2e3d4a5b\"", "DeliveryCount": "1" },
    })
    .to_string();
    let headers = [("Host", "127.0.0.1"), ("Content-Type", "application/json")];
    let raw = raw_http::request("POST /settle HTTP/1.1", &headers, body.as_bytes());
    let answer = raw_http::exchange(address, &raw).await;
    assert_eq!(answer.status, 500, "{answer:?}");
    let answer = answer.text();
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    let error = answer["error"].as_str().expect("an error");
    assert!(error.contains("needs azfn's native gRPC transport"), "{error}");
    assert!(error.contains("never a custom handler"), "{error}");

    let _ = stop.send(());
    let _ = tokio::time::timeout(PATIENCE, server).await;
}

/// The worker's own gRPC endpoint (the one it serves a restarted app at specialization) hands
/// calls to other methods over whole when asked to, and answers with what it is given, status
/// and message in the trailers; the relay passes them to the host this way.
#[tokio::test]
async fn the_relays_endpoint_forwards_other_calls_and_their_answers() {
    use azfn::native::codec::GrpcStatus;
    use azfn::native::server::{OtherAnswer, Server};

    let server = Server::start(1 << 20).await.expect("listens");
    let mut calls = server.forward_other_calls();
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).await.expect("connects");
    let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(tcp))
        .await
        .expect("HTTP/2");
    tokio::spawn(connection);

    let token = field(1, UNKNOWN_TOKEN.as_bytes());
    let request = Request::post(format!("http://127.0.0.1:{}/Settlement/Complete", server.port))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::Full::new(frame(&token)))
        .expect("a request");
    let answering = tokio::spawn(async move {
        let call = calls.recv().await.expect("the call is handed over");
        assert_eq!(call.path, "/Settlement/Complete");
        assert_eq!(call.body, frame(&token));
        let answer = OtherAnswer {
            body: bytes::Bytes::new(),
            status: GrpcStatus {
                code: 9,
                message: format!("LockToken {UNKNOWN_TOKEN} not found."),
            },
        };
        call.answer.send(answer).expect("the caller waits");
    });
    let response = sender.send_request(request).await.expect("answered");
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    let collected = response.into_body().collect().await.expect("the whole answer");
    let trailers = collected.trailers().expect("trailers").clone();
    assert!(collected.to_bytes().is_empty());
    assert_eq!(trailers["grpc-status"], "9");
    let status = GrpcStatus::from_headers(|name| trailers.get(name).map(HeaderValue::as_bytes)).expect("a status");
    assert_eq!(status.message, format!("LockToken {UNKNOWN_TOKEN} not found."));
    answering.await.expect("the answering side ran");
}

/// The example app `settlement_app`, built once.
fn settlement_app() -> std::path::PathBuf {
    example_app::build_example("settlement_app", "native,servicebus")
}

/// After placeholder specialization the worker restarts the app and relays its stream; the
/// restarted app's settlement calls reach the host over the worker's connection, and the host's
/// answers come back.
#[tokio::test]
async fn after_specialization_settlements_reach_the_host_through_the_relay() {
    let directory =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("settle-specialized-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("a scratch folder");
    std::fs::copy(settlement_app(), directory.join("app")).expect("the app is deployed");

    let mut harness = Harness::start().await;
    harness.host.send(Content::FunctionEnvironmentReloadRequest(
        FunctionEnvironmentReloadRequest {
            environment_variables: [("AZFN_SPECIALIZED".to_owned(), "yes".to_owned())].into(),
            function_app_directory: directory.display().to_string(),
        },
    ));
    let Content::FunctionEnvironmentReloadResponse(reloaded) = harness.host.next_reply().await else {
        panic!("expected FunctionEnvironmentReloadResponse");
    };
    assert_eq!(
        reloaded.result.as_ref().map(|r| r.status),
        Some(Status::Success as i32),
        "{reloaded:?}"
    );
    harness.host.index_and_load().await;

    // The restarted app's function: its call goes out through the relay.
    let token = "9a8b7c6d-0000-4000-8000-00000000c0de";
    let mut request = message("inv-relayed", "settle", "ignored", token);
    request.function_id = "complete".to_owned();
    request.input_data[0].name = "message".to_owned();
    let response = harness.host.invoke(request).await;
    assert_eq!(status(&response), Status::Success, "{}", exception_message(&response));
    let call = harness.host.next_settlement().await;
    assert_eq!(
        message_of(&call, &harness.host, "/Settlement/Complete"),
        field(1, token.as_bytes())
    );

    // And a refusal comes back as the host gave it.
    let mut request = message("inv-relayed-2", "settle", "ignored", UNKNOWN_TOKEN);
    request.function_id = "complete".to_owned();
    request.input_data[0].name = "message".to_owned();
    let response = harness.host.invoke(request).await;
    assert_eq!(status(&response), Status::Failure);
    let error = exception_message(&response);
    assert!(error.contains("gRPC status 9"), "{error}");
    assert!(
        error.contains(&format!("LockToken {UNKNOWN_TOKEN} not found.")),
        "{error}"
    );
    harness.host.next_settlement().await;

    harness.host.send(Content::WorkerTerminate(WorkerTerminate {
        grace_period: Some(azfn::native::proto::Duration { seconds: 5, nanos: 0 }),
    }));
    let result = tokio::time::timeout(PATIENCE, harness.worker)
        .await
        .expect("run returns in time")
        .expect("run does not panic");
    assert_eq!(result, Ok(()));
}

/// A test of the app attaches its own settler with a middleware, and sees what the function
/// settles, with no host at all.
#[tokio::test]
async fn a_test_attaches_its_own_settler_and_sees_each_settlement() {
    use azfn::testing::{TestApp, Trigger};
    use azfn::{Invocation, MessageSettler, SettleFuture, SettlementChannel, SettlementOperation, SettlementRequest};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<SettlementRequest>>);

    impl MessageSettler for Recorder {
        fn settle(&self, request: SettlementRequest) -> SettleFuture<'_> {
            self.0.lock().expect("lock").push(request);
            Box::pin(async { Ok(()) })
        }
    }

    let recorder = Arc::new(Recorder::default());
    let attached = recorder.clone();
    let app = TestApp::new(
        azfn::App::new().middleware(move |mut invocation: Invocation, next: azfn::Next| {
            invocation
                .extensions
                .insert(SettlementChannel(attached.clone() as Arc<dyn MessageSettler>));
            next.run(invocation)
        }),
    );
    let trigger = Trigger::json(&"dead-letter").with_metadata("LockToken", "t-1");
    app.invoke("settle", trigger).await.expect("the function succeeds");
    let seen = recorder.0.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].lock_token, "t-1");
    assert!(matches!(
        &seen[0].operation,
        SettlementOperation::DeadLetter { reason: Some(reason), .. } if reason == "Invalid"
    ));

    // Without one, the function's settlement fails with the reason.
    let bare = TestApp::new(azfn::App::new());
    let error = bare
        .invoke("settle", Trigger::json(&"complete").with_metadata("LockToken", "t-1"))
        .await
        .expect_err("no channel");
    assert!(
        error.to_string().contains("needs azfn's native gRPC transport"),
        "{error}"
    );
}
