//! The host's side of the protocol: a gRPC server, plaintext HTTP/2 on `127.0.0.1:0`, one
//! method, `AzureFunctionsRpcMessages.FunctionRpc/EventStream`, as the real host's Kestrel
//! server. The local host of `cargo azfn start --transport grpc` serves its workers with it, and
//! the worker itself serves the app it restarts at placeholder specialization.
//!
//! gRPC over HTTP/2 is little more than framing: each message in either direction is a 1-byte
//! compression flag (always 0 here: the host never negotiates compression), a 4-byte big-endian
//! length and the protobuf bytes; the response ends with a `grpc-status` trailer. That is all
//! this module does, so nothing needs a gRPC library.
//!
//! Calls to other methods (the extensions' services the real host serves beside `EventStream`,
//! such as Service Bus settlement) are answered `UNIMPLEMENTED`, unless the server forwards them
//! ([`Server::forward_other_calls`]), as the worker's relay does to the real host.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use azfn_bindings::percent::encode_component;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::codec::{BATCH_BYTES, FrameDecoder, GrpcStatus, encode_ready};
use crate::rpc::{EVENT_STREAM_PATH, StreamingMessage};

/// gRPC status `UNIMPLEMENTED`, for calls to any other method.
const UNIMPLEMENTED: &str = "12";
/// gRPC status `UNAVAILABLE`, for a forwarded call nobody answered.
const UNAVAILABLE: u32 = 14;

/// One `EventStream` call: the worker's messages in, the host's messages out.
#[derive(Debug)]
pub struct Stream {
    /// What the worker sends; `Err` once for a stream that breaks or cannot be decoded, then
    /// the end.
    pub inbound: mpsc::UnboundedReceiver<Result<StreamingMessage, String>>,
    /// What the host sends; dropping every sender ends the call with `grpc-status: 0`.
    pub outbound: mpsc::UnboundedSender<StreamingMessage>,
}

/// A call to a method other than `EventStream`, handed over whole for someone else to answer
/// ([`Server::forward_other_calls`]).
#[derive(Debug)]
pub struct OtherCall {
    /// The method's path (`/Settlement/Complete`).
    pub path: String,
    /// The request body as it came: the framed message.
    pub body: Bytes,
    /// Where the answer goes; dropping it answers `UNAVAILABLE`.
    pub answer: oneshot::Sender<OtherAnswer>,
}

/// The answer to an [`OtherCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherAnswer {
    /// The response body: framed messages, or nothing.
    pub body: Bytes,
    /// How the call ends.
    pub status: GrpcStatus,
}

/// Where calls to other methods go, once someone asks for them.
type Forward = Arc<Mutex<Option<mpsc::UnboundedSender<OtherCall>>>>;

/// A listening server; stops accepting when dropped.
#[derive(Debug)]
pub struct Server {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Each `EventStream` call, as it opens.
    pub calls: mpsc::UnboundedReceiver<Stream>,
    forward: Forward,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    /// Listens on a free port of 127.0.0.1, as the host does for each worker, accepting
    /// messages of up to `max_message_length` bytes.
    pub async fn start(max_message_length: usize) -> std::io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let forward = Forward::default();
        let accept = tokio::spawn(accept_loop(listener, calls_tx, forward.clone(), max_message_length));
        Ok(Server {
            port,
            calls,
            forward,
            accept,
        })
    }

    /// From now on, hands every call to a method other than `EventStream` to the receiver
    /// returned, instead of answering `UNIMPLEMENTED`.
    pub fn forward_other_calls(&self) -> mpsc::UnboundedReceiver<OtherCall> {
        let (sender, receiver) = mpsc::unbounded_channel();
        *self.forward.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender);
        receiver
    }
}

async fn accept_loop(listener: TcpListener, calls: mpsc::UnboundedSender<Stream>, forward: Forward, limit: usize) {
    let mut connections = Vec::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // As Kestrel does by default: a small message goes out at once, not after the peer's
        // delayed acknowledgement of the one before.
        let _ = tcp.set_nodelay(true);
        let calls = calls.clone();
        let forward = forward.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let calls = calls.clone();
            let forward = forward.lock().unwrap_or_else(|e| e.into_inner()).clone();
            async move {
                let response = match forward {
                    Some(forward) if request.uri().path() != EVENT_STREAM_PATH => {
                        grpc_content_type(Response::new(Either::Right(other_call(request, &forward).await)))
                    }
                    _ => event_stream(request, &calls, limit).map(Either::Left),
                };
                Ok::<_, Infallible>(response)
            }
        });
        // Kept so that aborting this task (the server's drop) also closes its connections:
        // a worker from an earlier run must not keep a stream to a host that forgot it.
        connections.push(AbortOnDrop(tokio::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        })));
        connections.retain(|c| !c.0.is_finished());
    }
}

/// Aborts the task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Answers one HTTP/2 request: `EventStream` opens a [`Stream`], anything else is refused.
fn event_stream(
    request: Request<Incoming>,
    calls: &mpsc::UnboundedSender<Stream>,
    limit: usize,
) -> Response<OutboundBody> {
    let (outbound, outbound_rx) = mpsc::unbounded_channel();
    let body = OutboundBody {
        messages: outbound_rx,
        status: "0",
        done: false,
    };
    if request.uri().path() != EVENT_STREAM_PATH {
        // Trailers-only would do; an empty stream with the status is just as valid.
        drop(outbound);
        return grpc_response(OutboundBody {
            status: UNIMPLEMENTED,
            ..body
        });
    }
    let (inbound_tx, inbound) = mpsc::unbounded_channel();
    tokio::spawn(read_messages(request.into_body(), inbound_tx, limit));
    // Nobody waiting for calls means the host is going away: the call just ends.
    let _ = calls.send(Stream { inbound, outbound });
    grpc_response(body)
}

/// Hands a call to another method over and waits for its answer.
async fn other_call(request: Request<Incoming>, forward: &mpsc::UnboundedSender<OtherCall>) -> AnswerBody {
    let path = request.uri().path().to_owned();
    let unavailable = |message: String| {
        AnswerBody::new(OtherAnswer {
            body: Bytes::new(),
            status: GrpcStatus {
                code: UNAVAILABLE,
                message,
            },
        })
    };
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return unavailable(format!("the request to {path} broke: {e}")),
    };
    let (answer, answered) = oneshot::channel();
    if forward
        .send(OtherCall {
            path: path.clone(),
            body,
            answer,
        })
        .is_err()
    {
        return unavailable(format!("nothing answers {path} any more"));
    }
    match answered.await {
        Ok(answer) => AnswerBody::new(answer),
        Err(_) => unavailable(format!("{path} was not answered")),
    }
}

/// Sets `content-type: application/grpc`, which every gRPC response has.
fn grpc_content_type<B>(mut response: Response<B>) -> Response<B> {
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    response
}

/// The body of an answer to another method: its bytes, then the status as trailers.
#[derive(Debug)]
struct AnswerBody {
    data: Option<Bytes>,
    status: Option<GrpcStatus>,
}

impl AnswerBody {
    fn new(answer: OtherAnswer) -> Self {
        AnswerBody {
            data: Some(answer.body).filter(|body| !body.is_empty()),
            status: Some(answer.status),
        }
    }
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        let Some(status) = this.status.take() else {
            return Poll::Ready(None);
        };
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from(status.code));
        if !status.message.is_empty()
            && let Ok(message) = HeaderValue::from_str(&encode_component(&status.message))
        {
            trailers.insert("grpc-message", message);
        }
        Poll::Ready(Some(Ok(Frame::trailers(trailers))))
    }
}

fn grpc_response(body: OutboundBody) -> Response<OutboundBody> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    response
}

/// Splits the worker's half of the call into messages.
async fn read_messages(
    mut body: Incoming,
    inbound: mpsc::UnboundedSender<Result<StreamingMessage, String>>,
    limit: usize,
) {
    let mut decoder = FrameDecoder::new(limit);
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                let _ = inbound.send(Err(format!("the worker's stream broke: {e}")));
                return;
            }
        };
        let Ok(data) = frame.into_data() else { continue };
        decoder.push(&data);
        loop {
            match decoder.next_message() {
                Ok(Some(bytes)) => {
                    let message = StreamingMessage::decode(bytes)
                        .map_err(|e| format!("the worker sent a message that is not a StreamingMessage: {e}"));
                    if inbound.send(message).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = inbound.send(Err(format!("the worker's stream: {e}")));
                    return;
                }
            }
        }
    }
    if let Err(e) = decoder.finish() {
        let _ = inbound.send(Err(format!("the worker's stream: {e}")));
    }
}

/// The host's half of the call: the queued messages framed (those already waiting written
/// together), then the `grpc-status` trailer.
#[derive(Debug)]
pub struct OutboundBody {
    messages: mpsc::UnboundedReceiver<StreamingMessage>,
    status: &'static str,
    done: bool,
}

impl http_body::Body for OutboundBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.messages.poll_recv(cx) {
            Poll::Ready(Some(message)) => {
                let batch = encode_ready(&message, || this.messages.try_recv().ok(), BATCH_BYTES);
                Poll::Ready(Some(Ok(Frame::data(batch))))
            }
            Poll::Ready(None) => {
                this.done = true;
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", HeaderValue::from_static(this.status));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
