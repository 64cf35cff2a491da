//! Placeholder specialization: the host started this worker before the app's settings were known,
//! and now sends them in a `FunctionEnvironmentReloadRequest`.
//!
//! A running multi-threaded process cannot safely change its own environment (`setenv` while
//! other threads may read it is undefined behaviour, which is why `std::env::set_var` is `unsafe`
//! and azfn has no `unsafe`). So the worker does what the platform's placeholder proxy does: it
//! starts the app again as a child process, with exactly the host's variables and working
//! directory, serves it a gRPC endpoint of its own, and from then on relays the stream:
//!
//! 1. the child connects and sends `StartStream`, which is dropped (the host's stream is open);
//! 2. the host's `WorkerInitRequest`, saved when it came, is replayed to the child;
//! 3. the child's `WorkerInitResponse` becomes the answer to the reload request: its
//!    capabilities, with the `Replace` strategy, and its metadata;
//! 4. every later message passes through unchanged, both ways, until either side ends. Host
//!    messages that arrive in the meantime wait, in order.
//!
//! The child's exit status becomes this worker's result.

use std::convert::Infallible;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, ExitStatus, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::args::NativeArgs;
use super::proto::{
    FunctionEnvironmentReloadRequest, FunctionEnvironmentReloadResponse, StreamingMessage, WorkerInitRequest,
    function_environment_reload_response::CapabilitiesUpdateStrategy, streaming_message::Content,
};
use super::stream::{EVENT_STREAM_PATH, Inbound, Inbox, Outbox};
use crate::grpc::codec::{FrameDecoder, encode};

/// How long the child may take to connect and answer its `WorkerInitRequest`.
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(60);

/// What the host sent that the child needs: its init request (to replay) and the reload.
#[derive(Debug)]
pub(crate) struct Specialization {
    /// The host's `WorkerInitRequest` and its request id, if one came.
    pub(crate) init: Option<(String, WorkerInitRequest)>,
    /// The reload request's id.
    pub(crate) request_id: String,
    /// The reload request.
    pub(crate) request: FunctionEnvironmentReloadRequest,
}

/// The app to start: `app` in the function app directory if the host deployed one there (as the
/// platform proxy does), else this very executable.
fn child_executable(request: &FunctionEnvironmentReloadRequest) -> Result<PathBuf, String> {
    if !request.function_app_directory.is_empty() {
        let deployed = PathBuf::from(&request.function_app_directory).join("app");
        if deployed.is_file() {
            return Ok(deployed);
        }
    }
    std::env::current_exe().map_err(|e| format!("cannot find this executable to restart it: {e}"))
}

/// Starts the child, relays the stream until it ends, and returns the child's exit status.
///
/// # Errors
///
/// The outer error when the child could not be started and made to answer its init (nothing
/// has been sent to the host: the worker may specialize in-process instead); the inner one when
/// the relayed child could not be waited for.
pub(crate) async fn relay(
    args: &NativeArgs,
    specialization: &Specialization,
    outbox: &Outbox,
    inbox: &mut Inbox,
) -> Result<Result<ExitStatus, String>, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("cannot listen for the specialized app: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (calls_tx, mut calls) = mpsc::unbounded_channel();
    let _server = AbortOnDrop(tokio::spawn(accept(listener, calls_tx, args.max_message_length)));

    let request = &specialization.request;
    let mut command = Command::new(child_executable(request)?);
    command
        .args([
            "--functions-uri",
            &format!("http://127.0.0.1:{port}/"),
            "--functions-worker-id",
            &args.worker_id,
            "--functions-request-id",
            &args.request_id,
            "--functions-grpc-max-message-length",
            &args.max_message_length.to_string(),
        ])
        // Exactly the host's environment: it sends the whole of it.
        .env_clear()
        .envs(&request.environment_variables)
        .stdin(Stdio::null());
    if !request.function_app_directory.is_empty() {
        command.current_dir(&request.function_app_directory);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the specialized app: {e}"))?;
    let mut exited = tokio::task::spawn_blocking(move || child.wait());

    let handshake = async {
        let call = calls.recv().await.ok_or("the specialized app never connected")?;
        handshake(call, specialization, outbox).await
    };
    let started = tokio::select! {
        started = tokio::time::timeout(CHILD_START_TIMEOUT, handshake) => started,
        status = &mut exited => {
            let status = status.map_err(|e| e.to_string()).and_then(|s| s.map_err(|e| e.to_string()));
            return Err(format!("the specialized app exited before answering its init ({status:?})"));
        }
    };
    let call = match started {
        Ok(Ok(call)) => call,
        // Dropping the server ends the child's stream, which ends the child.
        Ok(Err(error)) => return Err(error),
        Err(_) => return Err("the specialized app did not start in time".to_owned()),
    };
    pipe(call, outbox, inbox).await;
    Ok(match exited.await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(error)) => Err(format!("cannot wait for the specialized app: {error}")),
        Err(error) => Err(format!("cannot wait for the specialized app: {error}")),
    })
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Steps 1–3: the child's `StartStream` dropped, the init replayed, the reload answered.
async fn handshake(mut call: Call, specialization: &Specialization, outbox: &Outbox) -> Result<Call, String> {
    let (init_id, init) = specialization.init.clone().unwrap_or_default();
    let replay = StreamingMessage {
        request_id: init_id,
        content: Some(Content::WorkerInitRequest(init)),
    };
    call.to_child
        .send(replay)
        .map_err(|_| "the specialized app went away")?;
    loop {
        let message = call
            .from_child
            .recv()
            .await
            .ok_or("the specialized app ended its stream before answering its init")??;
        match message.content {
            Some(Content::StartStream(_)) => {}
            Some(Content::WorkerInitResponse(init)) => {
                let response = FunctionEnvironmentReloadResponse {
                    worker_metadata: init.worker_metadata,
                    capabilities: init.capabilities,
                    result: init.result,
                    capabilities_update_strategy: CapabilitiesUpdateStrategy::Replace as i32,
                };
                let reply = Content::FunctionEnvironmentReloadResponse(response);
                outbox.send_content(&specialization.request_id, reply).await;
                return Ok(call);
            }
            // Logs and the like before its init answer: the host may as well see them.
            _ => {
                outbox.send(message).await;
            }
        }
    }
}

/// Step 4: both directions, unchanged, until one side ends.
async fn pipe(mut call: Call, outbox: &Outbox, inbox: &mut Inbox) {
    loop {
        tokio::select! {
            from_host = inbox.next() => match from_host {
                Ok(Some(Inbound::Message(message))) => {
                    if call.to_child.send(*message).is_err() {
                        break;
                    }
                }
                Ok(Some(Inbound::Malformed(why))) => {
                    eprintln!("azfn: the host sent a frame that is not a StreamingMessage ({why}); not relayed");
                }
                // The host is gone: ending the child's stream stops it.
                Ok(None) | Err(_) => break,
            },
            from_child = call.from_child.recv() => match from_child {
                Some(Ok(message)) => {
                    if !outbox.send(message).await {
                        break;
                    }
                }
                Some(Err(error)) => {
                    eprintln!("azfn: {error}");
                    break;
                }
                None => break,
            },
        }
    }
}

/// The child's `EventStream` call.
#[derive(Debug)]
struct Call {
    from_child: mpsc::UnboundedReceiver<Result<StreamingMessage, String>>,
    to_child: mpsc::UnboundedSender<StreamingMessage>,
}

async fn accept(listener: TcpListener, calls: mpsc::UnboundedSender<Call>, limit: usize) {
    while let Ok((tcp, _)) = listener.accept().await {
        let calls = calls.clone();
        let service = service_fn(move |request| {
            let calls = calls.clone();
            async move { Ok::<_, Infallible>(event_stream(request, &calls, limit)) }
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// `EventStream` opens a [`Call`]; any other method is `UNIMPLEMENTED`.
fn event_stream(request: Request<Incoming>, calls: &mpsc::UnboundedSender<Call>, limit: usize) -> Response<ToChild> {
    let (to_child, messages) = mpsc::unbounded_channel();
    let mut body = ToChild {
        messages,
        status: "0",
        done: false,
    };
    if request.uri().path() == EVENT_STREAM_PATH {
        let (from_child_tx, from_child) = mpsc::unbounded_channel();
        tokio::spawn(read_child(request.into_body(), from_child_tx, limit));
        let _ = calls.send(Call { from_child, to_child });
    } else {
        body.status = "12";
    }
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    response
}

async fn read_child(
    mut body: Incoming,
    messages: mpsc::UnboundedSender<Result<StreamingMessage, String>>,
    limit: usize,
) {
    let mut decoder = FrameDecoder::new(limit);
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            Err(e) => {
                let _ = messages.send(Err(format!("the specialized app's stream broke: {e}")));
                return;
            }
        };
        decoder.push(&data);
        loop {
            match decoder.next_message() {
                Ok(Some(bytes)) => {
                    let message = StreamingMessage::decode(bytes)
                        .map_err(|e| format!("the specialized app sent a message that is not a StreamingMessage: {e}"));
                    if messages.send(message).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = messages.send(Err(format!("the specialized app's stream: {e}")));
                    return;
                }
            }
        }
    }
}

/// The relay's half of the child's call: the host's messages, then `grpc-status`.
#[derive(Debug)]
struct ToChild {
    messages: mpsc::UnboundedReceiver<StreamingMessage>,
    status: &'static str,
    done: bool,
}

impl http_body::Body for ToChild {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.messages.poll_recv(cx) {
            Poll::Ready(Some(message)) => Poll::Ready(Some(Ok(Frame::data(encode(&message))))),
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
