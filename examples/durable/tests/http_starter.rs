//! The HTTP starter invoked in-process, its `durableClient` binding pointing at a mock
//! `TaskHubSidecarService`: a plaintext HTTP/2 gRPC server on 127.0.0.1 that records each call
//! and answers `StartInstance`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use azfn::durable::proto::{CreateInstanceRequest, CreateInstanceResponse, method};
use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A response body of queued frames: the message, then the trailers with `grpc-status`.
struct Frames(VecDeque<Frame<Bytes>>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(Ok))
    }
}

/// The mock sidecar: records `(path, StartInstance request)` and answers with the instance id,
/// or `ALREADY_EXISTS` for the id `taken`.
struct Sidecar {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<(String, CreateInstanceRequest)>>>,
}

fn grpc_response(message: Option<Vec<u8>>, status: u32) -> Response<Frames> {
    let mut frames = VecDeque::new();
    if let Some(message) = message {
        let mut framed = vec![0];
        framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        framed.extend_from_slice(&message);
        frames.push_back(Frame::data(Bytes::from(framed)));
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", status.to_string().parse().unwrap());
    frames.push_back(Frame::trailers(trailers));
    Response::builder()
        .header("content-type", "application/grpc")
        .body(Frames(frames))
        .unwrap()
}

impl Sidecar {
    async fn start() -> Sidecar {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let recorded = recorded.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        // One uncompressed framed message: flag, 4-byte length, message.
                        let start = CreateInstanceRequest::decode(body.slice(5..)).unwrap();
                        let reply = if start.instance_id == "taken" {
                            grpc_response(None, 6) // ALREADY_EXISTS
                        } else {
                            let answer = CreateInstanceResponse {
                                instance_id: start.instance_id.clone(),
                            };
                            grpc_response(Some(answer.encode_to_vec()), 0)
                        };
                        recorded.lock().unwrap().push((path, start));
                        Ok::<_, Infallible>(reply)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Sidecar { address, calls }
    }

    /// The `durableClient` binding's value, as the extension writes it.
    fn binding(&self) -> Value {
        json!({
            "taskHubName": "DurableExampleHub",
            "connectionName": "Storage",
            "rpcBaseUrl": format!("http://{}", self.address),
            "requiredQueryStringParameters": "code=sys-key",
            "httpBaseUrl": "http://localhost:7071/runtime/webhooks/durabletask"
        })
    }

    fn calls(&self) -> Vec<(String, CreateInstanceRequest)> {
        self.calls.lock().unwrap().clone()
    }
}

fn post(sidecar: &Sidecar, name: &str, query: Option<&str>, body: &str) -> Trigger {
    let mut request = HttpRequest::builder()
        .method(http::Method::POST)
        .url(format!("https://shop.example.com/api/orchestrators/{name}"))
        .param("name", name)
        .body(body.to_owned());
    if let Some(id) = query {
        request = request.query("instanceId", id);
    }
    Trigger::http(request.build()).with_input("client", &sidecar.binding())
}

#[tokio::test]
async fn the_starter_starts_the_named_orchestration_and_answers_with_its_links() {
    let sidecar = Sidecar::start().await;
    let app = TestApp::new(durable_example::app());
    let order = r#"{"order_id":"order-7","lines":[{"sku":"tea","quantity":2}]}"#;
    let outputs = app
        .invoke("start_orchestration", post(&sidecar, "process_order", None, order))
        .await
        .unwrap();

    let calls = sidecar.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (path, start) = &calls[0];
    assert_eq!(path, method::START_INSTANCE);
    assert_eq!(start.name, "process_order");
    let input: Value = serde_json::from_str(&start.input.as_ref().unwrap().value).unwrap();
    assert_eq!(input, serde_json::from_str::<Value>(order).unwrap());
    // A new random instance id: 32 hex digits.
    let id = &start.instance_id;
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");

    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let links: Value = serde_json::from_slice(response.body()).unwrap();
    let status_uri = format!(
        "https://shop.example.com/runtime/webhooks/durabletask/instances/{id}?taskHub=DurableExampleHub&connection=Storage&code=sys-key"
    );
    assert_eq!(links["id"], json!(id));
    assert_eq!(links["statusQueryGetUri"], json!(status_uri));
    assert_eq!(response.header_value("location"), Some(status_uri.as_str()));
    assert_eq!(response.header_value("retry-after"), Some("10"));
    assert_eq!(
        links["sendEventPostUri"],
        json!(format!(
            "https://shop.example.com/runtime/webhooks/durabletask/instances/{id}/raiseEvent/{{eventName}}?taskHub=DurableExampleHub&connection=Storage&code=sys-key"
        ))
    );
}

#[tokio::test]
async fn the_caller_may_choose_the_instance_id_and_send_no_input() {
    let sidecar = Sidecar::start().await;
    let app = TestApp::new(durable_example::app());
    let outputs = app
        .invoke(
            "start_orchestration",
            post(&sidecar, "approval", Some("approval-42"), ""),
        )
        .await
        .unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let links: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(links["id"], "approval-42");
    let calls = sidecar.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1.instance_id, "approval-42");
    assert_eq!(calls[0].1.name, "approval");
    assert_eq!(calls[0].1.input, None);

    // An id in use is a conflict.
    let outputs = app
        .invoke("start_orchestration", post(&sidecar, "approval", Some("taken"), ""))
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn unknown_orchestrators_and_bad_bodies_are_refused_without_starting_anything() {
    let sidecar = Sidecar::start().await;
    let app = TestApp::new(durable_example::app());
    // Activities and entities are functions too, but not orchestrators.
    for name in ["no_such_thing", "price_line", "counter", "start_orchestration"] {
        let outputs = app
            .invoke("start_orchestration", post(&sidecar, name, None, "{}"))
            .await
            .unwrap();
        let response = outputs.http_response().unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name}");
        assert_eq!(response.body(), format!("no orchestrator named `{name}`").as_bytes());
    }
    let outputs = app
        .invoke(
            "start_orchestration",
            post(&sidecar, "process_order", None, "{not json"),
        )
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::BAD_REQUEST);
    assert!(sidecar.calls().is_empty(), "{:?}", sidecar.calls());
}

#[tokio::test]
async fn without_the_durable_extension_the_starter_fails_with_a_hint() {
    azfn::logging::init_default();
    let app = TestApp::new(durable_example::app());
    // No `client` binding value: what the host sends when the Durable extension is missing.
    let request = HttpRequest::builder().param("name", "approval").build();
    // A failed invocation (the host answers the caller a bare 500), whose reason, logged by the
    // host, says what to install.
    match app.invoke("start_orchestration", Trigger::http(request)).await {
        Err(azfn::InvocationError::Binding { binding, message }) => {
            assert_eq!(binding, "client");
            assert!(message.contains("extension bundle v4"), "{message}");
        }
        other => panic!("expected a failed invocation, got {other:?}"),
    }
}
