//! The gRPC transport against a mock host: a plaintext HTTP/2 gRPC server on 127.0.0.1 playing
//! the host's side of `EventStream`, driving a real `azfn::native::run` through start-up,
//! indexing, loading, invocations of every kind of function (over `RpcHttp` and over
//! `HttpUri`), cancellation, termination, specialization, bad messages and 1,000 invocations in
//! flight at once.
//!
//! The mock host frames and parses gRPC messages with its own few lines, so the worker's codec
//! is checked against an independent reading of the wire format.
#![cfg(feature = "native")]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use azfn::bindings::{BindingDescription, PropertyValue, catalog};
use azfn::native::proto::{
    self, BindingInfo, FunctionEnvironmentReloadRequest, FunctionEnvironmentReloadResponse, FunctionLoadRequest,
    FunctionLoadRequestCollection, FunctionMetadataResponse, FunctionsMetadataRequest, InvocationCancel,
    InvocationRequest, InvocationResponse, NullableString, ParameterBinding, RpcHttp, RpcLog, StreamingMessage,
    TypedData, WorkerInitRequest, WorkerInitResponse, WorkerStatusRequest, WorkerTerminate, binding_info,
    parameter_binding::RpcData, rpc_log, rpc_retry_options::RetryStrategy, status_result::Status,
    streaming_message::Content, typed_data::Data,
};
use azfn::prelude::*;
use azfn::{FunctionDescription, Invocation, InvocationError, InvokeFuture, Outputs, Registry, RetryPolicy};
use bytes::{Buf, Bytes, BytesMut};
use http::{Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, mpsc, oneshot};
use tokio::task::JoinHandle;

#[path = "support/example_app.rs"]
mod example_app;

#[path = "support/raw_http.rs"]
mod raw_http;

// ---------------------------------------------------------------------------------------------
// The app: functions as users write them, and a few described by hand.
// ---------------------------------------------------------------------------------------------

#[path = "support/functions.rs"]
mod functions;

/// Waits until the host cancels it.
#[function(queue_trigger(queue_name = "patient"))]
async fn patient(message: String, ctx: FunctionContext) -> Result<(), azfn::Error> {
    ctx.cancellation().cancelled().await;
    Err(azfn::Error::msg(format!("stopped waiting for {message}")))
}

/// Takes a moment, then answers.
#[function(queue_trigger(queue_name = "slow"), queue_output(queue_name = "done"))]
async fn slow(message: String) -> String {
    tokio::time::sleep(Duration::from_millis(300)).await;
    format!("done with {message}")
}

/// Logs at two levels, which reach the host as `RpcLog`s of those levels.
#[function(queue_trigger(queue_name = "chatty"))]
async fn chatty(message: String) {
    tracing::info!(text = %message, "received");
    tracing::warn!("running low");
}

/// Lets [`ticker`] send its second event.
static TICK_GATE: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

/// Streams two server-sent events, the second only once the test opens [`TICK_GATE`].
#[function(http_trigger(methods = "get"))]
async fn ticker(request: HttpRequest) -> HttpResponse {
    assert_eq!(request.method(), http::Method::GET);
    let (response, body) = HttpResponse::ok()
        .header("content-type", "text/event-stream")
        .streaming();
    tokio::spawn(async move {
        let _ = body.send("data: first\n\n").await;
        TICK_GATE.notified().await;
        let _ = body.send("data: second\n\n").await;
    });
    response
}

/// Streams a countdown, which `RpcHttp` carries whole.
#[function(http_trigger(methods = "get"))]
async fn countdown(req: HttpRequest) -> HttpResponse {
    let (response, body) = HttpResponse::ok().header("content-type", "text/plain").streaming();
    let from: u32 = req.query("from").and_then(|n| n.parse().ok()).unwrap_or(3);
    tokio::spawn(async move {
        for n in (1..=from).rev() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let _ = body.send(format!("{n} ")).await;
        }
    });
    response
}

/// Fails, panics, answers 404 or brews, by its route value.
/// Notified when `tally` has read the first chunk of its body.
static TALLY_FIRST_CHUNK: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

/// Counts the bytes of a body it reads as it arrives.
#[function(http_trigger(methods = "post"))]
async fn tally(mut body: azfn::RequestBody) -> azfn::Result<String> {
    let (mut bytes, mut chunks) = (0, 0);
    while let Some(chunk) = body.chunk().await {
        bytes += chunk?.len();
        chunks += 1;
        if chunks == 1 {
            TALLY_FIRST_CHUNK.notify_one();
        }
    }
    Ok(format!("{bytes} bytes"))
}

#[function(http_trigger(route = "brew/{mode}"))]
async fn brew(Path(mode): Path<String>) -> azfn::Result<String> {
    match mode.as_str() {
        "panic" => panic!("the kettle exploded"),
        "fail" => Err(azfn::Error::msg("no water")),
        "missing" => Err(azfn::Error::not_found("no such tea")),
        _ => Ok(format!("{mode} tea")),
    }
}

/// Durable functions over gRPC: the same user code as over the custom handler.
#[cfg(feature = "durable")]
mod durable_functions {
    use azfn::durable::OrchestrationContext;
    use azfn::prelude::*;

    #[function(orchestration_trigger)]
    async fn greet_all(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
        let names: Vec<String> = ctx.input()?;
        let mut greetings = Vec::new();
        for name in &names {
            greetings.push(ctx.call_activity::<String, _>("greet_one", name).await?);
        }
        Ok(greetings)
    }

    #[function(activity_trigger)]
    fn greet_one(name: String) -> String {
        format!("Hello {name}")
    }
}

/// How many invocations [`rendezvous`] waits for: it answers only once all run at once.
const IN_FLIGHT_AT_ONCE: usize = 1000;
static ALL_ARRIVED: LazyLock<Barrier> = LazyLock::new(|| Barrier::new(IN_FLIGHT_AT_ONCE));

#[function(queue_trigger(queue_name = "rendezvous"), queue_output(queue_name = "met"))]
async fn rendezvous(message: String) -> Result<String, azfn::Error> {
    tokio::time::timeout(Duration::from_secs(30), ALL_ARRIVED.wait())
        .await
        .map_err(|_| azfn::Error::msg("the invocations did not run at once"))?;
    Ok(message)
}

/// A function with a retry policy, described by hand (the attribute has no `retry` yet).
static RETRIED_BINDINGS: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::TIMER_TRIGGER,
    name: "tick",
    data_type: None,
    properties: &[("schedule", PropertyValue::Str("0 0 * * * *"))],
}];

static RETRIED: FunctionDescription = FunctionDescription {
    name: "retried",
    rust_path: "native_mock_host::retried",
    location: (file!(), line!()),
    bindings: &RETRIED_BINDINGS,
    return_bindings: &[],
    retry: Some(RetryPolicy::FixedDelay {
        max_retry_count: 4,
        delay_interval: "00:00:10",
    }),
    streams_request_body: false,
    invoke: nothing,
};

fn nothing(_: Invocation) -> InvokeFuture {
    Box::pin(async { Ok::<_, InvocationError>(Outputs::default()) })
}

/// The `#[function]`s of this file and the hand-written one.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let linked = Registry::global().expect("function names are unique");
        Registry::from_descriptions(linked.functions().chain([&RETRIED])).expect("function names are unique")
    })
}

// ---------------------------------------------------------------------------------------------
// The mock host.
// ---------------------------------------------------------------------------------------------

const EVENT_STREAM: &str = "/AzureFunctionsRpcMessages.FunctionRpc/EventStream";
const WORKER_ID: &str = "9f3c2a1e-0000-4000-8000-00000000w0rk";
const START_REQUEST_ID: &str = "5d2a1b3c-0000-4000-8000-0000000req0";
/// How long the host waits for any one message.
const PATIENCE: Duration = Duration::from_secs(30);

/// One gRPC message, framed: no compression, big-endian length.
fn frame(payload: &[u8]) -> Bytes {
    let mut framed = Vec::with_capacity(payload.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(payload);
    Bytes::from(framed)
}

/// The host's half of the stream: frames the test queues, ending after trailers.
struct HostBody {
    frames: mpsc::UnboundedReceiver<Frame<Bytes>>,
    done: bool,
}

impl http_body::Body for HostBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.frames.poll_recv(cx) {
            Poll::Ready(Some(frame)) => {
                this.done = frame.is_trailers();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What the server task shares with the service.
struct Shared {
    host_half: Mutex<Option<mpsc::UnboundedReceiver<Frame<Bytes>>>>,
    to_test: mpsc::UnboundedSender<StreamingMessage>,
    trailers: mpsc::UnboundedSender<Frame<Bytes>>,
}

struct MockHost {
    address: SocketAddr,
    to_worker: mpsc::UnboundedSender<Frame<Bytes>>,
    from_worker: mpsc::UnboundedReceiver<StreamingMessage>,
    /// Log lines received while waiting for other messages.
    logs: Vec<RpcLog>,
}

impl MockHost {
    async fn start() -> MockHost {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("address");
        let (to_worker, host_half) = mpsc::unbounded_channel();
        let (to_test, from_worker) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            host_half: Mutex::new(Some(host_half)),
            to_test,
            trailers: to_worker.clone(),
        });
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("the worker connects");
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(event_stream(request, &shared)) }
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
        MockHost {
            address,
            to_worker,
            from_worker,
            logs: Vec::new(),
        }
    }

    /// The command line the host starts a worker with (`RpcWorkerContext`).
    fn command_line(&self) -> Vec<String> {
        let port = self.address.port().to_string();
        let uri = format!("http://127.0.0.1:{port}/");
        [
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--workerId",
            WORKER_ID,
            "--requestId",
            START_REQUEST_ID,
            "--grpcMaxMessageLength",
            "2147483647",
            "--functions-uri",
            &uri,
            "--functions-worker-id",
            WORKER_ID,
            "--functions-request-id",
            START_REQUEST_ID,
            "--functions-grpc-max-message-length",
            "2147483647",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn send(&self, request_id: &str, content: Content) {
        let message = StreamingMessage {
            request_id: request_id.to_owned(),
            content: Some(content),
        };
        self.send_raw(&message.encode_to_vec());
    }

    fn send_raw(&self, payload: &[u8]) {
        let _ = self.to_worker.send(Frame::data(frame(payload)));
    }

    /// Ends the host's half with `grpc-status`.
    fn end_stream(&self, status: u32) {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", status.to_string().parse().expect("header"));
        let _ = self.to_worker.send(Frame::trailers(trailers));
    }

    /// The next message; `None` once the worker ended its half.
    async fn next(&mut self) -> Option<StreamingMessage> {
        tokio::time::timeout(PATIENCE, self.from_worker.recv())
            .await
            .expect("the worker answers in time")
    }

    /// The next message that is not a log line (those are kept in `logs`).
    async fn next_reply(&mut self) -> StreamingMessage {
        loop {
            let message = self.next().await.expect("the stream is open");
            match message.content {
                Some(Content::RpcLog(log)) => self.logs.push(log),
                _ => return message,
            }
        }
    }

    /// The next log line.
    async fn next_log(&mut self) -> RpcLog {
        if !self.logs.is_empty() {
            return self.logs.remove(0);
        }
        match self.next().await.expect("the stream is open").content {
            Some(Content::RpcLog(log)) => log,
            other => panic!("expected a log line, got {other:?}"),
        }
    }

    async fn expect_start_stream(&mut self) {
        let message = self.next().await.expect("a first message");
        assert_eq!(message.request_id, START_REQUEST_ID);
        match message.content {
            Some(Content::StartStream(start)) => assert_eq!(start.worker_id, WORKER_ID),
            other => panic!("the first message must be StartStream, got {other:?}"),
        }
    }

    async fn init(&mut self) -> WorkerInitResponse {
        let request = WorkerInitRequest {
            host_version: "4.1037.0".into(),
            capabilities: [("MultiStream".to_owned(), "10".to_owned())].into(),
            worker_directory: "/azure-functions-host/workers/native".into(),
            function_app_directory: "/home/site/wwwroot".into(),
            ..WorkerInitRequest::default()
        };
        self.send("init-1", Content::WorkerInitRequest(request));
        let reply = self.next_reply().await;
        assert_eq!(reply.request_id, "init-1");
        match reply.content {
            Some(Content::WorkerInitResponse(response)) => response,
            other => panic!("expected WorkerInitResponse, got {other:?}"),
        }
    }

    async fn metadata(&mut self) -> FunctionMetadataResponse {
        let request = FunctionsMetadataRequest {
            function_app_directory: "/home/site/wwwroot".into(),
        };
        self.send("meta-1", Content::FunctionsMetadataRequest(request));
        let reply = self.next_reply().await;
        assert_eq!(reply.request_id, "meta-1");
        match reply.content {
            Some(Content::FunctionMetadataResponse(response)) => response,
            other => panic!("expected FunctionMetadataResponse, got {other:?}"),
        }
    }

    /// Init, indexing and one load collection with every function, as the host does.
    /// Sends a `FunctionEnvironmentReloadRequest` and reads its answer, which echoes the id.
    async fn reload(
        &mut self,
        request_id: &str,
        request: FunctionEnvironmentReloadRequest,
    ) -> FunctionEnvironmentReloadResponse {
        self.send(request_id, Content::FunctionEnvironmentReloadRequest(request));
        let reply = self.next_reply().await;
        assert_eq!(reply.request_id, request_id);
        match reply.content {
            Some(Content::FunctionEnvironmentReloadResponse(response)) => response,
            other => panic!("expected FunctionEnvironmentReloadResponse, got {other:?}"),
        }
    }

    async fn ready(&mut self) -> WorkerInitResponse {
        let init = self.init().await;
        let metadata = self.metadata().await;
        let requests = metadata
            .function_metadata_results
            .into_iter()
            .map(|m| FunctionLoadRequest {
                function_id: m.function_id.clone(),
                metadata: Some(m),
                managed_dependency_enabled: false,
            })
            .collect();
        let collection = FunctionLoadRequestCollection {
            function_load_requests: requests,
        };
        self.send("load-1", Content::FunctionLoadRequestCollection(collection));
        match self.next_reply().await.content {
            Some(Content::FunctionLoadResponseCollection(loaded)) => {
                assert_eq!(loaded.function_load_responses.len(), registry().len());
                for response in loaded.function_load_responses {
                    assert_eq!(status(&response.result), Status::Success, "{}", response.function_id);
                }
            }
            other => panic!("expected FunctionLoadResponseCollection, got {other:?}"),
        }
        init
    }

    /// Sends an invocation and waits for its response; returns it with its log lines.
    async fn invoke(&mut self, request: InvocationRequest) -> (Vec<RpcLog>, InvocationResponse) {
        let invocation_id = request.invocation_id.clone();
        self.send("", Content::InvocationRequest(request));
        self.response_of(&invocation_id).await
    }

    async fn response_of(&mut self, invocation_id: &str) -> (Vec<RpcLog>, InvocationResponse) {
        let response = match self.next_reply().await.content {
            Some(Content::InvocationResponse(response)) => response,
            other => panic!("expected InvocationResponse, got {other:?}"),
        };
        assert_eq!(response.invocation_id, invocation_id);
        let (mine, others) = std::mem::take(&mut self.logs)
            .into_iter()
            .partition(|log| log.invocation_id == invocation_id);
        self.logs = others;
        (mine, response)
    }
}

/// The server's side of one `EventStream` call.
fn event_stream(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<HostBody> {
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri().path(), EVENT_STREAM);
    assert_eq!(request.headers()["content-type"], "application/grpc");
    assert_eq!(request.headers()["te"], "trailers");
    let host_half = shared
        .host_half
        .lock()
        .expect("lock")
        .take()
        .expect("one EventStream call per worker");
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut body = request.into_body();
        let mut buffer = BytesMut::new();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else { continue };
            buffer.extend_from_slice(&data);
            while buffer.len() >= 5 {
                assert_eq!(buffer[0], 0, "the worker never compresses");
                let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
                if buffer.len() < 5 + length {
                    break;
                }
                buffer.advance(5);
                let payload = buffer.split_to(length);
                let message = StreamingMessage::decode(payload).expect("the worker sends valid messages");
                let _ = shared.to_test.send(message);
            }
        }
        // The worker ended its half: end ours, as the host's `EventStream` returns.
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let _ = shared.trailers.send(Frame::trailers(trailers));
    });
    Response::builder()
        .header("content-type", "application/grpc")
        .body(HostBody {
            frames: host_half,
            done: false,
        })
        .expect("response")
}

/// A worker running against a mock host.
struct Harness {
    host: MockHost,
    worker: JoinHandle<Result<(), String>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Harness {
    /// Starts the worker with the host's command line; `http_uri` turns the loopback server on.
    async fn start(http_uri: bool) -> Harness {
        let mut host = MockHost::start().await;
        let mut args = azfn::native::parse_args(&host.command_line())
            .expect("a gRPC launch")
            .expect("valid arguments");
        args.http_uri = http_uri;
        let (shutdown, signal) = oneshot::channel::<()>();
        let worker = tokio::spawn(azfn::native::run(args, registry(), async move {
            let _ = signal.await;
        }));
        host.expect_start_stream().await;
        Harness {
            host,
            worker,
            shutdown: Some(shutdown),
        }
    }

    /// Waits for the worker to end its half of the stream and `run` to return.
    async fn finished(mut self) -> Result<(), String> {
        while let Some(message) = self.host.next().await {
            if let Some(Content::InvocationResponse(response)) = message.content {
                panic!("unexpected response after the end: {response:?}");
            }
        }
        tokio::time::timeout(PATIENCE, self.worker)
            .await
            .expect("run returns in time")
            .expect("run does not panic")
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for messages.
// ---------------------------------------------------------------------------------------------

fn status(result: &Option<proto::StatusResult>) -> Status {
    Status::try_from(result.as_ref().expect("a result").status).expect("a known status")
}

fn typed(data: Data) -> TypedData {
    TypedData { data: Some(data) }
}

fn input(name: &str, data: Data) -> ParameterBinding {
    ParameterBinding {
        name: name.to_owned(),
        rpc_data: Some(RpcData::Data(typed(data))),
    }
}

fn invocation(id: &str, function: &str, inputs: Vec<ParameterBinding>) -> InvocationRequest {
    InvocationRequest {
        invocation_id: id.to_owned(),
        function_id: function.to_owned(),
        input_data: inputs,
        ..InvocationRequest::default()
    }
}

fn queue_message(id: &str, function: &str, message: &str) -> InvocationRequest {
    invocation(id, function, vec![input("message", Data::String(message.to_owned()))])
}

/// An HTTP response as the worker sends it.
fn http_response(status: &str, content_type: &str, body: &[u8]) -> TypedData {
    typed(Data::Http(Box::new(RpcHttp {
        status_code: status.to_owned(),
        headers: [("content-type".to_owned(), content_type.to_owned())].into(),
        body: Some(Box::new(typed(Data::Bytes(body.to_vec())))),
        ..RpcHttp::default()
    })))
}

fn json_output(data: &Option<TypedData>) -> Value {
    match data.as_ref().and_then(|d| d.data.clone()) {
        Some(Data::Json(text)) => serde_json::from_str(&text).expect("JSON"),
        other => panic!("expected JSON, got {other:?}"),
    }
}

fn output_data(binding: &ParameterBinding) -> Option<TypedData> {
    match &binding.rpc_data {
        Some(RpcData::Data(data)) => Some(data.clone()),
        other => panic!("expected data, got {other:?}"),
    }
}

/// The HTTP request of the real-host capture (`captures/http-with-blob-input.json`), with the worker's capabilities applied
/// (nullable maps, body as bytes only).
fn hello_request(invocation_id: &str) -> InvocationRequest {
    let http = RpcHttp {
        method: "POST".into(),
        url: "https://bal-dev.azurewebsites.net/api/hello/blobInput?name=hello.txt".into(),
        nullable_headers: [
            ("content-type".to_owned(), NullableString::new("text/plain")),
            ("host".to_owned(), NullableString::new("bal-dev.azurewebsites.net")),
        ]
        .into(),
        nullable_query: [("name".to_owned(), NullableString::new("hello.txt"))].into(),
        body: Some(Box::new(typed(Data::Bytes(b"Jack".to_vec())))),
        ..RpcHttp::default()
    };
    let mut request = invocation(
        invocation_id,
        "post-hello-blobInput",
        vec![
            input("httpPayload", Data::Http(Box::new(http))),
            input("blobIn", Data::String("hello from byte\n".into())),
        ],
    );
    request.trigger_metadata = [("name".to_owned(), typed(Data::String("hello.txt".into())))].into();
    request
}

/// A raw HTTP/1.1 POST to the worker's `HttpUri` server, as the host's proxy forwards it.
async fn forward(http_uri: &str, path: &str, invocation_id: &str, body: &str) -> (u16, String) {
    let address = http_uri.trim_start_matches("http://");
    let headers = [
        ("Host", address),
        ("X-Forwarded-Host", "app.example"),
        ("X-Forwarded-Proto", "https"),
        ("x-ms-invocation-id", invocation_id),
        ("Content-Type", "text/plain"),
    ];
    let raw = raw_http::request(&format!("POST {path} HTTP/1.1"), &headers, body.as_bytes());
    let answer = raw_http::exchange(address, &raw).await;
    (answer.status, answer.text())
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn start_stream_comes_first_and_init_advertises_only_honoured_capabilities() {
    let mut harness = Harness::start(false).await;
    let init = harness.host.init().await;
    assert_eq!(status(&init.result), Status::Success);
    let names: Vec<&str> = init.capabilities.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "EnableUserCodeException",
            "HandlesInvocationCancelMessage",
            "HandlesWorkerTerminateMessage",
            "IncludeEmptyEntriesInMessagePayload",
            "RawHttpBodyBytes",
            "RpcHttpBodyOnly",
            "RpcHttpTriggerMetadataRemoved",
            "SupportsLoadResponseCollection",
            "TypedDataCollection",
            "UseNullableValueDictionaryForHttp",
            "WorkerStatus",
        ]
    );
    let metadata = init.worker_metadata.expect("worker metadata");
    assert_eq!(metadata.runtime_name, "rust");
    assert!(!metadata.worker_version.is_empty());

    // Worker status is answered with the request id echoed.
    harness
        .host
        .send("status-7", Content::WorkerStatusRequest(WorkerStatusRequest {}));
    let reply = harness.host.next_reply().await;
    assert_eq!(reply.request_id, "status-7");
    assert!(matches!(reply.content, Some(Content::WorkerStatusResponse(_))));
}

#[tokio::test]
async fn metadata_describes_every_function_as_its_function_json() {
    let mut harness = Harness::start(false).await;
    harness.host.init().await;
    let metadata = harness.host.metadata().await;
    assert_eq!(status(&metadata.result), Status::Success);
    assert!(!metadata.use_default_metadata_indexing);
    assert_eq!(metadata.function_metadata_results.len(), registry().len());
    for described in &metadata.function_metadata_results {
        let function = registry().get(&described.name).expect("a function of the app");
        assert_eq!(described.function_id, function.name);
        let raw: Vec<Value> = described
            .raw_bindings
            .iter()
            .map(|text| serde_json::from_str(text).expect("JSON text"))
            .collect();
        assert_eq!(
            Value::from(raw.clone()),
            azfn::manifest::function_json(function)["bindings"],
            "{}",
            function.name
        );
        // The `bindings` map says the same as the raw bindings.
        assert_eq!(described.bindings.len(), raw.len());
        for binding in &raw {
            let info: &BindingInfo = &described.bindings[binding["name"].as_str().expect("a name")];
            assert_eq!(info.r#type, binding["type"]);
            let direction = if binding["direction"] == "in" {
                binding_info::Direction::In
            } else {
                binding_info::Direction::Out
            };
            assert_eq!(info.direction, direction as i32);
        }
    }
    let blob_input = registry().get("post-hello-blobInput").expect("function");
    let hello = &metadata
        .function_metadata_results
        .iter()
        .find(|m| m.name == blob_input.name);
    let hello = hello.expect("described");
    assert_eq!(
        hello.bindings["blobIn"].data_type,
        binding_info::DataType::String as i32
    );

    let retried = metadata
        .function_metadata_results
        .iter()
        .find(|m| m.name == "retried")
        .expect("described");
    let retry = retried.retry_options.expect("retry options");
    assert_eq!(retry.max_retry_count, 4);
    assert_eq!(retry.retry_strategy, RetryStrategy::FixedDelay as i32);
    assert_eq!(retry.delay_interval, Some(proto::Duration { seconds: 10, nanos: 0 }));
    assert!(
        metadata
            .function_metadata_results
            .iter()
            .filter(|m| m.name != "retried")
            .all(|m| m.retry_options.is_none())
    );

    // Single loads: a known function by the host's own id, and an unknown one.
    let load = |id: &str, name: &str| FunctionLoadRequest {
        function_id: id.to_owned(),
        metadata: Some(proto::RpcFunctionMetadata {
            name: name.to_owned(),
            ..Default::default()
        }),
        managed_dependency_enabled: false,
    };
    harness
        .host
        .send("load-a", Content::FunctionLoadRequest(load("guid-1", "QUEUE")));
    let reply = harness.host.next_reply().await;
    assert_eq!(reply.request_id, "load-a");
    let Some(Content::FunctionLoadResponse(loaded)) = reply.content else {
        panic!("expected FunctionLoadResponse");
    };
    assert_eq!(
        (loaded.function_id.as_str(), status(&loaded.result)),
        ("guid-1", Status::Success)
    );
    harness
        .host
        .send("load-b", Content::FunctionLoadRequest(load("guid-2", "nope")));
    let Some(Content::FunctionLoadResponse(missing)) = harness.host.next_reply().await.content else {
        panic!("expected FunctionLoadResponse");
    };
    assert_eq!(status(&missing.result), Status::Failure);
    let exception = missing.result.and_then(|r| r.exception).expect("exception");
    assert!(
        exception.message.contains("no function named `nope`"),
        "{}",
        exception.message
    );

    // The host's own id works for invocations.
    let (_, response) = harness
        .host
        .invoke(invocation(
            "q-guid",
            "guid-1",
            vec![input("inMsg", Data::String("x".into()))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    // An id that was never loaded is refused.
    let (_, response) = harness.host.invoke(queue_message("q-none", "guid-2", "x")).await;
    assert_eq!(status(&response.result), Status::Failure);
}

#[tokio::test]
async fn every_function_answers_exactly_over_rpc_http() {
    let mut harness = Harness::start(false).await;
    let init = harness.host.ready().await;
    assert!(!init.capabilities.contains_key("HttpUri"));
    let host = &mut harness.host;

    // HTTP with a blob input: `$return` is the response.
    let (logs, response) = host.invoke(hello_request("h-1")).await;
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(status(&response.result), Status::Success);
    assert!(response.output_data.is_empty());
    assert_eq!(
        response.return_value,
        Some(http_response(
            "200",
            "text/plain; charset=utf-8",
            b"Jack says hello from byte"
        ))
    );

    // Queue trigger with its metadata, to a queue output.
    let mut queue = invocation("q-1", "queue", vec![input("inMsg", Data::String("aaaaa".into()))]);
    queue.trigger_metadata = [
        ("DequeueCount".to_owned(), typed(Data::Json("1".into()))),
        (
            "Id".to_owned(),
            typed(Data::String("a0004923-f050-417a-9742-6d7c7b984134".into())),
        ),
        (
            "InsertionTime".to_owned(),
            typed(Data::Json("\"2022-06-13T06:00:06+00:00\"".into())),
        ),
        (
            "PopReceipt".to_owned(),
            typed(Data::String("AgAAAAMAAAAAAAAA8d5gQex+2AE=".into())),
        ),
    ]
    .into();
    let (_, response) = host.invoke(queue).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(
        json_output(&response.return_value),
        json!({"message": "aaaaa (a0004923-f050-417a-9742-6d7c7b984134)", "attempt": 1})
    );

    // Timer: on time, then late (a user failure, logged for the invocation).
    let timer_info = |past_due: bool| {
        Data::Json(
            json!({"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": past_due}).to_string(),
        )
    };
    let (_, response) = host
        .invoke(invocation("t-1", "timer", vec![input("timer", timer_info(false))]))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!((response.output_data.len(), response.return_value), (0, None));
    let (logs, response) = host
        .invoke(invocation("t-2", "timer", vec![input("timer", timer_info(true))]))
        .await;
    assert_eq!(status(&response.result), Status::Failure);
    let exception = response.result.and_then(|r| r.exception).expect("exception");
    assert_eq!(exception.message, "the function returned an error: timer ran late");
    assert!(exception.is_user_exception);
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (logs[0].invocation_id.as_str(), logs[0].category.as_str()),
        ("t-2", "Function.timer")
    );
    assert_eq!(logs[0].level, rpc_log::Level::Error as i32);
    assert_eq!(logs[0].log_category, rpc_log::RpcLogCategory::User as i32);

    // A FunctionOutput struct: an HTTP output and a queue output, nothing in `$return`.
    let body = br#"[{"message":"a","attempt":1},{"message":"b","attempt":2}]"#;
    let accept = RpcHttp {
        method: "POST".into(),
        url: "http://localhost:7071/api/accept".into(),
        body: Some(Box::new(typed(Data::Bytes(body.to_vec())))),
        ..RpcHttp::default()
    };
    let (_, response) = host
        .invoke(invocation(
            "a-1",
            "accept",
            vec![input("req", Data::Http(Box::new(accept)))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(response.return_value, None);
    let names: Vec<&str> = response.output_data.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["response", "orders"]);
    assert_eq!(
        output_data(&response.output_data[0]),
        Some(http_response("202", "text/plain; charset=utf-8", b"queued"))
    );
    assert_eq!(
        json_output(&output_data(&response.output_data[1])),
        json!([{"message": "a", "attempt": 1}, {"message": "b", "attempt": 2}])
    );

    // A panic fails that invocation only, flagged as user code.
    let (_, response) = host.invoke(queue_message("p-1", "panics", "x")).await;
    assert_eq!(status(&response.result), Status::Failure);
    let exception = response.result.and_then(|r| r.exception).expect("exception");
    assert_eq!(exception.message, "the function panicked: user code panicked on x");
    assert!(exception.is_user_exception);
    assert_eq!(exception.r#type, "Panic");

    // A value that does not convert is a binding failure, not user code.
    let (_, response) = host.invoke(queue_message("s-1", "strict", "not json")).await;
    let exception = response.result.and_then(|r| r.exception).expect("exception");
    assert!(exception.message.contains("binding `message`"), "{}", exception.message);
    assert!(!exception.is_user_exception);

    // The worker kept serving.
    let (_, response) = host.invoke(hello_request("h-2")).await;
    assert_eq!(status(&response.result), Status::Success);
}

/// `brew`'s request over `RpcHttp`, with its route value where current hosts put it.
fn brew_request(invocation_id: &str, mode: &str) -> InvocationRequest {
    let http = RpcHttp {
        method: "GET".into(),
        url: format!("http://localhost:7071/api/brew/{mode}"),
        nullable_params: [("mode".to_owned(), NullableString::new(mode))].into(),
        ..RpcHttp::default()
    };
    invocation(invocation_id, "brew", vec![input("req", Data::Http(Box::new(http)))])
}

/// Checks that `brew` failed as the host must record it: `Failure` with the message as the
/// exception, and one Error line for the invocation carrying the same exception.
fn assert_failed(logs: &[RpcLog], response: &InvocationResponse, message: &str) {
    assert_eq!(status(&response.result), Status::Failure, "{response:?}");
    assert_eq!(response.return_value, None);
    let exception = response.result.clone().and_then(|r| r.exception).expect("exception");
    assert_eq!(exception.message, message);
    assert!(exception.is_user_exception);
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].invocation_id, response.invocation_id);
    assert_eq!(logs[0].category, "Function.brew");
    assert_eq!(logs[0].level, rpc_log::Level::Error as i32);
    assert!(logs[0].message.contains(message), "{}", logs[0].message);
    assert_eq!(logs[0].exception.as_ref(), Some(&exception));
}

#[tokio::test]
async fn a_failed_http_function_is_a_failed_invocation_over_rpc_http() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let host = &mut harness.host;

    let (logs, response) = host.invoke(brew_request("b-1", "fail")).await;
    assert_failed(&logs, &response, "the function returned an error: no water");
    let (logs, response) = host.invoke(brew_request("b-2", "panic")).await;
    assert_failed(&logs, &response, "the function panicked: the kettle exploded");

    // An error with a status is the function's answer, not a failure.
    let (logs, response) = host.invoke(brew_request("b-3", "missing")).await;
    assert_eq!(status(&response.result), Status::Success);
    assert!(
        logs.iter().all(|log| log.level != rpc_log::Level::Error as i32),
        "{logs:?}"
    );
    assert_eq!(
        response.return_value,
        Some(http_response("404", "text/plain; charset=utf-8", b"no such tea"))
    );
    let (_, response) = host.invoke(brew_request("b-4", "green")).await;
    assert_eq!(
        response.return_value,
        Some(http_response("200", "text/plain; charset=utf-8", b"green tea"))
    );
}

#[tokio::test]
async fn a_failed_http_function_is_a_failed_invocation_through_http_uri() {
    let mut harness = Harness::start(true).await;
    let init = harness.host.ready().await;
    let http_uri = init.capabilities["HttpUri"].clone();
    let host = &mut harness.host;
    let grpc_half = |id: &str, mode: &str| {
        let route_only = RpcHttp {
            nullable_params: [("mode".to_owned(), NullableString::new(mode))].into(),
            ..RpcHttp::default()
        };
        invocation(id, "brew", vec![input("req", Data::Http(Box::new(route_only)))])
    };
    for (id, mode, message) in [
        ("bu-1", "fail", "the function returned an error: no water"),
        ("bu-2", "panic", "the function panicked: the kettle exploded"),
    ] {
        let caller = tokio::spawn({
            let http_uri = http_uri.clone();
            let path = format!("/api/brew/{mode}");
            let id = id.to_owned();
            async move { forward(&http_uri, &path, &id, "").await }
        });
        let (logs, response) = host.invoke(grpc_half(id, mode)).await;
        assert_failed(&logs, &response, message);
        // The caller gets a bare 500; the details are in the log.
        assert_eq!(
            caller.await.expect("joins"),
            (500, "internal server error".to_owned()),
            "{mode}"
        );
    }
    let caller = tokio::spawn({
        let http_uri = http_uri.clone();
        async move { forward(&http_uri, "/api/brew/missing", "bu-3", "").await }
    });
    let (_, response) = host.invoke(grpc_half("bu-3", "missing")).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(caller.await.expect("joins"), (404, "no such tea".to_owned()));
}

#[tokio::test]
async fn route_values_of_older_hosts_are_read_from_the_trigger_metadata() {
    // Older hosts send no `params` in `RpcHttp`: the route value is only trigger binding data.
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let mut request = brew_request("r-1", "green");
    if let Some(RpcData::Data(TypedData {
        data: Some(Data::Http(http)),
    })) = &mut request.input_data[0].rpc_data
    {
        http.nullable_params.clear();
    }
    request.trigger_metadata = [("mode".to_owned(), typed(Data::String("oolong".into())))].into();
    let (_, response) = harness.host.invoke(request).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(
        response.return_value,
        Some(http_response("200", "text/plain; charset=utf-8", b"oolong tea"))
    );

    // Through `HttpUri`, a host that does not honour `RequiresRouteParameters` sends an empty
    // `RpcHttp`: the same.
    let mut harness = Harness::start(true).await;
    let init = harness.host.ready().await;
    let http_uri = init.capabilities["HttpUri"].clone();
    let caller = tokio::spawn(async move { forward(&http_uri, "/api/brew/sencha", "r-2", "").await });
    let mut request = invocation("r-2", "brew", vec![input("req", Data::Http(Box::default()))]);
    request.trigger_metadata = [("mode".to_owned(), typed(Data::String("sencha".into())))].into();
    let (_, response) = harness.host.invoke(request).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(caller.await.expect("joins"), (200, "sencha tea".to_owned()));
}

#[tokio::test]
async fn http_triggers_come_through_http_uri_in_either_order() {
    let mut harness = Harness::start(true).await;
    let init = harness.host.ready().await;
    let http_uri = init.capabilities["HttpUri"].clone();
    assert!(http_uri.starts_with("http://127.0.0.1:"), "{http_uri}");
    assert_eq!(init.capabilities["RequiresRouteParameters"], "true");
    let host = &mut harness.host;

    // The gRPC half carries an empty RpcHttp (route parameters only) and the other inputs.
    let grpc_half = |id: &str| {
        let route_only = RpcHttp {
            nullable_params: [("unused".to_owned(), NullableString::new("1"))].into(),
            ..RpcHttp::default()
        };
        invocation(
            id,
            "post-hello-blobInput",
            vec![
                input("httpPayload", Data::Http(Box::new(route_only))),
                input("blobIn", Data::String("hello from byte\n".into())),
            ],
        )
    };

    // The forwarded request first.
    let forwarded = tokio::spawn({
        let http_uri = http_uri.clone();
        async move { forward(&http_uri, "/api/hello/blobInput?name=hello.txt", "u-1", "Jack").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, response) = host.invoke(grpc_half("u-1")).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!((response.output_data.len(), response.return_value), (0, None));
    assert_eq!(
        forwarded.await.expect("joins"),
        (200, "Jack says hello from byte".to_owned())
    );

    // The gRPC half first.
    host.send("", Content::InvocationRequest(grpc_half("u-2")));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status_code, body) = forward(&http_uri, "/api/hello/blobInput", "u-2", "Jill").await;
    assert_eq!((status_code, body.as_str()), (200, "Jill says hello from byte"));
    let (_, response) = host.response_of("u-2").await;
    assert_eq!(status(&response.result), Status::Success);

    // A FunctionOutput struct: the HTTP output answers the caller, the queue goes over gRPC.
    let forwarded = tokio::spawn({
        let http_uri = http_uri.clone();
        async move { forward(&http_uri, "/api/accept", "u-3", r#"[{"message":"c","attempt":3}]"#).await }
    });
    let route_only = RpcHttp::default();
    let (_, response) = host
        .invoke(invocation(
            "u-3",
            "accept",
            vec![input("req", Data::Http(Box::new(route_only)))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    let names: Vec<&str> = response.output_data.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["orders"]);
    assert_eq!(
        json_output(&output_data(&response.output_data[0])),
        json!([{"message": "c", "attempt": 3}])
    );
    assert_eq!(forwarded.await.expect("joins"), (202, "queued".to_owned()));

    // Non-HTTP functions are unchanged.
    let (_, response) = host
        .invoke(invocation(
            "u-4",
            "queue",
            vec![input("inMsg", Data::String("m".into()))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);

    // A full RpcHttp (a host that ignores HttpUri) still works.
    let (_, response) = host.invoke(hello_request("u-5")).await;
    assert!(response.return_value.is_some());
}

#[tokio::test]
async fn streamed_responses_go_out_through_http_uri_as_they_are_sent() {
    let mut harness = Harness::start(true).await;
    let init = harness.host.ready().await;
    let address = init.capabilities["HttpUri"].trim_start_matches("http://").to_owned();
    let mut tcp = TcpStream::connect(&address).await.expect("the HttpUri server listens");
    let head =
        format!("GET /api/ticker HTTP/1.1\r\nHost: {address}\r\nx-ms-invocation-id: s-1\r\nConnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.expect("writes");
    let route_only = RpcHttp::default();
    let (_, response) = harness
        .host
        .invoke(invocation(
            "s-1",
            "ticker",
            vec![input("req", Data::Http(Box::new(route_only)))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);

    // The first event arrives while the function still holds back the second.
    let mut received = Vec::new();
    while !String::from_utf8_lossy(&received).contains("data: first") {
        let mut chunk = [0; 1024];
        let read = tokio::time::timeout(PATIENCE, tcp.read(&mut chunk))
            .await
            .expect("the first event arrives in time")
            .expect("reads");
        assert_ne!(
            read,
            0,
            "the stream ended early: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&chunk[..read]);
    }
    let so_far = String::from_utf8_lossy(&received).to_lowercase();
    assert!(so_far.starts_with("http/1.1 200"), "{so_far}");
    assert!(so_far.contains("transfer-encoding: chunked"), "{so_far}");
    assert!(so_far.contains("content-type: text/event-stream"), "{so_far}");
    assert!(!so_far.contains("second"), "{so_far}");

    TICK_GATE.notify_one();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut received))
        .await
        .expect("the stream ends in time")
        .expect("reads");
    let whole = String::from_utf8_lossy(&received);
    let (_, body) = whole.split_once("\r\n\r\n").expect("a head and a body");
    assert_eq!(body, "D\r\ndata: first\n\n\r\nE\r\ndata: second\n\n\r\n0\r\n\r\n");
}

#[tokio::test]
async fn streamed_responses_arrive_whole_over_rpc_http() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let http = RpcHttp {
        method: "GET".into(),
        url: "http://localhost/api/countdown?from=4".into(),
        nullable_query: [("from".to_owned(), NullableString::new("4"))].into(),
        ..RpcHttp::default()
    };
    let (_, response) = harness
        .host
        .invoke(invocation(
            "s-2",
            "countdown",
            vec![input("req", Data::Http(Box::new(http)))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(
        response.return_value,
        Some(http_response("200", "text/plain", b"4 3 2 1 "))
    );
}

#[cfg(feature = "durable")]
#[tokio::test]
async fn durable_orchestrators_and_activities_run_over_grpc() {
    use azfn::durable::orchestration::{decode_request, encode_response};
    use azfn::durable::proto::history_event::EventType;
    use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
    use azfn::durable::proto::{
        ExecutionStartedEvent, HistoryEvent, OrchestratorRequest, OrchestratorResponse, OrchestratorStartedEvent,
    };
    use base64::Engine;

    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    // The activity: JSON text in (the passthrough protocol's raw input), JSON out.
    let (_, response) = harness
        .host
        .invoke(invocation(
            "d-1",
            "greet_one",
            vec![input("input", Data::String("\"Ada\"".into()))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(
        response.return_value.and_then(|v| v.data),
        Some(Data::Json("\"Hello Ada\"".into()))
    );

    // The orchestrator: base64 protobuf in, base64 protobuf out as a string return value.
    let event = |event_type| HistoryEvent {
        event_id: -1,
        timestamp: Some(azfn::grpc::wkt::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        event_type: Some(event_type),
    };
    let request = OrchestratorRequest {
        instance_id: "o-1".into(),
        new_events: vec![
            event(EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            event(EventType::ExecutionStarted(ExecutionStartedEvent {
                name: "greet_all".into(),
                input: Some(r#"["Ada"]"#.into()),
                ..Default::default()
            })),
        ],
        ..Default::default()
    };
    let text = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
    assert_eq!(decode_request(&text).unwrap(), request);
    let (_, response) = harness
        .host
        .invoke(invocation(
            "d-2",
            "greet_all",
            vec![input("context", Data::String(text))],
        ))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    let Some(Data::String(answer)) = response.return_value.and_then(|v| v.data) else {
        panic!("the orchestrator answers with a string");
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(&answer).unwrap();
    let decoded = OrchestratorResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(encode_response(&decoded), answer);
    let Some(OrchestratorActionType::ScheduleTask(task)) = &decoded.actions[0].orchestrator_action_type else {
        panic!("{decoded:?}");
    };
    assert_eq!(
        (task.name.as_str(), task.input.as_ref().map(|i| i.value.as_str())),
        ("greet_one", Some("\"Ada\""))
    );
}

#[tokio::test]
async fn cancel_cancels_the_invocation_token() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let host = &mut harness.host;
    host.send("", Content::InvocationRequest(queue_message("c-1", "patient", "tea")));
    // Still running: the next reply is the status response, not the invocation's.
    host.send("status-1", Content::WorkerStatusRequest(WorkerStatusRequest {}));
    assert!(matches!(
        host.next_reply().await.content,
        Some(Content::WorkerStatusResponse(_))
    ));
    let cancel = InvocationCancel {
        invocation_id: "c-1".into(),
        grace_period: None,
    };
    host.send("", Content::InvocationCancel(cancel));
    let (_, response) = host.response_of("c-1").await;
    assert_eq!(status(&response.result), Status::Cancelled);
    let exception = response.result.and_then(|r| r.exception).expect("exception");
    assert!(
        exception.message.contains("stopped waiting for tea"),
        "{}",
        exception.message
    );
    // Cancelling an invocation that has finished does nothing.
    host.send(
        "",
        Content::InvocationCancel(InvocationCancel {
            invocation_id: "c-1".into(),
            grace_period: None,
        }),
    );
    let (_, response) = host.invoke(queue_message("c-2", "slow", "after")).await;
    assert_eq!(status(&response.result), Status::Success);
}

#[tokio::test]
async fn invocation_logs_keep_their_tracing_levels() {
    // What the app's `main` installs (RUST_LOG, else info).
    azfn::logging::init_default();
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let (logs, response) = harness.host.invoke(queue_message("l-1", "chatty", "hi")).await;
    assert_eq!(status(&response.result), Status::Success);
    let seen: Vec<(&str, &str, i32)> = logs
        .iter()
        .map(|log| (log.invocation_id.as_str(), log.message.as_str(), log.level))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "l-1",
                "native_mock_host: received text=hi",
                rpc_log::Level::Information as i32
            ),
            ("l-1", "native_mock_host: running low", rpc_log::Level::Warning as i32),
        ]
    );
    assert!(logs.iter().all(|log| log.category == "Function.chatty"));
}

#[tokio::test]
async fn terminate_drains_in_flight_invocations_then_ends_the_stream() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let host = &mut harness.host;
    host.send("", Content::InvocationRequest(queue_message("d-1", "slow", "one")));
    host.send("", Content::InvocationRequest(queue_message("d-2", "slow", "two")));
    let terminate = WorkerTerminate {
        grace_period: Some(proto::Duration { seconds: 5, nanos: 0 }),
    };
    host.send("", Content::WorkerTerminate(terminate));
    // Refused: the worker takes no new work once told to stop.
    host.send("", Content::InvocationRequest(queue_message("d-3", "slow", "three")));
    let (_, refused) = host.response_of("d-3").await;
    assert_eq!(status(&refused.result), Status::Failure);
    let exception = refused.result.and_then(|r| r.exception).expect("exception");
    assert!(exception.message.contains("shutting down"), "{}", exception.message);
    let mut done = Vec::new();
    for _ in 0..2 {
        let Some(Content::InvocationResponse(response)) = host.next_reply().await.content else {
            panic!("expected InvocationResponse");
        };
        assert_eq!(status(&response.result), Status::Success);
        let Some(Data::String(text)) = response.return_value.and_then(|v| v.data) else {
            panic!("expected text");
        };
        done.push(text);
    }
    done.sort();
    assert_eq!(done, ["done with one", "done with two"]);
    assert_eq!(harness.finished().await, Ok(()));
}

#[tokio::test]
async fn terminate_cancels_what_outlives_the_grace_period() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    let host = &mut harness.host;
    host.send("", Content::InvocationRequest(queue_message("g-1", "patient", "ever")));
    let terminate = WorkerTerminate {
        grace_period: Some(proto::Duration {
            seconds: 0,
            nanos: 200_000_000,
        }),
    };
    let started = tokio::time::Instant::now();
    host.send("", Content::WorkerTerminate(terminate));
    let (_, response) = host.response_of("g-1").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(status(&response.result), Status::Cancelled);
    assert_eq!(harness.finished().await, Ok(()));
}

#[tokio::test]
async fn a_shutdown_signal_drains_and_ends_the_stream() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    harness
        .host
        .send("", Content::InvocationRequest(queue_message("x-1", "slow", "last")));
    tokio::time::sleep(Duration::from_millis(50)).await;
    if let Some(shutdown) = harness.shutdown.take() {
        let _ = shutdown.send(());
    }
    let (_, response) = harness.host.response_of("x-1").await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(harness.finished().await, Ok(()));
}

#[tokio::test]
async fn the_host_ending_the_stream_ends_the_worker() {
    let mut harness = Harness::start(false).await;
    harness.host.init().await;
    harness.host.end_stream(0);
    assert_eq!(harness.finished().await, Ok(()));

    let mut harness = Harness::start(false).await;
    harness.host.init().await;
    harness.host.end_stream(13);
    let error = harness.finished().await.expect_err("a gRPC error");
    assert!(error.contains("gRPC status 13"), "{error}");
}

/// The example app `native_app` (built once), for the specialization test.
fn native_app() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| example_app::build_example("native_app", "native"))
        .clone()
}

/// A fresh folder under cargo's scratch folder for integration tests.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir.canonicalize().expect("a scratch folder")
}

#[tokio::test]
async fn specialization_restarts_the_app_with_the_hosts_environment_and_relays() {
    let directory = scratch("specialized");
    std::fs::copy(native_app(), directory.join("app")).expect("the app is deployed");
    let mut harness = Harness::start(false).await;
    let init = harness.host.init().await;
    let reload = FunctionEnvironmentReloadRequest {
        environment_variables: [("AZFN_SPECIALIZED".to_owned(), "yes".to_owned())].into(),
        function_app_directory: directory.display().to_string(),
    };
    let response = harness.host.reload("reload-1", reload).await;
    assert_eq!(status(&response.result), Status::Success);
    // The restarted app's own init answer: its capabilities replace the placeholder's.
    assert_eq!(response.capabilities, init.capabilities);
    assert_eq!(response.capabilities_update_strategy, 1, "replace");
    assert_eq!(response.worker_metadata.expect("metadata").runtime_name, "rust");
    // The stream now reaches the restarted app: its functions, its environment.
    let metadata = harness.host.metadata().await;
    let names: Vec<&str> = metadata
        .function_metadata_results
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["read_env"]);
    let load = FunctionLoadRequest {
        function_id: "read_env".into(),
        metadata: metadata.function_metadata_results.into_iter().next(),
        managed_dependency_enabled: false,
    };
    harness.host.send("load-1", Content::FunctionLoadRequest(load));
    let Some(Content::FunctionLoadResponse(loaded)) = harness.host.next_reply().await.content else {
        panic!("expected FunctionLoadResponse");
    };
    assert_eq!(status(&loaded.result), Status::Success);
    let (_, response) = harness
        .host
        .invoke(queue_message("s-1", "read_env", "AZFN_SPECIALIZED"))
        .await;
    assert_eq!(status(&response.result), Status::Success);
    let seen = match response.return_value.and_then(|value| value.data) {
        Some(Data::String(text)) => Some(text),
        _ => None,
    };
    assert_eq!(seen, Some(format!("yes in {}", directory.display())));
    // The host's terminate reaches the app, which drains and ends; so does the relay.
    harness.host.send(
        "",
        Content::WorkerTerminate(WorkerTerminate {
            grace_period: Some(proto::Duration { seconds: 5, nanos: 0 }),
        }),
    );
    assert_eq!(harness.finished().await, Ok(()));
}

#[tokio::test]
async fn environment_reload_falls_back_to_this_process_when_the_app_cannot_restart() {
    let mut harness = Harness::start(false).await;
    let init = harness.host.init().await;
    // An `app` that is not executable: the restart fails at once.
    let directory = scratch("not-executable");
    std::fs::write(directory.join("app"), "not a program").expect("a file");
    let reload = FunctionEnvironmentReloadRequest {
        environment_variables: [("AZFN_TEST_RELOADED".to_owned(), "yes".to_owned())].into(),
        function_app_directory: directory.display().to_string(),
    };
    let response = harness.host.reload("reload-1", reload).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(response.capabilities, init.capabilities);
    assert_eq!(response.capabilities_update_strategy, 0, "merge");
    assert_eq!(response.worker_metadata.expect("metadata").runtime_name, "rust");
    assert_eq!(azfn::native::env_var("AZFN_TEST_RELOADED").as_deref(), Some("yes"));
    assert_eq!(std::env::current_dir().expect("cwd"), directory);

    let missing = FunctionEnvironmentReloadRequest {
        environment_variables: BTreeMap::new(),
        function_app_directory: "/no/such/azfn/directory".into(),
    };
    let response = harness.host.reload("reload-2", missing).await;
    assert_eq!(status(&response.result), Status::Failure);
    // Loading and invoking after specialization works as usual.
    harness.host.ready().await;
    let (_, response) = harness.host.invoke(queue_message("e-1", "slow", "env")).await;
    assert_eq!(status(&response.result), Status::Success);
}

#[tokio::test]
async fn malformed_and_unexpected_messages_are_logged_and_the_stream_goes_on() {
    let mut harness = Harness::start(false).await;
    harness.host.init().await;
    let host = &mut harness.host;

    // Field 1 (a string) claims 100 bytes and has 1.
    host.send_raw(&[0x0a, 100, b'x']);
    let log = host.next_log().await;
    assert!(log.message.contains("cannot be decoded"), "{}", log.message);
    assert_eq!(log.level, rpc_log::Level::Warning as i32);
    assert_eq!(log.log_category, rpc_log::RpcLogCategory::System as i32);
    assert_eq!((log.category.as_str(), log.invocation_id.as_str()), ("Worker", ""));

    // A message only a worker sends.
    host.send("", Content::InvocationResponse(InvocationResponse::default()));
    let log = host.next_log().await;
    assert!(log.message.contains("InvocationResponse"), "{}", log.message);

    // A message with no content.
    host.send_raw(&StreamingMessage::default().encode_to_vec());
    let log = host.next_log().await;
    assert!(log.message.contains("no content"), "{}", log.message);

    host.send("status-2", Content::WorkerStatusRequest(WorkerStatusRequest {}));
    let reply = host.next_reply().await;
    assert_eq!(reply.request_id, "status-2");
    host.ready().await;
    let (_, response) = host.invoke(queue_message("m-1", "slow", "still here")).await;
    assert_eq!(status(&response.result), Status::Success);
}

#[tokio::test]
async fn a_thousand_invocations_run_at_once() {
    let mut harness = Harness::start(false).await;
    harness.host.ready().await;
    for i in 0..IN_FLIGHT_AT_ONCE {
        let request = queue_message(&format!("r-{i}"), "rendezvous", &format!("m-{i}"));
        harness.host.send("", Content::InvocationRequest(request));
    }
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < IN_FLIGHT_AT_ONCE {
        let Some(Content::InvocationResponse(response)) = harness.host.next_reply().await.content else {
            panic!("expected InvocationResponse");
        };
        assert_eq!(status(&response.result), Status::Success, "{:?}", response.result);
        let index = response.invocation_id.trim_start_matches("r-").to_owned();
        assert_eq!(
            response.return_value,
            Some(typed(Data::String(format!("m-{index}")))),
            "{}",
            response.invocation_id
        );
        assert!(answered.insert(response.invocation_id), "answered twice");
    }
}

#[tokio::test]
async fn request_bodies_stream_through_http_uri_to_a_function_that_takes_them() {
    let mut harness = Harness::start(true).await;
    let init = harness.host.ready().await;
    let address = init.capabilities["HttpUri"].trim_start_matches("http://").to_owned();

    // The client's request is forwarded chunked, and only its first chunk is sent for now.
    let mut tcp = TcpStream::connect(&address).await.expect("the HttpUri server listens");
    let head = format!(
        "POST /api/tally HTTP/1.1\r\nHost: {address}\r\nx-ms-invocation-id: t-1\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n"
    );
    tcp.write_all(head.as_bytes()).await.expect("writes");
    let grpc_half = invocation("t-1", "tally", vec![input("req", Data::Http(Box::default()))]);
    harness.host.send("t-1", Content::InvocationRequest(grpc_half));
    // A worker that buffered the body whole would never get here: the rest is not sent yet.
    tokio::time::timeout(PATIENCE, TALLY_FIRST_CHUNK.notified())
        .await
        .expect("the function reads the first chunk while the body is still arriving");
    tcp.write_all(b"6\r\n world\r\n0\r\n\r\n").await.expect("writes");
    let (_, response) = harness.host.response_of("t-1").await;
    assert_eq!(status(&response.result), Status::Success);
    let answer = raw_http::read_answer(&mut tcp).await;
    assert!(answer.head.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(answer.body, b"11 bytes", "{answer:?}");

    // A body declared larger than the limit is refused before any invocation pairs with it.
    let head = format!(
        "POST /api/tally HTTP/1.1\r\nHost: {address}\r\nx-ms-invocation-id: t-2\r\n\
         Content-Length: 999999999999\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_http::exchange(&address, head.as_bytes()).await;
    assert!(answer.head.starts_with("HTTP/1.1 413"), "{answer:?}");
}

/// Through `HttpUri` the invocation runs on its forwarded request's task; whatever becomes of
/// that request, the host still gets the invocation's answer.
#[tokio::test]
async fn an_http_uri_invocation_is_answered_when_cancelled_first_or_when_its_caller_leaves() {
    let mut harness = Harness::start(true).await;
    let init = harness.host.ready().await;
    let address = init.capabilities["HttpUri"].trim_start_matches("http://").to_owned();

    // Cancelled while it waits for its forwarded request: answered at once, as cancelled.
    let grpc_half = invocation("w-1", "tally", vec![input("req", Data::Http(Box::default()))]);
    harness.host.send("w-1", Content::InvocationRequest(grpc_half));
    harness.host.send(
        "",
        Content::InvocationCancel(InvocationCancel {
            invocation_id: "w-1".into(),
            grace_period: None,
        }),
    );
    let (_, response) = harness.host.response_of("w-1").await;
    assert_eq!(status(&response.result), Status::Cancelled);

    // The caller leaves while the function reads its body: the invocation still ends, and
    // says so to the host.
    let mut tcp = TcpStream::connect(&address).await.expect("the HttpUri server listens");
    let head = format!(
        "POST /api/tally HTTP/1.1\r\nHost: {address}\r\nx-ms-invocation-id: w-2\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    );
    tcp.write_all(head.as_bytes()).await.expect("writes");
    let grpc_half = invocation("w-2", "tally", vec![input("req", Data::Http(Box::default()))]);
    harness.host.send("w-2", Content::InvocationRequest(grpc_half));
    tokio::time::timeout(PATIENCE, TALLY_FIRST_CHUNK.notified())
        .await
        .expect("the function reads the first chunk");
    drop(tcp);
    let (_, response) = harness.host.response_of("w-2").await;
    assert_ne!(status(&response.result), Status::Success, "{response:?}");

    // The worker goes on serving.
    let caller = tokio::spawn(async move { forward(&address, "/api/brew/sencha", "w-3", "").await });
    let route_only = RpcHttp {
        nullable_params: [("mode".to_owned(), NullableString::new("sencha"))].into(),
        ..RpcHttp::default()
    };
    let grpc_half = invocation("w-3", "brew", vec![input("req", Data::Http(Box::new(route_only)))]);
    let (_, response) = harness.host.invoke(grpc_half).await;
    assert_eq!(status(&response.result), Status::Success);
    assert_eq!(caller.await.expect("joins"), (200, "sencha tea".to_owned()));
}
