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
//! The child's calls to other methods of the endpoint (the extensions' services, such as Service
//! Bus settlement) go to the host on the worker's connection, and their answers back, as they
//! came.
//!
//! The child's exit status becomes this worker's result.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::args::NativeArgs;
use super::proto::{
    FunctionEnvironmentReloadRequest, FunctionEnvironmentReloadResponse, StreamingMessage, WorkerInitRequest,
    function_environment_reload_response::CapabilitiesUpdateStrategy, streaming_message::Content,
};
use super::server::{OtherAnswer, OtherCall, Server, Stream};
use super::stream::{HostConnection, Inbound, Inbox, Outbox, UnaryError};
use crate::grpc::codec::GrpcStatus;

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
    host: &HostConnection,
) -> Result<Result<ExitStatus, String>, String> {
    // Dropped on every way out, which ends the child's stream, and so the child.
    let mut server = Server::start(args.max_message_length)
        .await
        .map_err(|e| format!("cannot listen for the specialized app: {e}"))?;
    let port = server.port;
    // Ends when the server does.
    tokio::spawn(forward_to_host(server.forward_other_calls(), host.clone()));

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
        let call = server.calls.recv().await.ok_or("the specialized app never connected")?;
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

/// Passes the child's calls to other methods to the host, each on its own task, and their
/// answers back; a call the host cannot be asked ends `UNAVAILABLE`.
async fn forward_to_host(mut calls: tokio::sync::mpsc::UnboundedReceiver<OtherCall>, host: HostConnection) {
    while let Some(OtherCall { path, body, answer }) = calls.recv().await {
        let host = host.clone();
        tokio::spawn(async move {
            let answered = match host.unary_framed(&path, body).await {
                Ok(body) => OtherAnswer {
                    body,
                    status: GrpcStatus {
                        code: GrpcStatus::OK,
                        message: String::new(),
                    },
                },
                Err(UnaryError::Status(status)) => OtherAnswer {
                    body: bytes::Bytes::new(),
                    status,
                },
                Err(UnaryError::Transport(why)) => OtherAnswer {
                    body: bytes::Bytes::new(),
                    status: GrpcStatus {
                        code: UNAVAILABLE,
                        message: why,
                    },
                },
            };
            let _ = answer.send(answered);
        });
    }
}

/// gRPC status `UNAVAILABLE`.
const UNAVAILABLE: u32 = 14;

/// Steps 1–3: the child's `StartStream` dropped, the init replayed, the reload answered.
async fn handshake(mut call: Stream, specialization: &Specialization, outbox: &Outbox) -> Result<Stream, String> {
    let (init_id, init) = specialization.init.clone().unwrap_or_default();
    let replay = StreamingMessage {
        request_id: init_id,
        content: Some(Content::WorkerInitRequest(init)),
    };
    call.outbound
        .send(replay)
        .map_err(|_| "the specialized app went away")?;
    loop {
        let message = call
            .inbound
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
async fn pipe(mut call: Stream, outbox: &Outbox, inbox: &mut Inbox) {
    loop {
        tokio::select! {
            from_host = inbox.next() => match from_host {
                Ok(Some(Inbound::Message(message))) => {
                    if call.outbound.send(*message).is_err() {
                        break;
                    }
                }
                Ok(Some(Inbound::Malformed(why))) => {
                    eprintln!("azfn: the host sent a frame that is not a StreamingMessage ({why}); not relayed");
                }
                // The host is gone: ending the child's stream stops it.
                Ok(None) | Err(_) => break,
            },
            from_child = call.inbound.recv() => match from_child {
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
