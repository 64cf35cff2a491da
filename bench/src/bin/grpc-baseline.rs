//! The gRPC baseline: the least a language worker can be and still serve one HTTP function
//! over the host's `EventStream`, written by hand with hyper's HTTP/2 client and nothing of
//! azfn's worker (only the protocol's messages, generated from the published `.proto`, which
//! any worker would use).
//!
//! It connects to `--host`/`--port`, sends `StartStream`, answers `WorkerInitRequest`,
//! `FunctionLoadRequest` (any function loads), and each `InvocationRequest` with
//! `Hello, <name>!` as an `RpcHttp` return value, `name` read from the request's query (after
//! 200 ms for the function loaded as `nap`, as bench-app's `nap`, so that many are in flight at
//! once). Its read loop is a task on the runtime's worker threads, as azfn's is. It stops when
//! the host ends the stream. Everything azfn adds (the registry, typed parameters,
//! middleware, logs, cancellation, other triggers) is what the comparison measures.
//!
//! Like azfn's worker, it also serves HTTP triggers through the `HttpUri` capability unless
//! `AZFN_DISABLE_HTTP_URI` is set: a loopback HTTP/1.1 server takes the request the host
//! forwards (with `x-ms-invocation-id`), waits for that invocation's `InvocationRequest` (the
//! gRPC half, which carries the route values), answers the HTTP request with the greeting and
//! the gRPC half with the invocation's success. The halves meet in either order.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use azfn_wire::rpc::streaming_message::Content;
use azfn_wire::rpc::typed_data::Data;
use azfn_wire::rpc::*;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// The request body: frames queued by the handler, sent as they come.
struct Outgoing(mpsc::UnboundedReceiver<Bytes>);

impl Body for Outgoing {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|frame| frame.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// One gRPC message: no compression, big-endian length, the protobuf bytes.
fn framed(message: &StreamingMessage) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + message.encoded_len());
    frame.extend_from_slice(&[0]);
    frame.extend_from_slice(&(message.encoded_len() as u32).to_be_bytes());
    message.encode(&mut frame).expect("a BytesMut grows");
    frame.freeze()
}

fn reply(request_id: String, content: Content) -> Bytes {
    framed(&StreamingMessage {
        request_id,
        content: Some(content),
    })
}

fn success() -> Option<StatusResult> {
    Some(StatusResult {
        status: status_result::Status::Success as i32,
        ..Default::default()
    })
}

/// The function id of bench-app's `nap`, which answers after 200 ms.
const NAP: &str = "nap";

/// The answer to one message, if it needs one; `http_uri` is the loopback server's address
/// when the worker serves HTTP triggers that way.
fn answer(message: StreamingMessage, http_uri: Option<&str>) -> Option<Bytes> {
    let request_id = message.request_id;
    match message.content? {
        Content::WorkerInitRequest(_) => Some(reply(
            request_id,
            Content::WorkerInitResponse(WorkerInitResponse {
                worker_version: "baseline".into(),
                capabilities: http_uri
                    .map(|uri| {
                        [
                            ("HttpUri".to_owned(), uri.to_owned()),
                            ("RequiresRouteParameters".to_owned(), "true".to_owned()),
                        ]
                        .into()
                    })
                    .unwrap_or_default(),
                result: success(),
                ..Default::default()
            }),
        )),
        Content::FunctionLoadRequest(load) => Some(reply(
            request_id,
            Content::FunctionLoadResponse(FunctionLoadResponse {
                function_id: load.function_id,
                result: success(),
                ..Default::default()
            }),
        )),
        Content::InvocationRequest(invocation) => {
            let name = invocation
                .input_data
                .iter()
                .find_map(|binding| match &binding.rpc_data {
                    Some(parameter_binding::RpcData::Data(TypedData {
                        data: Some(Data::Http(http)),
                    })) => http.query.get("name").cloned(),
                    _ => None,
                })
                .unwrap_or_else(|| "world".into());
            let response = RpcHttp {
                status_code: "200".into(),
                headers: [("content-type".to_owned(), "text/plain; charset=utf-8".to_owned())].into(),
                body: Some(Box::new(TypedData {
                    data: Some(Data::String(format!("Hello, {name}!"))),
                })),
                ..Default::default()
            };
            Some(reply(
                request_id,
                Content::InvocationResponse(InvocationResponse {
                    invocation_id: invocation.invocation_id,
                    result: success(),
                    return_value: Some(TypedData {
                        data: Some(Data::Http(Box::new(response))),
                    }),
                    ..Default::default()
                }),
            ))
        }
        _ => None,
    }
}

/// With `HttpUri`, an HTTP trigger's `RpcHttp` has no URL: the request comes over HTTP.
fn is_forwarded(invocation: &InvocationRequest) -> bool {
    invocation.input_data.iter().any(|binding| {
        matches!(&binding.rpc_data, Some(parameter_binding::RpcData::Data(TypedData {
            data: Some(Data::Http(http)),
        })) if http.url.is_empty())
    })
}

/// The invocation's answer when its HTTP response went out on the forwarded request.
fn forwarded_success(invocation_id: String) -> Bytes {
    reply(
        String::new(),
        Content::InvocationResponse(InvocationResponse {
            invocation_id,
            result: success(),
            ..Default::default()
        }),
    )
}

/// Whichever half of a forwarded invocation arrived first.
enum Half {
    /// The forwarded HTTP request, waiting for its `InvocationRequest`.
    Http(oneshot::Sender<()>),
    /// The `InvocationRequest`, waiting for its forwarded HTTP request.
    Grpc,
}

/// The halves of forwarded invocations, by invocation id.
type Halves = Arc<Mutex<HashMap<String, Half>>>;

/// The gRPC half of a forwarded invocation arrived: wake its HTTP half, or leave word.
fn grpc_half_arrived(halves: &Halves, invocation_id: String) {
    let mut halves = halves.lock().expect("never poisoned: no panic holds it");
    match halves.remove(&invocation_id) {
        Some(Half::Http(waiting)) => {
            let _ = waiting.send(());
        }
        _ => {
            halves.insert(invocation_id, Half::Grpc);
        }
    }
}

/// One forwarded HTTP request: once its gRPC half is there, the greeting goes back on this
/// connection and the invocation's success on the stream.
async fn forwarded(
    request: http::Request<hyper::body::Incoming>,
    halves: Halves,
    outgoing: mpsc::UnboundedSender<Bytes>,
) -> Result<http::Response<http_body_util::Full<Bytes>>, Infallible> {
    let invocation_id = request
        .headers()
        .get("x-ms-invocation-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let name = request
        .uri()
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("name=")))
        .unwrap_or("world")
        .to_owned();
    let waiting = {
        let mut halves = halves.lock().expect("never poisoned: no panic holds it");
        match halves.remove(&invocation_id) {
            Some(Half::Grpc) => None,
            _ => {
                let (wake, waiting) = oneshot::channel();
                halves.insert(invocation_id.clone(), Half::Http(wake));
                Some(waiting)
            }
        }
    };
    if let Some(waiting) = waiting {
        let _ = waiting.await;
    }
    let _ = outgoing.send(forwarded_success(invocation_id));
    Ok(http::Response::builder()
        .header("content-type", "text/plain; charset=utf-8")
        .body(http_body_util::Full::new(Bytes::from(format!("Hello, {name}!"))))
        .expect("a response"))
}

/// Serves forwarded requests on `listener`, one task per connection.
async fn serve_http_uri(listener: TcpListener, halves: Halves, outgoing: mpsc::UnboundedSender<Bytes>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let _ = tcp.set_nodelay(true);
        let (halves, outgoing) = (halves.clone(), outgoing.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| forwarded(request, halves.clone(), outgoing.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn argument(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // The read loop on a worker thread, as azfn's runs: the invocations it spawns then run on
    // its thread's queue. On the thread blocked on (`main` itself), each message would wake a
    // worker through the shared queue and be freed on another thread than the one that decoded
    // it; the comparison would measure that, not what azfn adds.
    if let Err(error) = tokio::spawn(serve()).await {
        eprintln!("grpc-baseline: {error}");
        std::process::exit(1);
    }
}

/// Serves the stream until the host ends it.
async fn serve() {
    let args: Vec<String> = std::env::args().collect();
    let host = argument(&args, "--host").unwrap_or_else(|| "127.0.0.1".into());
    let port = argument(&args, "--port").expect("--port");
    let worker_id = argument(&args, "--workerId").unwrap_or_default();
    let request_id = argument(&args, "--requestId").unwrap_or_default();

    let tcp = TcpStream::connect(format!("{host}:{port}"))
        .await
        .expect("the host listens");
    let _ = tcp.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(8 * 1024 * 1024)
        .initial_connection_window_size(16 * 1024 * 1024)
        .handshake(TokioIo::new(tcp))
        .await
        .expect("HTTP/2");
    tokio::spawn(connection);
    let (outgoing, frames) = mpsc::unbounded_channel();
    let _ = outgoing.send(reply(request_id, Content::StartStream(StartStream { worker_id })));
    let halves: Halves = Arc::default();
    let http_uri = if std::env::var_os("AZFN_DISABLE_HTTP_URI").is_none_or(|value| value.is_empty()) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let uri = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(serve_http_uri(listener, halves.clone(), outgoing.clone()));
        Some(uri)
    } else {
        None
    };
    let request = http::Request::post(format!(
        "http://{host}:{port}/AzureFunctionsRpcMessages.FunctionRpc/EventStream"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(Outgoing(frames))
    .expect("a request");
    let response = sender.send_request(request).await.expect("the host takes the call");
    let mut body = response.into_body();
    let mut buffer = BytesMut::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else { continue };
        buffer.extend_from_slice(&data);
        while buffer.len() >= 5 {
            let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
            if buffer.len() < 5 + length {
                break;
            }
            buffer.advance(5);
            let Ok(message) = StreamingMessage::decode(buffer.split_to(length)) else {
                continue;
            };
            // Each invocation on a task of its own, as a worker must (one slow function holds
            // up nothing); the control messages are answered in order.
            if let Some(Content::InvocationRequest(invocation)) = &message.content {
                if http_uri.is_some() && is_forwarded(invocation) {
                    grpc_half_arrived(&halves, invocation.invocation_id.clone());
                    continue;
                }
                let nap = invocation.function_id == NAP;
                let outgoing = outgoing.clone();
                tokio::spawn(async move {
                    if nap {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                    if let Some(bytes) = answer(message, None) {
                        let _ = outgoing.send(bytes);
                    }
                });
            } else if let Some(bytes) = answer(message, http_uri.as_deref()) {
                let _ = outgoing.send(bytes);
            }
        }
    }
}
