//! OpenTelemetry export against a real OTLP/HTTP receiver: a small hyper server here that
//! decodes each `ExportTraceServiceRequest` with the `opentelemetry-proto` types. The app
//! (`examples/otel_app.rs`, built with the `opentelemetry` feature) runs as the host runs it,
//! with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at the receiver, over the custom-handler envelope
//! (and a forwarded HTTP request) and over gRPC. A succeeded, a failed and a cancelled invocation each arrive as a span whose
//! parent is the trace context the host sent, with the FaaS attributes and the status; they
//! arrive after SIGTERM or `WorkerTerminate`, when the worker flushes. A build without the
//! feature (`examples/statuses_app.rs`) exports nothing with the same environment, and the
//! gRPC capability is advertised only while exporting. With the `application-insights` feature,
//! the same invocations reach a stand-in for the Application Insights ingestion endpoint
//! (`mod application_insights` at the end).
#![cfg(feature = "native")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azfn::native::proto::{
    FunctionLoadRequest, InvocationCancel, InvocationRequest, ParameterBinding, RpcFunctionMetadata, RpcTraceContext,
    StreamingMessage, TypedData, WorkerInitRequest, WorkerTerminate, parameter_binding::RpcData, status_result::Status,
    streaming_message::Content, typed_data::Data,
};
use azfn::native::server::{Server, Stream};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use prost::Message;
use serde_json::json;

#[path = "support/raw_http.rs"]
mod raw_http;

#[path = "support/example_app.rs"]
mod example_app;

/// How long anything may take before the test calls it stuck.
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The receiver
// ---------------------------------------------------------------------------------------------

/// One exported span with its resource's attributes.
#[derive(Debug, Clone)]
struct Exported {
    resource: Vec<KeyValue>,
    span: Span,
}

/// An OTLP/HTTP receiver on a free port of 127.0.0.1: every span of every request it is sent.
struct Receiver {
    port: u16,
    spans: Arc<Mutex<Vec<Exported>>>,
    requests: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(0));
        let (spans_in, requests_in) = (Arc::clone(&spans), Arc::clone(&requests));
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (spans, requests) = (Arc::clone(&spans_in), Arc::clone(&requests_in));
                let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                    let (spans, requests) = (Arc::clone(&spans), Arc::clone(&requests));
                    async move { Ok::<_, Infallible>(receive(request, &spans, &requests).await) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Receiver { port, spans, requests }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The invocation spans received so far, by invocation id.
    fn invocations(&self) -> HashMap<String, Exported> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter_map(|exported| {
                let id = string_attribute(&exported.span.attributes, "faas.invocation_id")?;
                Some((id, exported.clone()))
            })
            .collect()
    }

    /// Waits until the spans of `ids` have all arrived.
    async fn wait_for(&self, ids: &[&str]) -> HashMap<String, Exported> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let invocations = self.invocations();
            if ids.iter().all(|id| invocations.contains_key(*id)) {
                return invocations;
            }
            assert!(
                Instant::now() < deadline,
                "the spans of {ids:?} did not all arrive; received: {:?}",
                invocations.keys().collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(
    request: http::Request<Incoming>,
    spans: &Mutex<Vec<Exported>>,
    requests: &Mutex<usize>,
) -> http::Response<Full<Bytes>> {
    *requests.lock().unwrap() += 1;
    let path = request.uri().path().to_owned();
    let content_type = request.headers().get("content-type").cloned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let decoded = ExportTraceServiceRequest::decode(body);
    let status = match (&*path, content_type.as_ref().and_then(|v| v.to_str().ok()), decoded) {
        ("/v1/traces", Some("application/x-protobuf"), Ok(export)) => {
            let mut spans = spans.lock().unwrap();
            for resource_spans in export.resource_spans {
                let resource = resource_spans.resource.map(|r| r.attributes).unwrap_or_default();
                for scope_spans in resource_spans.scope_spans {
                    for span in scope_spans.spans {
                        spans.push(Exported {
                            resource: resource.clone(),
                            span,
                        });
                    }
                }
            }
            200
        }
        _ => 400,
    };
    let body = ExportTraceServiceResponse::default().encode_to_vec();
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| match &value.value {
            Some(any_value::Value::StringValue(text)) => Some(text.clone()),
            Some(any_value::Value::IntValue(n)) => Some(n.to_string()),
            _ => None,
        })
}

// ---------------------------------------------------------------------------------------------
// The apps
// ---------------------------------------------------------------------------------------------

/// Builds an example with `features` once per test and returns its path.
fn example(name: &str, features: &str) -> PathBuf {
    // Built and copied once per process: the tests run in parallel, and a copy cannot be
    // replaced while another test runs it.
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = format!("{name} {features}");
    if let Some((_, path)) = built.iter().find(|(built, _)| *built == key) {
        return path.clone();
    }
    let output = example_app::build_example(name, features);
    // Copied: another test's build of the same example with other features overwrites it.
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", features.replace(',', "-")));
    std::fs::copy(&output, &copy).expect("the example was built");
    built.push((key, copy.clone()));
    copy
}

/// The environment of every run: a site in Azure, the receiver's endpoint if any, nothing else
/// that would change what is exported.
fn command(app: &Path, endpoint: Option<&str>) -> Command {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("otel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(app);
    command
        .current_dir(&dir)
        .env("RUST_LOG", "info")
        .env("WEBSITE_SITE_NAME", "otel-site")
        .env("REGION_NAME", "West Europe")
        .env("OTEL_BSP_SCHEDULE_DELAY", "60000")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .env_remove("APPLICATIONINSIGHTS_CONNECTION_STRING")
        .env(azfn::native::DISABLE_HTTP_URI_VARIABLE, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    match endpoint {
        Some(endpoint) => command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        None => command.env_remove("OTEL_EXPORTER_OTLP_ENDPOINT"),
    };
    command
}

/// Starts `app` as the custom-handler host does and waits until it listens.
fn start_custom_handler(app: &Path, endpoint: Option<&str>) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = command(app, endpoint)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .spawn()
        .expect("the app starts");
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the app never listened");
        std::thread::sleep(Duration::from_millis(25));
    }
    (child, port)
}

/// The host's JSON invocation of `brew` with `mode`, carrying `traceparent` as the host's HTTP
/// client does; the status of the answer, or `None` if the connection closed without one.
fn invoke_brew(port: u16, invocation_id: &str, mode: &str, traceparent: &str) -> Option<u16> {
    let envelope = json!({
        "Data": {"req": {"Url": format!("http://localhost/api/brew/{mode}"), "Method": "GET",
                         "Headers": {}, "Params": {"mode": mode}}},
        "Metadata": {"mode": serde_json::to_string(mode).unwrap()}
    })
    .to_string();
    let headers = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("X-Azure-Functions-InvocationId", invocation_id),
        ("traceparent", traceparent),
        ("tracestate", "azfn=test"),
    ];
    let raw = raw_http::request("POST /brew HTTP/1.1", &headers, envelope.as_bytes());
    Some(raw_http::exchange_blocking(("127.0.0.1", port), &raw).status).filter(|&status| status != 0)
}

/// A request the host forwards as it came (`enableForwardingHttpRequest`), to `brew` with
/// `mode`, carrying `traceparent`; the status of the answer.
fn forward_brew(port: u16, invocation_id: &str, mode: &str, traceparent: &str) -> Option<u16> {
    let headers = [
        ("Host", "127.0.0.1"),
        ("X-Azure-Functions-InvocationId", invocation_id),
        ("traceparent", traceparent),
    ];
    let raw = raw_http::request(&format!("GET /api/brew/{mode} HTTP/1.1"), &headers, b"");
    Some(raw_http::exchange_blocking(("127.0.0.1", port), &raw).status).filter(|&status| status != 0)
}

/// Sends SIGTERM, as the host stops a worker, and waits for the process to exit.
fn terminate(mut child: Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the app exits cleanly after SIGTERM: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "the app did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(25));
    }
}

// ---------------------------------------------------------------------------------------------
// What the spans must say
// ---------------------------------------------------------------------------------------------

/// A W3C trace parent with a trace id and a span id made from `n`.
fn parent(n: u8) -> (String, Vec<u8>, Vec<u8>) {
    let trace_id = vec![0x4b, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11];
    let span_id = vec![0x5c, n, 0, 0, 0, 0, 0, 0x22];
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    (format!("00-{}-{}-01", hex(&trace_id), hex(&span_id)), trace_id, span_id)
}

/// The span of `invocation_id` is `function <name>`, a child of `parent(n)`, with the FaaS
/// attributes, the status `code`, a description containing `description`, and the resource.
fn check_span(
    spans: &HashMap<String, Exported>,
    invocation_id: &str,
    (function, trigger): (&str, &str),
    n: u8,
    code: StatusCode,
    description: &str,
) {
    let exported = &spans[invocation_id];
    let span = &exported.span;
    let (_, trace_id, span_id) = parent(n);
    assert_eq!(span.name, format!("function {function}"), "{invocation_id}");
    assert_eq!(span.trace_id, trace_id, "{invocation_id}: the host's trace");
    assert_eq!(
        span.parent_span_id, span_id,
        "{invocation_id}: the host's span is the parent"
    );
    assert_eq!(
        span.kind, 1,
        "{invocation_id}: SPAN_KIND_INTERNAL, as the .NET worker's schema 1.37 span"
    );
    let attribute = |key| string_attribute(&span.attributes, key);
    assert_eq!(attribute("faas.invocation_id").as_deref(), Some(invocation_id));
    assert_eq!(attribute("faas.name").as_deref(), Some(function));
    assert_eq!(attribute("faas.trigger").as_deref(), Some(trigger));
    let status = span.status.clone().unwrap_or_default();
    assert_eq!(status.code, code as i32, "{invocation_id}: status {status:?}");
    assert!(
        status.message.contains(description),
        "{invocation_id}: the description {:?} says {description:?}",
        status.message
    );
    // The function's `tracing` events go out as the span's events.
    assert!(
        span.events.iter().any(|event| event.name == "acting"),
        "{invocation_id}: the function's event is a span event: {:?}",
        span.events
    );
    let resource = |key| string_attribute(&exported.resource, key);
    assert_eq!(resource("service.name").as_deref(), Some("otel-site"));
    assert_eq!(resource("cloud.provider").as_deref(), Some("azure"));
    assert_eq!(resource("cloud.platform").as_deref(), Some("azure_functions"));
    assert_eq!(resource("cloud.region").as_deref(), Some("West Europe"));
    assert!(resource("process.pid").is_some());
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_handler_invocations_are_spans_parented_on_the_hosts_traceparent() {
    let receiver = Receiver::start().await;
    let app = example("otel_app", "opentelemetry,native");
    let endpoint = receiver.endpoint();
    let (child, port) = start_custom_handler(&app, Some(&endpoint));

    let spans = tokio::task::spawn_blocking(move || {
        assert_eq!(invoke_brew(port, "ch-ok", "tea", &parent(1).0), Some(200));
        assert_eq!(invoke_brew(port, "ch-fail", "fail", &parent(2).0), Some(500));
        assert_eq!(forward_brew(port, "ch-forwarded", "tea", &parent(9).0), Some(200));
        // Waits until SIGTERM cancels it; its answer may or may not get out before the server
        // closes, but its span must.
        let waiting = std::thread::spawn(move || invoke_brew(port, "ch-wait", "wait", &parent(3).0));
        std::thread::sleep(Duration::from_millis(500));
        terminate(child);
        let _ = waiting.join();
    });
    spans.await.unwrap();
    // The batch processor waits 60 s between exports here: what arrived came with the flush.
    let spans = receiver
        .wait_for(&["ch-ok", "ch-fail", "ch-wait", "ch-forwarded"])
        .await;
    check_span(&spans, "ch-ok", ("brew", "http"), 1, StatusCode::Unset, "");
    check_span(&spans, "ch-fail", ("brew", "http"), 2, StatusCode::Error, "no water");
    check_span(&spans, "ch-wait", ("brew", "http"), 3, StatusCode::Error, "cancelled");
    check_span(&spans, "ch-forwarded", ("brew", "http"), 9, StatusCode::Unset, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_invocations_are_spans_parented_on_the_rpc_trace_context_and_flushed_on_worker_terminate() {
    let receiver = Receiver::start().await;
    let app = example("otel_app", "opentelemetry,native");
    let mut server = Server::start(usize::MAX).await.expect("the host listens");
    let mut child = command(&app, Some(&receiver.endpoint()))
        .args(grpc_arguments(server.port))
        .spawn()
        .expect("the app starts");
    let mut stream = next_call(&mut server).await;
    let capabilities = init(&mut stream).await;
    assert_eq!(
        capabilities.get("WorkerOpenTelemetryEnabled").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        capabilities.get("WorkerOpenTelemetrySchemaVersion").map(String::as_str),
        Some("1.37.0")
    );
    load_ship(&mut stream).await;

    invoke_ship(&stream, "g-ok", "tea", 4);
    invoke_ship(&stream, "g-fail", "fail", 5);
    invoke_ship(&stream, "g-wait", "wait", 6);
    let mut statuses = HashMap::new();
    while statuses.len() < 2 {
        if let Some((id, status)) = response(&mut stream).await {
            statuses.insert(id, status);
        }
    }
    send(
        &stream,
        "",
        Content::InvocationCancel(InvocationCancel {
            invocation_id: "g-wait".into(),
            grace_period: None,
        }),
    );
    while statuses.len() < 3 {
        if let Some((id, status)) = response(&mut stream).await {
            statuses.insert(id, status);
        }
    }
    assert_eq!(statuses["g-ok"], Status::Success as i32);
    assert_eq!(statuses["g-fail"], Status::Failure as i32);
    assert_eq!(statuses["g-wait"], Status::Cancelled as i32);
    send(&stream, "bye", Content::WorkerTerminate(WorkerTerminate::default()));
    wait_exit(&mut child).await;

    let spans = receiver.wait_for(&["g-ok", "g-fail", "g-wait"]).await;
    check_span(&spans, "g-ok", ("ship", "pubsub"), 4, StatusCode::Unset, "");
    check_span(&spans, "g-fail", ("ship", "pubsub"), 5, StatusCode::Error, "no water");
    check_span(&spans, "g-wait", ("ship", "pubsub"), 6, StatusCode::Error, "cancelled");
    for id in ["g-ok", "g-fail", "g-wait"] {
        let instance = string_attribute(&spans[id].span.attributes, "faas.instance");
        assert_eq!(
            instance.as_deref(),
            Some("host-instance-1"),
            "{id}: the host's instance id"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_the_capability_is_not_advertised() {
    let app = example("otel_app", "opentelemetry,native");
    let mut server = Server::start(usize::MAX).await.expect("the host listens");
    let mut child = command(&app, None)
        .args(grpc_arguments(server.port))
        .spawn()
        .expect("the app starts");
    let mut stream = next_call(&mut server).await;
    let capabilities = init(&mut stream).await;
    assert!(
        capabilities.contains_key("HandlesWorkerTerminateMessage"),
        "{capabilities:?}"
    );
    assert!(
        !capabilities.contains_key("WorkerOpenTelemetryEnabled"),
        "{capabilities:?}"
    );
    assert!(
        !capabilities.contains_key("WorkerOpenTelemetrySchemaVersion"),
        "{capabilities:?}"
    );
    send(&stream, "bye", Content::WorkerTerminate(WorkerTerminate::default()));
    wait_exit(&mut child).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_without_the_feature_exports_nothing() {
    let receiver = Receiver::start().await;
    let app = example("statuses_app", "native");
    let endpoint = receiver.endpoint();
    let (child, port) = start_custom_handler(&app, Some(&endpoint));
    tokio::task::spawn_blocking(move || {
        assert_eq!(invoke_brew(port, "off-ok", "tea", &parent(7).0), Some(200));
        assert_eq!(invoke_brew(port, "off-fail", "fail", &parent(8).0), Some(500));
        terminate(child);
    })
    .await
    .unwrap();
    // The process has exited: whatever it was going to send has been sent.
    assert_eq!(*receiver.requests.lock().unwrap(), 0, "no request reached the receiver");
}

// ---------------------------------------------------------------------------------------------
// The host's side of the gRPC stream
// ---------------------------------------------------------------------------------------------

fn grpc_arguments(port: u16) -> Vec<String> {
    let port = port.to_string();
    [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--workerId",
        "otel-worker",
        "--requestId",
        "start-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn next_call(server: &mut Server) -> Stream {
    tokio::time::timeout(PATIENCE, server.calls.recv())
        .await
        .expect("the worker calls EventStream in time")
        .expect("a call")
}

fn send(stream: &Stream, request_id: &str, content: Content) {
    let message = StreamingMessage {
        request_id: request_id.into(),
        content: Some(content),
    };
    stream.outbound.send(message).expect("the stream is open");
}

async fn next(stream: &mut Stream) -> StreamingMessage {
    tokio::time::timeout(PATIENCE, stream.inbound.recv())
        .await
        .expect("the worker answers in time")
        .expect("the stream is open")
        .expect("the worker's messages decode")
}

/// Start-up: `StartStream`, then `WorkerInitRequest`; the capabilities the worker answers with.
async fn init(stream: &mut Stream) -> std::collections::BTreeMap<String, String> {
    assert!(matches!(next(stream).await.content, Some(Content::StartStream(_))));
    send(stream, "init", Content::WorkerInitRequest(WorkerInitRequest::default()));
    loop {
        if let Some(Content::WorkerInitResponse(response)) = next(stream).await.content {
            return response.capabilities;
        }
    }
}

async fn load_ship(stream: &mut Stream) {
    let load = FunctionLoadRequest {
        function_id: "ship-id".into(),
        metadata: Some(RpcFunctionMetadata {
            name: "ship".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    send(stream, "load", Content::FunctionLoadRequest(load));
    loop {
        if let Some(Content::FunctionLoadResponse(loaded)) = next(stream).await.content {
            assert_eq!(loaded.result.map(|r| r.status), Some(Status::Success as i32));
            return;
        }
    }
}

/// An invocation of `ship` with the trace context of `parent(n)`, as the host sends it.
fn invoke_ship(stream: &Stream, invocation_id: &str, message: &str, n: u8) {
    let request = InvocationRequest {
        invocation_id: invocation_id.into(),
        function_id: "ship-id".into(),
        input_data: vec![ParameterBinding {
            name: "message".into(),
            rpc_data: Some(RpcData::Data(TypedData {
                data: Some(Data::String(message.into())),
            })),
        }],
        trace_context: Some(RpcTraceContext {
            trace_parent: parent(n).0,
            trace_state: "azfn=test".into(),
            attributes: [("HostInstanceId".to_owned(), "host-instance-1".to_owned())].into(),
        }),
        ..Default::default()
    };
    send(stream, "", Content::InvocationRequest(request));
}

/// The next invocation response's id and status, or `None` for another message.
async fn response(stream: &mut Stream) -> Option<(String, i32)> {
    match next(stream).await.content {
        Some(Content::InvocationResponse(response)) => {
            Some((response.invocation_id, response.result.map_or(-1, |r| r.status)))
        }
        _ => None,
    }
}

async fn wait_exit(child: &mut Child) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the worker exits cleanly: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "the worker did not exit");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Application Insights (feature `application-insights`)
// ---------------------------------------------------------------------------------------------

/// The same app exporting to Application Insights: `APPLICATIONINSIGHTS_CONNECTION_STRING`
/// points at a stand-in for the ingestion endpoint here, which speaks the track API as the
/// exporter (`opentelemetry-application-insights` 0.46.0, `src/uploader.rs`) uses it: a POST of
/// gzip'd JSON envelopes to `<IngestionEndpoint>/v2/track`, over https (the exporter upgrades an
/// `http://` endpoint), answered `200` with the counts of received and accepted items.
#[cfg(feature = "application-insights")]
mod application_insights {
    use std::io::Read as _;

    use serde_json::Value;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    use super::*;

    /// The instrumentation key of every connection string here.
    const INSTRUMENTATION_KEY: &str = "5b8c1e2a-7f3d-4e6a-9b1c-0d2e3f4a5b6c";

    /// A stand-in for the ingestion endpoint on a free port of 127.0.0.1, serving https with
    /// `tests/tls/server.pem`: every envelope it accepted, and every request it refused.
    struct Ingestion {
        port: u16,
        envelopes: Arc<Mutex<Vec<Value>>>,
        refused: Arc<Mutex<Vec<String>>>,
    }

    fn tls_file(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls").join(name)
    }

    impl Ingestion {
        async fn start() -> Ingestion {
            let certificates = CertificateDer::pem_file_iter(tls_file("server.pem"))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(tls_file("server.key")).unwrap();
            let config =
                rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(certificates, key)
                    .unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let envelopes = Arc::new(Mutex::new(Vec::new()));
            let refused = Arc::new(Mutex::new(Vec::new()));
            let (envelopes_in, refused_in) = (Arc::clone(&envelopes), Arc::clone(&refused));
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, envelopes, refused) =
                        (acceptor.clone(), Arc::clone(&envelopes_in), Arc::clone(&refused_in));
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            refused.lock().unwrap().push("the TLS handshake failed".into());
                            return;
                        };
                        let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                            let (envelopes, refused) = (Arc::clone(&envelopes), Arc::clone(&refused));
                            async move { Ok::<_, Infallible>(track(request, &envelopes, &refused).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
            Ingestion {
                port,
                envelopes,
                refused,
            }
        }

        /// A connection string as the portal shows it, pointing at this endpoint.
        fn connection_string(&self) -> String {
            format!(
                "InstrumentationKey={INSTRUMENTATION_KEY};IngestionEndpoint=https://127.0.0.1:{port}/;\
                 LiveEndpoint=https://127.0.0.1:{port}/;ApplicationId=0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7",
                port = self.port
            )
        }

        /// The envelopes of the invocation `invocation_id`: its dependency or request, and the
        /// messages made from its span's events (children of the span's id).
        fn of(&self, invocation_id: &str) -> (Option<Value>, Vec<Value>) {
            let envelopes = self.envelopes.lock().unwrap();
            let span = envelopes
                .iter()
                .find(|envelope| envelope["data"]["baseData"]["properties"]["faas.invocation_id"] == invocation_id)
                .cloned();
            let span_id = span.as_ref().map(|span| span["data"]["baseData"]["id"].clone());
            let messages = envelopes
                .iter()
                .filter(|envelope| {
                    envelope["data"]["baseType"] == "MessageData"
                        && Some(&envelope["tags"]["ai.operation.parentId"]) == span_id.as_ref()
                })
                .cloned()
                .collect();
            (span, messages)
        }

        /// Waits until the telemetry of `ids` has all arrived.
        async fn wait_for(&self, ids: &[&str]) {
            let deadline = Instant::now() + PATIENCE;
            while !ids.iter().all(|id| self.of(id).0.is_some()) {
                assert!(
                    Instant::now() < deadline,
                    "the telemetry of {ids:?} did not all arrive; received {:?}; refused {:?}",
                    self.envelopes.lock().unwrap(),
                    self.refused.lock().unwrap()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The track API: `POST /v2/track`, `Content-Type: application/json`, `Content-Encoding:
    /// gzip`, a JSON array of envelopes; answered as the service answers when it accepts all.
    async fn track(
        request: http::Request<Incoming>,
        envelopes: &Mutex<Vec<Value>>,
        refused: &Mutex<Vec<String>>,
    ) -> http::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut json = Vec::new();
        let decoded = flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut json)
            .ok()
            .and_then(|_| serde_json::from_slice::<Vec<Value>>(&json).ok());
        let accepted = match (
            &parts.method,
            parts.uri.path(),
            header("content-type"),
            header("content-encoding"),
            decoded,
        ) {
            (&http::Method::POST, "/v2/track", Some(content_type), Some(encoding), Some(items))
                if content_type.starts_with("application/json") && encoding == "gzip" =>
            {
                let count = items.len();
                envelopes.lock().unwrap().extend(items);
                Some(count)
            }
            _ => None,
        };
        let (status, body) = match accepted {
            Some(count) => (
                200,
                json!({"itemsReceived": count, "itemsAccepted": count, "errors": []}),
            ),
            None => {
                refused.lock().unwrap().push(format!(
                    "{} {} content-type {:?} content-encoding {:?}",
                    parts.method,
                    parts.uri,
                    header("content-type"),
                    header("content-encoding")
                ));
                (400, json!({"itemsReceived": 0, "itemsAccepted": 0, "errors": []}))
            }
        };
        http::Response::builder()
            .status(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `app` run with the connection string of `ingestion` (and an OTLP endpoint, if any),
    /// trusting the stand-in's certificate authority.
    fn command_with(app: &Path, ingestion: &Ingestion, otlp_endpoint: Option<&str>) -> Command {
        let mut command = command(app, otlp_endpoint);
        command
            .env("APPLICATIONINSIGHTS_CONNECTION_STRING", ingestion.connection_string())
            .env("SSL_CERT_FILE", tls_file("ca.pem"))
            .env_remove("SSL_CERT_DIR");
        command
    }

    /// The invocation `invocation_id` of `function` arrived as a dependency (the invocation span
    /// is `Internal`) in the host's operation: `ai.operation.id` the trace id of `parent(n)`,
    /// `ai.operation.parentId` its span id, with the success flag `success` (absent: the
    /// service's default, true), the connection string's key, and the function's event as a
    /// message.
    fn check_dependency(ingestion: &Ingestion, invocation_id: &str, function: &str, n: u8, success: Option<bool>) {
        let (envelope, messages) = ingestion.of(invocation_id);
        let envelope = envelope.unwrap();
        let (_, trace_id, span_id) = parent(n);
        assert_eq!(
            envelope["name"], "Microsoft.ApplicationInsights.RemoteDependency",
            "{invocation_id}: {envelope}"
        );
        assert_eq!(envelope["iKey"], INSTRUMENTATION_KEY, "{invocation_id}");
        let tags = &envelope["tags"];
        assert_eq!(
            tags["ai.operation.id"],
            hex(&trace_id),
            "{invocation_id}: the host's trace"
        );
        assert_eq!(
            tags["ai.operation.parentId"],
            hex(&span_id),
            "{invocation_id}: the host's span is the parent"
        );
        assert_eq!(
            tags["ai.cloud.role"], "otel-site",
            "{invocation_id}: service.name is the role"
        );
        let data = &envelope["data"];
        assert_eq!(data["baseType"], "RemoteDependencyData");
        let base = &data["baseData"];
        assert_eq!(base["name"], format!("function {function}"), "{invocation_id}");
        assert_eq!(base["type"], "InProc", "{invocation_id}: an Internal span");
        assert_eq!(base["success"].as_bool(), success, "{invocation_id}: {base}");
        assert_eq!(base["properties"]["faas.name"], function);
        assert_eq!(base["properties"]["cloud.region"], "West Europe", "the resource");
        assert!(
            messages
                .iter()
                .any(|message| message["data"]["baseData"]["message"] == "acting"
                    && message["iKey"] == INSTRUMENTATION_KEY
                    && message["tags"]["ai.operation.id"] == hex(&trace_id)),
            "{invocation_id}: the function's event is a trace message in the same operation: {messages:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn custom_handler_invocations_reach_application_insights_with_the_connection_string_alone() {
        let ingestion = Ingestion::start().await;
        let app = example("otel_app", "opentelemetry,native,application-insights");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = command_with(&app, &ingestion, None)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .spawn()
            .expect("the app starts");
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + PATIENCE;
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "the app never listened");
                std::thread::sleep(Duration::from_millis(25));
            }
            assert_eq!(invoke_brew(port, "ai-ok", "tea", &parent(21).0), Some(200));
            assert_eq!(invoke_brew(port, "ai-fail", "fail", &parent(22).0), Some(500));
            terminate(child);
        })
        .await
        .unwrap();
        // The batch processor waits 60 s between exports: what arrived came with the flush.
        ingestion.wait_for(&["ai-ok", "ai-fail"]).await;
        check_dependency(&ingestion, "ai-ok", "brew", 21, None);
        check_dependency(&ingestion, "ai-fail", "brew", 22, Some(false));
        assert!(ingestion.refused.lock().unwrap().is_empty(), "{:?}", ingestion.refused);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_with_both_settings_exports_to_both_and_advertises_the_capability() {
        let ingestion = Ingestion::start().await;
        let receiver = Receiver::start().await;
        let app = example("otel_app", "opentelemetry,native,application-insights");
        let mut server = Server::start(usize::MAX).await.expect("the host listens");
        let mut child = command_with(&app, &ingestion, Some(&receiver.endpoint()))
            .args(grpc_arguments(server.port))
            .spawn()
            .expect("the app starts");
        let mut stream = next_call(&mut server).await;
        let capabilities = init(&mut stream).await;
        assert_eq!(
            capabilities.get("WorkerOpenTelemetryEnabled").map(String::as_str),
            Some("true")
        );
        load_ship(&mut stream).await;
        invoke_ship(&stream, "ai-g-ok", "tea", 23);
        invoke_ship(&stream, "ai-g-fail", "fail", 24);
        let mut answered = 0;
        while answered < 2 {
            answered += usize::from(response(&mut stream).await.is_some());
        }
        send(&stream, "bye", Content::WorkerTerminate(WorkerTerminate::default()));
        wait_exit(&mut child).await;

        ingestion.wait_for(&["ai-g-ok", "ai-g-fail"]).await;
        check_dependency(&ingestion, "ai-g-ok", "ship", 23, None);
        check_dependency(&ingestion, "ai-g-fail", "ship", 24, Some(false));
        let spans = receiver.wait_for(&["ai-g-ok", "ai-g-fail"]).await;
        check_span(&spans, "ai-g-ok", ("ship", "pubsub"), 23, StatusCode::Unset, "");
        check_span(
            &spans,
            "ai-g-fail",
            ("ship", "pubsub"),
            24,
            StatusCode::Error,
            "no water",
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_with_the_connection_string_alone_advertises_the_capability() {
        let ingestion = Ingestion::start().await;
        let app = example("otel_app", "opentelemetry,native,application-insights");
        let mut server = Server::start(usize::MAX).await.expect("the host listens");
        let mut child = command_with(&app, &ingestion, None)
            .args(grpc_arguments(server.port))
            .spawn()
            .expect("the app starts");
        let mut stream = next_call(&mut server).await;
        let capabilities = init(&mut stream).await;
        assert_eq!(
            capabilities.get("WorkerOpenTelemetryEnabled").map(String::as_str),
            Some("true"),
            "{capabilities:?}"
        );
        send(&stream, "bye", Content::WorkerTerminate(WorkerTerminate::default()));
        wait_exit(&mut child).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_connection_string_is_named_on_stderr_and_nothing_is_advertised() {
        let app = example("otel_app", "opentelemetry,native,application-insights");
        let mut server = Server::start(usize::MAX).await.expect("the host listens");
        let mut child = command(&app, None)
            .env(
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "IngestionEndpoint=https://127.0.0.1:9/",
            )
            .args(grpc_arguments(server.port))
            .stderr(Stdio::piped())
            .spawn()
            .expect("the app starts");
        let mut stream = next_call(&mut server).await;
        let capabilities = init(&mut stream).await;
        assert!(
            !capabilities.contains_key("WorkerOpenTelemetryEnabled"),
            "{capabilities:?}"
        );
        send(&stream, "bye", Content::WorkerTerminate(WorkerTerminate::default()));
        wait_exit(&mut child).await;
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(
            stderr
                .matches("APPLICATIONINSIGHTS_CONNECTION_STRING is not a connection string")
                .count(),
            1,
            "said once at start-up; stderr: {stderr}"
        );
        assert!(stderr.contains("missing instrumentation key"), "stderr: {stderr}");
    }
}
