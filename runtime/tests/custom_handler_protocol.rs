//! The custom-handler transport: the payloads real hosts send, decoded; the responses the host
//! expects, encoded; and the server, over a real socket on 127.0.0.1, spoken to byte by byte the
//! way the host speaks (sized and chunked bodies, keep-alive, many requests at once).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use azfn::bindings::{BindingDescription, DataType, PropertyValue, catalog};
use azfn::custom_handler::protocol::{decode_request, encode_response};
use azfn::custom_handler::serve;
use azfn::{
    BindingData, ClaimsIdentity, FunctionDescription, HttpRequest, HttpResponse, Invocation, InvocationError, LogLine,
    OutputValue, Outputs, Registry,
};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, Notify, oneshot};
use tokio::task::JoinHandle;

type InvokeFuture = Pin<Box<dyn Future<Output = Result<Outputs, InvocationError>> + Send>>;

// ---------------------------------------------------------------------------------------------
// Functions, described by hand as `#[function]` would.
// ---------------------------------------------------------------------------------------------

static HTTP_RETURN: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::HTTP_OUTPUT,
    name: "$return",
    data_type: None,
    properties: &[],
}];

static HELLO_BINDINGS: [BindingDescription; 2] = [
    BindingDescription {
        kind: &catalog::HTTP_TRIGGER,
        name: "httpPayload",
        data_type: None,
        properties: &[
            ("route", PropertyValue::Str("hello/blobInput")),
            ("methods", PropertyValue::List(&["post"])),
            ("authLevel", PropertyValue::Str("anonymous")),
        ],
    },
    BindingDescription {
        kind: &catalog::BLOB_INPUT,
        name: "blobIn",
        data_type: Some(DataType::String),
        properties: &[("path", PropertyValue::Str("hello/{Query.name}"))],
    },
];

/// The function of the HTTP capture (`captures/http-with-blob-input.json`): greets the body's name with the blob's text, and echoes
/// the invocation id in a header.
static HELLO: FunctionDescription = FunctionDescription {
    name: "post-hello-blobInput",
    rust_path: "tests::hello",
    location: (file!(), line!()),
    bindings: &HELLO_BINDINGS,
    return_bindings: &HTTP_RETURN,
    retry: None,
    streams_request_body: false,
    invoke: hello,
};

fn hello(invocation: Invocation) -> InvokeFuture {
    Box::pin(async move {
        let BindingData::Http(request) = invocation.binding("httpPayload") else {
            return Err(InvocationError::Binding {
                binding: "httpPayload".into(),
                message: "not HTTP".into(),
            });
        };
        let name = request.text().unwrap_or_default();
        let blob = invocation.binding("blobIn").decode::<String>().unwrap_or_default();
        let response = HttpResponse::ok()
            .header("X-Invocation-Id", &invocation.invocation_id)
            .text(format!("Hello, {name}: {blob}"));
        Ok(Outputs {
            named: Vec::new(),
            return_value: Some(OutputValue::Http(response)),
            logs: Vec::new(),
        })
    })
}

static QUEUE_BINDINGS: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::QUEUE_TRIGGER,
    name: "inMsg",
    data_type: Some(DataType::String),
    properties: &[("queueName", PropertyValue::Str("in"))],
}];

static QUEUE_OUTPUTS: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::QUEUE_OUTPUT,
    name: "outMsg",
    data_type: None,
    properties: &[("queueName", PropertyValue::Str("out"))],
}];

/// The function of the queue capture: copies each message to another queue.
static QUEUE: FunctionDescription = FunctionDescription {
    name: "queue",
    rust_path: "tests::queue",
    location: (file!(), line!()),
    bindings: &QUEUE_BINDINGS,
    return_bindings: &QUEUE_OUTPUTS,
    retry: None,
    streams_request_body: false,
    invoke: copy_message,
};

fn copy_message(invocation: Invocation) -> InvokeFuture {
    Box::pin(async move {
        let message = invocation
            .trigger()
            .decode::<String>()
            .map_err(|e| InvocationError::Binding {
                binding: "inMsg".into(),
                message: e.to_string(),
            })?;
        let mut outputs = Outputs::default();
        outputs.set("outMsg", Some(OutputValue::Text(message)));
        Ok(outputs)
    })
}

static TIMER_BINDINGS: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::TIMER_TRIGGER,
    name: "myTimer",
    data_type: None,
    properties: &[("schedule", PropertyValue::Str("0 */5 * * * *"))],
}];

static TIMER: FunctionDescription = FunctionDescription {
    name: "tick",
    rust_path: "tests::tick",
    location: (file!(), line!()),
    bindings: &TIMER_BINDINGS,
    return_bindings: &[],
    retry: None,
    streams_request_body: false,
    invoke: nothing,
};

fn nothing(_: Invocation) -> InvokeFuture {
    Box::pin(async { Ok(Outputs::default()) })
}

static BLOB_BINDINGS: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::BLOB_TRIGGER,
    name: "image",
    data_type: Some(DataType::Binary),
    properties: &[("path", PropertyValue::Str("images/{name}"))],
}];

static ORDER_OUTPUTS: [BindingDescription; 4] = [
    BindingDescription {
        kind: &catalog::HTTP_OUTPUT,
        name: "res",
        data_type: None,
        properties: &[],
    },
    BindingDescription {
        kind: &catalog::QUEUE_OUTPUT,
        name: "outMsg",
        data_type: None,
        properties: &[("queueName", PropertyValue::Str("out"))],
    },
    BindingDescription {
        kind: &catalog::BLOB_OUTPUT,
        name: "outBlob",
        data_type: None,
        properties: &[("path", PropertyValue::Str("out/{rand-guid}"))],
    },
    BindingDescription {
        kind: &catalog::QUEUE_OUTPUT,
        name: "$return",
        data_type: None,
        properties: &[],
    },
];

/// A blob-triggered function with every kind of output, for the encoding tests.
static RESIZE: FunctionDescription = FunctionDescription {
    name: "resize",
    rust_path: "tests::resize",
    location: (file!(), line!()),
    bindings: &BLOB_BINDINGS,
    return_bindings: &ORDER_OUTPUTS,
    retry: None,
    streams_request_body: false,
    invoke: nothing,
};

static PLAIN_HTTP: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::HTTP_TRIGGER,
    name: "req",
    data_type: None,
    properties: &[],
}];

macro_rules! http_function {
    ($ident:ident, $name:literal, $invoke:ident) => {
        static $ident: FunctionDescription = FunctionDescription {
            name: $name,
            rust_path: concat!("tests::", stringify!($invoke)),
            location: (file!(), line!()),
            bindings: &PLAIN_HTTP,
            return_bindings: &HTTP_RETURN,
            retry: None,
            streams_request_body: false,
            invoke: $invoke,
        };
    };
}

http_function!(PANICS, "panics", panics);
http_function!(FAILS, "fails", fails);
http_function!(MISSING, "missing", missing);
http_function!(BINARY, "binary", binary);
http_function!(RENDEZVOUS, "rendezvous", rendezvous);
http_function!(SLOW, "slow", slow);

fn panics(_: Invocation) -> InvokeFuture {
    Box::pin(async { panic!("the function blew up") })
}

fn fails(_: Invocation) -> InvokeFuture {
    Box::pin(async { Err(InvocationError::Function(azfn::Error::msg("out of tea"))) })
}

/// Answers a body that is not UTF-8 text.
fn binary(_: Invocation) -> InvokeFuture {
    Box::pin(async {
        let response = HttpResponse::ok()
            .header("content-type", "application/octet-stream")
            .bytes(vec![0xff, 0x00, 0x80]);
        Ok(Outputs {
            named: Vec::new(),
            return_value: Some(OutputValue::Http(response)),
            logs: Vec::new(),
        })
    })
}

fn missing(_: Invocation) -> InvokeFuture {
    Box::pin(async { Err(InvocationError::Function(azfn::Error::not_found("no such tea"))) })
}

/// How many invocations [`rendezvous`] waits for: it answers only once that many run at once.
const CONCURRENT: usize = 50;
static ALL_ARRIVED: LazyLock<Barrier> = LazyLock::new(|| Barrier::new(CONCURRENT));

fn rendezvous(invocation: Invocation) -> InvokeFuture {
    Box::pin(async move {
        tokio::time::timeout(Duration::from_secs(20), ALL_ARRIVED.wait())
            .await
            .map_err(|_| InvocationError::Function(azfn::Error::msg("invocations were not served concurrently")))?;
        let response = HttpResponse::ok().text(invocation.invocation_id.clone());
        Ok(Outputs {
            named: Vec::new(),
            return_value: Some(OutputValue::Http(response)),
            logs: Vec::new(),
        })
    })
}

static SLOW_STARTED: Notify = Notify::const_new();

fn slow(_: Invocation) -> InvokeFuture {
    Box::pin(async {
        SLOW_STARTED.notify_one();
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(Outputs {
            named: Vec::new(),
            return_value: Some(OutputValue::Http(HttpResponse::ok().text("done"))),
            logs: Vec::new(),
        })
    })
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::from_descriptions([
            &HELLO,
            &QUEUE,
            &TIMER,
            &RESIZE,
            &PANICS,
            &FAILS,
            &MISSING,
            &BINARY,
            &RENDEZVOUS,
            &SLOW,
        ])
        .expect("the test functions have distinct names")
    })
}

// ---------------------------------------------------------------------------------------------
// The host's payloads, as recorded from real hosts (`captures/README.md`).
// ---------------------------------------------------------------------------------------------

const HTTP_CAPTURE: &str = include_str!("captures/http-with-blob-input.json");

const QUEUE_CAPTURE: &str = include_str!("captures/queue.json");

const TIMER_PAYLOAD: &str = r#"{ "Data": { "myTimer": {"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false} },
  "Metadata": { "sys": { "MethodName": "tick", "UtcNow": "2024-01-01T00:05:00.0012345Z", "RandGuid": "0b0b0b0b-0000-4000-8000-000000000000" } } }"#;

fn decode(function: &'static FunctionDescription, body: &str) -> Invocation {
    decode_request(function, "inv-1".to_owned(), body.as_bytes()).expect("the payload decodes")
}

#[test]
fn decodes_the_captured_http_trigger_with_a_blob_input() {
    let invocation = decode(&HELLO, HTTP_CAPTURE);

    let expected_request = HttpRequest::builder()
        .method(Method::POST)
        .url("https://bal-dev.azurewebsites.net/hello/blobInput?name=hello.txt")
        .query("name", "hello.txt")
        .header("Content-Type", "text/plain")
        .header("Content-Length", "4")
        .header("Host", "bal-dev.azurewebsites.net")
        .identity(ClaimsIdentity {
            authentication_type: None,
            is_authenticated: false,
            name: None,
            name_claim_type: Some("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name".into()),
            role_claim_type: Some("http://schemas.microsoft.com/ws/2008/06/identity/claims/role".into()),
            claims: Vec::new(),
        })
        .body("Jack")
        .build();
    assert_eq!(invocation.invocation_id, "inv-1");
    assert_eq!(invocation.data.len(), 2);
    assert_eq!(invocation.binding("httpPayload"), &BindingData::Http(expected_request));
    assert_eq!(
        invocation.binding("blobIn"),
        &BindingData::Text("hello from byte\n".into())
    );
    assert_eq!(
        Value::Object(invocation.metadata.into_map()),
        json!({
            "name": "hello.txt",
            "Query": { "name": "hello.txt" },
            "Headers": { "Content-Type": "text/plain", "Content-Length": "4", "Host": "bal-dev.azurewebsites.net" },
            "sys": { "MethodName": "post-hello-blobInput", "UtcNow": "2022-08-15T07:52:01.8861913Z",
                     "RandGuid": "fa58f25f-74af-40e7-83a0-029a4331e9a7" }
        })
    );
}

#[test]
fn decodes_the_captured_queue_trigger() {
    let invocation = decode(&QUEUE, QUEUE_CAPTURE);
    assert_eq!(invocation.data.len(), 1);
    assert_eq!(invocation.trigger(), &BindingData::Text("aaaaa".into()));
    assert_eq!(
        Value::Object(invocation.metadata.into_map()),
        json!({
            "DequeueCount": 1,
            "ExpirationTime": "2022-06-20T06:00:06+00:00",
            "Id": "a0004923-f050-417a-9742-6d7c7b984134",
            "InsertionTime": "2022-06-13T06:00:06+00:00",
            "NextVisibleTime": "2022-06-13T06:10:18+00:00",
            "PopReceipt": "AgAAAAMAAAAAAAAA8d5gQex+2AE=",
            "sys": { "MethodName": "queue", "UtcNow": "2022-06-13T06:00:18.1974545Z", "RandGuid": "d9ba2785-..." }
        })
    );
}

#[test]
fn decodes_a_timer_trigger_inline() {
    let invocation = decode(&TIMER, TIMER_PAYLOAD);
    assert_eq!(invocation.data.len(), 1);
    assert_eq!(
        invocation.trigger(),
        &BindingData::Json(json!({ "Schedule": { "AdjustForDST": true }, "ScheduleStatus": null, "IsPastDue": false }))
    );
    assert_eq!(
        Value::Object(invocation.metadata.into_map()),
        json!({ "sys": { "MethodName": "tick", "UtcNow": "2024-01-01T00:05:00.0012345Z",
                         "RandGuid": "0b0b0b0b-0000-4000-8000-000000000000" } })
    );
}

#[test]
fn decodes_a_binary_blob_trigger_from_base64() {
    let body = r#"{ "Data": { "image": "iVBORw0KGgo=" },
        "Metadata": { "Uri": "\"https://x.blob.core.windows.net/images/a.png\"", "name": "\"a.png\"",
                      "Properties": { "Length": 8, "ContentType": "image/png" } } }"#;
    let invocation = decode(&RESIZE, body);
    assert_eq!(invocation.trigger(), &BindingData::Bytes(b"\x89PNG\r\n\x1a\n".to_vec()));
    assert_eq!(
        Value::Object(invocation.metadata.into_map()),
        json!({ "Uri": "https://x.blob.core.windows.net/images/a.png", "name": "a.png",
                "Properties": { "Length": 8, "ContentType": "image/png" } })
    );
}

// ---------------------------------------------------------------------------------------------
// Responses, checked as the exact JSON the host receives.
// ---------------------------------------------------------------------------------------------

fn encoded(outputs: &Outputs) -> Value {
    let body = encode_response(&RESIZE, outputs).expect("the outputs encode");
    serde_json::from_slice(&body).expect("the response body is JSON")
}

fn with_output(name: &'static str, value: OutputValue) -> Outputs {
    let mut outputs = Outputs::default();
    outputs.set(name, Some(value));
    outputs
}

#[test]
fn encodes_a_named_http_output() {
    let response = HttpResponse::new(StatusCode::CREATED)
        .header("Location", "/orders/1")
        .json(&json!({ "id": 1 }));
    assert_eq!(
        encoded(&with_output("res", OutputValue::Http(response))),
        json!({
            "Outputs": {
                "res": {
                    "statusCode": 201,
                    "headers": { "location": "/orders/1", "content-type": "application/json" },
                    "body": "{\"id\":1}"
                }
            },
            "Logs": [],
            "ReturnValue": null
        })
    );
}

#[test]
fn encodes_a_return_http_response_with_its_body_even_when_empty() {
    let outputs = Outputs {
        named: Vec::new(),
        return_value: Some(OutputValue::Http(HttpResponse::new(StatusCode::NO_CONTENT))),
        logs: Vec::new(),
    };
    assert_eq!(
        encoded(&outputs),
        json!({
            "Outputs": {},
            "Logs": [],
            "ReturnValue": { "statusCode": 204, "headers": {}, "body": "" }
        })
    );
}

#[test]
fn encodes_text_to_a_queue_as_the_base64_of_its_utf8_bytes() {
    // "test" is itself valid base64: sent as it is, the host would write the bytes b5 eb 2d.
    assert_eq!(
        encoded(&with_output("outMsg", OutputValue::Text("test".into()))),
        json!({ "Outputs": { "outMsg": "dGVzdA==" }, "Logs": [], "ReturnValue": null })
    );
    assert_eq!(
        encoded(&with_output("outMsg", OutputValue::Text("naïve ☕".into())))["Outputs"]["outMsg"],
        json!("bmHDr3ZlIOKYlQ==")
    );
    let to_return = Outputs {
        named: Vec::new(),
        return_value: Some(OutputValue::Text("abcd".into())),
        logs: Vec::new(),
    };
    assert_eq!(encoded(&to_return)["ReturnValue"], json!("YWJjZA=="));
}

#[test]
fn encodes_bytes_as_base64() {
    assert_eq!(
        encoded(&with_output(
            "outBlob",
            OutputValue::Bytes(vec![0x00, 0xff, 0x10, 0x80])
        )),
        json!({ "Outputs": { "outBlob": "AP8QgA==" }, "Logs": [], "ReturnValue": null })
    );
    assert_eq!(
        encoded(&with_output("outBlob", OutputValue::Bytes(Vec::new())))["Outputs"]["outBlob"],
        json!("")
    );
}

#[test]
fn encodes_json_objects_numbers_and_arrays_unchanged() {
    let mut outputs = Outputs::default();
    outputs.set(
        "outBlob",
        Some(OutputValue::Json(json!({ "id": 1, "tags": ["a"], "note": "test" }))),
    );
    // One queue message per element; the strings inside are not base64-decoded by the host.
    outputs.set("outMsg", Some(OutputValue::Json(json!(["first", { "second": 2 }, 3]))));
    outputs.return_value = Some(OutputValue::Json(json!(42)));
    outputs
        .logs
        .push(LogLine::new(tracing::Level::DEBUG, "resize", "wrote 2 outputs"));
    assert_eq!(
        encoded(&outputs),
        json!({
            "Outputs": {
                "outBlob": { "id": 1, "tags": ["a"], "note": "test" },
                "outMsg": ["first", { "second": 2 }, 3]
            },
            "Logs": ["DEBUG resize: wrote 2 outputs"],
            "ReturnValue": 42
        })
    );
}

#[test]
fn encodes_absent_outputs_as_an_empty_envelope() {
    let mut outputs = Outputs::default();
    outputs.set("outMsg", None);
    assert_eq!(
        encoded(&outputs),
        json!({ "Outputs": {}, "Logs": [], "ReturnValue": null })
    );
}

// ---------------------------------------------------------------------------------------------
// End to end, over a socket, the way the host talks.
// ---------------------------------------------------------------------------------------------

/// A server on 127.0.0.1:0 that runs until the test's runtime ends.
async fn start_server() -> SocketAddr {
    start_server_until(std::future::pending()).await.0
}

/// A server on 127.0.0.1:0 that stops when the returned sender sends (or is dropped).
async fn start_stoppable_server() -> (SocketAddr, oneshot::Sender<()>, JoinHandle<io::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let (address, server) = start_server_until(async {
        let _ = stopped.await;
    })
    .await;
    (address, stop, server)
}

async fn start_server_until(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (SocketAddr, JoinHandle<io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("a bound address");
    (address, tokio::spawn(serve(listener, registry(), shutdown)))
}

/// One response, read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// Writes `request` and reads one response (sized by `Content-Length`, as this server sends).
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Reply {
    stream.write_all(request).await.expect("the request is written");
    read_reply(stream, request.starts_with(b"HEAD ")).await
}

async fn read_reply(stream: &mut TcpStream, head_only: bool) -> Reply {
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_more(stream, &mut received).await;
    };
    let head = String::from_utf8(received[..head_end].to_vec()).expect("the head is text");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.parse().expect("a numeric Content-Length"))
        .expect("responses are sized");
    let length = if head_only { 0 } else { length };
    while received.len() < head_end + length {
        read_more(stream, &mut received).await;
    }
    Reply {
        status,
        headers,
        body: received[head_end..head_end + length].to_vec(),
    }
}

async fn read_more(stream: &mut TcpStream, received: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
        .await
        .expect("the server answers in time")
        .expect("the connection reads");
    assert!(
        n > 0,
        "the server closed the connection mid-response: {:?}",
        String::from_utf8_lossy(received)
    );
    received.extend_from_slice(&chunk[..n]);
}

async fn connect(address: SocketAddr) -> TcpStream {
    TcpStream::connect(address)
        .await
        .expect("the server accepts connections")
}

/// A request with a sized body and the host's headers.
fn sized_post(path: &str, invocation_id: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n\
         X-Azure-Functions-HostVersion: 4.1037.0\r\nX-Azure-Functions-InvocationId: {invocation_id}\r\n\
         User-Agent: Azure-Functions-Host/4.1037.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The same request with a chunked body, as .NET's `ObjectContent` sends it.
fn chunked_post(path: &str, invocation_id: &str, body: &str, chunk_size: usize) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n\
         x-azure-functions-invocationid: {invocation_id}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.as_bytes().chunks(chunk_size) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

fn hello_reply(invocation_id: &str) -> Value {
    json!({
        "Outputs": {},
        "Logs": [],
        "ReturnValue": {
            "statusCode": 200,
            "headers": { "x-invocation-id": invocation_id, "content-type": "text/plain; charset=utf-8" },
            "body": "Hello, Jack: hello from byte\n"
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn get_and_head_on_the_root_answer_at_once() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let get = exchange(&mut stream, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(get.status, 200);
    assert!(!get.body.is_empty());
    let head = exchange(&mut stream, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(head.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sized_post_runs_the_function() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let reply = exchange(
        &mut stream,
        &sized_post("/post-hello-blobInput", "sized-1", HTTP_CAPTURE),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json(), hello_reply("sized-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chunked_post_runs_the_function() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let reply = exchange(&mut stream, &chunked_post("/queue", "chunked-1", QUEUE_CAPTURE, 37)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!({ "Outputs": { "outMsg": "YWFhYWE=" }, "Logs": [], "ReturnValue": null })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn function_names_match_case_insensitively_and_queries_are_ignored() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let reply = exchange(
        &mut stream,
        &sized_post("/POST-HELLO-BLOBINPUT?code=abc", "case-1", HTTP_CAPTURE),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json(), hello_reply("case-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_connection_serves_many_requests() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    for n in 0..5 {
        let id = format!("keep-alive-{n}");
        let request = if n % 2 == 0 {
            sized_post("/post-hello-blobInput", &id, HTTP_CAPTURE)
        } else {
            chunked_post("/post-hello-blobInput", &id, HTTP_CAPTURE, 100)
        };
        let reply = exchange(&mut stream, &request).await;
        assert_eq!(reply.json(), hello_reply(&id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_invocation_id_is_generated() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let request = format!(
        "POST /post-hello-blobInput HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{HTTP_CAPTURE}",
        HTTP_CAPTURE.len()
    );
    let reply = exchange(&mut stream, request.as_bytes()).await.json();
    let id = reply["ReturnValue"]["headers"]["x-invocation-id"]
        .as_str()
        .expect("an id");
    assert!(id.starts_with("azfn-"), "{id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_functions_paths_and_methods_are_refused() {
    let address = start_server().await;
    let mut stream = connect(address).await;

    let unknown = exchange(&mut stream, &sized_post("/nope", "x", QUEUE_CAPTURE)).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.json(),
        json!({ "error": "this app has no function named `nope`" })
    );

    let nested = exchange(&mut stream, &sized_post("/api/queue", "x", QUEUE_CAPTURE)).await;
    assert_eq!(nested.status, 404);
    assert!(
        nested.json()["error"]
            .as_str()
            .expect("a message")
            .contains("POST /{FunctionName}")
    );

    let get = exchange(&mut stream, b"GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    assert_eq!(get.json(), json!({ "error": "GET is not served on /queue; use POST" }));

    let delete_root = exchange(&mut stream, b"DELETE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(delete_root.status, 405);
    assert_eq!(delete_root.header("allow"), Some("GET, HEAD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_bodies_and_bindings_are_400() {
    let address = start_server().await;
    let mut stream = connect(address).await;

    let not_json = exchange(&mut stream, &sized_post("/queue", "bad-1", "{\"Data\": ")).await;
    assert_eq!(not_json.status, 400);
    let message = not_json.json()["error"].as_str().expect("a message").to_owned();
    assert!(
        message.starts_with("malformed invocation request: the body is not valid JSON"),
        "{message}"
    );

    let bad_method = r#"{"Data": {"httpPayload": {"Method": 7}}}"#;
    let binding = exchange(&mut stream, &sized_post("/post-hello-blobInput", "bad-2", bad_method)).await;
    assert_eq!(binding.status, 400);
    assert_eq!(
        binding.json(),
        json!({ "error": "binding `httpPayload` could not be converted: `Method` must be a string, found a number" })
    );

    // The connection, and the server, go on serving.
    let good = exchange(&mut stream, &sized_post("/queue", "good", QUEUE_CAPTURE)).await;
    assert_eq!(good.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panicking_http_function_fails_its_invocation_and_the_server_keeps_serving() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let empty_http = r#"{"Data": {"req": {"Method": "GET", "Url": "http://localhost/api/panics"}}, "Metadata": {}}"#;

    // A panic is a failed invocation, as an unhandled exception is in .NET: a non-2xx answer,
    // so the host records a failure and answers the HTTP caller its own 500.
    let panicked = exchange(&mut stream, &sized_post("/panics", "panic-1", empty_http)).await;
    assert_eq!(panicked.status, 500);
    assert_eq!(
        panicked.json(),
        json!({"error": "the function panicked: the function blew up"})
    );

    let next = exchange(
        &mut stream,
        &sized_post("/post-hello-blobInput", "after-panic", HTTP_CAPTURE),
    )
    .await;
    assert_eq!(next.json(), hello_reply("after-panic"));
    let mut other = connect(address).await;
    let on_a_new_connection = exchange(&mut other, &chunked_post("/queue", "after-panic-2", QUEUE_CAPTURE, 16)).await;
    assert_eq!(on_a_new_connection.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_http_function_returning_a_plain_error_fails_its_invocation() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let body = r#"{"Data": {"req": {"Method": "GET"}}}"#;
    let failed = exchange(&mut stream, &sized_post("/fails", "fail-1", body)).await;
    assert_eq!(failed.status, 500);
    assert_eq!(
        failed.json(),
        json!({"error": "the function returned an error: out of tea"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_http_error_with_a_status_is_a_handled_response() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    let body = r#"{"Data": {"req": {"Method": "GET"}}}"#;
    let answered = exchange(&mut stream, &sized_post("/missing", "missing-1", body)).await;
    assert_eq!(answered.status, 200);
    let reply = answered.json();
    assert_eq!(
        reply["ReturnValue"],
        json!({
            "statusCode": 404,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "no such tea"
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_binary_http_body_goes_out_whole_when_forwarded_and_is_an_output_error_in_the_envelope() {
    let address = start_server().await;
    let mut stream = connect(address).await;
    // A forwarded request (an HTTP-only function): the bytes go out as they are.
    let forwarded = exchange(&mut stream, b"GET /api/binary HTTP/1.1\r\nHost: app.example\r\n\r\n").await;
    assert_eq!(forwarded.status, 200);
    assert_eq!(forwarded.header("content-type"), Some("application/octet-stream"));
    assert_eq!(forwarded.body, [0xff, 0x00, 0x80]);

    // The JSON envelope has no form for them (the host writes `body` as text only):
    // the invocation fails, saying so and what carries bytes.
    let body = r#"{"Data": {"req": {"Method": "GET"}}}"#;
    let enveloped = exchange(&mut stream, &sized_post("/binary", "binary-1", body)).await;
    assert_eq!(enveloped.status, 500);
    let error = enveloped.json()["error"].as_str().expect("a message").to_owned();
    assert!(
        error.starts_with(
            "output `$return` could not be written: the HTTP response body is not UTF-8 text, and the \
             custom handler's JSON envelope carries response bodies only as text"
        ),
        "{error}"
    );
    assert!(
        error.contains("`App::forward_http_requests()`") && error.contains("native gRPC transport"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_invocations_are_all_answered() {
    let address = start_server().await;
    let body = r#"{"Data": {"req": {"Method": "POST", "Body": "x"}}, "Metadata": {}}"#;
    let mut clients = Vec::new();
    for n in 0..CONCURRENT {
        clients.push(tokio::spawn(async move {
            let mut stream = connect(address).await;
            let id = format!("concurrent-{n}");
            let request = if n % 2 == 0 {
                sized_post("/rendezvous", &id, body)
            } else {
                chunked_post("/rendezvous", &id, body, 8)
            };
            (id, exchange(&mut stream, &request).await)
        }));
    }
    for client in clients {
        let (id, reply) = client.await.expect("the client task finishes");
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["ReturnValue"]["body"], json!(id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_lets_the_request_in_flight_finish_then_stops_accepting() {
    let (address, stop, server) = start_stoppable_server().await;
    let _idle = connect(address).await;
    let mut busy = connect(address).await;
    let body = r#"{"Data": {"req": {"Method": "GET"}}}"#;
    busy.write_all(&sized_post("/slow", "slow-1", body))
        .await
        .expect("the request is written");
    SLOW_STARTED.notified().await;

    stop.send(()).expect("the server is running");
    let reply = read_reply(&mut busy, false).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["ReturnValue"]["body"], json!("done"));

    let finished = tokio::time::timeout(Duration::from_secs(10), server).await;
    finished
        .expect("serve returns once connections are done")
        .expect("serve does not panic")
        .expect("serve is Ok");
    assert!(TcpStream::connect(address).await.is_err(), "the listener is closed");
}
