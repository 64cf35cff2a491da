//! The host's side of the protocol: a gRPC server, plaintext HTTP/2 on `127.0.0.1:0`, one
//! method, `AzureFunctionsRpcMessages.FunctionRpc/EventStream`, as the real host's Kestrel
//! server. The local host of `cargo azfn start --transport grpc` serves its workers with it, and
//! the worker itself serves the app it restarts at placeholder specialization.
//!
//! gRPC over HTTP/2 is little more than framing: each message in either direction is a 1-byte
//! compression flag (always 0 here: the host never negotiates compression), a 4-byte big-endian
//! length and the protobuf bytes; the response ends with a `grpc-status` trailer. That is all
//! this module does, so nothing needs a gRPC library.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::codec::{BATCH_BYTES, FrameDecoder, encode_ready};
use crate::rpc::{EVENT_STREAM_PATH, StreamingMessage};

/// gRPC status `UNIMPLEMENTED`, for calls to any other method.
const UNIMPLEMENTED: &str = "12";

/// One `EventStream` call: the worker's messages in, the host's messages out.
#[derive(Debug)]
pub struct Stream {
    /// What the worker sends; `Err` once for a stream that breaks or cannot be decoded, then
    /// the end.
    pub inbound: mpsc::UnboundedReceiver<Result<StreamingMessage, String>>,
    /// What the host sends; dropping every sender ends the call with `grpc-status: 0`.
    pub outbound: mpsc::UnboundedSender<StreamingMessage>,
}

/// A listening server; stops accepting when dropped.
#[derive(Debug)]
pub struct Server {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Each `EventStream` call, as it opens.
    pub calls: mpsc::UnboundedReceiver<Stream>,
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
        let accept = tokio::spawn(accept_loop(listener, calls_tx, max_message_length));
        Ok(Server { port, calls, accept })
    }
}

async fn accept_loop(listener: TcpListener, calls: mpsc::UnboundedSender<Stream>, limit: usize) {
    let mut connections = Vec::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let calls = calls.clone();
        let service = service_fn(move |request| {
            let calls = calls.clone();
            async move { Ok::<_, Infallible>(event_stream(request, &calls, limit)) }
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
