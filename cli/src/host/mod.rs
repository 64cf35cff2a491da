//! The local Functions host of `cargo azfn start`: it starts the worker as the real host does,
//! serves HTTP triggers, fires timers, answers the admin API, and shows every output in the
//! console.
//!
//! | module | concern |
//! |---|---|
//! | [`worker`] | starting, probing and restarting the worker process |
//! | [`transport`] | custom handler or gRPC: how invocations reach the worker |
//! | [`grpc`] | the gRPC transport: the host's side of `EventStream` |
//! | [`payload`] | the invocation request body |
//! | [`process`] | why a worker process ended, free ports |
//! | [`response`] | reading the worker's answer |
//! | [`http`] | the public HTTP server: routes, methods, keys |
//! | [`forward`] | forwarding and proxying HTTP-only functions' requests raw |
//! | [`admin`] | `/admin/functions/{name}` and friends |
//! | [`auth`] | function and master keys (`--enable-auth`) |
//! | [`reply`] | responses the host builds itself |
//! | [`timers`] | NCRONTAB schedules and `runOnStartup` |
//! | [`storage`] | real queues and blobs: inputs, outputs, Azurite |
//! | [`queue_listener`] | queue triggers |
//! | [`blob_listener`] | blob triggers |

pub mod admin;
pub mod auth;
pub mod blob_listener;
pub mod forward;
pub mod grpc;
pub mod http;
pub mod payload;
pub mod process;
pub mod queue_listener;
pub mod reply;
pub mod response;
pub mod storage;
pub mod timers;
pub mod transport;
pub mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{Function, FunctionApp, LoadOptions, Trigger};
use crate::build::{self, BuildOptions};
use crate::clock;
use crate::console;
use crate::error::{Context, Error, Result};
use forward::ForwardMode;
use payload::InvocationPayload;
use response::InvocationResult;
use transport::{Connection, Transport};
use worker::{Worker, WorkerState};

/// The port of the local host when neither `--port` nor local.settings.json sets one.
pub const DEFAULT_PORT: u16 = 7071;

/// How long invocations of queue and blob triggers may take to finish when the host stops.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How long an invocation waits for a worker that is (re)starting.
const READY_WAIT: Duration = Duration::from_secs(60);

/// A running local host.
#[derive(Debug)]
pub struct Host {
    app: RwLock<Arc<FunctionApp>>,
    worker: Worker,
    port: u16,
    timers: Mutex<Vec<JoinHandle<()>>>,
    /// Real queues and blobs, when the app's storage bindings name an account.
    storage: Option<Arc<storage::HostStorage>>,
    /// The queue and blob trigger listeners.
    listeners: Mutex<Vec<JoinHandle<()>>>,
    transport: Transport,
    /// Whether the app's function list is the current worker's: always for a custom handler,
    /// once the worker has described its functions for a gRPC worker (worker indexing).
    functions_known: watch::Sender<bool>,
    /// Whether host.json asks for forwarding or proxying, read with the app.
    forward_mode: RwLock<Option<ForwardMode>>,
}

/// One finished invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The invocation id sent to the worker.
    pub id: String,
    /// What the worker produced, or why the host would fail the invocation.
    pub outcome: std::result::Result<InvocationResult, String>,
}

impl Host {
    /// The app being served.
    pub fn app(&self) -> Arc<FunctionApp> {
        self.app
            .read()
            .map(|app| app.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The port the host listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The worker.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// The transport to the worker.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Waits (up to the time a worker start may take) until the function list is the current
    /// worker's, so that a request during a gRPC worker's start is routed by its functions.
    pub async fn wait_for_functions(&self) {
        let mut known = self.functions_known.subscribe();
        let mut state = self.worker.watch_state();
        // A worker that has stopped for good will not describe anything.
        let stopped = state.wait_for(|s| matches!(s, WorkerState::Stopped { .. }));
        let _ = tokio::time::timeout(READY_WAIT, async {
            tokio::select! {
                _ = known.wait_for(|known| *known) => {}
                _ = stopped => {}
            }
        })
        .await;
    }

    /// Sends one invocation of the function `name` to the worker, printing what happens: the
    /// start, each log line, each non-HTTP output (one line per message) and the end.
    pub async fn invoke(&self, name: &str, mut payload: InvocationPayload, reason: &str) -> Invocation {
        let id = clock::new_guid();
        console::line(executing_line(name, reason, &id));
        let started = Instant::now();
        let outcome = match self.read_inputs(name, &mut payload).await {
            Ok(()) => self.exchange(name, &payload, &id).await,
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(result) => self.write_outputs(name, &payload, &result).await.map(|()| result),
            Err(e) => Err(e),
        };
        let millis = started.elapsed().as_millis();
        match &outcome {
            Ok(result) => {
                for log in &result.logs {
                    console::line(format!("{name}: {log}"));
                }
                for message in &result.messages {
                    let target = message
                        .target
                        .as_deref()
                        .map_or_else(|| message.binding.clone(), |t| format!("'{t}'"));
                    console::line(format!(
                        "{name} → {} {target}: {}",
                        message.kind,
                        message.value.display()
                    ));
                }
                console::line(executed_line(name, &id, millis, Ok(())));
            }
            Err(reason) => console::line(executed_line(name, &id, millis, Err(reason.as_str()))),
        }
        Invocation { id, outcome }
    }

    /// Reads the function's blob inputs from storage, when the host has storage.
    async fn read_inputs(&self, name: &str, payload: &mut InvocationPayload) -> std::result::Result<(), String> {
        let (Some(storage), Some(function)) = (&self.storage, self.app().function(name).cloned()) else {
            return Ok(());
        };
        storage.read_inputs(&function, payload).await
    }

    /// Writes the function's queue and blob outputs to storage, when the host has storage; an
    /// output that cannot be written fails the invocation, as in the host.
    async fn write_outputs(
        &self,
        name: &str,
        payload: &InvocationPayload,
        result: &InvocationResult,
    ) -> std::result::Result<(), String> {
        let (Some(storage), Some(function)) = (&self.storage, self.app().function(name).cloned()) else {
            return Ok(());
        };
        storage.write_outputs(&function, payload, result).await
    }

    /// Sends the invocation over the worker's transport, once it is ready.
    async fn exchange(
        &self,
        name: &str,
        payload: &InvocationPayload,
        id: &str,
    ) -> std::result::Result<InvocationResult, String> {
        let app = self.app();
        let function = app
            .function(name)
            .ok_or_else(|| format!("the app has no function '{name}'"))?;
        let connection = self.worker.ready(READY_WAIT).await?;
        let Some(limit) = app.function_timeout else {
            return connection.invoke(function, payload, id).await;
        };
        match tokio::time::timeout(limit, connection.invoke(function, payload, id)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                if self.transport == Transport::Grpc {
                    // The host restarts the worker that owns a timed-out invocation.
                    self.worker.restart(app.clone());
                }
                Err(format!(
                    "Timeout value of {} exceeded by function 'Functions.{}' (Id: '{id}'). Initiating cancellation. \
                     (host.json `functionTimeout`)",
                    time_span_text(limit),
                    function.name
                ))
            }
        }
    }

    /// Serves `app` from now on: restarts the worker with it and reschedules the timers.
    pub fn reload(self: &Arc<Self>, app: FunctionApp) {
        let app = Arc::new(app);
        if self.transport == Transport::Grpc {
            // The new worker describes its functions: requests wait for its list, and the old
            // one stays for the admin API's answers meanwhile.
            self.functions_known.send_replace(false);
            let mut next = (*app).clone();
            next.functions = self.app().functions.clone();
            next.problems.clear();
            self.set_app(Arc::new(next));
            self.worker.restart(app);
            return;
        }
        self.set_app(app.clone());
        print_app(&app, self.port);
        self.worker.restart(app.clone());
        self.start_timers(&app);
    }

    /// How HTTP-only functions' requests reach the worker, when host.json asks for forwarding
    /// or proxying and the worker is a custom handler (the mode is theirs).
    pub fn forward_mode(&self) -> Option<ForwardMode> {
        if self.transport != Transport::CustomHandler {
            return None;
        }
        self.forward_mode.read().map_or(None, |mode| *mode)
    }

    fn set_app(&self, app: Arc<FunctionApp>) {
        if let Ok(mut mode) = self.forward_mode.write() {
            *mode = ForwardMode::of(&app);
        }
        if let Ok(mut current) = self.app.write() {
            *current = app;
        }
    }

    /// Takes the functions a gRPC worker described. A list that differs from the current one
    /// (always, the first time) is printed and its timers are started; a worker restarted after
    /// a crash describing the same functions changes nothing, so `runOnStartup` timers do not
    /// fire again.
    fn apply_indexed(self: &Arc<Self>, indexed: &grpc::Indexed) {
        let current = self.app();
        let known = *self.functions_known.borrow();
        if !known || !same_functions(&current.functions, &indexed.functions) {
            let mut app = (*current).clone();
            app.functions = indexed.functions.clone();
            app.problems = indexed.problems.clone();
            let app = Arc::new(app);
            self.set_app(app.clone());
            print_app(&app, self.port);
            self.start_timers(&app);
        }
        self.functions_known.send_replace(true);
    }

    fn start_timers(self: &Arc<Self>, app: &FunctionApp) {
        if let Ok(mut timers) = self.timers.lock() {
            for timer in timers.drain(..) {
                timer.abort();
            }
            *timers = timers::spawn_all(self, app);
        }
        if let (Some(storage), Ok(mut listeners)) = (&self.storage, self.listeners.lock()) {
            // The old listeners finish the messages they took (with the new worker, after a
            // reload) rather than being cut off holding them.
            storage.next_generation();
            listeners.retain(|listener| !listener.is_finished());
            listeners.extend(queue_listener::spawn_all(self, storage, app));
            listeners.extend(blob_listener::spawn_all(self, storage, app));
        }
    }

    /// Stops the storage listeners: they take no more messages, and the invocations under way
    /// get `grace` to finish before the worker stops (a message whose invocation did not
    /// succeed is made visible again).
    async fn stop_listeners(&self, grace: Duration) -> Vec<JoinHandle<()>> {
        let Some(storage) = &self.storage else {
            return Vec::new();
        };
        storage.stop();
        let mut listeners: Vec<JoinHandle<()>> = self
            .listeners
            .lock()
            .map(|mut l| l.drain(..).collect())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + grace;
        let mut left = Vec::new();
        for mut listener in listeners.drain(..) {
            if tokio::time::timeout_at(deadline, &mut listener).await.is_err() {
                left.push(listener);
            }
        }
        left
    }
}

/// The console line of an invocation's start, as the host writes it.
fn executing_line(name: &str, reason: &str, id: &str) -> String {
    format!("Executing 'Functions.{name}' (Reason='{reason}', Id={id})")
}

/// The console line of an invocation's end: `Succeeded`, or `Failed` with why.
fn executed_line(name: &str, id: &str, millis: u128, outcome: std::result::Result<(), &str>) -> String {
    match outcome {
        Ok(()) => format!("Executed 'Functions.{name}' (Succeeded, Id={id}, Duration={millis}ms)"),
        Err(reason) => format!("Executed 'Functions.{name}' (Failed, Id={id}, Duration={millis}ms)\n  {reason}"),
    }
}

/// A duration as a .NET TimeSpan prints it: `00:05:00`, `1.02:00:00`.
fn time_span_text(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let clock = format!("{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 { format!("{days}.{clock}") } else { clock }
}

/// Whether two function lists are the same functions with the same bindings.
fn same_functions(a: &[Function], b: &[Function]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.name == b.name && a.bindings == b.bindings)
}

/// Applies the functions of every gRPC worker that becomes ready.
async fn follow_indexing(host: Arc<Host>) {
    let mut state = host.worker.watch_state();
    let mut last: Option<grpc::Channel> = None;
    loop {
        let current = state.borrow_and_update().clone();
        if let WorkerState::Ready {
            connection: Connection::Grpc(channel),
            ..
        } = current
            && last.as_ref() != Some(&channel)
        {
            host.apply_indexed(channel.indexed());
            last = Some(channel);
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// What `start` serves and how.
#[derive(Debug)]
pub struct StartOptions {
    /// The app folder.
    pub app_dir: PathBuf,
    /// The public port on 127.0.0.1 (default: local.settings.json `Host.LocalHttpPort`, else
    /// [`DEFAULT_PORT`]).
    pub port: Option<u16>,
    /// Where the local settings are, and whether keys are checked.
    pub load: LoadOptions,
    /// How the host talks to the worker.
    pub transport: Transport,
    /// With `--watch`: how to rebuild, and which folders to watch.
    pub watch: Option<WatchPlan>,
    /// Whether queue and blob bindings use the storage their connections name (`false` with
    /// `--no-storage`).
    pub storage: bool,
}

/// How `--watch` rebuilds the app.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// The build that made the app folder.
    pub build: BuildOptions,
    /// Folders and files whose changes trigger a rebuild.
    pub sources: Vec<PathBuf>,
}

/// Runs the local host until Ctrl-C or SIGTERM (or, without `--watch`, until the worker has
/// failed too often).
pub async fn run(options: StartOptions) -> Result<()> {
    let app = FunctionApp::load_with(&options.app_dir, &options.load)?;
    let port = options.port.or(app.local.local_http_port).unwrap_or(DEFAULT_PORT);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .context(|| format!("cannot listen on 127.0.0.1:{port} (pass another --port)"))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let grpc = options.transport == Transport::Grpc;
    // A gRPC worker describes its functions itself (worker indexing); the folder still gives
    // host.json, the settings and the executable.
    let served = if grpc {
        let mut served = app.clone();
        served.functions.clear();
        served.problems.clear();
        served
    } else {
        print_app(&app, port);
        app.clone()
    };
    let served = Arc::new(served);
    let storage = if options.storage {
        storage::HostStorage::open(&app).await.map_err(Error::new)?
    } else {
        None
    };
    if storage.is_none()
        && app
            .functions
            .iter()
            .flat_map(|f| &f.bindings)
            .any(storage::is_storage_binding)
    {
        console::line(
            "No storage connection (AzureWebJobsStorage or a binding's `connection`): queue and blob outputs are \
             only shown, blob inputs are null, and queue and blob triggers run through `cargo azfn invoke`",
        );
    }
    let host = Arc::new(Host {
        app: RwLock::new(served.clone()),
        worker: Worker::start(Arc::new(app), options.transport),
        port,
        timers: Mutex::new(Vec::new()),
        storage,
        listeners: Mutex::new(Vec::new()),
        transport: options.transport,
        functions_known: watch::Sender::new(!grpc),
        forward_mode: RwLock::new(ForwardMode::of(&served)),
    });
    tokio::spawn(http::serve(listener, host.clone()));
    if grpc {
        tokio::spawn(follow_indexing(host.clone()));
    } else {
        host.start_timers(&served);
    }
    console::line(format!("Host started on {}", host.base_url()));

    let watching = options.watch.is_some();
    if let Some(plan) = options.watch {
        tokio::spawn(watch_and_reload(
            host.clone(),
            plan,
            options.app_dir.clone(),
            options.load.clone(),
        ));
    }
    let result = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        reason = worker_gave_up(&host), if !watching => Err(Error::new(reason)),
    };
    console::line("Stopping the host");
    let unfinished = host.stop_listeners(STOP_GRACE).await;
    host.worker.shutdown().await;
    for listener in unfinished {
        let _ = tokio::time::timeout(STOP_GRACE, listener).await;
    }
    if let Some(storage) = &host.storage {
        storage.stop_emulator().await;
    }
    result
}

/// Resolves when the worker has stopped for good.
async fn worker_gave_up(host: &Host) -> String {
    loop {
        if let WorkerState::Stopped { reason } = host.worker.state() {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `--watch`: rebuild on every source change; stop the worker before the app folder is
/// rewritten (a running executable cannot be overwritten) and start the new one.
async fn watch_and_reload(host: Arc<Host>, plan: WatchPlan, app_dir: PathBuf, load: LoadOptions) {
    let mut snapshot = crate::watch::snapshot(&plan.sources);
    loop {
        crate::watch::wait_for_change(&plan.sources, &mut snapshot).await;
        console::line("Source change detected: rebuilding");
        let options = plan.build.clone();
        let compiled = tokio::task::spawn_blocking(move || {
            let package = build::locate(options.package.as_deref())?;
            // host.json is read first, so a mistake there keeps the old worker too.
            crate::host_json::check_user(&package.host_json_file())?;
            build::compile_app(&package, &options).map(|compiled| (package, compiled))
        })
        .await;
        let (package, compiled) = match compiled {
            Ok(Ok(built)) => built,
            Ok(Err(e)) => {
                console::line(format!("error: {e}\nThe previous build keeps running."));
                continue;
            }
            Err(e) => {
                console::line(format!("error: the build task failed: {e}"));
                continue;
            }
        };
        host.worker.pause().await;
        let dir = app_dir.clone();
        let load = load.clone();
        let written = tokio::task::spawn_blocking(move || {
            build::write_app(&package, &compiled, &dir)?;
            FunctionApp::load_with(&dir, &load)
        })
        .await;
        match written {
            Ok(Ok(app)) => {
                console::line("Rebuilt: restarting the worker");
                host.reload(app);
            }
            Ok(Err(e)) => {
                console::line(format!("error: {e}"));
                host.worker.restart(host.app());
            }
            Err(e) => {
                console::line(format!("error: writing the app folder failed: {e}"));
                host.worker.restart(host.app());
            }
        }
    }
}

/// Lists the functions like `func start` does, then any problems and the key settings.
fn print_app(app: &FunctionApp, port: u16) {
    let base = format!("http://localhost:{port}");
    let mut text = String::from("\nFunctions:\n\n");
    for function in &app.functions {
        let line = match &function.trigger {
            Trigger::Http(http) => {
                let methods = http.methods.as_ref().map_or_else(|| "ALL".to_owned(), |m| m.join(","));
                format!("[{methods}] {base}{}", app.route_path(&http.route_text))
            }
            Trigger::Timer(timer) => {
                let startup = if timer.run_on_startup { ", runOnStartup" } else { "" };
                format!("timerTrigger ({}{startup})", timer.schedule_text)
            }
            Trigger::Other { kind, .. } => kind.clone(),
        };
        text.push_str(&format!("        {}: {line}\n", function.name));
    }
    if app.functions.is_empty() {
        text.push_str("        (none)\n");
    }
    println!("{text}");
    for problem in &app.problems {
        console::line(format!("error: {problem}"));
    }
    print_settings(app);
}

/// Says where the settings come from, which environment variables won over them, and whether
/// keys are checked.
fn print_settings(app: &FunctionApp) {
    match &app.local.file {
        Some(file) => console::line(format!("Settings from {}", file.display())),
        None => console::line("No local.settings.json: the worker gets this environment only"),
    }
    for key in &app.local.overridden {
        console::line(format!(
            "Skipping '{key}' from local.settings.json: it is already set in the environment, which wins"
        ));
    }
    if !app.enable_auth {
        console::line(
            "Keys are not checked (as with `func start`): every function and the admin API answer without a key. \
             Pass --enable-auth to check them.",
        );
        return;
    }
    let (function_key, master_key) = (crate::app::FUNCTION_KEY_SETTING, crate::app::MASTER_KEY_SETTING);
    match (app.function_key().is_some(), app.master_key().is_some()) {
        (false, false) => console::line(format!(
            "Keys are checked (--enable-auth), but neither `{function_key}` nor `{master_key}` is set under Values \
             in local.settings.json: only anonymous functions answer"
        )),
        (true, false) => console::line(format!(
            "Keys are checked (--enable-auth); `{master_key}` is not set: admin-level functions and the admin API \
             refuse every request"
        )),
        (false, true) => console::line(format!(
            "Keys are checked (--enable-auth): the master key opens every route; `{function_key}` is not set"
        )),
        (true, true) => {
            console::line("Keys are checked (--enable-auth): function and master keys from local.settings.json")
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
