//! The gRPC transport: the host's language-worker protocol, as the Azure Functions *native*
//! runtime speaks it (feature `native`).
//!
//! The host launches the app with `--functions-uri http://127.0.0.1:<port>/`,
//! `--functions-worker-id <id>` and friends ([`parse_args`]). The app is the gRPC *client*: it
//! connects over plaintext HTTP/2, calls `AzureFunctionsRpcMessages.FunctionRpc/EventStream`,
//! sends `StartStream` first, and then answers what the host sends on that one bidirectional
//! stream ([`run`]):
//!
//! | host sends | worker answers |
//! |---|---|
//! | `WorkerInitRequest` | `WorkerInitResponse`: the capabilities it honours, worker metadata |
//! | `FunctionsMetadataRequest` | every function: its `function.json` objects, `bindings`, retry options |
//! | `FunctionLoadRequest` / `…Collection` | `FunctionLoadResponse` / `…Collection` |
//! | `InvocationRequest` | `RpcLog`s, then `InvocationResponse` (outputs, `$return`, or an `RpcException`) |
//! | `InvocationCancel` | cancels that invocation's [`CancellationToken`](crate::CancellationToken) |
//! | `WorkerStatusRequest` | `WorkerStatusResponse` |
//! | `FunctionEnvironmentReloadRequest` | restarts the app with that environment and relays to it (below) |
//! | `WorkerTerminate` | refuses new invocations, drains within the grace period, ends the stream |
//!
//! Invocations go through the same [`invoke`](crate::invoke) as the custom handler, so user code,
//! bindings and results are identical; only the envelope differs (`TypedData` instead of JSON).
//! HTTP triggers arrive either as `RpcHttp` messages or, when the app has HTTP functions and
//! [`NativeArgs::http_uri`] is on, through a loopback HTTP server advertised as `HttpUri`: the
//! host then forwards each request as it came and the response is written straight back.
//! Route values come from `RpcHttp`'s `params`, or, from hosts that send none there (older
//! hosts, and `HttpUri` without `RequiresRouteParameters`), from the trigger metadata entries
//! named like the route template's parameters.
//!
//! A function that fails (an `Err` without an HTTP status, a panic, a timeout) answers
//! `Failure`, with the error as the `RpcException` and an Error `RpcLog` for the invocation,
//! whatever its trigger; with `HttpUri` its caller also gets a bare `500` (`504` for the app's
//! deadline).
//!
//! Placeholder specialization: a running multi-threaded process cannot safely change its own
//! environment, so on `FunctionEnvironmentReloadRequest` the worker starts the app again (the
//! deployed `app` in the function app directory, else this executable) with exactly the host's
//! variables and working directory, replays the host's `WorkerInitRequest` to it, answers the
//! reload with the new process's capabilities (`Replace`), and from then on relays the stream
//! both ways, as the platform's placeholder proxy does. If the app cannot be started, the worker
//! specializes in place as far as it safely can: working directory, and [`env_var`].
//!
//! Messages the worker cannot decode, or does not expect, are logged (an `RpcLog` for the host's
//! worker logger, and stderr) and the stream goes on.
//!
//! The message types are in [`proto`] (`azfn_wire::rpc`), generated from `wire/proto/` and committed: building an
//! app runs no code generator and needs no `protoc`.

mod answer;
mod args;
mod environment;
mod http_uri;
mod invocation;
mod metadata;
#[doc(hidden)]
pub mod offline;
mod relay;
mod responses;
#[cfg(feature = "servicebus")]
mod settlement;
mod stream;
mod typed_data;
mod worker;

pub use crate::grpc::codec;
pub use azfn_wire::rpc as proto;
pub use azfn_wire::server;

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

pub use args::{DEFAULT_MAX_MESSAGE_LENGTH, DEFAULT_SHUTDOWN_GRACE, DISABLE_HTTP_URI_VARIABLE, NativeArgs, parse_args};
pub use environment::env_var;
pub use stream::EVENT_STREAM_PATH;

use http_uri::HttpUriServer;
use stream::{EventStream, Inbound, Inbox};
use worker::{Next, Worker};

use crate::function::Registry;

/// How long the end of the stream may take once the worker is done: its last messages to
/// leave, the host's half to close.
const CLOSING_PATIENCE: Duration = Duration::from_secs(1);

/// Why the read loop stopped.
enum Ending {
    /// The host asked the worker to stop, or the process was told to: drain for this long.
    Drain(Duration),
    /// The host's half of the stream ended (cleanly, or with this error).
    HostGone(Result<(), String>),
    /// The worker relayed the stream to the specialized app, which exited so.
    Relayed(Result<std::process::ExitStatus, String>),
    /// The app's start-up failed; the host has been told.
    StartupFailed(String),
}

/// Serves the host over gRPC until `WorkerTerminate`, the end of the stream, or `shutdown`.
///
/// Connects to `args.uri`, opens `EventStream`, sends `StartStream` and answers every message
/// (see the [module documentation](self)). On `WorkerTerminate` (with its grace period) or when
/// `shutdown` resolves (with [`NativeArgs::shutdown_grace`]), new invocations are refused and
/// those in flight get the grace period to finish; any still running then have their
/// cancellation token cancelled. The worker's half of the stream is then ended and `run`
/// returns `Ok(())`. When the host ends the stream, running invocations are cancelled at once.
///
/// # Errors
///
/// When the host cannot be reached or refuses the call, and when the stream breaks or the host
/// ends it with a gRPC error status.
///
/// ```no_run
/// # async fn serve() -> Result<(), String> {
/// let args: Vec<String> = std::env::args().skip(1).collect();
/// if let Some(parsed) = azfn::native::parse_args(&args) {
///     let registry = azfn::Registry::global().map_err(|e| e.to_string())?;
///     let ctrl_c = async {
///         let _ = tokio::signal::ctrl_c().await;
///     };
///     azfn::native::run(parsed?, registry, ctrl_c).await?;
/// }
/// # Ok(())
/// # }
/// ```
pub async fn run(
    args: NativeArgs,
    registry: &'static Registry,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), String> {
    run_starting(args, registry, None, shutdown).await
}

/// The app's start-up (its async state factories), which the worker runs when the host's
/// `WorkerInitRequest` arrives and before it answers: `Err` is the message the answer's
/// `Failure` carries, and `run`'s error.
pub(crate) type Starting = std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// [`run`], running `starting` before the worker reports ready (see [`Starting`]).
pub(crate) async fn run_starting(
    args: NativeArgs,
    registry: &'static Registry,
    starting: Option<Starting>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), String> {
    let http_server = start_http_uri_server(&args, registry).await;
    let opened = stream::open(&args).await;
    let EventStream {
        outbox,
        mut inbox,
        sent_everything,
        connection,
        host,
    } = match opened {
        Ok(stream) => stream,
        Err(error) => {
            if let Some(server) = http_server {
                server.stop().await;
            }
            return Err(error);
        }
    };
    let http_uri = http_server.as_ref().map(|server| (server.uri(), server.pairing()));
    let mut worker = Worker::new(registry, outbox, http_uri);
    worker.start_with(starting);
    #[cfg(feature = "servicebus")]
    worker.settle_through(std::sync::Arc::new(settlement::HostSettler::new(host.clone())));

    let mut shutdown = std::pin::pin!(shutdown);
    let ending = loop {
        match serve(&mut worker, &mut inbox, shutdown.as_mut(), args.shutdown_grace).await {
            Ok(ending) => break ending,
            Err(specialization) => match relay::relay(&args, &specialization, worker.outbox(), &mut inbox, &host).await
            {
                Ok(exited) => break Ending::Relayed(exited),
                Err(error) => {
                    let message = format!(
                        "cannot restart the app with the host's environment ({error}); specializing in this process, where only azfn::native::env_var sees the new settings"
                    );
                    worker.warn(message).await;
                    if let Err(error) = worker.reload(&specialization.request_id, &specialization.request).await {
                        break Ending::StartupFailed(error);
                    }
                }
            },
        }
    };
    let result = match ending {
        Ending::Relayed(exited) => {
            worker.cancel_all();
            match exited {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => Err(format!("the specialized app exited with {status}")),
                Err(error) => Err(error),
            }
        }
        Ending::Drain(grace) => {
            drain(&mut worker, &mut inbox, grace).await;
            Ok(())
        }
        Ending::StartupFailed(error) => Err(error),
        Ending::HostGone(result) => {
            // Nobody is left to answer: stop the functions at once.
            worker.cancel_all();
            result
        }
    };

    worker.close();
    let _ = tokio::time::timeout(CLOSING_PATIENCE, sent_everything).await;
    let _ = tokio::time::timeout(CLOSING_PATIENCE, read_to_end(&mut inbox)).await;
    if let Some(server) = http_server {
        server.stop().await;
    }
    drop(inbox);
    connection.abort();
    result
}

/// Starts the loopback server for `HttpUri` when it is wanted and there is an HTTP function.
async fn start_http_uri_server(
    args: &NativeArgs,
    registry: &Registry,
) -> Option<HttpUriServer<Box<worker::ReceivedInvocation>>> {
    let has_http = registry.functions().any(|f| f.trigger().kind.is_http_trigger());
    if !args.http_uri || !has_http {
        return None;
    }
    match HttpUriServer::start(args.max_message_length).await {
        Ok(server) => Some(server),
        Err(error) => {
            // Without it, HTTP requests come as `RpcHttp` messages: nothing is lost but streaming.
            eprintln!("azfn: cannot start the HttpUri server, HTTP comes over gRPC instead: {error}");
            None
        }
    }
}

/// Reads and answers messages until the worker is asked to stop or the host goes, or until the
/// host sends the app's environment (`Err`: the worker is to be specialized).
async fn serve<F: Future<Output = ()> + Send>(
    worker: &mut Worker,
    inbox: &mut Inbox,
    mut shutdown: std::pin::Pin<&mut F>,
    shutdown_grace: Duration,
) -> Result<Ending, Box<relay::Specialization>> {
    let mut turns: u32 = 0;
    loop {
        // Messages go first below, so the shutdown future (signal streams) is polled only when
        // none is waiting, not once per message; every 32nd turn it is polled anyway, so that a
        // steady stream of messages cannot hold off a SIGTERM.
        if turns.is_multiple_of(32) {
            let stopped = std::future::poll_fn(|cx| Poll::Ready(shutdown.as_mut().poll(cx).is_ready())).await;
            if stopped {
                return Ok(Ending::Drain(shutdown_grace));
            }
        }
        turns = turns.wrapping_add(1);
        tokio::select! {
            biased;
            next = inbox.next() => match next {
                Ok(Some(Inbound::Message(message))) => match worker.handle(message).await {
                    Next::Continue => {}
                    Next::Terminate(grace) => return Ok(Ending::Drain(grace)),
                    Next::Specialize(specialization) => return Err(specialization),
                    Next::StartupFailed(error) => return Ok(Ending::StartupFailed(error)),
                },
                Ok(Some(Inbound::Malformed(why))) => worker.malformed(&why).await,
                Ok(None) => return Ok(Ending::HostGone(Ok(()))),
                Err(error) => return Ok(Ending::HostGone(Err(error))),
            },
            () = shutdown.as_mut() => return Ok(Ending::Drain(shutdown_grace)),
        }
    }
}

/// Lets in-flight invocations finish within `grace`, still answering the host (new invocations
/// are refused); cancels whatever is left at the deadline.
async fn drain(worker: &mut Worker, inbox: &mut Inbox, grace: Duration) {
    worker.stop_accepting();
    let in_flight = worker.in_flight().clone();
    let deadline = tokio::time::sleep(grace);
    let mut deadline = std::pin::pin!(deadline);
    loop {
        tokio::select! {
            () = in_flight.idle() => return,
            () = &mut deadline => break,
            next = inbox.next() => match next {
                Ok(Some(Inbound::Message(message))) => {
                    // A second terminate changes nothing: the first deadline stands.
                    let _ = worker.handle(message).await;
                }
                Ok(Some(Inbound::Malformed(why))) => worker.malformed(&why).await,
                // The host is gone; its answers cannot be delivered.
                Ok(None) | Err(_) => break,
            },
        }
    }
    worker.cancel_all();
    // Cancelled functions that stop promptly still get their answer out.
    let _ = tokio::time::timeout(CLOSING_PATIENCE / 4, in_flight.idle()).await;
    if in_flight.len() > 0 {
        eprintln!(
            "azfn: {} invocation(s) did not finish within the grace period of {grace:?}",
            in_flight.len()
        );
    }
}

/// Reads the host's half to its end, discarding what comes.
async fn read_to_end(inbox: &mut Inbox) {
    while let Ok(Some(_)) = inbox.next().await {}
}
