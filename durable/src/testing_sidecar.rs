//! The mock `TaskHubSidecarService`: a plaintext HTTP/2 gRPC server on 127.0.0.1 that records
//! each call and answers as the test says.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::client::DurableClient;

/// How the mock answers one call.
#[derive(Clone, Debug, PartialEq)]
pub enum SidecarReply {
    /// One message (its protobuf bytes), then `grpc-status: 0`.
    Message(Vec<u8>),
    /// No message; the gRPC status code and message in the trailers.
    Status(u32, String),
    /// A Trailers-Only response: the gRPC status in the headers, no body.
    TrailersOnly(u32, String),
    /// A bare HTTP status, no gRPC at all.
    Http(StatusCode),
    /// Several messages (a protocol error for the unary calls the client makes).
    Messages(Vec<Vec<u8>>),
    /// The reply after a pause (real time).
    After(Duration, Box<SidecarReply>),
}

impl SidecarReply {
    /// One message, then success.
    pub fn message<M: Message>(message: &M) -> Self {
        SidecarReply::Message(message.encode_to_vec())
    }

    /// The gRPC status `code` with `message` in the trailers, no message.
    pub fn status(code: u32, message: impl Into<String>) -> Self {
        SidecarReply::Status(code, message.into())
    }
}

/// One call the mock received.
#[derive(Clone, Debug)]
pub struct SidecarCall {
    /// The method's path, e.g. [`method::START_INSTANCE`](crate::proto::method::START_INSTANCE).
    pub path: String,
    /// The request's headers (`durable-taskhub`, `grpc-timeout`, …).
    pub headers: HeaderMap,
    /// The request message's protobuf bytes (the whole body when it was not one framed,
    /// uncompressed message).
    pub message: Bytes,
}

impl SidecarCall {
    /// The request message, decoded as `M`.
    ///
    /// # Panics
    ///
    /// When the bytes are not an `M`, naming the call: a test's assertion.
    pub fn decode<M: Message + Default>(&self) -> M {
        M::decode(self.message.clone())
            .unwrap_or_else(|e| panic!("the request of `{}` does not decode: {e}", self.path))
    }
}

type Handler = dyn Fn(&str, &[u8]) -> SidecarReply + Send + Sync;

/// A mock of the Durable extension's gRPC endpoint (`TaskHubSidecarService`), which
/// [`DurableClient`] talks to: test HTTP starters and other client code against it.
///
/// Answers are canned or computed per method ([`builder`](Self::builder)), or come from one
/// closure over every call ([`start`](Self::start)); every call is recorded, and
/// [`requests`](Self::requests) gives them decoded. [`client`](Self::client) is a client bound
/// to it, [`binding`](Self::binding) the `durableClient` binding value for
/// `azfn::testing::Trigger::with_input`. A method with no answer gets `UNIMPLEMENTED`.
///
/// ```
/// use azfn::durable::proto::{CreateInstanceRequest, CreateInstanceResponse, method};
/// use azfn::durable::testing::{MockSidecar, SidecarReply};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sidecar = MockSidecar::builder()
///     .on(method::START_INSTANCE, |start: CreateInstanceRequest| {
///         SidecarReply::message(&CreateInstanceResponse { instance_id: start.instance_id })
///     })
///     .start()
///     .await;
/// let id = sidecar.client().start("Hello").instance_id("order-7").input(&"Tokyo").send().await.unwrap();
/// assert_eq!(id, "order-7");
/// let started: Vec<CreateInstanceRequest> = sidecar.requests(method::START_INSTANCE);
/// assert_eq!(started[0].input.as_ref().unwrap().value, "\"Tokyo\"");
/// # }
/// ```
pub struct MockSidecar {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<SidecarCall>>>,
    connections: Arc<AtomicUsize>,
    /// The acceptor first, then one task per connection.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl fmt::Debug for MockSidecar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSidecar")
            .field("address", &self.address)
            .field("calls", &lock(&self.calls).len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The answers of a [`MockSidecar`] to start, per method.
#[derive(Default)]
pub struct MockSidecarBuilder {
    answers: HashMap<String, Box<Handler>>,
}

impl fmt::Debug for MockSidecarBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSidecarBuilder")
            .field("methods", &self.answers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MockSidecarBuilder {
    /// Answers every call of `method` (a path of [`proto::method`](crate::proto::method)) with
    /// `reply`.
    pub fn answer(mut self, method: &str, reply: SidecarReply) -> Self {
        self.answers
            .insert(method.to_owned(), Box::new(move |_: &str, _: &[u8]| reply.clone()));
        self
    }

    /// Answers every call of `method` with what `answer` makes of its request, decoded as `M`
    /// (a request that does not decode gets `INVALID_ARGUMENT`).
    pub fn on<M, F>(mut self, method: &str, answer: F) -> Self
    where
        M: Message + Default,
        F: Fn(M) -> SidecarReply + Send + Sync + 'static,
    {
        let handler = move |path: &str, message: &[u8]| match M::decode(message) {
            Ok(request) => answer(request),
            Err(e) => SidecarReply::status(3, format!("the mock sidecar cannot decode the request of {path}: {e}")),
        };
        self.answers.insert(method.to_owned(), Box::new(handler));
        self
    }

    /// Starts the mock on a free port of 127.0.0.1.
    pub async fn start(self) -> MockSidecar {
        let answers = self.answers;
        MockSidecar::start(move |path, message| match answers.get(path) {
            Some(answer) => answer(path, message),
            None => SidecarReply::status(12, format!("the mock sidecar has no answer for {path}")),
        })
        .await
    }
}

/// The server's body: queued frames.
struct Frames(VecDeque<Frame<Bytes>>);

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(Ok))
    }
}

/// A gRPC message frame: no compression, the 4-byte big-endian length, the message.
fn framed(payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(0);
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(payload);
    Bytes::from(out)
}

/// A header value for a status message; one that cannot be a header is percent-encoded whole.
fn header_text(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| {
        let encoded: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
        HeaderValue::from_str(&encoded).unwrap_or(HeaderValue::from_static(""))
    })
}

fn status_headers(map: &mut HeaderMap, code: u32, message: &str) {
    map.insert("grpc-status", HeaderValue::from(code));
    if !message.is_empty() {
        map.insert("grpc-message", header_text(message));
    }
}

fn grpc_response(frames: Vec<Frame<Bytes>>) -> Response<Frames> {
    let mut response = Response::new(Frames(frames.into()));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    response
}

fn trailers(code: u32, message: &str) -> Frame<Bytes> {
    let mut map = HeaderMap::new();
    status_headers(&mut map, code, message);
    Frame::trailers(map)
}

async fn answer(reply: SidecarReply) -> Response<Frames> {
    match reply {
        SidecarReply::Message(bytes) => grpc_response(vec![Frame::data(framed(&bytes)), trailers(0, "")]),
        SidecarReply::Messages(all) => {
            let mut frames: Vec<_> = all.iter().map(|m| Frame::data(framed(m))).collect();
            frames.push(trailers(0, ""));
            grpc_response(frames)
        }
        SidecarReply::Status(code, message) => grpc_response(vec![trailers(code, &message)]),
        SidecarReply::TrailersOnly(code, message) => {
            let mut response = grpc_response(Vec::new());
            status_headers(response.headers_mut(), code, &message);
            response
        }
        SidecarReply::Http(status) => {
            let mut response = Response::new(Frames(vec![Frame::data(Bytes::from_static(b"not gRPC"))].into()));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("text/plain"));
            response
        }
        SidecarReply::After(pause, then) => {
            tokio::time::sleep(pause).await;
            Box::pin(answer(*then)).await
        }
    }
}

/// The message of a request body: one uncompressed framed message, or `None`.
fn unframed(body: &Bytes) -> Option<Bytes> {
    let (&[flag, a, b, c, d], _) = body.split_first_chunk::<5>()?;
    let length = usize::try_from(u32::from_be_bytes([a, b, c, d])).ok()?;
    (flag == 0 && body.len() == 5 + length).then(|| body.slice(5..))
}

impl MockSidecar {
    /// Answers set per method; see [`MockSidecarBuilder`].
    pub fn builder() -> MockSidecarBuilder {
        MockSidecarBuilder::default()
    }

    /// Starts the mock on a free port of 127.0.0.1, answering every call with what `handler`
    /// makes of its method's path and request bytes. A request that is not one uncompressed
    /// framed message is recorded whole and answered `INTERNAL`.
    ///
    /// # Panics
    ///
    /// When no port of 127.0.0.1 can be bound.
    pub async fn start(handler: impl Fn(&str, &[u8]) -> SidecarReply + Send + Sync + 'static) -> MockSidecar {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the mock sidecar binds a port of 127.0.0.1");
        let address = listener.local_addr().expect("a bound listener has an address");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let (recorded, accepted, spawned) = (calls.clone(), connections.clone(), tasks.clone());
        let acceptor = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (handler, recorded) = (handler.clone(), recorded.clone());
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (handler, recorded) = (handler.clone(), recorded.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let path = parts.uri.path().to_owned();
                        let message = unframed(&body);
                        lock(&recorded).push(SidecarCall {
                            path: path.clone(),
                            headers: parts.headers,
                            message: message.clone().unwrap_or(body),
                        });
                        let reply = match message {
                            Some(message) => handler(&path, &message),
                            None => SidecarReply::status(
                                13,
                                "the mock sidecar expects one uncompressed framed message per call",
                            ),
                        };
                        Ok::<_, Infallible>(answer(reply).await)
                    }
                });
                let task = tokio::spawn(async move {
                    // A connection the client drops ends here; nothing to report.
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
                lock(&spawned).push(task);
            }
        });
        lock(&tasks).push(acceptor);
        MockSidecar {
            address,
            calls,
            connections,
            tasks,
        }
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The `durableClient` binding's value pointing at the mock, as the extension writes it
    /// (task hub `TestHub`, connection `Storage`, system key `sys-key`, the local webhook
    /// base URL).
    pub fn binding(&self) -> serde_json::Value {
        serde_json::json!({
            "taskHubName": "TestHub",
            "connectionName": "Storage",
            "rpcBaseUrl": format!("http://{}", self.address),
            "requiredQueryStringParameters": "code=sys-key",
            "httpBaseUrl": "http://localhost:7071/runtime/webhooks/durabletask",
        })
    }

    /// A client bound to the mock (from [`binding`](Self::binding)).
    pub fn client(&self) -> DurableClient {
        DurableClient::from_json(&self.binding()).expect("the mock's binding value is a durable client's")
    }

    /// Every call so far, in the order they came.
    pub fn calls(&self) -> Vec<SidecarCall> {
        lock(&self.calls).clone()
    }

    /// The requests of every call of `method` so far, decoded as `M`.
    ///
    /// # Panics
    ///
    /// When one does not decode as `M`.
    pub fn requests<M: Message + Default>(&self, method: &str) -> Vec<M> {
        lock(&self.calls)
            .iter()
            .filter(|call| call.path == method)
            .map(SidecarCall::decode)
            .collect()
    }

    /// The one call so far.
    ///
    /// # Panics
    ///
    /// When there were none or several, listing them.
    pub fn only_call(&self) -> SidecarCall {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "expected one call to the mock sidecar, got {calls:?}");
        calls.into_iter().next().expect("one call")
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Drops every open connection (it keeps listening), as a restarting host does.
    pub fn drop_connections(&self) {
        let mut tasks = lock(&self.tasks);
        for task in tasks.drain(1..) {
            task.abort();
        }
    }
}

impl Drop for MockSidecar {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}
