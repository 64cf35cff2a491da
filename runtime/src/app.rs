//! The app: what `main` starts.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use crate::custom_handler;
use crate::dispatch::{self, Pipeline};
use crate::extensions::Extensions;
use crate::function::{FunctionDescription, Registry};
use crate::logging;
use crate::manifest;
use crate::middleware::{Layer, Middleware, Predicate};

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

    pub(crate) fn into_pipeline(self) -> Pipeline {
        Pipeline {
            state: Arc::new(self.state),
            chain: self.chain.into(),
            deadline: self.deadline,
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
                dispatch::install(self.into_pipeline());
                let served = serve_transport(registry, &args, grace, options);
                // The worker has stopped and its in-flight invocations have ended (or the grace
                // period ran out): their spans are closed, and go out before the process exits.
                #[cfg(feature = "opentelemetry")]
                crate::opentelemetry::shutdown();
                served
            }
        }
    }
}

/// Serves the transport the host started this process for, until it stops.
fn serve_transport(
    registry: &'static Registry,
    args: &[String],
    grace: Duration,
    options: custom_handler::ServerOptions,
) -> Result<(), String> {
    // The native runtime starts the worker with its gRPC arguments; the custom
    // handler host with none.
    #[cfg(feature = "native")]
    if let Some(native_args) = crate::native::parse_args(args) {
        let mut native_args = native_args?;
        native_args.shutdown_grace = grace;
        return serve_native(registry, native_args);
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
    serve(registry, grace, options)
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
fn serve_native(registry: &'static Registry, args: crate::native::NativeArgs) -> Result<(), String> {
    // Keeps the marker in the executable: this path is reachable exactly when the transport is.
    std::hint::black_box(azfn_wire::NATIVE_TRANSPORT_MARKER);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(crate::native::run(args, registry, shutdown_signal()))
}

const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn serve(registry: &'static Registry, grace: Duration, options: custom_handler::ServerOptions) -> Result<(), String> {
    let port = custom_handler::port_from_env().map_err(|e| {
        format!("{e}\n  (the Functions host sets it when it starts the app; to run locally, write the app folder with `--write-app <dir>` and start the host there)")
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
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
