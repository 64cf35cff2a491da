//! The app: what `main` starts.

use std::fmt::Display;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use crate::custom_handler;
use crate::dispatch::{self, Pipeline};
use crate::extensions::Extensions;
use crate::function::{FunctionDescription, Registry};
use crate::invocation::Invocation;
use crate::logging;
use crate::manifest;
use crate::middleware::{Layer, Middleware, Predicate};
use crate::scoped::ScopedFactories;

/// A function app: every `#[function]` linked into the binary.
///
/// `run` looks at how the process was started:
/// - `--write-app <dir>`: writes the function app folder (host.json, function.json files,
///   local.settings.json, this executable) and exits;
/// - `--list`: prints the functions and their bindings and exits;
/// - otherwise: serves the custom-handler protocol on `127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT`,
///   as the Functions host expects, until SIGTERM or Ctrl-C.
///
/// ```no_run
/// fn main() {
///     azfn::App::new().run();
/// }
/// ```
#[derive(Default)]
pub struct App {
    state: Extensions,
    startup: Vec<StateFactory>,
    scoped: ScopedFactories,
    chain: Vec<Layer>,
    shutdown_grace: Option<Duration>,
    services: Vec<(String, String, crate::http_service::BoxedService)>,
    host: manifest::HostOptions,
    deadline: Option<Duration>,
    max_body_bytes: Option<usize>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("state", &self.state)
            .field("state_factories", &self.startup.len())
            .field("scoped", &self.scoped)
            .field("middleware", &self.chain.len())
            .finish()
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Serve,
    WriteApp(PathBuf),
    List,
    Help,
}

fn parse_mode(args: impl IntoIterator<Item = String>) -> Result<Mode, String> {
    let mut args = args.into_iter();
    let mut mode = Mode::Serve;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--write-app" => match args.next() {
                Some(dir) => mode = Mode::WriteApp(dir.into()),
                None => return Err("`--write-app` needs a folder: `--write-app <dir>`".into()),
            },
            "--list" => mode = Mode::List,
            "--help" | "-h" => mode = Mode::Help,
            // The host passes arguments from host.json; unknown ones are not ours to refuse.
            _ => {}
        }
    }
    Ok(mode)
}

const HELP: &str = "\
An Azure Functions app built with azfn.

USAGE:
    <app> --write-app <dir>   write the function app folder (host.json, function.json files,
                              local.settings.json, this executable) into <dir>
    <app> --list              list the functions and their bindings
    <app>                     serve the host on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT
";

impl App {
    /// The app of every function in this binary.
    pub fn new() -> Self {
        App::default()
    }

    /// Registers a shared value (a database pool, an SDK client), built before the first
    /// invocation; functions take it as a `State<T>` parameter. One value per type.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Registers a shared value built by an async factory (a database pool that connects, an SDK
    /// client that fetches a token, a cache warmed over the network); functions take it as a
    /// `State<T>` parameter, like a value given to [`App::state`].
    ///
    /// The factories run when the app starts serving, on its async runtime, all at once, before
    /// the worker tells the host it is ready: before the custom handler's port answers (the host
    /// polls it for 30 s by default, `customHandler.description`'s `initializationTimeout`), or,
    /// over gRPC, before the `WorkerInitResponse` (the host waits 10 s by default; the native
    /// runtime's worker config allows 2 min). They take no argument: what they need comes from
    /// the environment (`std::env::var`), where the host puts the app's settings. `--write-app`
    /// and `--list` do not run them.
    ///
    /// A factory's `Err` (or panic) stops start-up: the process prints
    /// `azfn: start-up failed: <type>: <error>` to stderr, which the host logs, and exits non-zero
    /// (over gRPC the `WorkerInitResponse` says `Failure` with that message first). Tests run the
    /// factories with [`TestApp::start`](crate::testing::TestApp::start).
    ///
    /// ```no_run
    /// # struct Pool;
    /// # impl Pool { async fn connect(_: &str) -> Result<Pool, std::io::Error> { Ok(Pool) } }
    /// azfn::App::new()
    ///     .state_async(|| async {
    ///         let url = std::env::var("DATABASE_URL").map_err(|_| "the setting DATABASE_URL is missing".to_owned())?;
    ///         Pool::connect(&url).await.map_err(|e| e.to_string())
    ///     })
    ///     .run();
    /// ```
    pub fn state_async<T, E, F, Fut>(mut self, factory: F) -> Self
    where
        T: Send + Sync + 'static,
        E: Display,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.startup.push(StateFactory {
            service: std::any::type_name::<T>(),
            build: Box::new(move || {
                Box::pin(async move {
                    let value = factory().await.map_err(|e| e.to_string())?;
                    Ok(Box::new(move |state: &mut Extensions| state.insert(value)) as StateInserter)
                })
            }),
        });
        self
    }

    /// Registers a per-invocation service: `factory` builds a `T` for each invocation of a
    /// function that takes a [`Scoped<T>`](crate::Scoped) parameter, from the invocation (its
    /// id, metadata, trigger, and the app's state through `invocation.state`), when that
    /// parameter is read. The function owns the value: it is dropped when the function returns,
    /// before the answer leaves, so a unit of work can roll back in its `Drop` unless committed.
    ///
    /// A factory's `Err` fails that invocation only, with an error naming `T`. One factory per
    /// type; a later one replaces an earlier one.
    ///
    /// ```
    /// use azfn::Invocation;
    /// struct CallerTag(String);
    /// let app = azfn::App::new().scoped(|invocation: &Invocation| {
    ///     Ok::<_, std::convert::Infallible>(CallerTag(invocation.invocation_id.clone()))
    /// });
    /// # let _ = app;
    /// ```
    pub fn scoped<T, E, F>(mut self, factory: F) -> Self
    where
        T: Send + 'static,
        E: Display,
        F: Fn(&Invocation) -> Result<T, E> + Send + Sync + 'static,
    {
        ScopedFactories::add_sync(&mut self.state, factory);
        self
    }

    /// Registers a per-invocation service with an async factory (a unit of work that opens a
    /// transaction, a client that exchanges the caller's token). Parameters are read
    /// synchronously, so the value is built before the middleware of **every** invocation (use
    /// [`App::scoped_async_for`] to build it only for the functions that take it), and waits in
    /// the invocation for the function's [`Scoped<T>`](crate::Scoped) parameter, or is dropped
    /// at the invocation's end. `factory` reads what it needs from the invocation and returns a
    /// future that owns it. Failing, it fails that invocation only.
    ///
    /// ```
    /// use azfn::Invocation;
    /// struct UnitOfWork { invocation_id: String }
    /// let app = azfn::App::new().scoped_async(|invocation: &Invocation| {
    ///     let invocation_id = invocation.invocation_id.clone();
    ///     async move { Ok::<_, String>(UnitOfWork { invocation_id }) }
    /// });
    /// # let _ = app;
    /// ```
    pub fn scoped_async<T, E, F, Fut>(mut self, factory: F) -> Self
    where
        T: Send + 'static,
        E: Display,
        F: Fn(&Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.scoped.add_async(&mut self.state, None, factory);
        self
    }

    /// [`App::scoped_async`] for the functions `applies_to` accepts only (as
    /// [`App::middleware_for`] chooses them); a function it does not apply to that takes
    /// `Scoped<T>` fails with an error saying so.
    pub fn scoped_async_for<T, E, F, Fut>(
        mut self,
        applies_to: impl Fn(&FunctionDescription) -> bool + Send + Sync + 'static,
        factory: F,
    ) -> Self
    where
        T: Send + 'static,
        E: Display,
        F: Fn(&Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.scoped
            .add_async(&mut self.state, Some(Arc::new(applies_to)), factory);
        self
    }

    /// Adds a middleware that runs around every function, after those added before it.
    pub fn middleware(self, middleware: impl Middleware) -> Self {
        self.push_layer(None, middleware)
    }

    /// Adds a middleware that runs around the functions `applies_to` accepts (by name,
    /// trigger, bindings: anything in the description).
    ///
    /// ```
    /// use azfn::{App, Invocation, Next};
    /// let app = App::new().middleware_for(
    ///     |f| f.trigger().kind.is_http_trigger(),
    ///     |invocation: Invocation, next: Next| async move {
    ///         let mut result = next.run(invocation).await;
    ///         if let Some(response) = result.as_mut().ok().and_then(|o| o.http_response_mut()) {
    ///             *response = response.clone().header("x-served-by", "azfn");
    ///         }
    ///         result
    ///     },
    /// );
    /// # let _ = app;
    /// ```
    pub fn middleware_for(
        self,
        applies_to: impl Fn(&FunctionDescription) -> bool + Send + Sync + 'static,
        middleware: impl Middleware,
    ) -> Self {
        self.push_layer(Some(Arc::new(applies_to)), middleware)
    }

    fn push_layer(mut self, applies_to: Option<Predicate>, middleware: impl Middleware) -> Self {
        self.chain.push(Layer {
            applies_to,
            middleware: Arc::new(middleware),
        });
        self
    }

    /// Mounts an HTTP service (an `axum::Router`, any tower `Service`) as the function `name`,
    /// serving every request under `<routePrefix>/<prefix>/`; the service sees paths without
    /// those prefixes. Any number of services may be mounted, under different prefixes.
    ///
    /// ```no_run
    /// # async fn list() -> &'static str { "[]" }
    /// let router = axum::Router::new().route("/items", axum::routing::get(list));
    /// azfn::App::new().http_service("shop-api", "shop", router).run();
    /// ```
    pub fn http_service<S, B>(mut self, name: &str, prefix: &str, service: S) -> Self
    where
        S: tower_service::Service<http::Request<crate::http_service::ServiceBody>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: std::fmt::Display + Send + 'static,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: std::fmt::Display,
    {
        self.services
            .push((name.to_owned(), prefix.to_owned(), crate::http_service::boxed(service)));
        self
    }

    /// Adds the app's own functions (mounted services) to the registry. Idempotent per app.
    pub(crate) fn register_functions(&mut self) -> Result<(), String> {
        for (name, prefix, service) in self.services.drain(..) {
            crate::bindings::validate::check_function_name(&name)
                .map_err(|p| format!("`http_service`: {}", p.message))?;
            crate::function::add_app_function(crate::http_service::mount(&name, &prefix, service));
        }
        Ok(())
    }

    /// Asks the host to forward the requests of HTTP-only functions as they are
    /// (`enableForwardingHttpRequest` in the host.json `--write-app` writes): raw bodies of any
    /// type and size, no JSON envelope. Functions with other bindings still get the envelope.
    pub fn forward_http_requests(mut self) -> Self {
        self.host.forward_http_requests = true;
        self
    }

    /// Asks newer hosts to proxy the requests of HTTP-only functions to the worker
    /// (`enableProxyingHttpRequest`): like forwarding, the request arrives as it came from the
    /// client, at its original path, and is served the same way.
    pub fn proxy_http_requests(mut self) -> Self {
        self.host.proxy_http_requests = true;
        self
    }

    /// Fails an invocation that runs longer than `deadline`: its cancellation token fires, its
    /// task is stopped, and the host gets a failure (its caller gets `504` from forwarded, proxied or
    /// `HttpUri` requests; through the JSON envelope the host answers `500`). Without
    /// it, only the host's `functionTimeout` applies, which restarts the whole worker.
    pub fn invocation_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The largest request body the worker reads (default 100 MiB); larger ones are answered
    /// `413 Payload Too Large`.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = Some(limit);
        self
    }

    /// How long in-flight invocations may take to finish after SIGTERM (default 10 s; the
    /// host's own grace period is longer).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    /// Splits the app into what start-up runs and the pipeline it completes.
    pub(crate) fn into_startup(self) -> Startup {
        Startup {
            factories: self.startup,
            state: self.state,
            chain: self.chain.into(),
            deadline: self.deadline,
            scoped: self.scoped,
        }
    }

    /// Runs the app (see [`App`]) and exits the process with its status.
    pub fn run(self) {
        let code = self.run_with_args(std::env::args().skip(1));
        std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
    }

    /// Runs the app with explicit arguments and returns its exit status.
    pub fn run_with_args(self, args: impl IntoIterator<Item = String>) -> ExitCode {
        match self.try_run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("azfn: {message}");
                ExitCode::FAILURE
            }
        }
    }

    fn try_run(mut self, args: impl IntoIterator<Item = String>) -> Result<(), String> {
        let args: Vec<String> = args.into_iter().collect();
        let mode = parse_mode(args.iter().cloned())?;
        if mode == Mode::Help {
            print!("{HELP}");
            return Ok(());
        }
        self.register_functions()?;
        // Duplicate names are refused before anything else, whatever the mode.
        let registry = Registry::global().map_err(|e| e.to_string())?;
        match mode {
            Mode::WriteApp(dir) => write_app(registry, &dir, self.host),
            Mode::List => {
                for function in registry.functions() {
                    println!("{} ({})", function.name, function.rust_path);
                    println!("  {}", crate::manifest::function_json(function));
                }
                Ok(())
            }
            Mode::Serve | Mode::Help => {
                let grace = self.shutdown_grace.unwrap_or(DEFAULT_SHUTDOWN_GRACE);
                let options = custom_handler::ServerOptions {
                    max_body_bytes: self
                        .max_body_bytes
                        .unwrap_or(custom_handler::ServerOptions::default().max_body_bytes),
                };
                // Export starts before the subscriber is built, which then carries its layer.
                #[cfg(feature = "opentelemetry")]
                {
                    if let Err(error) = crate::opentelemetry::init() {
                        eprintln!("azfn: {error}");
                    }
                    crate::opentelemetry::init_default_subscriber();
                }
                logging::init_default();
                let served = serve_transport(registry, &args, grace, options, self.into_startup());
                // The worker has stopped and its in-flight invocations have ended (or the grace
                // period ran out): their spans are closed, and go out before the process exits.
                #[cfg(feature = "opentelemetry")]
                crate::opentelemetry::shutdown();
                served
            }
        }
    }
}

/// A value an async state factory built, ready to join the app's state.
type StateInserter = Box<dyn FnOnce(&mut Extensions) + Send>;

/// An async state factory's future.
type StateBuilding = Pin<Box<dyn Future<Output = Result<StateInserter, String>> + Send>>;

/// One async state factory ([`App::state_async`]), its type erased.
struct StateFactory {
    /// The type it builds, to name it when it fails.
    service: &'static str,
    build: Box<dyn FnOnce() -> StateBuilding + Send>,
}

/// Why the app could not start: an async state factory ([`App::state_async`]) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    /// The type the factory builds.
    pub service: String,
    /// Its error (or its panic's message).
    pub message: String,
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "start-up failed: {}: {}", self.service, self.message)
    }
}

impl std::error::Error for StartupError {}

/// What runs when the app starts serving: the async state factories, which complete the
/// pipeline every invocation goes through.
pub(crate) struct Startup {
    factories: Vec<StateFactory>,
    state: Extensions,
    chain: Arc<[Layer]>,
    deadline: Option<Duration>,
    scoped: ScopedFactories,
}

impl Startup {
    /// The pipeline, for an app without async factories; `None` when it has some, which only
    /// [`Startup::run`] can run.
    pub(crate) fn without_factories(self) -> Option<Pipeline> {
        self.factories.is_empty().then(|| self.pipeline())
    }

    fn pipeline(self) -> Pipeline {
        Pipeline {
            state: Arc::new(self.state),
            chain: self.chain,
            deadline: self.deadline,
            scoped: self.scoped,
        }
    }

    /// Runs the factories concurrently, each on its own task of the current runtime, and adds
    /// their values to the state (in registration order, so a later factory of a type wins, as
    /// with [`App::state`]). The first failure, in registration order, is the error.
    pub(crate) async fn run(mut self) -> Result<Pipeline, StartupError> {
        let tasks: Vec<_> = std::mem::take(&mut self.factories)
            .into_iter()
            .map(|factory| (factory.service, tokio::spawn((factory.build)())))
            .collect();
        let mut built = Vec::with_capacity(tasks.len());
        let mut failure = None;
        for (service, task) in tasks {
            let outcome = match task.await {
                Ok(outcome) => outcome,
                Err(join) => Err(match join.try_into_panic() {
                    Ok(payload) => format!("the factory panicked: {}", dispatch::panic_message(&*payload)),
                    Err(join) => format!("the factory did not finish: {join}"),
                }),
            };
            match outcome {
                Ok(insert) => built.push(insert),
                Err(message) => {
                    failure.get_or_insert(StartupError {
                        service: service.to_owned(),
                        message,
                    });
                }
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }
        for insert in built {
            insert(&mut self.state);
        }
        Ok(self.pipeline())
    }

    /// Runs the factories and installs the pipeline for [`dispatch::invoke`]: what must happen
    /// before the worker reports ready.
    pub(crate) async fn install(self) -> Result<(), StartupError> {
        dispatch::install(self.run().await?);
        Ok(())
    }
}

/// The async runtime the app serves on: the one place it is built.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Serves the transport the host started this process for, until it stops.
fn serve_transport(
    registry: &'static Registry,
    args: &[String],
    grace: Duration,
    options: custom_handler::ServerOptions,
    startup: Startup,
) -> Result<(), String> {
    // The native runtime starts the worker with its gRPC arguments; the custom
    // handler host with none.
    #[cfg(feature = "native")]
    if let Some(native_args) = crate::native::parse_args(args) {
        let mut native_args = native_args?;
        native_args.shutdown_grace = grace;
        return serve_native(registry, native_args, startup);
    }
    #[cfg(not(feature = "native"))]
    if args
        .iter()
        .any(|a| a.starts_with("--functions-worker-id") || a.starts_with("--workerId"))
    {
        return Err(
            "the host started this app as a gRPC (native runtime) worker; enable azfn's `native` feature".into(),
        );
    }
    serve(registry, grace, options, startup)
}

fn write_app(registry: &'static Registry, dir: &std::path::Path, host: manifest::HostOptions) -> Result<(), String> {
    if registry.is_empty() {
        return Err("this binary has no functions: mark at least one fn with `#[azfn::function(...)]`".into());
    }
    let executable = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let written = manifest::write_app(dir, registry, &executable, host)
        .map_err(|e| format!("cannot write the function app folder {}: {e}", dir.display()))?;
    println!(
        "azfn: wrote {} function{} to {}",
        registry.len(),
        if registry.len() == 1 { "" } else { "s" },
        dir.display()
    );
    for removed in &written.removed {
        println!("azfn: removed `{removed}`, which this app no longer has");
    }
    Ok(())
}

/// Serves the host's gRPC language-worker protocol (the native runtime) until it ends.
#[cfg(feature = "native")]
fn serve_native(registry: &'static Registry, args: crate::native::NativeArgs, startup: Startup) -> Result<(), String> {
    // Keeps the marker in the executable: this path is reachable exactly when the transport is.
    std::hint::black_box(azfn_wire::NATIVE_TRANSPORT_MARKER);
    let runtime = runtime()?;
    // The factories run when the host's `WorkerInitRequest` arrives, before the answer.
    let starting: crate::native::Starting = Box::pin(async move { startup.install().await.map_err(|e| e.to_string()) });
    // On a worker thread, not the one blocked on: the read loop then spawns each invocation onto
    // its own thread's queue, where it runs next, and allocates and frees on one thread. From the
    // blocked-on thread, every message would wake a worker through the shared queue, and memory
    // decoded there would be freed on another thread (glibc's arenas then contend).
    let serving = runtime.spawn(crate::native::run_starting(
        args,
        registry,
        Some(starting),
        shutdown_signal(),
    ));
    runtime.block_on(serving).unwrap_or_else(|error| {
        Err(match error.try_into_panic() {
            Ok(payload) => format!(
                "the worker's read loop panicked: {}",
                dispatch::panic_message(&*payload)
            ),
            Err(error) => format!("the worker's read loop stopped: {error}"),
        })
    })
}

const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn serve(
    registry: &'static Registry,
    grace: Duration,
    options: custom_handler::ServerOptions,
    startup: Startup,
) -> Result<(), String> {
    let port = custom_handler::port_from_env().map_err(|e| {
        format!("{e}\n  (the Functions host sets it when it starts the app; to run locally, write the app folder with `--write-app <dir>` and start the host there)")
    })?;
    let runtime = runtime()?;
    runtime.block_on(async move {
        // The host takes the first answer on the port as "ready": the factories run before the
        // listener exists.
        startup.install().await.map_err(|e| e.to_string())?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        let stopping = Arc::new(tokio::sync::Notify::new());
        let signal = {
            let stopping = Arc::clone(&stopping);
            async move {
                shutdown_signal().await;
                // Stop taking invocations (the server stops accepting), and tell the running
                // ones to finish: their cancellation tokens fire.
                eprintln!(
                    "azfn: shutting down; {} invocation(s) in flight",
                    dispatch::in_flight_count()
                );
                dispatch::cancel_in_flight();
                stopping.notify_one();
            }
        };
        let server = custom_handler::serve_with(listener, registry, options, signal);
        let deadline = async {
            stopping.notified().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server => served.map_err(|e| format!("the server stopped: {e}")),
            () = deadline => {
                eprintln!("azfn: {} invocation(s) still running after {grace:?}; exiting", dispatch::in_flight_count());
                Ok(())
            }
        }
    })
}

/// Resolves on SIGTERM (how the host stops a worker) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn modes_come_from_the_command_line() {
        assert_eq!(parse_mode(args(&[])), Ok(Mode::Serve));
        assert_eq!(
            parse_mode(args(&["--write-app", "out"])),
            Ok(Mode::WriteApp("out".into()))
        );
        assert_eq!(parse_mode(args(&["--list"])), Ok(Mode::List));
        assert!(parse_mode(args(&["--write-app"])).is_err());
        // Arguments the host passes from host.json are not refused.
        assert_eq!(parse_mode(args(&["--port", "7071"])), Ok(Mode::Serve));
    }
}

#[cfg(all(test, not(feature = "native")))]
mod native_tests {
    use super::*;

    #[test]
    fn a_grpc_launch_without_the_native_feature_says_which_feature_to_enable() {
        let args = [
            "--functions-uri",
            "http://127.0.0.1:5000",
            "--functions-worker-id",
            "w1",
        ]
        .map(String::from);
        assert_eq!(App::new().run_with_args(args), ExitCode::FAILURE);
    }
}
