//! The local Functions host of `cargo azfn start`: it starts the worker as the real host does,
//! serves HTTP triggers, fires timers, answers the admin API, and shows every output in the
//! console.
//!
//! | module | concern |
//! |---|---|
//! | [`worker`] | starting, probing and restarting the worker process |
//! | [`payload`] | the invocation request body (§4) |
//! | [`response`] | reading the worker's answer (§5) |
//! | [`http`] | the public HTTP server: routes, methods, keys |
//! | [`admin`] | `/admin/functions/{name}` and friends |
//! | [`timers`] | NCRONTAB schedules and `runOnStartup` |

pub mod admin;
pub mod console;
pub mod http;
pub mod payload;
pub mod response;
pub mod timers;
pub mod worker;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ::http::Request;
use ::http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::app::{FunctionApp, Trigger};
use crate::build::{self, BuildOptions};
use crate::client::{self, ChunkedBody};
use crate::clock;
use crate::error::{Context, Error, Result};
use payload::{HOST_VERSION, InvocationPayload};
use response::InvocationResult;
use worker::{Worker, WorkerState};

/// How long an invocation waits for a worker that is (re)starting.
const READY_WAIT: Duration = Duration::from_secs(60);

/// A running local host.
#[derive(Debug)]
pub struct Host {
    app: RwLock<Arc<FunctionApp>>,
    worker: Worker,
    port: u16,
    timers: Mutex<Vec<JoinHandle<()>>>,
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

    /// Sends one invocation of the function `name` to the worker, printing what happens: the
    /// start, each log line, each non-HTTP output (one line per message) and the end.
    pub async fn invoke(&self, name: &str, payload: InvocationPayload, reason: &str) -> Invocation {
        let id = clock::new_guid();
        console::line(format!("Executing 'Functions.{name}' (Reason='{reason}', Id={id})"));
        let started = Instant::now();
        let outcome = self.exchange(name, &payload, &id).await;
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
                console::line(format!(
                    "Executed 'Functions.{name}' (Succeeded, Id={id}, Duration={millis}ms)"
                ));
            }
            Err(reason) => console::line(format!(
                "Executed 'Functions.{name}' (Failed, Id={id}, Duration={millis}ms)\n  {reason}"
            )),
        }
        Invocation { id, outcome }
    }

    /// POSTs the payload to `/{name}` on the worker as the host does (§4.1) and reads the
    /// answer (§5).
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
        let port = self.worker.ready_port(READY_WAIT).await?;
        let body = serde_json::to_vec(&payload.to_json()).map_err(|e| format!("cannot encode the payload: {e}"))?;
        let request = Request::post(format!("/{}", function.name))
            .header(HOST, format!("127.0.0.1:{port}"))
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .header("X-Azure-Functions-HostVersion", HOST_VERSION)
            .header("X-Azure-Functions-InvocationId", id)
            .header(USER_AGENT, format!("Azure-Functions-Host/{HOST_VERSION}"))
            .body(ChunkedBody::new(body))
            .map_err(|e| format!("cannot build the request to the worker: {e}"))?;
        let response = client::send(port, request, None)
            .await
            .map_err(|e| format!("the worker could not be reached: {e}"))?;
        response::read_response(
            function,
            response.status(),
            response.header("content-type"),
            &response.body,
        )
        .map_err(|e| e.0)
    }

    /// Serves `app` from now on: restarts the worker with it and reschedules the timers.
    pub fn reload(self: &Arc<Self>, app: FunctionApp) {
        let app = Arc::new(app);
        if let Ok(mut current) = self.app.write() {
            *current = app.clone();
        }
        print_app(&app, self.port);
        self.worker.restart(app.clone());
        self.start_timers(&app);
    }

    fn start_timers(self: &Arc<Self>, app: &FunctionApp) {
        if let Ok(mut timers) = self.timers.lock() {
            for timer in timers.drain(..) {
                timer.abort();
            }
            *timers = timers::spawn_all(self, app);
        }
    }
}

/// What `start` serves and how.
#[derive(Debug)]
pub struct StartOptions {
    /// The app folder.
    pub app_dir: PathBuf,
    /// The public port on 127.0.0.1.
    pub port: u16,
    /// With `--watch`: how to rebuild, and which folders to watch.
    pub watch: Option<WatchPlan>,
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
    let app = FunctionApp::load(&options.app_dir)?;
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .context(|| format!("cannot listen on 127.0.0.1:{} (pass another --port)", options.port))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(options.port);
    print_app(&app, port);
    let app = Arc::new(app);
    let host = Arc::new(Host {
        app: RwLock::new(app.clone()),
        worker: Worker::start(app.clone()),
        port,
        timers: Mutex::new(Vec::new()),
    });
    tokio::spawn(http::serve(listener, host.clone()));
    host.start_timers(&app);
    console::line(format!("Host started on {}", host.base_url()));

    let watching = options.watch.is_some();
    if let Some(plan) = options.watch {
        tokio::spawn(watch_and_reload(host.clone(), plan, options.app_dir.clone()));
    }
    let result = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        reason = worker_gave_up(&host), if !watching => Err(Error::new(reason)),
    };
    console::line("Stopping the host");
    host.worker.shutdown().await;
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
async fn watch_and_reload(host: Arc<Host>, plan: WatchPlan, app_dir: PathBuf) {
    let mut snapshot = crate::watch::snapshot(&plan.sources);
    loop {
        crate::watch::wait_for_change(&plan.sources, &mut snapshot).await;
        console::line("Source change detected: rebuilding");
        let options = plan.build.clone();
        let compiled = tokio::task::spawn_blocking(move || build::compile_only(&options)).await;
        let executable = match compiled {
            Ok(Ok(executable)) => executable,
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
        let written = tokio::task::spawn_blocking(move || {
            build::write_app(&executable, &dir)?;
            FunctionApp::load(&dir)
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
    match (app.function_key().is_some(), app.master_key().is_some()) {
        (false, false) => console::line(format!(
            "No keys are set: every function and the admin API answer without a key, as with `func start`. \
             Set `{}` and `{}` under Values in local.settings.json to check keys.",
            crate::app::FUNCTION_KEY_SETTING,
            crate::app::MASTER_KEY_SETTING
        )),
        (true, false) => console::line(format!(
            "warning: `{}` is not set: admin-level functions and the admin API refuse every request",
            crate::app::MASTER_KEY_SETTING
        )),
        _ => {}
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
