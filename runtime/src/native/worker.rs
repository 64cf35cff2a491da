//! The worker's side of the conversation: one handler per host message, the loaded functions,
//! and the invocations in flight.
//!
//! Messages are handled in the order they arrive. Control messages are answered at once;
//! each invocation runs on its own task, so many run at a time and a slow one holds up nothing.
//! Every reply echoes the `request_id` of the message it answers.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use foldhash::HashMap;
use tokio::sync::Notify;

use super::environment;
use super::http_uri::{Forwarded, Pairing, RawRequest};
use super::invocation::{self, Caller, Prepared};
use super::metadata;
use super::proto::{
    FunctionEnvironmentReloadRequest, FunctionEnvironmentReloadResponse, FunctionLoadRequest, FunctionLoadResponse,
    FunctionLoadResponseCollection, InvocationCancel, InvocationResponse, StreamingMessage, WorkerInitRequest,
    WorkerInitResponse, WorkerStatusResponse, WorkerWarmupResponse,
    function_environment_reload_response::CapabilitiesUpdateStrategy, rpc_log, streaming_message::Content,
};
use super::relay::Specialization;
use super::responses::{failure, success, worker_exception, worker_log, worker_metadata};
use super::stream::{Outbox, framed};
use crate::CancellationToken;
use crate::dispatch;
use crate::error::InvocationError;
use crate::function::{FunctionDescription, Registry};
use crate::http::HttpResponse;

/// How long the host lets a worker finish when `WorkerTerminate` names no grace period.
pub(crate) const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// What the read loop does after a message.
#[derive(Debug)]
pub(crate) enum Next {
    /// Keep reading.
    Continue,
    /// The host asked the worker to stop, allowing this long for in-flight work.
    Terminate(Duration),
    /// The host sent the app's environment: restart the app with it ([`super::relay`]).
    Specialize(Box<Specialization>),
    /// The app's start-up failed, and the host was told so: stop.
    StartupFailed(String),
}

/// The capabilities this worker honours, and no others: the host switches a capability on for
/// any non-empty value.
///
/// - `RpcHttpBodyOnly`, `RawHttpBodyBytes`: the body is read from `RpcHttp.body`, as bytes;
/// - `RpcHttpTriggerMetadataRemoved`: the request is the trigger's value, not metadata;
/// - `UseNullableValueDictionaryForHttp`: the `nullable_*` maps are read, empty values kept;
/// - `TypedDataCollection`, `IncludeEmptyEntriesInMessagePayload`: `collection_*` values are read;
/// - `WorkerStatus`, `HandlesWorkerTerminateMessage`, `HandlesInvocationCancelMessage`,
///   `SupportsLoadResponseCollection`: those messages are answered;
/// - `EnableUserCodeException`: failures say whether user code failed;
/// - `HttpUri`, `RequiresRouteParameters`: only when the loopback HTTP server runs;
/// - `WorkerOpenTelemetryEnabled`, `WorkerOpenTelemetrySchemaVersion`: only while exporting
///   (feature `opentelemetry`).
pub(crate) fn capabilities(http_uri: Option<&str>) -> BTreeMap<String, String> {
    let mut capabilities: BTreeMap<String, String> = [
        "RpcHttpBodyOnly",
        "RawHttpBodyBytes",
        "RpcHttpTriggerMetadataRemoved",
        "UseNullableValueDictionaryForHttp",
        "TypedDataCollection",
        "IncludeEmptyEntriesInMessagePayload",
        "WorkerStatus",
        "HandlesWorkerTerminateMessage",
        "HandlesInvocationCancelMessage",
        "SupportsLoadResponseCollection",
        "EnableUserCodeException",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), "true".to_owned()))
    .collect();
    // Only while the worker exports its own spans: the host then stops exporting the worker's
    // logs itself (in telemetryMode OpenTelemetry).
    #[cfg(feature = "opentelemetry")]
    capabilities.extend(crate::opentelemetry::capabilities().map(|(name, value)| (name.to_owned(), value.to_owned())));
    if let Some(uri) = http_uri {
        capabilities.insert("HttpUri".to_owned(), uri.to_owned());
        // Forwarded requests do not carry the route's values; the gRPC half does.
        capabilities.insert("RequiresRouteParameters".to_owned(), "true".to_owned());
    }
    capabilities
}

/// The invocations running, by id, with their cancellation tokens.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    // Keyed by a shared id: the map, the invocation's `Finished` guard and its task hold one
    // allocation of it between them.
    tokens: Mutex<HashMap<Arc<str>, CancellationToken>>,
    changed: Notify,
    /// How many wait for none to be running: an invocation that ends wakes them only if any.
    idle_waiters: AtomicUsize,
}

impl InFlight {
    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, CancellationToken>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an invocation and gives its shared id; `None` if one with that id is already
    /// running.
    fn start(&self, invocation_id: &str, token: CancellationToken) -> Option<Arc<str>> {
        // One lookup: the id is hashed once, and made shared first (a repeated id, which is
        // refused, is the rare case).
        let id: Arc<str> = Arc::from(invocation_id);
        match self.tokens().entry(Arc::clone(&id)) {
            Entry::Occupied(_) => None,
            Entry::Vacant(vacant) => {
                vacant.insert(token);
                Some(id)
            }
        }
    }

    fn finish(&self, invocation_id: &str) {
        self.tokens().remove(invocation_id);
        // A waiter counted itself before it looked at the map (under its lock), so either it saw
        // this invocation gone or it is counted here.
        if self.idle_waiters.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    /// Cancels one invocation; `false` if it is not running.
    fn cancel(&self, invocation_id: &str) -> bool {
        match self.tokens().get(invocation_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every invocation.
    pub(crate) fn cancel_all(&self) {
        for token in self.tokens().values() {
            token.cancel();
        }
    }

    /// How many are running.
    pub(crate) fn len(&self) -> usize {
        self.tokens().len()
    }

    /// Resolves when none is running.
    pub(crate) async fn idle(&self) {
        self.idle_waiters.fetch_add(1, Ordering::SeqCst);
        let _counted = IdleWaiter(&self.idle_waiters);
        loop {
            let changed = self.changed.notified();
            if self.tokens().is_empty() {
                return;
            }
            changed.await;
        }
    }
}

/// Counts a waiter of [`InFlight::idle`] for as long as it waits.
struct IdleWaiter<'a>(&'a AtomicUsize);

impl Drop for IdleWaiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Removes an invocation from [`InFlight`] when its task ends, however it ends.
#[derive(Debug)]
struct Finished {
    in_flight: Arc<InFlight>,
    invocation_id: Arc<str>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        self.in_flight.finish(&self.invocation_id);
    }
}

/// The app's start-up, not yet run (in a mutex only to be `Sync`, as the worker is shared by
/// reference across awaits; it is only ever moved out).
struct PendingStart(std::sync::Mutex<super::Starting>);

impl std::fmt::Debug for PendingStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingStart")
    }
}

/// The worker's state.
#[derive(Debug)]
pub(crate) struct Worker {
    registry: &'static Registry,
    outbox: Outbox,
    loaded: HashMap<String, &'static FunctionDescription>,
    in_flight: Arc<InFlight>,
    pairing: Option<Arc<Pairing<Box<ReceivedInvocation>>>>,
    capabilities: BTreeMap<String, String>,
    accepting: bool,
    /// The host's `WorkerInitRequest`, kept to replay to a specialized app.
    init_request: Option<(String, WorkerInitRequest)>,
    /// The app's start-up, until it has run.
    starting: Option<PendingStart>,
    /// What settles Service Bus messages, given to every Service Bus invocation.
    #[cfg(feature = "servicebus")]
    settlement: Option<crate::SettlementChannel>,
}

/// What an invocation gets from the worker beside its request.
#[derive(Debug, Default)]
struct FromWorker {
    /// Whether the `HttpUri` server runs (an HTTP trigger's request then comes through it).
    http_uri: bool,
    /// The settlement channel, for a Service Bus invocation.
    #[cfg(feature = "servicebus")]
    settlement: Option<crate::SettlementChannel>,
}

impl FromWorker {
    /// Attaches what goes into the invocation's extensions.
    fn attach_to(&mut self, invocation: &mut crate::Invocation) {
        #[cfg(feature = "servicebus")]
        if let Some(channel) = self.settlement.take() {
            invocation.extensions.insert(channel);
        }
        #[cfg(not(feature = "servicebus"))]
        let _ = invocation;
    }
}

impl Worker {
    /// A worker answering through `outbox`; `http_uri` is the loopback server's URI and pairing,
    /// when it runs.
    pub(crate) fn new(
        registry: &'static Registry,
        outbox: Outbox,
        http_uri: Option<(String, Arc<Pairing<Box<ReceivedInvocation>>>)>,
    ) -> Self {
        let (uri, pairing) = http_uri.unzip();
        Worker {
            registry,
            outbox,
            loaded: HashMap::default(),
            in_flight: Arc::new(InFlight::default()),
            pairing,
            capabilities: capabilities(uri.as_deref()),
            accepting: true,
            init_request: None,
            starting: None,
            #[cfg(feature = "servicebus")]
            settlement: None,
        }
    }

    /// Runs `starting` before answering the host's `WorkerInitRequest` (or, for a placeholder
    /// specialized in this process, its reload).
    pub(crate) fn start_with(&mut self, starting: Option<super::Starting>) {
        self.starting = starting.map(|starting| PendingStart(std::sync::Mutex::new(starting)));
    }

    /// Runs the app's start-up if it has not run: `Err` is its failure's message.
    async fn start(&mut self) -> Result<(), String> {
        match self.starting.take() {
            Some(PendingStart(starting)) => {
                starting
                    .into_inner()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .await
            }
            None => Ok(()),
        }
    }

    /// Settles the messages of Service Bus invocations through `settler` (the host's
    /// `Settlement` service).
    #[cfg(feature = "servicebus")]
    pub(crate) fn settle_through(&mut self, settler: std::sync::Arc<dyn crate::MessageSettler>) {
        self.settlement = Some(crate::SettlementChannel(settler));
    }

    /// What an invocation of `function` gets from the worker.
    fn given_to(&self, function: &FunctionDescription) -> FromWorker {
        #[cfg(feature = "servicebus")]
        let is_service_bus =
            function.trigger().kind.json_type == crate::bindings::catalog::SERVICE_BUS_TRIGGER.json_type;
        #[cfg(not(feature = "servicebus"))]
        let _ = function;
        FromWorker {
            http_uri: self.pairing.is_some(),
            #[cfg(feature = "servicebus")]
            settlement: self.settlement.clone().filter(|_| is_service_bus),
        }
    }

    /// The invocations in flight.
    pub(crate) fn in_flight(&self) -> &Arc<InFlight> {
        &self.in_flight
    }

    /// Refuses invocations from now on (the worker is draining).
    pub(crate) fn stop_accepting(&mut self) {
        self.accepting = false;
    }

    /// Drops the worker's own handle on the stream: once every invocation task has dropped its
    /// handle too, the worker's half of the stream ends.
    pub(crate) fn close(self) {}

    /// Handles one message from the host.
    ///
    /// The message stays in its box (it is hundreds of bytes), and an invocation, the hot path,
    /// is read where it is, registered and started outside the larger future of the other
    /// messages, with nothing to wait for but the send of a refusal.
    pub(crate) async fn handle(&mut self, mut message: Box<StreamingMessage>) -> Next {
        let request_id = std::mem::take(&mut message.request_id);
        if !matches!(message.content, Some(Content::InvocationRequest(_))) {
            return Box::pin(self.handle_other(request_id, message.content.take())).await;
        }
        if let Some(refusal) = self.invoke(request_id, message) {
            // A send fails only when the stream is gone, which the read loop notices.
            let _ = self.outbox.send_framed(refusal).await;
        }
        Next::Continue
    }

    /// Handles a message that is not an invocation.
    async fn handle_other(&mut self, request_id: String, content: Option<Content>) -> Next {
        let Some(content) = content else {
            self.warn(format!(
                "the host sent a message with no content (request id {request_id:?}); ignored"
            ))
            .await;
            return Next::Continue;
        };
        match content {
            // The host's capabilities (`MultiStream`) ask nothing of a one-stream worker.
            Content::WorkerInitRequest(request) => {
                self.init_request = Some((request_id.clone(), request));
                // A placeholder has none of the app's settings yet: its start-up waits for
                // them (the specialized app runs its own).
                let started = if in_placeholder_mode() {
                    Ok(())
                } else {
                    self.start().await
                };
                self.init(&request_id, started.as_ref().err()).await;
                if let Err(error) = started {
                    return Next::StartupFailed(error);
                }
            }
            Content::FunctionsMetadataRequest(request) => {
                let response = metadata::metadata_response(self.registry, &request.function_app_directory);
                self.reply(&request_id, Content::FunctionMetadataResponse(response))
                    .await;
            }
            Content::FunctionLoadRequest(request) => {
                let response = self.load(request);
                self.reply(&request_id, Content::FunctionLoadResponse(response)).await;
            }
            Content::FunctionLoadRequestCollection(collection) => {
                let responses = collection
                    .function_load_requests
                    .into_iter()
                    .map(|request| self.load(request))
                    .collect();
                let response = FunctionLoadResponseCollection {
                    function_load_responses: responses,
                };
                self.reply(&request_id, Content::FunctionLoadResponseCollection(response))
                    .await;
            }
            // `handle` takes these; one given here is handled the same way.
            content @ Content::InvocationRequest(_) => {
                let message = Box::new(StreamingMessage {
                    request_id: String::new(),
                    content: Some(content),
                });
                if let Some(refusal) = self.invoke(request_id, message) {
                    let _ = self.outbox.send_framed(refusal).await;
                }
            }
            Content::InvocationCancel(cancel) => self.cancel(&cancel),
            Content::WorkerStatusRequest(_) => {
                self.reply(&request_id, Content::WorkerStatusResponse(WorkerStatusResponse {}))
                    .await;
            }
            Content::WorkerTerminate(terminate) => {
                let grace = terminate
                    .grace_period
                    .map_or(DEFAULT_GRACE_PERIOD, |grace| grace.to_std());
                return Next::Terminate(grace);
            }
            Content::FunctionEnvironmentReloadRequest(request) => {
                return Next::Specialize(Box::new(Specialization {
                    init: self.init_request.clone(),
                    request_id,
                    request,
                }));
            }
            Content::WorkerWarmupRequest(_) => {
                let response = WorkerWarmupResponse {
                    result: Some(success()),
                };
                self.reply(&request_id, Content::WorkerWarmupResponse(response)).await;
            }
            Content::WorkerHeartbeat(_) => {}
            other => {
                self.warn(format!(
                    "the host sent {}, which a worker does not expect; ignored",
                    other.name()
                ))
                .await;
            }
        }
        Next::Continue
    }

    /// Reports a frame that is not a `StreamingMessage`; the stream goes on.
    pub(crate) async fn malformed(&self, why: &str) {
        self.warn(format!(
            "the host sent a message that cannot be decoded ({why}); ignored"
        ))
        .await;
    }

    /// Answers the host's `WorkerInitRequest`: `Failure` with the message when the app's
    /// start-up failed.
    async fn init(&self, request_id: &str, startup_failure: Option<&String>) {
        let result = match startup_failure {
            None => success(),
            Some(message) => failure(worker_exception("StartupFailed", message.clone())),
        };
        let response = WorkerInitResponse {
            worker_version: env!("CARGO_PKG_VERSION").to_owned(),
            capabilities: self.capabilities.clone(),
            result: Some(result),
            worker_metadata: Some(worker_metadata()),
        };
        self.reply(request_id, Content::WorkerInitResponse(response)).await;
    }

    /// Loads a function by its name in the metadata, else by id (azfn's ids are the names).
    fn load(&mut self, request: FunctionLoadRequest) -> FunctionLoadResponse {
        let name = request
            .metadata
            .as_ref()
            .map(|m| m.name.as_str())
            .filter(|name| !name.is_empty())
            .unwrap_or(&request.function_id);
        let result = match self.registry.get(name) {
            Some(function) => {
                self.loaded.insert(request.function_id.clone(), function);
                success()
            }
            None => failure(worker_exception(
                "UnknownFunction",
                InvocationError::UnknownFunction(name.to_owned()).to_string(),
            )),
        };
        FunctionLoadResponse {
            function_id: request.function_id,
            result: Some(result),
            is_dependency_downloaded: false,
        }
    }

    /// Registers the invocation `message` holds and starts it; the frame refusing it, if it is
    /// refused.
    fn invoke(&mut self, request_id: String, message: Box<StreamingMessage>) -> Option<Bytes> {
        // Callers pass invocations only.
        let Some(Content::InvocationRequest(request)) = &message.content else {
            return None;
        };
        let function = match (self.accepting, self.loaded.get(&request.function_id)) {
            (false, _) => {
                let message = "the worker is shutting down".to_owned();
                return Some(refusal(&request_id, &request.invocation_id, message));
            }
            (true, None) => {
                let message = format!("no function with id {:?} was loaded", request.function_id);
                return Some(refusal(&request_id, &request.invocation_id, message));
            }
            (true, Some(&function)) => function,
        };
        let token = CancellationToken::new();
        // Registered before the next message is read, so a cancel that follows finds it.
        let Some(invocation_id) = self.in_flight.start(&request.invocation_id, token.clone()) else {
            let message = format!("invocation {} is already running", request.invocation_id);
            return Some(refusal(&request_id, &request.invocation_id, message));
        };
        let pairing = self.pairing.as_ref().filter(|_| invocation::is_forwarded(request));
        let invocation = Box::new(ReceivedInvocation {
            message,
            given: self.given_to(function),
            token,
            forwarded: None,
            answering: Answering {
                function,
                request_id,
                outbox: self.outbox.clone(),
                answered: false,
                finished: Finished {
                    in_flight: self.in_flight.clone(),
                    invocation_id: Arc::clone(&invocation_id),
                },
            },
        });
        match pairing {
            // Its request comes through `HttpUri`: it runs on that request's task, as the
            // baseline worker does, not on one of its own.
            Some(pairing) => pairing.invocation_arrived(invocation_id, invocation),
            // Boxed: the invocation's future is most of a kilobyte, and tokio copies a task's
            // future into its cell and its output over it; a box makes those copies a pointer's.
            None => drop(tokio::spawn(Box::pin(run_invocation(invocation)))),
        }
        None
    }

    fn cancel(&self, cancel: &InvocationCancel) {
        // An unknown id has finished already: nothing to cancel.
        if self.in_flight.cancel(&cancel.invocation_id)
            && let Some(pairing) = &self.pairing
        {
            // One still waiting for its forwarded request is answered now.
            pairing.cancel(&cancel.invocation_id);
        }
    }

    /// Cancels every invocation, those waiting for their forwarded request included.
    pub(crate) fn cancel_all(&self) {
        self.in_flight.cancel_all();
        if let Some(pairing) = &self.pairing {
            pairing.cancel_all();
        }
    }

    /// The stream's sending half.
    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Specializes in this process, as far as it can without touching the process environment:
    /// the working directory changes and [`environment::env_var`] sees the variables. What the
    /// worker falls back to when the app cannot be restarted.
    ///
    /// The app's start-up, if it waited for the settings, runs here: `Err` is its failure, which
    /// the answer carries.
    pub(crate) async fn reload(
        &mut self,
        request_id: &str,
        request: &FunctionEnvironmentReloadRequest,
    ) -> Result<(), String> {
        let mut started = Ok(());
        let result = match environment::apply(request) {
            Ok(()) => {
                started = self.start().await;
                match &started {
                    Ok(()) => success(),
                    Err(message) => failure(worker_exception("StartupFailed", message.clone())),
                }
            }
            Err(message) => failure(worker_exception("EnvironmentReloadFailed", message)),
        };
        let response = FunctionEnvironmentReloadResponse {
            worker_metadata: Some(worker_metadata()),
            capabilities: self.capabilities.clone(),
            result: Some(result),
            capabilities_update_strategy: CapabilitiesUpdateStrategy::Merge as i32,
        };
        self.reply(request_id, Content::FunctionEnvironmentReloadResponse(response))
            .await;
        started
    }

    async fn reply(&self, request_id: &str, content: Content) {
        // A send fails only when the stream is gone, which the read loop notices.
        let _ = self.outbox.send_content(request_id, content).await;
    }

    /// A warning of the worker's own, for the host's worker logger and the console.
    pub(crate) async fn warn(&self, message: String) {
        eprintln!("azfn: {message}");
        self.reply("", Content::RpcLog(worker_log(rpc_log::Level::Warning, message)))
            .await;
    }
}

/// The answer refusing an invocation.
fn refusal(request_id: &str, invocation_id: &str, message: String) -> Bytes {
    let response = InvocationResponse {
        invocation_id: invocation_id.to_owned(),
        result: Some(failure(worker_exception("InvocationRefused", message))),
        ..InvocationResponse::default()
    };
    framed(request_id, Content::InvocationResponse(response))
}

/// Whether the host started this worker as a placeholder, before the app's settings were known
/// (`WEBSITE_PLACEHOLDER_MODE=1`, which the platform sets in its warm pools).
fn in_placeholder_mode() -> bool {
    std::env::var("WEBSITE_PLACEHOLDER_MODE").is_ok_and(|mode| mode == "1")
}

/// An invocation the host asked for, until it runs: on a task of its own, or, when its HTTP
/// request comes through `HttpUri`, on that request's task. Boxed from the start, since it is
/// hundreds of bytes: the pairing's table and the invocation's future hold a pointer.
#[derive(Debug)]
pub(crate) struct ReceivedInvocation {
    /// The host's message, an `InvocationRequest`, in the box it was decoded into.
    message: Box<StreamingMessage>,
    given: FromWorker,
    token: CancellationToken,
    /// The request forwarded for it through `HttpUri`, once it came.
    forwarded: Option<RawRequest>,
    /// Where its answer goes: made with it, so that nothing is cloned when it runs.
    answering: Answering,
}

impl Forwarded for Box<ReceivedInvocation> {
    fn run(mut self, request: RawRequest) -> impl Future<Output = Option<HttpResponse>> + Send {
        self.forwarded = Some(request);
        run_invocation(self)
    }

    fn abandon(self) {
        drop(tokio::spawn(Box::pin(run_invocation(self))));
    }
}

/// Where an invocation's answer goes. Dropped before the answer went (the forwarded request's
/// task was dropped because its client left, or the worker is stopping), it still answers the
/// host, as cancelled; then the invocation is out of flight.
#[derive(Debug)]
struct Answering {
    function: &'static FunctionDescription,
    request_id: String,
    outbox: Outbox,
    answered: bool,
    finished: Finished,
}

impl Drop for Answering {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let error = InvocationError::MalformedRequest(
            "the invocation was stopped before it finished (its forwarded request's connection closed, or the worker stopped)"
                .to_owned(),
        );
        let ending = invocation::conclude(self.function, &self.finished.invocation_id, Err(error), true, None);
        let (logs, answer) = ending_frames(ending.logs, &ending.answer, &self.request_id);
        let frames: Vec<_> = logs.chain([answer]).collect();
        let outbox = self.outbox.clone();
        // Outside a runtime (the process is ending) there is nobody left to tell.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn(async move {
                for frame in frames {
                    outbox.send_framed(frame).await;
                }
            }));
        }
    }
}

/// Runs one invocation and sends its logs and response; with the request forwarded for it
/// through `HttpUri`, gives back the response that request gets.
///
/// The future is kept small, since it is moved into a box (or a task) whole: it holds the boxed
/// invocation, what is rarely awaited (reading a forwarded body, collecting streamed bodies) is
/// boxed, and values are scoped so that none is kept past its use.
async fn run_invocation(mut invocation: Box<ReceivedInvocation>) -> Option<HttpResponse> {
    let function = invocation.answering.function;
    let caller = invocation.forwarded.is_some().then_some(Caller);
    // Values live in blocks that end before the next await: a moved value's space stays in the
    // future until the end of its scope.
    let result = 'ran: {
        let mut result = {
            let forwarded = invocation.forwarded.take();
            let prepared = match &mut invocation.message.content {
                Some(Content::InvocationRequest(request)) => invocation::prepare(
                    function,
                    request,
                    invocation.token.clone(),
                    invocation.given.http_uri,
                    forwarded,
                ),
                _ => Err(InvocationError::MalformedRequest(
                    "the host's message is not an invocation".to_owned(),
                )),
            };
            let mut prepared = match prepared {
                Ok(Prepared::Ready(prepared)) => prepared,
                Ok(Prepared::ReadingBody(reading)) => match reading.await {
                    Ok(prepared) => prepared,
                    Err(error) => break 'ran Err(error),
                },
                Err(error) => break 'ran Err(error),
            };
            invocation.given.attach_to(&mut prepared);
            dispatch::invoke(prepared)
        }
        .await;
        if caller.is_none()
            && let Ok(outputs) = &mut result
            && outputs.has_streamed_bodies()
        {
            // `RpcHttp` carries whole bodies; through `HttpUri` a streamed one goes out as sent.
            Box::pin(outputs.collect_streamed_bodies()).await;
        }
        result
    };
    let (logs, answer, http_response) = {
        let ending = invocation::conclude(
            function,
            &invocation.answering.finished.invocation_id,
            result,
            invocation.token.is_cancelled(),
            caller,
        );
        let (logs, answer) = ending_frames(ending.logs, &ending.answer, &invocation.answering.request_id);
        (logs, answer, ending.http_response)
    };
    for frame in logs {
        invocation.answering.outbox.send_framed(frame).await;
    }
    invocation.answering.outbox.send_framed(answer).await;
    invocation.answering.answered = true;
    // Out of flight (`invocation.answering.finished`) once answered.
    http_response
}

/// The frames that end an invocation: its log lines, which go first (the host drops the lines
/// of an invocation that has completed), then its answer, framed at once so that what waits on
/// a send is bytes.
fn ending_frames<'a>(
    logs: Vec<super::proto::RpcLog>,
    answer: &super::answer::Answer,
    request_id: &'a str,
) -> (impl Iterator<Item = Bytes> + 'a, Bytes) {
    let logs = logs
        .into_iter()
        .map(move |log| framed(request_id, Content::RpcLog(log)));
    (logs, answer.framed(request_id))
}

#[cfg(test)]
mod tests {
    use super::super::proto::InvocationRequest;
    use super::*;

    /// An HTTP function that never ends.
    static HANGS: FunctionDescription = FunctionDescription {
        name: "hangs",
        rust_path: "tests::hangs",
        location: ("src/x.rs", 1),
        bindings: &[azfn_bindings::BindingDescription {
            kind: &azfn_bindings::catalog::HTTP_TRIGGER,
            name: "req",
            data_type: None,
            properties: &[],
        }],
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: |_| Box::pin(std::future::pending()),
    };

    #[tokio::test]
    async fn a_forwarded_run_dropped_before_its_end_still_answers_the_host() {
        use crate::grpc::codec::FrameDecoder;
        use prost::Message as _;

        let (frames, mut sent) = tokio::sync::mpsc::channel(16);
        let in_flight = Arc::new(InFlight::default());
        let invocation_id = in_flight.start("gone-1", CancellationToken::new()).expect("new");
        let request = InvocationRequest {
            invocation_id: "gone-1".into(),
            function_id: "hangs".into(),
            ..InvocationRequest::default()
        };
        let invocation = Box::new(ReceivedInvocation {
            message: Box::new(StreamingMessage {
                request_id: String::new(),
                content: Some(Content::InvocationRequest(request)),
            }),
            given: FromWorker::default(),
            token: CancellationToken::new(),
            forwarded: None,
            answering: Answering {
                function: &HANGS,
                request_id: "r-1".into(),
                outbox: Outbox::new(frames),
                answered: false,
                finished: Finished {
                    in_flight: in_flight.clone(),
                    invocation_id,
                },
            },
        });
        let run = Box::pin(invocation.run(RawRequest::for_test()));
        // The function hangs; the request's task goes away (its connection closed).
        assert!(tokio::time::timeout(Duration::from_millis(50), run).await.is_err());
        assert_eq!(in_flight.len(), 0, "no longer in flight");
        let mut decoder = FrameDecoder::new(usize::MAX);
        let mut answer = None;
        while answer.is_none() {
            let frame = tokio::time::timeout(Duration::from_secs(5), sent.recv())
                .await
                .expect("answered")
                .expect("a frame");
            decoder.push(&frame);
            while let Ok(Some(message)) = decoder.next_message() {
                if let Some(Content::InvocationResponse(response)) = StreamingMessage::decode(message).unwrap().content
                {
                    answer = Some(response);
                }
            }
        }
        let answer = answer.unwrap();
        assert_eq!(answer.invocation_id, "gone-1");
        let result = answer.result.expect("a result");
        assert_eq!(
            result.status,
            super::super::proto::status_result::Status::Cancelled as i32
        );
        assert!(
            result
                .exception
                .expect("why")
                .message
                .contains("stopped before it finished"),
        );
    }

    #[test]
    fn http_uri_is_advertised_only_with_a_server() {
        let without = capabilities(None);
        assert!(!without.contains_key("HttpUri"));
        assert!(!without.contains_key("RequiresRouteParameters"));
        assert!(without.values().all(|v| v == "true"));
        let with = capabilities(Some("http://127.0.0.1:1234"));
        assert_eq!(with["HttpUri"], "http://127.0.0.1:1234");
        assert_eq!(with["RequiresRouteParameters"], "true");
    }

    #[tokio::test]
    async fn in_flight_tracks_cancels_and_reports_idle() {
        let in_flight = Arc::new(InFlight::default());
        let token = CancellationToken::new();
        assert_eq!(in_flight.start("a", token.clone()).as_deref(), Some("a"));
        assert!(in_flight.start("a", CancellationToken::new()).is_none());
        assert!(in_flight.cancel("a"));
        assert!(token.is_cancelled());
        assert!(!in_flight.cancel("b"));
        let waiter = {
            let in_flight = in_flight.clone();
            tokio::spawn(async move { in_flight.idle().await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(Finished {
            in_flight: in_flight.clone(),
            invocation_id: "a".into(),
        });
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("idle")
            .expect("joins");
        assert_eq!(in_flight.len(), 0);
    }
}
