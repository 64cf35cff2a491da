//! The gRPC transport (`cargo azfn start --transport grpc`): the host's side of the
//! language-worker protocol, as the real host plays it for the native runtime.
//!
//! | step | host sends | waits for |
//! |---|---|---|
//! | start-up | (the worker connects to [`server`] and opens `EventStream`) | `StartStream` with the worker id, 60 s |
//! | init | `WorkerInitRequest` (`MultiStream`) | `WorkerInitResponse` with Success, 10 s |
//! | indexing | `FunctionsMetadataRequest` | `FunctionMetadataResponse`, 60 s |
//! | load | `FunctionLoadRequest` per function (or one collection) | their responses, 60 s |
//! | invocations | `InvocationRequest`, concurrently | `RpcLog`s, then `InvocationResponse` |
//! | shutdown | `WorkerTerminate` (with `HandlesWorkerTerminateMessage`) | the process's exit, 5 s |
//!
//! Once loaded, the worker is ready: the functions it described replace the app folder's (worker
//! indexing), and every invocation the shared host code builds goes through [`Channel::invoke`],
//! which [`convert`] translates both ways.

pub mod convert;
pub use azfn_wire::server;

/// The largest message either side accepts: the host's limit, `int.MaxValue`.
pub const MAX_MESSAGE_LENGTH: usize = i32::MAX as usize;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azfn_wire::rpc::{
    FunctionLoadRequestCollection, FunctionLoadResponse, FunctionsMetadataRequest, InvocationResponse, RpcLog,
    StreamingMessage, WorkerInitRequest, WorkerTerminate, rpc_log, status_result::Status, streaming_message::Content,
};
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot, watch};

use super::payload::{HOST_VERSION, InvocationPayload};
use super::response::InvocationResult;
use crate::app::{Function, FunctionApp};
use crate::clock;
use crate::console;
use convert::Capabilities;

/// Process start to `StartStream` (the host's `ProcessStartupTimeout`).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// `WorkerInitRequest` to its response (`InitializationTimeout`).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Metadata and loads (the host's function load timeout).
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// The grace period of `WorkerTerminate`, and how long the host then waits for the exit.
pub const TERMINATE_GRACE: Duration = Duration::from_secs(5);

/// What the worker said about its functions.
#[derive(Debug, Clone)]
pub struct Indexed {
    /// The functions the host accepted, by name.
    pub functions: Vec<Function>,
    /// Why the others were dropped, one message each.
    pub problems: Vec<String>,
}

/// One indexed function as the channel knows it.
#[derive(Debug)]
struct Loaded {
    name: String,
    function_id: String,
    /// Why the load failed: its invocations fail at once, as in the host.
    failure: Option<String>,
}

/// An answer on its way to the invocation that waits for it, with its log lines so far.
struct Pending {
    logs: Vec<String>,
    reply: oneshot::Sender<(InvocationResponse, Vec<String>)>,
}

type PendingMap = Arc<Mutex<HashMap<String, Pending>>>;

/// A ready worker's `EventStream`. Cheap to clone; every clone is the same stream.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    outbound: mpsc::UnboundedSender<StreamingMessage>,
    pending: PendingMap,
    loaded: Vec<Loaded>,
    indexed: Indexed,
    capabilities: Capabilities,
    /// `Some(why)` once the stream has ended (`why` is empty for a clean end).
    closed: watch::Receiver<Option<String>>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("functions", &self.inner.loaded)
            .field("capabilities", &self.inner.capabilities)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Channel {}

impl Channel {
    /// The functions the worker described.
    pub fn indexed(&self) -> &Indexed {
        &self.inner.indexed
    }

    /// The capabilities the worker announced.
    pub fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    /// Resolves when the worker's stream has ended, with why (empty for a clean end).
    pub async fn closed(&self) -> String {
        let mut closed = self.inner.closed.clone();
        match closed.wait_for(Option::is_some).await {
            Ok(why) => why.clone().unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Sends `WorkerTerminate` if the worker handles it; `true` if sent.
    pub fn terminate(&self) -> bool {
        if !self.inner.capabilities.has("HandlesWorkerTerminateMessage") {
            return false;
        }
        let message = Content::WorkerTerminate(WorkerTerminate {
            grace_period: Some(azfn_wire::rpc::Duration::from_std(TERMINATE_GRACE)),
        });
        self.inner.outbound.send(message_of(message)).is_ok()
    }

    /// Runs one invocation of `function` with the invocation id `id` and reads its answer.
    pub async fn invoke(
        &self,
        function: &Function,
        payload: &InvocationPayload,
        id: &str,
    ) -> Result<InvocationResult, String> {
        let loaded = self
            .inner
            .loaded
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(&function.name))
            .ok_or_else(|| format!("the worker did not index a function '{}'", function.name))?;
        if let Some(failure) = &loaded.failure {
            return Err(format!("the function failed to load: {failure}"));
        }
        let request = convert::invocation_request(function, &loaded.function_id, id, payload, &self.inner.capabilities);
        let (reply, answer) = oneshot::channel();
        if let Ok(mut pending) = self.inner.pending.lock() {
            pending.insert(
                id.to_owned(),
                Pending {
                    logs: Vec::new(),
                    reply,
                },
            );
        }
        if self
            .inner
            .outbound
            .send(message_of(Content::InvocationRequest(request)))
            .is_err()
        {
            self.forget(id);
            return Err("the worker's stream is closed".into());
        }
        match answer.await {
            Ok((response, logs)) => convert::read_response(function, response, logs.clone()).inspect_err(|_| {
                // A successful invocation's lines are printed with its outputs; a failed one's
                // would be lost otherwise.
                for log in &logs {
                    console::line(format!("{}: {log}", function.name));
                }
            }),
            Err(_) => Err("the worker's stream ended before it answered".into()),
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut pending) = self.inner.pending.lock() {
            pending.remove(id);
        }
    }
}

fn message_of(content: Content) -> StreamingMessage {
    StreamingMessage {
        request_id: String::new(),
        content: Some(content),
    }
}

/// Takes the worker from its `EventStream` call to loaded functions, as the host does, and
/// returns the ready channel. `app` gives the folder (and, if the worker asks for default
/// indexing, the function.json files); the worker must identify itself with `worker_id`.
///
/// # Errors
///
/// Why the worker is not usable: it exited, timed out, closed its stream, or reported a failure.
pub async fn start(
    server: &mut server::Server,
    child: &mut Child,
    app: &FunctionApp,
    worker_id: &str,
) -> Result<Channel, String> {
    let mut stream = accept_stream(server, child, worker_id).await?;
    let directory = app.root.display().to_string();

    let init = WorkerInitRequest {
        host_version: HOST_VERSION.to_owned(),
        capabilities: [("MultiStream".to_owned(), "10".to_owned())].into(),
        log_categories: Default::default(),
        worker_directory: directory.clone(),
        function_app_directory: directory.clone(),
    };
    send(&stream, Content::WorkerInitRequest(init))?;
    let init = expect(&mut stream, child, INIT_TIMEOUT, "WorkerInitResponse", |c| match c {
        Content::WorkerInitResponse(r) => Ok(r),
        other => Err(Box::new(other)),
    })
    .await?;
    check_status(
        init.result.as_ref().map(|r| (r.status, r.exception.as_ref())),
        "initialize",
    )?;
    let capabilities = Capabilities(init.capabilities);
    if capabilities.has("HttpUri") {
        // The local host sends full RpcHttp requests, which azfn workers read even when they
        // offer HttpUri; it does not proxy like the real host.
        console::line(
            "warning: the worker offers HttpUri; the local host does not forward raw HTTP requests and sends them as RpcHttp",
        );
    }

    send(
        &stream,
        Content::FunctionsMetadataRequest(FunctionsMetadataRequest {
            function_app_directory: directory,
        }),
    )?;
    let metadata = expect(
        &mut stream,
        child,
        LOAD_TIMEOUT,
        "FunctionMetadataResponse",
        |c| match c {
            Content::FunctionMetadataResponse(r) => Ok(r),
            other => Err(Box::new(other)),
        },
    )
    .await?;
    check_status(
        metadata.result.as_ref().map(|r| (r.status, r.exception.as_ref())),
        "describe its functions",
    )?;
    let mut functions = Vec::new();
    let mut problems = Vec::new();
    let mut loads = Vec::new();
    if metadata.use_default_metadata_indexing {
        // The worker asks the host to read function.json itself.
        for function in &app.functions {
            let described = azfn_wire::rpc::RpcFunctionMetadata {
                name: function.name.clone(),
                function_id: clock::new_guid(),
                directory: app.root.join(&function.name).display().to_string(),
                ..Default::default()
            };
            loads.push(convert::load_request(&described, function));
            functions.push(function.clone());
        }
        problems.extend(app.problems.iter().cloned());
    } else {
        for described in &metadata.function_metadata_results {
            match convert::function_from_metadata(described, &app.local.values) {
                Ok(function)
                    if functions
                        .iter()
                        .any(|f: &Function| f.name.eq_ignore_ascii_case(&function.name)) =>
                {
                    problems.push(format!(
                        "function '{}' is skipped: its name is used twice",
                        function.name
                    ));
                }
                Ok(function) => {
                    loads.push(convert::load_request(described, &function));
                    functions.push(function);
                }
                Err(e) => problems.push(format!("function '{}' is skipped: {e}", described.name)),
            }
        }
    }
    functions.sort_by(|a, b| a.name.cmp(&b.name));

    let responses = load(&mut stream, child, loads.clone(), &capabilities).await?;
    let loaded = loads
        .iter()
        .filter_map(|load| {
            let name = load.metadata.as_ref()?.name.clone();
            let response = responses.iter().find(|r| r.function_id == load.function_id);
            let failure = match response.and_then(|r| r.result.as_ref()) {
                None => Some("the worker did not answer its FunctionLoadRequest".to_owned()),
                Some(result) if result.status != Status::Success as i32 => Some(
                    result
                        .exception
                        .as_ref()
                        .map_or_else(|| "no reason given".to_owned(), |e| e.message.clone()),
                ),
                Some(_) => None,
            };
            if let Some(failure) = &failure {
                console::line(format!("error: function '{name}' failed to load: {failure}"));
            }
            Some(Loaded {
                name,
                function_id: load.function_id.clone(),
                failure,
            })
        })
        .collect();

    let pending: PendingMap = Arc::default();
    let (closed_tx, closed) = watch::channel(None);
    tokio::spawn(read_after_start(stream.inbound, pending.clone(), closed_tx));
    Ok(Channel {
        inner: Arc::new(Inner {
            outbound: stream.outbound,
            pending,
            loaded,
            indexed: Indexed { functions, problems },
            capabilities,
            closed,
        }),
    })
}

/// Waits for the `EventStream` call whose first message is `StartStream` with `worker_id`;
/// other calls are ended, as the host ignores streams of unknown workers.
async fn accept_stream(
    server: &mut server::Server,
    child: &mut Child,
    worker_id: &str,
) -> Result<server::Stream, String> {
    let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
    loop {
        let call = tokio::select! {
            call = server.calls.recv() => call.ok_or("the gRPC server stopped")?,
            status = child.wait() => return Err(exited_before_ready(status)),
            () = tokio::time::sleep_until(deadline) => return Err(format!(
                "the worker did not open its gRPC stream within {} s", STARTUP_TIMEOUT.as_secs()
            )),
        };
        let mut stream = call;
        let first = tokio::select! {
            first = stream.inbound.recv() => first,
            status = child.wait() => return Err(exited_before_ready(status)),
            () = tokio::time::sleep_until(deadline) => None,
        };
        match first {
            Some(Ok(StreamingMessage {
                content: Some(Content::StartStream(start)),
                ..
            })) if start.worker_id == worker_id => return Ok(stream),
            Some(Ok(StreamingMessage {
                content: Some(Content::StartStream(start)),
                ..
            })) => console::line(format!(
                "warning: a gRPC stream started for unknown worker id '{}'; ignored",
                start.worker_id
            )),
            Some(Ok(_)) => console::line("warning: a gRPC stream did not start with StartStream; ignored"),
            Some(Err(e)) => console::line(format!("warning: {e}")),
            None => {}
        }
    }
}

fn exited_before_ready(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => format!("{} before it was ready", super::process::exit_reason(status)),
        Err(e) => format!("cannot wait for the worker process: {e}"),
    }
}

fn send(stream: &server::Stream, content: Content) -> Result<(), String> {
    stream
        .outbound
        .send(message_of(content))
        .map_err(|_| "the worker's gRPC stream closed".to_owned())
}

/// Fails unless a response's `StatusResult` is Success.
fn check_status(result: Option<(i32, Option<&azfn_wire::rpc::RpcException>)>, what: &str) -> Result<(), String> {
    match result {
        Some((status, _)) if status == Status::Success as i32 => Ok(()),
        Some((_, exception)) => Err(format!(
            "the worker could not {what}: {}",
            exception.map_or("no reason given", |e| e.message.as_str())
        )),
        None => Err(format!("the worker's answer to {what} has no result")),
    }
}

/// Reads the stream until a message `pick` accepts, printing log lines and noting anything else
/// (the host matches start-up answers as "the next message of that type").
async fn expect<T>(
    stream: &mut server::Stream,
    child: &mut Child,
    limit: Duration,
    what: &str,
    pick: impl Fn(Content) -> Result<T, Box<Content>>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::select! {
            next = stream.inbound.recv() => next,
            status = child.wait() => return Err(exited_before_ready(status)),
            () = tokio::time::sleep_until(deadline) => {
                return Err(format!("the worker did not send {what} within {} s", limit.as_secs()));
            }
        };
        let message = match next {
            None => return Err(format!("the worker closed its gRPC stream before sending {what}")),
            Some(Err(e)) => return Err(e),
            Some(Ok(message)) => message,
        };
        match message.content.map(&pick) {
            Some(Ok(found)) => return Ok(found),
            Some(Err(other)) => match *other {
                Content::RpcLog(log) => print_log(&log),
                other => console::line(format!(
                    "warning: the worker sent {} while the host waited for {what}; ignored",
                    other.name()
                )),
            },
            None => console::line(format!(
                "warning: the worker sent an empty message while the host waited for {what}"
            )),
        }
    }
}

/// Sends the loads (one collection when the worker supports it) and collects the answers.
async fn load(
    stream: &mut server::Stream,
    child: &mut Child,
    loads: Vec<azfn_wire::rpc::FunctionLoadRequest>,
    capabilities: &Capabilities,
) -> Result<Vec<FunctionLoadResponse>, String> {
    if loads.is_empty() {
        return Ok(Vec::new());
    }
    if capabilities.has("SupportsLoadResponseCollection") {
        send(
            stream,
            Content::FunctionLoadRequestCollection(FunctionLoadRequestCollection {
                function_load_requests: loads,
            }),
        )?;
        let collection = expect(
            stream,
            child,
            LOAD_TIMEOUT,
            "FunctionLoadResponseCollection",
            |c| match c {
                Content::FunctionLoadResponseCollection(r) => Ok(r),
                other => Err(Box::new(other)),
            },
        )
        .await?;
        return Ok(collection.function_load_responses);
    }
    let count = loads.len();
    for request in loads {
        send(stream, Content::FunctionLoadRequest(request))?;
    }
    let mut responses = Vec::with_capacity(count);
    while responses.len() < count {
        let response = expect(stream, child, LOAD_TIMEOUT, "FunctionLoadResponse", |c| match c {
            Content::FunctionLoadResponse(r) => Ok(r),
            other => Err(Box::new(other)),
        })
        .await?;
        responses.push(response);
    }
    Ok(responses)
}

/// Reads the stream of a ready worker: answers go to their invocations, log lines to their
/// invocation (or the console). When the stream ends, waiting invocations fail.
async fn read_after_start(
    mut inbound: mpsc::UnboundedReceiver<Result<StreamingMessage, String>>,
    pending: PendingMap,
    closed: watch::Sender<Option<String>>,
) {
    let mut why = String::new();
    while let Some(next) = inbound.recv().await {
        let message = match next {
            Ok(message) => message,
            Err(e) => {
                // Reported by the supervisor, which first looks whether the process exited.
                why = e;
                break;
            }
        };
        match message.content {
            Some(Content::InvocationResponse(response)) => {
                let waiting = pending.lock().ok().and_then(|mut p| p.remove(&response.invocation_id));
                match waiting {
                    Some(waiting) => {
                        let _ = waiting.reply.send((response, waiting.logs));
                    }
                    None => console::line(format!(
                        "warning: the worker answered invocation {}, which is not running",
                        response.invocation_id
                    )),
                }
            }
            Some(Content::RpcLog(log)) => {
                let mut unclaimed = Some(log);
                // User lines of a running invocation belong to it; anything else (worker lines,
                // late lines, which the host drops) goes to the console.
                if let Some(log) = &unclaimed
                    && log.log_category == rpc_log::RpcLogCategory::User as i32
                    && let Ok(mut pending) = pending.lock()
                    && let Some(waiting) = pending.get_mut(&log.invocation_id)
                {
                    waiting.logs.push(log_text(log));
                    unclaimed = None;
                }
                if let Some(log) = unclaimed {
                    print_log(&log);
                }
            }
            Some(Content::WorkerStatusResponse(_)) => {}
            Some(other) => console::line(format!(
                "warning: the worker sent an unexpected {}; ignored",
                other.name()
            )),
            None => console::line("warning: the worker sent an empty message; ignored"),
        }
    }
    // Dropping the senders fails every invocation still waiting.
    if let Ok(mut pending) = pending.lock() {
        pending.clear();
    }
    closed.send_replace(Some(why));
}

/// A log line as text, its level shown when it is a warning or worse, its exception appended.
fn log_text(log: &RpcLog) -> String {
    let level = match rpc_log::Level::try_from(log.level) {
        Ok(rpc_log::Level::Warning) => "warning: ",
        Ok(rpc_log::Level::Error | rpc_log::Level::Critical) => "error: ",
        _ => "",
    };
    match log
        .exception
        .as_ref()
        .filter(|e| !e.message.is_empty() && !log.message.contains(&e.message))
    {
        Some(exception) => format!("{level}{} ({})", log.message, exception.message),
        None => format!("{level}{}", log.message),
    }
}

fn print_log(log: &RpcLog) {
    console::line(log_text(log));
}
