//! Starting, watching and restarting the worker process exactly as the host does, over either
//! [`Transport`].
//!
//! - The command line is the executable, the `arguments`, the quoted `defaultWorkerPath` and
//!   the `workerArguments`, with `%VAR%` expanded; the working directory is
//!   `workingDirectory` (default: the app root). A gRPC worker also gets the host's gRPC
//!   arguments (`--functions-uri` and the rest, see [`Launch::grpc`]).
//! - The child inherits this process's environment plus the `local.settings.json` values and
//!   the five host variables (custom handler: its port comes from binding `127.0.0.1:0`) or
//!   the native runtime's (gRPC).
//! - A custom handler is ready when `GET /` answers anything; probes run every 25 ms for up to
//!   30 s. A gRPC worker is ready once it has opened its stream and loaded its functions.
//! - When it exits it is started again; after 3 failures within 30 minutes the host gives up,
//!   as the real one does.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};

use super::grpc;
use super::process::{exit_reason, free_port};
use super::transport::{Connection, Transport};
use crate::app::FunctionApp;
use crate::client;
use crate::clock;
use crate::console;

/// How often the readiness probe runs.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(25);
/// How long the worker has to answer the probe (the host's `InitializationTimeout`).
pub const INITIALIZATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Failures after which the host stops trying, and the window they are counted in.
const ERROR_THRESHOLD: usize = 3;
const ERROR_WINDOW: Duration = Duration::from_secs(30 * 60);
/// How many of the last standard-error lines are kept to explain an exit.
const STDERR_TAIL: usize = 10;

/// Where the worker is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Being started or restarted; invocations wait.
    Starting,
    /// Answering.
    Ready {
        /// The port the worker listens on (custom handler), or the host's gRPC port.
        port: u16,
        /// Its process id.
        pid: u32,
        /// How to reach it.
        connection: Connection,
    },
    /// Not running and not coming back until a restart is asked for.
    Stopped {
        /// Why.
        reason: String,
    },
}

/// What the supervisor can be asked to do.
#[derive(Debug)]
enum Request {
    /// Start the worker of this app (again), forgetting earlier failures.
    Restart(Arc<FunctionApp>),
    /// Stop the worker and wait for a restart.
    Pause(tokio::sync::oneshot::Sender<()>),
    /// Stop the worker for good.
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// The handle the rest of the host uses to reach the worker.
#[derive(Debug, Clone)]
pub struct Worker {
    state: watch::Receiver<WorkerState>,
    requests: mpsc::UnboundedSender<Request>,
}

impl Worker {
    /// Starts supervising the worker of `app`, reached over `transport`.
    pub fn start(app: Arc<FunctionApp>, transport: Transport) -> Worker {
        let (state_tx, state) = watch::channel(WorkerState::Starting);
        let (requests, requests_rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(app, transport, state_tx, requests_rx));
        Worker { state, requests }
    }

    /// The current state.
    pub fn state(&self) -> WorkerState {
        self.state.borrow().clone()
    }

    /// The state, to be watched for changes.
    pub fn watch_state(&self) -> watch::Receiver<WorkerState> {
        self.state.clone()
    }

    /// Waits until the worker is ready and returns how to reach it; fails if it is stopped or
    /// does not become ready within `limit`.
    pub async fn ready(&self, limit: Duration) -> Result<Connection, String> {
        let mut state = self.state.clone();
        let wait = state.wait_for(|s| !matches!(s, WorkerState::Starting));
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(current)) => match &*current {
                WorkerState::Ready { connection, .. } => Ok(connection.clone()),
                WorkerState::Stopped { reason } => Err(format!("the worker is not running: {reason}")),
                WorkerState::Starting => Err("the worker is still starting".into()),
            },
            Ok(Err(_)) => Err("the worker supervisor has stopped".into()),
            Err(_) => Err(format!("the worker was not ready within {} s", limit.as_secs())),
        }
    }

    /// Starts the worker of `app`, stopping the current one first.
    pub fn restart(&self, app: Arc<FunctionApp>) {
        let _ = self.requests.send(Request::Restart(app));
    }

    /// Stops the worker until [`Worker::restart`]; returns once it has exited. Invocations
    /// meanwhile wait, as during a restart.
    pub async fn pause(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.requests.send(Request::Pause(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Stops the worker for good; returns once it has exited.
    pub async fn shutdown(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.requests.send(Request::Shutdown(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The supervisor task: starts the worker, waits for it to exit or for a request, and starts it
/// again.
async fn supervise(
    mut app: Arc<FunctionApp>,
    transport: Transport,
    state: watch::Sender<WorkerState>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let mut failures: VecDeque<Instant> = VecDeque::new();
    loop {
        state.send_replace(WorkerState::Starting);
        let outcome = run_once(&app, transport, &state, &mut requests).await;
        let reason = match outcome {
            Outcome::Restart(next) => {
                app = next;
                failures.clear();
                continue;
            }
            Outcome::Pause(done) => {
                // Invocations wait for the rebuilt worker rather than fail.
                state.send_replace(WorkerState::Starting);
                let _ = done.send(());
                match wait_for_restart(&mut requests).await {
                    Some(next) => {
                        app = next;
                        failures.clear();
                        continue;
                    }
                    None => return,
                }
            }
            Outcome::Shutdown(done) => {
                state.send_replace(WorkerState::Stopped {
                    reason: "the host is shutting down".into(),
                });
                let _ = done.send(());
                return;
            }
            Outcome::Failed(reason) => reason,
        };
        let now = Instant::now();
        failures.push_back(now);
        while failures.front().is_some_and(|t| now.duration_since(*t) > ERROR_WINDOW) {
            failures.pop_front();
        }
        if failures.len() >= ERROR_THRESHOLD {
            let reason = format!(
                "the worker failed {ERROR_THRESHOLD} times within 30 minutes (last: {reason}); \
                 like the real host, the local host stops restarting it"
            );
            console::line(format!("error: {reason}"));
            state.send_replace(WorkerState::Stopped { reason });
            match wait_for_restart(&mut requests).await {
                Some(next) => {
                    app = next;
                    failures.clear();
                }
                None => return,
            }
        } else {
            console::line("Restarting the worker process");
        }
    }
}

/// Waits for a restart request, answering pause requests at once; `None` on shutdown.
async fn wait_for_restart(requests: &mut mpsc::UnboundedReceiver<Request>) -> Option<Arc<FunctionApp>> {
    while let Some(request) = requests.recv().await {
        match request {
            Request::Restart(app) => return Some(app),
            Request::Pause(done) => {
                let _ = done.send(());
            }
            Request::Shutdown(done) => {
                let _ = done.send(());
                return None;
            }
        }
    }
    None
}

/// How one run of the worker ended.
enum Outcome {
    Restart(Arc<FunctionApp>),
    Pause(tokio::sync::oneshot::Sender<()>),
    Shutdown(tokio::sync::oneshot::Sender<()>),
    Failed(String),
}

/// What a worker run needs before the process starts.
enum Prepared {
    /// A custom handler, to listen on this port.
    Http { port: u16 },
    /// A gRPC worker, to connect to this server with this id.
    Grpc {
        server: grpc::server::Server,
        worker_id: String,
    },
}

impl Prepared {
    async fn new(transport: Transport) -> Result<Prepared, String> {
        match transport {
            Transport::CustomHandler => free_port()
                .map(|port| Prepared::Http { port })
                .map_err(|e| format!("cannot find a free port for the worker: {e}")),
            Transport::Grpc => grpc::server::Server::start(grpc::MAX_MESSAGE_LENGTH)
                .await
                .map(|server| Prepared::Grpc {
                    server,
                    worker_id: clock::new_guid(),
                })
                .map_err(|e| format!("cannot start the gRPC server on 127.0.0.1: {e}")),
        }
    }

    /// The port shown in the console: the worker's, or the host's gRPC port.
    fn port(&self) -> u16 {
        match self {
            Prepared::Http { port } => *port,
            Prepared::Grpc { server, .. } => server.port,
        }
    }

    fn launch(&self, app: &FunctionApp) -> Launch {
        match self {
            Prepared::Http { port } => Launch::new(app, *port),
            Prepared::Grpc { server, worker_id } => Launch::grpc(app, server.port, worker_id, &clock::new_guid()),
        }
    }

    /// Waits until the worker can take invocations.
    async fn ready(&mut self, child: &mut Child, app: &FunctionApp) -> Result<Connection, String> {
        match self {
            Prepared::Http { port } => wait_until_ready(*port, child)
                .await
                .map(|()| Connection::Http { port: *port }),
            Prepared::Grpc { server, worker_id } => {
                grpc::start(server, child, app, worker_id).await.map(Connection::Grpc)
            }
        }
    }
}

/// Starts the worker once, waits for readiness, then for its exit or a request.
async fn run_once(
    app: &FunctionApp,
    transport: Transport,
    state: &watch::Sender<WorkerState>,
    requests: &mut mpsc::UnboundedReceiver<Request>,
) -> Outcome {
    // Kept to the end of the run: the gRPC server lives as long as this worker.
    let mut prepared = match Prepared::new(transport).await {
        Ok(prepared) => prepared,
        Err(reason) => return Outcome::Failed(reason),
    };
    let port = prepared.port();
    let launch = prepared.launch(app);
    let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
    let mut child = match launch.spawn(&stderr_tail) {
        Ok(child) => child,
        Err(reason) => {
            console::line(format!("error: {reason}"));
            return Outcome::Failed(reason);
        }
    };
    let pid = child.id().unwrap_or(0);
    console::line(format!(
        "Worker process started (pid {pid}, port {port}): {}",
        launch.display()
    ));
    let started = Instant::now();

    let ready = tokio::select! {
        ready = prepared.ready(&mut child, app) => Ok(ready),
        request = requests.recv() => Err(request),
    };
    let ready = match ready {
        Ok(ready) => ready,
        Err(request) => return stop_for(request, &mut child, None).await,
    };
    let connection = match ready {
        Ok(connection) => connection,
        Err(reason) => {
            stop(&mut child, None).await;
            let reason = with_stderr(reason, &stderr_tail);
            console::line(format!("error: {reason}"));
            return Outcome::Failed(reason);
        }
    };
    console::line(format!(
        "Worker process is ready (pid {pid}, port {port}) after {} ms",
        started.elapsed().as_millis()
    ));
    state.send_replace(WorkerState::Ready {
        port,
        pid,
        connection: connection.clone(),
    });

    let exited = tokio::select! {
        status = child.wait() => Ok(status.map_err(|e| format!("cannot wait for the worker process: {e}"))),
        why = connection.closed() => Ok(stream_ended(&mut child, why).await),
        request = requests.recv() => Err(request),
    };
    match exited {
        Ok(status) => {
            let reason = match status {
                Ok(status) => exit_reason(status),
                Err(reason) => reason,
            };
            state.send_replace(WorkerState::Starting);
            // Let the output readers print the last lines before the exit is reported.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let reason = with_stderr(reason, &stderr_tail);
            console::line(format!("error: {reason}"));
            Outcome::Failed(reason)
        }
        Err(request) => stop_for(request, &mut child, Some(&connection)).await,
    }
}

/// How long a worker whose stream ended has to exit on its own: a stream usually ends because
/// the process is dying, and its exit says more.
const EXIT_AFTER_STREAM: Duration = Duration::from_millis(500);

/// The exit of a worker whose gRPC stream ended: its own, or else an error saying the stream
/// ended (after stopping it, since the host counts that as a worker error and replaces it).
async fn stream_ended(child: &mut Child, why: String) -> Result<ExitStatus, String> {
    if let Ok(status) = tokio::time::timeout(EXIT_AFTER_STREAM, child.wait()).await {
        return status.map_err(|e| format!("cannot wait for the worker process: {e}"));
    }
    stop(child, None).await;
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    Err(format!("the worker ended its gRPC stream{why}; the host stopped it"))
}

async fn stop_for(request: Option<Request>, child: &mut Child, connection: Option<&Connection>) -> Outcome {
    stop(child, connection).await;
    match request {
        Some(Request::Restart(app)) => Outcome::Restart(app),
        Some(Request::Pause(done)) => Outcome::Pause(done),
        Some(Request::Shutdown(done)) => Outcome::Shutdown(done),
        None => {
            let (done, _) = tokio::sync::oneshot::channel();
            Outcome::Shutdown(done)
        }
    }
}

/// Stops the worker: a gRPC worker that handles `WorkerTerminate` gets it and its grace period
/// to exit, as from the real host; anything else is killed.
async fn stop(child: &mut Child, connection: Option<&Connection>) {
    if let Some(Connection::Grpc(channel)) = connection
        && channel.terminate()
        && tokio::time::timeout(grpc::TERMINATE_GRACE, child.wait()).await.is_ok()
    {
        return;
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
}

fn with_stderr(reason: String, tail: &Mutex<VecDeque<String>>) -> String {
    let lines: Vec<String> = tail.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default();
    if lines.is_empty() {
        reason
    } else {
        format!("{reason}; its last error output:\n    {}", lines.join("\n    "))
    }
}

/// Probes `GET /` every 25 ms until any HTTP answer, the timeout, or the child's exit.
async fn wait_until_ready(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + INITIALIZATION_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{} before it was ready", exit_reason(status)));
        }
        if probe(port).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "Initializing HttpWorker timed out: the worker did not answer GET / on port {port} within {} s",
                INITIALIZATION_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

/// One readiness probe: any HTTP answer (even an error status) means ready; a refused
/// connection means not yet. Other failures after connecting count as ready, as in the host.
async fn probe(port: u16) -> bool {
    let request = http::Request::get("/")
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .body(client::empty());
    let Ok(request) = request else { return false };
    match client::send(port, request, Some(Duration::from_secs(2))).await {
        Ok(_) | Err(client::ClientError::Exchange(_)) => true,
        Err(client::ClientError::Connect(_) | client::ClientError::Timeout) => false,
    }
}

/// The worker's command line, directory and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// Its working directory.
    pub directory: PathBuf,
    /// Variables added to the inherited environment.
    pub environment: BTreeMap<String, String>,
}

impl Launch {
    /// How the host would start the worker of `app` on `port`.
    pub fn new(app: &FunctionApp, port: u16) -> Launch {
        let worker_id = clock::new_guid();
        let mut environment = app.local.worker_environment();
        for (name, value) in [
            ("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string()),
            ("FUNCTIONS_CUSTOMHANDLER_WORKER_ID", worker_id.clone()),
            ("FUNCTIONS_HTTPWORKER_PORT", port.to_string()),
            ("FUNCTIONS_HTTPWORKER_ID", worker_id),
            ("FUNCTIONS_APP_ROOT_PATH", app.root.display().to_string()),
        ] {
            environment.insert(name.to_owned(), value);
        }
        let (program, arguments) = command(app, &environment);
        Launch {
            program,
            arguments,
            directory: resolve(&app.root, &app.handler.working_directory),
            environment,
        }
    }

    /// How the host starts a gRPC worker of `app`: the same
    /// executable and arguments, then the host's gRPC arguments in both spellings, in the app
    /// folder, with the native runtime's variables.
    ///
    /// azfn workers are also told not to offer `HttpUri`, since the local host sends HTTP
    /// requests as `RpcHttp` rather than forwarding them; a setting of that name in
    /// local.settings.json wins.
    pub fn grpc(app: &FunctionApp, port: u16, worker_id: &str, request_id: &str) -> Launch {
        let mut environment = BTreeMap::from([(azfn_wire::DISABLE_HTTP_URI_VARIABLE.to_owned(), "1".to_owned())]);
        environment.extend(app.local.worker_environment());
        let root = app.root.display().to_string();
        for (name, value) in [
            ("FUNCTIONS_WORKER_RUNTIME", "native".to_owned()),
            ("FUNCTIONS_WORKER_DIRECTORY", root.clone()),
            ("FUNCTIONS_APPLICATION_DIRECTORY", root.clone()),
            ("AzureWebJobsScriptRoot", root),
        ] {
            environment.insert(name.to_owned(), value);
        }
        let (program, mut arguments) = command(app, &environment);
        let max = grpc::MAX_MESSAGE_LENGTH.to_string();
        let uri = format!("http://127.0.0.1:{port}/");
        for (flag, value) in [
            ("--host", "127.0.0.1"),
            ("--port", &port.to_string()),
            ("--workerId", worker_id),
            ("--requestId", request_id),
            ("--grpcMaxMessageLength", &max),
            ("--functions-uri", &uri),
            ("--functions-worker-id", worker_id),
            ("--functions-request-id", request_id),
            ("--functions-grpc-max-message-length", &max),
        ] {
            arguments.push(flag.to_owned());
            arguments.push(value.to_owned());
        }
        Launch {
            program,
            arguments,
            directory: app.root.clone(),
            environment,
        }
    }

    /// The command line for the console.
    pub fn display(&self) -> String {
        let mut text = self.program.display().to_string();
        for argument in &self.arguments {
            text.push(' ');
            text.push_str(argument);
        }
        text
    }

    /// Starts the process, with its output printed line by line and the last error lines kept in
    /// `stderr_tail`.
    fn spawn(&self, stderr_tail: &Arc<Mutex<VecDeque<String>>>) -> Result<Child, String> {
        let mut child = Command::new(&self.program)
            .args(&self.arguments)
            .current_dir(&self.directory)
            .envs(&self.environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the worker `{}` in {}: {e}",
                    self.program.display(),
                    self.directory.display()
                )
            })?;
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward_lines(stdout, false, None));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_lines(stderr, true, Some(stderr_tail.clone())));
        }
        Ok(child)
    }
}

async fn forward_lines(stream: impl AsyncRead + Unpin, from_stderr: bool, tail: Option<Arc<Mutex<VecDeque<String>>>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        console::worker_output(&text, from_stderr);
        if let Some(tail) = &tail
            && let Ok(mut tail) = tail.lock()
        {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(text);
        }
    }
}

/// The program and arguments of host.json `customHandler.description`, with `%VAR%` expanded
/// from `environment`.
fn command(app: &FunctionApp, environment: &BTreeMap<String, String>) -> (PathBuf, Vec<String>) {
    let handler = &app.handler;
    let expand = |text: &str| expand_variables(text, environment);
    let worker_directory = resolve(&app.root, &handler.worker_directory);
    let executable = expand(&handler.executable);
    let candidate = worker_directory.join(&executable);
    // A relative path that exists under the worker directory is used from there; anything
    // else is a command looked up on PATH.
    let program = if candidate.is_file() {
        candidate
    } else {
        PathBuf::from(executable)
    };
    let mut line: Vec<String> = handler.arguments.clone();
    if let Some(worker_path) = &handler.worker_path {
        line.push(format!("\"{worker_path}\""));
    }
    line.extend(handler.worker_arguments.iter().cloned());
    // .NET joins the arguments into one string and splits it again.
    (program, split_command_line(&expand(&line.join(" "))))
}

/// `relative` resolved against `root`; empty means `root`.
fn resolve(root: &Path, relative: &str) -> PathBuf {
    if relative.is_empty() {
        root.to_owned()
    } else {
        root.join(relative)
    }
}

/// Replaces `%NAME%` with the variable's value from `variables` or this process's environment;
/// references to unset variables are deleted, as the host's `SanitizeExpandedArgument` does.
pub fn expand_variables(text: &str, variables: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('%') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('%') else { break };
        let name = &after[..close];
        out.push_str(&rest[..open]);
        if name.is_empty() || name.contains(char::is_whitespace) {
            // Not a reference: keep the first `%` and go on from the second.
            out.push('%');
            rest = after;
            continue;
        }
        if let Some(value) = variables.get(name).cloned().or_else(|| std::env::var(name).ok()) {
            out.push_str(&value);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Splits a command line as .NET does on Unix: whitespace separates arguments, double quotes
/// group, `\"` is a literal quote.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut current = String::new();
    let mut in_argument = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
                in_argument = true;
            }
            '"' => {
                quoted = !quoted;
                in_argument = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_argument {
                    arguments.push(std::mem::take(&mut current));
                    in_argument = false;
                }
            }
            c => {
                current.push(c);
                in_argument = true;
            }
        }
    }
    if in_argument {
        arguments.push(current);
    }
    arguments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::HandlerDescription;

    fn app(handler: HandlerDescription) -> FunctionApp {
        FunctionApp {
            root: PathBuf::from("/srv/app"),
            handler,
            route_prefix: "api".into(),
            local: crate::settings::LocalSettings {
                values: BTreeMap::from([("MY_SETTING".to_owned(), "on".to_owned())]),
                ..Default::default()
            },
            enable_auth: false,
            function_timeout: None,
            functions: vec![],
            routes: azfn_bindings::route::RouteTable::new::<&str>("api", []),
            problems: vec![],
        }
    }

    fn handler(executable: &str, arguments: &[&str]) -> HandlerDescription {
        HandlerDescription {
            executable: executable.into(),
            arguments: arguments.iter().map(|a| a.to_string()).collect(),
            worker_path: None,
            worker_arguments: vec![],
            working_directory: String::new(),
            worker_directory: String::new(),
        }
    }

    #[test]
    fn the_host_variables_and_settings_are_set() {
        let launch = Launch::new(&app(handler("quickstart", &[])), 5123);
        let env = &launch.environment;
        assert_eq!(env["FUNCTIONS_CUSTOMHANDLER_PORT"], "5123");
        assert_eq!(env["FUNCTIONS_HTTPWORKER_PORT"], "5123");
        assert_eq!(env["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"], env["FUNCTIONS_HTTPWORKER_ID"]);
        assert_eq!(env["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"].len(), 36);
        assert_eq!(env["FUNCTIONS_APP_ROOT_PATH"], "/srv/app");
        assert_eq!(env["MY_SETTING"], "on");
        assert_eq!(launch.directory, PathBuf::from("/srv/app"));
        assert!(launch.arguments.is_empty(), "no flags are added");
        // Not a file under the app root here, so it is a command on PATH.
        assert_eq!(launch.program, PathBuf::from("quickstart"));
    }

    #[test]
    fn grpc_workers_get_the_hosts_arguments() {
        let launch = Launch::grpc(&app(handler("quickstart", &["--verbose"])), 5000, "w-1", "r-1");
        let expected = [
            "--verbose",
            "--host",
            "127.0.0.1",
            "--port",
            "5000",
            "--workerId",
            "w-1",
            "--requestId",
            "r-1",
            "--grpcMaxMessageLength",
            "2147483647",
            "--functions-uri",
            "http://127.0.0.1:5000/",
            "--functions-worker-id",
            "w-1",
            "--functions-request-id",
            "r-1",
            "--functions-grpc-max-message-length",
            "2147483647",
        ];
        assert_eq!(launch.arguments, expected);
        let env = &launch.environment;
        assert_eq!(env["FUNCTIONS_WORKER_RUNTIME"], "native");
        assert_eq!(env["FUNCTIONS_APPLICATION_DIRECTORY"], "/srv/app");
        assert_eq!(env["AZFN_DISABLE_HTTP_URI"], "1");
        assert_eq!(env["MY_SETTING"], "on");
        assert!(!env.contains_key("FUNCTIONS_CUSTOMHANDLER_PORT"));
        assert_eq!(launch.directory, PathBuf::from("/srv/app"));
        // The parser of the runtime reads these arguments back.
        let parsed = azfn::native::parse_args(&launch.arguments).unwrap().unwrap();
        assert_eq!(parsed.worker_id, "w-1");
        assert_eq!(parsed.uri, "http://127.0.0.1:5000/");
    }

    #[test]
    fn arguments_are_expanded_joined_and_split() {
        let mut description = handler(
            "node",
            &["--port", "%FUNCTIONS_CUSTOMHANDLER_PORT%", "%NOT_SET_ANYWHERE_X%"],
        );
        description.worker_path = Some("server dir/index.js".into());
        description.worker_arguments = vec!["--flag".into()];
        description.working_directory = "work".into();
        let launch = Launch::new(&app(description), 7000);
        assert_eq!(launch.arguments, ["--port", "7000", "server dir/index.js", "--flag"]);
        assert_eq!(launch.directory, PathBuf::from("/srv/app/work"));
    }

    #[test]
    fn variable_expansion_rules() {
        let vars = BTreeMap::from([("A".to_owned(), "1".to_owned())]);
        assert_eq!(expand_variables("x%A%y", &vars), "x1y");
        assert_eq!(expand_variables("%NOPE_NOT_SET_Z%z", &vars), "z");
        assert_eq!(expand_variables("50% off", &vars), "50% off");
        assert_eq!(expand_variables("%%A%", &vars), "%1");
    }

    #[test]
    fn command_lines_split_like_dotnet() {
        assert_eq!(
            split_command_line("  a  \"b c\" d\\\"e \"\" "),
            ["a", "b c", "d\"e", ""]
        );
        assert!(split_command_line("").is_empty());
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port().unwrap();
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
