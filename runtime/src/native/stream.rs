//! The `EventStream` call: one HTTP/2 connection to the host, one bidirectional gRPC stream.
//!
//! The request body is the worker's half of the stream. It is fed by an [`Outbox`], a channel
//! every task may send into; the body encodes messages as hyper's connection task polls it, so
//! that one task writes every frame, in the order the messages were queued. The response body
//! is the host's half, read by [`Inbox`].
//!
//! The connection also carries the worker's unary calls to services the host serves beside
//! `EventStream` (the Service Bus extension's settlement service): their request bodies are
//! whole messages ([`ConnectionBody`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, TE, USER_AGENT};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Frame;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::args::NativeArgs;
use super::proto::{StartStream, StreamingMessage, streaming_message::Content};
use crate::grpc::codec::{self, FrameDecoder};

pub use azfn_wire::rpc::EVENT_STREAM_PATH;

/// Messages waiting to be written; senders wait when it is full.
pub(crate) const OUTBOX_CAPACITY: usize = 1024;
/// HTTP/2 flow-control windows: large, so that many invocations' payloads flow at once.
const STREAM_WINDOW: u32 = 8 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;
/// How long to keep trying to reach the host, which listens before it starts the worker.
const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// Where the worker queues messages for the host, each framed by its sender. Cheap to clone.
///
/// Senders encode: each invocation's task encodes its own answer (on whichever thread runs it),
/// and what crosses the channel is a frame, not a message of several hundred bytes.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    frames: mpsc::Sender<Bytes>,
}

impl Outbox {
    /// An outbox writing frames into `frames`.
    pub(crate) fn new(frames: mpsc::Sender<Bytes>) -> Self {
        Outbox { frames }
    }

    /// Queues `message`; `false` if the stream is gone.
    pub(crate) async fn send(&self, message: StreamingMessage) -> bool {
        self.send_framed(codec::encode(&message)).await
    }

    /// Queues a message already framed (`codec::frame_with`); `false` if the stream is gone.
    pub(crate) async fn send_framed(&self, frame: Bytes) -> bool {
        self.frames.send(frame).await.is_ok()
    }

    /// Queues a message with `content` and `request_id`.
    pub(crate) async fn send_content(&self, request_id: &str, content: Content) -> bool {
        self.send_framed(framed(request_id, content)).await
    }
}

/// `content` as the frame of a message answering `request_id`: framed before a send, a pending
/// send holds bytes, not a message.
pub(crate) fn framed(request_id: &str, content: Content) -> Bytes {
    codec::encode(&StreamingMessage {
        request_id: request_id.to_owned(),
        content: Some(content),
    })
}

/// What arrived from the host.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A message.
    Message(Box<StreamingMessage>),
    /// A whole frame whose bytes are not a `StreamingMessage`.
    Malformed(String),
}

/// A request body on the connection to the host: the worker's half of `EventStream`, or the one
/// message of a unary call.
pub(crate) type ConnectionBody = Either<OutgoingBody, Full<Bytes>>;

/// The host's half of the stream.
#[derive(Debug)]
pub(crate) struct Inbox {
    body: Incoming,
    decoder: FrameDecoder,
    // Held so the connection stays up for as long as the stream is read.
    _sender: SendRequest<ConnectionBody>,
}

impl Inbox {
    /// The next message; `Ok(None)` when the host ended the stream cleanly; `Err` when the stream
    /// broke. Cancel-safe: bytes already read stay buffered.
    pub(crate) async fn next(&mut self) -> Result<Option<Inbound>, String> {
        loop {
            match self.decoder.next_message() {
                Ok(Some(bytes)) => {
                    // Decoded in its box: the message is hundreds of bytes, not moved after.
                    let mut message = Box::<StreamingMessage>::default();
                    return Ok(Some(match message.merge(bytes) {
                        Ok(()) => Inbound::Message(message),
                        Err(error) => Inbound::Malformed(error.to_string()),
                    }));
                }
                Ok(None) => {}
                Err(error) => return Err(error.to_string()),
            }
            match self.body.frame().await {
                None => return self.decoder.finish().map(|()| None).map_err(|e| e.to_string()),
                Some(Err(error)) => return Err(format!("the stream from the host broke: {error}")),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.decoder.push(&data),
                    Err(frame) => {
                        if let Some(trailers) = frame.trailers_ref() {
                            grpc_status(trailers)?;
                        }
                    }
                },
            }
        }
    }
}

/// The open stream.
#[derive(Debug)]
pub(crate) struct EventStream {
    /// The worker's half.
    pub(crate) outbox: Outbox,
    /// The host's half.
    pub(crate) inbox: Inbox,
    /// Fires when the worker's half has ended (every [`Outbox`] dropped, every message handed
    /// to HTTP/2).
    pub(crate) sent_everything: oneshot::Receiver<()>,
    /// The connection's task.
    pub(crate) connection: JoinHandle<()>,
    /// The connection, for unary calls beside the stream.
    pub(crate) host: HostConnection,
}

/// The HTTP/2 connection to the host, for unary gRPC calls to the services it serves beside
/// `EventStream`. Cheap to clone; each call is one more HTTP/2 stream.
#[derive(Debug, Clone)]
pub(crate) struct HostConnection {
    sender: SendRequest<ConnectionBody>,
    /// `http://host:port` and any path prefix of the host's URI, without a final `/`.
    base: String,
}

impl HostConnection {
    /// Calls `path` (`/Service/Method`) with `message`, as gRPC does: `Ok` with the response
    /// body's bytes when the call ends with `grpc-status: 0`, `Err` with the status otherwise.
    #[cfg(feature = "servicebus")]
    pub(crate) async fn unary<M: Message>(&self, path: &str, message: &M) -> Result<Bytes, UnaryError> {
        self.unary_framed(path, codec::encode(message)).await
    }

    /// As `unary`, with the request body already framed (a call relayed as it
    /// came); the answer is the response body as it came.
    pub(crate) async fn unary_framed(&self, path: &str, body: Bytes) -> Result<Bytes, UnaryError> {
        let request = Request::post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/grpc")
            .header(TE, "trailers")
            .header(USER_AGENT, concat!("azfn/", env!("CARGO_PKG_VERSION")))
            .body(Either::Right(Full::new(body)))
            .map_err(|e| UnaryError::Transport(format!("cannot build the request for {path}: {e}")))?;
        let mut sender = self.sender.clone();
        sender
            .ready()
            .await
            .map_err(|e| UnaryError::Transport(format!("the connection to the host is gone: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| UnaryError::Transport(format!("the host did not answer {path}: {e}")))?;
        if response.status() != StatusCode::OK {
            return Err(UnaryError::Transport(format!(
                "the host answered {path} with HTTP {}",
                response.status()
            )));
        }
        // A trailers-only answer carries its status in the headers.
        if let Some(status) = status_of(response.headers()) {
            return if status.is_ok() {
                Ok(Bytes::new())
            } else {
                Err(UnaryError::Status(status))
            };
        }
        let collected = response
            .into_body()
            .collect()
            .await
            .map_err(|e| UnaryError::Transport(format!("the answer to {path} broke: {e}")))?;
        let status = collected
            .trailers()
            .and_then(status_of)
            .ok_or_else(|| UnaryError::Transport(format!("the answer to {path} has no grpc-status")))?;
        if status.is_ok() {
            Ok(collected.to_bytes())
        } else {
            Err(UnaryError::Status(status))
        }
    }
}

/// How a unary call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnaryError {
    /// The host answered with a gRPC status other than OK.
    Status(codec::GrpcStatus),
    /// No gRPC answer came: the connection, HTTP, or a missing status.
    Transport(String),
}

fn status_of(headers: &HeaderMap) -> Option<codec::GrpcStatus> {
    codec::GrpcStatus::from_headers(|name| headers.get(name).map(HeaderValue::as_bytes))
}

/// Connects to the host, starts `EventStream` and sends `StartStream` as its first message.
pub(crate) async fn open(args: &NativeArgs) -> Result<EventStream, String> {
    let authority = args
        .uri
        .authority()
        .ok_or_else(|| format!("the host URI {} has no host and port", args.uri))?
        .as_str()
        .to_owned();
    let tcp = connect(&authority).await?;
    // Messages are written whole; waiting to coalesce packets only adds latency.
    let _ = tcp.set_nodelay(true);
    let (mut sender, connection) = Builder::new(TokioExecutor::new())
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_send_buf_size(1024 * 1024)
        .handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("HTTP/2 with the host at {authority} failed: {e}"))?;
    let connection = tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("azfn: the HTTP/2 connection to the host failed: {error}");
        }
    });

    let (frames, outgoing) = mpsc::channel(OUTBOX_CAPACITY);
    let (ended, sent_everything) = oneshot::channel();
    let outbox = Outbox { frames };
    // Queued before the call starts, so it is the stream's first message.
    let start = Content::StartStream(StartStream {
        worker_id: args.worker_id.clone(),
    });
    outbox.send_content(&args.request_id, start).await;

    let host = HostConnection {
        sender: sender.clone(),
        base: service_base(&args.uri),
    };
    let request = Request::post(event_stream_uri(&args.uri)?)
        .header(CONTENT_TYPE, "application/grpc")
        .header(TE, "trailers")
        .header(USER_AGENT, concat!("azfn/", env!("CARGO_PKG_VERSION")))
        .body(Either::Left(OutgoingBody {
            frames: outgoing,
            ended: Some(ended),
        }))
        .map_err(|e| format!("cannot build the EventStream request: {e}"))?;
    sender
        .ready()
        .await
        .map_err(|e| format!("the host's HTTP/2 connection is not ready: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("the host refused the EventStream call: {e}"))?;
    check_response_head(&response)?;
    Ok(EventStream {
        outbox,
        inbox: Inbox {
            body: response.into_body(),
            decoder: FrameDecoder::new(args.max_message_length),
            _sender: sender,
        },
        sent_everything,
        connection,
        host,
    })
}

/// Connects, retrying briefly: the host listens before starting the worker, but a restarted
/// worker may race a restarting host.
async fn connect(authority: &str) -> Result<TcpStream, String> {
    let deadline = tokio::time::Instant::now() + CONNECT_PATIENCE;
    let mut pause = Duration::from_millis(50);
    loop {
        match TcpStream::connect(authority).await {
            Ok(tcp) => return Ok(tcp),
            Err(error) if tokio::time::Instant::now() + pause >= deadline => {
                return Err(format!("cannot connect to the host at {authority}: {error}"));
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// `http://host:port/AzureFunctionsRpcMessages.FunctionRpc/EventStream`, keeping any path
/// prefix of the host's URI.
fn event_stream_uri(host: &Uri) -> Result<Uri, String> {
    format!("{}{EVENT_STREAM_PATH}", service_base(host))
        .parse()
        .map_err(|e| format!("cannot build the EventStream URI from {host}: {e}"))
}

/// `http://host:port` and any path prefix of the host's URI, to which a method's path is added.
fn service_base(host: &Uri) -> String {
    let prefix = host.path().trim_end_matches('/');
    let authority = host.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("http://{authority}{prefix}")
}

/// Refuses a response that is not a gRPC stream, or a trailers-only error.
fn check_response_head(response: &Response<Incoming>) -> Result<(), String> {
    if response.status() != StatusCode::OK {
        return Err(format!("the host answered EventStream with HTTP {}", response.status()));
    }
    grpc_status(response.headers())
}

/// `Err` when `grpc-status` is present and not 0 (OK).
fn grpc_status(headers: &HeaderMap) -> Result<(), String> {
    match status_of(headers) {
        Some(status) if !status.is_ok() => Err(format!(
            "the host ended the stream with gRPC status {}: {}",
            status.code, status.message
        )),
        _ => Ok(()),
    }
}

/// The worker's half of the stream, as an HTTP/2 request body.
#[derive(Debug)]
pub(crate) struct OutgoingBody {
    frames: mpsc::Receiver<Bytes>,
    ended: Option<oneshot::Sender<()>>,
}

impl http_body::Body for OutgoingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        match this.frames.poll_recv(cx) {
            // Everything already queued goes out in one write: with many invocations in flight,
            // one HTTP/2 data frame for a burst of responses instead of one each.
            Poll::Ready(Some(frame)) => {
                let batch = codec::join_ready(frame, || this.frames.try_recv().ok(), codec::BATCH_BYTES);
                Poll::Ready(Some(Ok(Frame::data(batch))))
            }
            Poll::Ready(None) => {
                if let Some(ended) = this.ended.take() {
                    let _ = ended.send(());
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_stream_uri_keeps_the_authority_and_any_prefix() {
        let uri = |s: &str| event_stream_uri(&s.parse().expect("uri")).expect("builds").to_string();
        assert_eq!(
            uri("http://127.0.0.1:5000/"),
            "http://127.0.0.1:5000/AzureFunctionsRpcMessages.FunctionRpc/EventStream"
        );
        assert_eq!(
            uri("http://127.0.0.1:5000/base/"),
            "http://127.0.0.1:5000/base/AzureFunctionsRpcMessages.FunctionRpc/EventStream"
        );
    }

    #[test]
    fn grpc_status_zero_or_absent_is_fine_and_anything_else_an_error() {
        let mut headers = HeaderMap::new();
        assert_eq!(grpc_status(&headers), Ok(()));
        headers.insert("grpc-status", http::HeaderValue::from_static("0"));
        assert_eq!(grpc_status(&headers), Ok(()));
        headers.insert("grpc-status", http::HeaderValue::from_static("13"));
        headers.insert("grpc-message", http::HeaderValue::from_static("boom"));
        assert_eq!(
            grpc_status(&headers),
            Err("the host ended the stream with gRPC status 13: boom".to_owned())
        );
        headers.insert("grpc-message", http::HeaderValue::from_static("no%20such%20function"));
        assert_eq!(
            grpc_status(&headers),
            Err("the host ended the stream with gRPC status 13: no such function".to_owned())
        );
    }
}
