//! The HTTP/1.1 server the host talks to: readiness on `GET /`, invocations on
//! `POST /{FunctionName}`.

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::forwarding::{self, ForwardRoutes, route_prefix_from_host_json};
use super::protocol;
use crate::error::InvocationError;
use crate::function::{FunctionDescription, Registry};
use crate::http::ResponseBody;
use crate::{RequestBody, dispatch, loopback};

/// The variables holding the port, in the order they are read: the current name, then the
/// legacy one (both are set by every host).
const PORT_VARIABLES: [&str; 2] = ["FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_HTTPWORKER_PORT"];

/// The header carrying the host's invocation id.
const INVOCATION_ID_HEADER: HeaderName = HeaderName::from_static("x-azure-functions-invocationid");

type Body = ResponseBody;

/// The port the host could not hand over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortError {
    /// Neither `FUNCTIONS_CUSTOMHANDLER_PORT` nor `FUNCTIONS_HTTPWORKER_PORT` is set: the app
    /// was not started by the Functions host.
    NotSet,
    /// A variable is set, but not to a TCP port number.
    Invalid {
        /// The variable read.
        variable: &'static str,
        /// Its value.
        value: String,
    },
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::NotSet => write!(f, "neither {} nor {} is set", PORT_VARIABLES[0], PORT_VARIABLES[1]),
            PortError::Invalid { variable, value } => {
                write!(
                    f,
                    "{variable} is {value:?}, which is not a TCP port number (1 to 65535)"
                )
            }
        }
    }
}

impl std::error::Error for PortError {}

/// The port the host assigned: `FUNCTIONS_CUSTOMHANDLER_PORT`, else `FUNCTIONS_HTTPWORKER_PORT`.
///
/// An empty variable counts as unset. When the first variable is set, its value decides: an
/// invalid value is an error even if the second one is fine.
///
/// # Errors
///
/// [`PortError::NotSet`] when neither variable is set, [`PortError::Invalid`] when the one read
/// is not a number from 1 to 65535.
///
/// ```
/// match azfn::custom_handler::port_from_env() {
///     Ok(port) => println!("the host expects us on 127.0.0.1:{port}"),
///     Err(error) => eprintln!("{error}"),
/// }
/// ```
pub fn port_from_env() -> Result<u16, PortError> {
    port_from(|variable| std::env::var_os(variable))
}

/// [`port_from_env`] with the environment passed in, so it can be tested.
fn port_from(lookup: impl Fn(&str) -> Option<OsString>) -> Result<u16, PortError> {
    for variable in PORT_VARIABLES {
        let Some(raw) = lookup(variable) else { continue };
        let value = raw.to_string_lossy();
        if value.trim().is_empty() {
            continue;
        }
        return match value.trim().parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(PortError::Invalid {
                variable,
                value: value.into_owned(),
            }),
        };
    }
    Err(PortError::NotSet)
}

/// Serves the custom-handler protocol on `listener` until `shutdown` resolves.
///
/// - `GET /` (and `HEAD /`) answers `200` at once: the host's readiness probe and ping.
/// - `POST /{function}` runs one invocation of the function of `registry` with that name
///   (compared case-insensitively) and answers `200` with the JSON response envelope.
/// - Failures answer with a JSON body `{"error": "..."}` and a line on stderr: `404` for an
///   unknown function or path, `405` for a wrong method, `400` for a request or binding that
///   cannot be read, `500` when the function returns `Err`, panics, times out, or writes an
///   output that cannot be encoded — an HTTP function included, unless its error carries a
///   status (then that response is its answer, with `200`). The host records any non-2xx as a
///   failed invocation. The server keeps serving after every failure.
/// - Forwarded requests (HTTP-only functions, whose requests the host relays as they came)
///   are answered with the function's response as it is; a failure answers the caller a bare
///   `500` (`504` for the app's deadline), its details on stderr.
///
/// Connections are HTTP/1.1 with keep-alive, each on its own task, so invocations run
/// concurrently. When `shutdown` resolves the listener is closed, every connection finishes the
/// request it is serving, and then `serve` returns `Ok(())`.
///
/// The caller chooses the address; the host connects to `127.0.0.1`.
///
/// # Errors
///
/// None at present: failing accepts are reported on stderr and retried. The `Result` leaves room
/// for failures that should stop the worker.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let registry = azfn::Registry::global().expect("function names are unique");
/// let port = azfn::custom_handler::port_from_env().expect("started by the host");
/// let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
/// let ctrl_c = async {
///     let _ = tokio::signal::ctrl_c().await;
/// };
/// azfn::custom_handler::serve(listener, registry, ctrl_c).await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    registry: &'static Registry,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    serve_with(listener, registry, ServerOptions::default(), shutdown).await
}

/// Limits of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// The largest request body read; a larger one is answered `413 Payload Too Large`.
    pub max_body_bytes: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        // The host's own HTTP limit is 100 MB; a larger invocation body cannot be legitimate.
        ServerOptions {
            max_body_bytes: 100 * 1024 * 1024,
        }
    }
}

/// [`serve`] with explicit [`ServerOptions`].
pub async fn serve_with(
    listener: TcpListener,
    registry: &'static Registry,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let forwarded = Arc::new(ForwardRoutes::new(registry, &route_prefix_from_host_json()));
    let handler = move |request| route(request, registry, &forwarded, options);
    loopback::serve(listener, handler, shutdown, "the host").await;
    Ok(())
}

/// The answer to one request, on its way.
///
/// Boxed: hyper moves its service's futures around, and an invocation's state is large.
type Answer = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Tells at once what a request is; the future returned does the rest.
fn route(
    request: Request<Incoming>,
    registry: &'static Registry,
    forwarded: &ForwardRoutes,
    options: ServerOptions,
) -> Answer {
    let path = request.uri().path().trim_matches('/');
    // Invocations are `POST /{function}`; anything else a function route claims is a request
    // the host forwarded as it came from the client.
    let invoked = match request.method() == Method::POST && !path.contains('/') {
        true => registry.get(path),
        false => None,
    };
    if let Some(function) = invoked {
        return Box::pin(invoke(function, request, options));
    }
    if let Some((function, values)) = forwarded.find(request.method(), request.uri().path()) {
        return Box::pin(forward(function, values, request, options));
    }
    Box::pin(std::future::ready(not_routed(request.method(), path, registry)))
}

/// The answer to a request that is neither an invocation nor a forwarded request.
fn not_routed(method: &Method, path: &str, registry: &Registry) -> Response<Body> {
    if path.is_empty() {
        return if matches!(*method, Method::GET | Method::HEAD) {
            ready()
        } else {
            method_not_allowed(method, "/", "GET, HEAD")
        };
    }
    if path.contains('/') {
        return report(
            StatusCode::NOT_FOUND,
            &format!("no route for /{path}: invocations are sent as POST /{{FunctionName}}"),
        );
    }
    if registry.get(path).is_none() {
        return report(
            StatusCode::NOT_FOUND,
            &InvocationError::UnknownFunction(path.to_owned()).to_string(),
        );
    }
    // A function's path, not posted (every `POST` to one was invoked above).
    method_not_allowed(method, &format!("/{path}"), "POST")
}

/// Runs a forwarded request through the function and answers with its HTTP response as it is.
///
/// (Like [`invoke`], a plain function returning the future, so that the request is moved into
/// it once: an `async fn` would hold its argument twice.)
fn forward(
    function: &'static FunctionDescription,
    values: Vec<(String, String)>,
    request: Request<Incoming>,
    options: ServerOptions,
) -> impl Future<Output = Response<Body>> + Send {
    let invocation_id = invocation_id(request.headers());
    let trace = trace_context(request.headers());
    let (parts, body) = request.into_parts();
    async move {
        let limit = options.max_body_bytes;
        // A function that streams its body is invoked now, and reads the body as it arrives.
        let mut invocation = if function.streams_request_body {
            let mut invocation = forwarding::invocation(function, invocation_id.clone(), parts, values, Bytes::new());
            invocation.attach_request_body(RequestBody::from_body(body).limited(limit));
            invocation
        } else {
            let body = match loopback::read_body(body, limit).await {
                Ok(body) => body,
                Err(error) => return error_response(status_for(&error), &error.to_string()),
            };
            forwarding::invocation(function, invocation_id.clone(), parts, values, body)
        };
        invocation.trace = trace;
        let answered = dispatch::invoke(invocation).await.map(|outputs| {
            // No envelope carries the invocation's log lines back: the console does, which the
            // host keeps (a failure's lines are written there by `dispatch::invoke`).
            if !outputs.logs.is_empty() {
                crate::logging::replay_to_console(function.name, &invocation_id, &outputs.logs);
            }
            into_http_response(outputs)
        });
        match answered {
            // A streamed body goes out chunk by chunk, as the function sends it.
            Ok(Some(response)) => response.into_hyper(),
            Ok(None) => Response::new(ResponseBody::Whole(None)),
            // The host relays this answer as it is, so a failure is told to the caller here:
            // a bare 500, the details on stderr (written by `dispatch::invoke`), which the host
            // logs at Error. The host itself records a completed invocation: in this mode it
            // sees only an HTTP exchange.
            Err(error) => dispatch::failure_response(&error).into_hyper(),
        }
    }
}

/// The HTTP response, wherever the function put it, moved out of the outputs (the first one
/// [`Outputs::http_response`](crate::Outputs::http_response) finds).
fn into_http_response(outputs: crate::Outputs) -> Option<crate::HttpResponse> {
    let named = outputs.named.into_iter().map(|(_, value)| value);
    outputs
        .return_value
        .into_iter()
        .chain(named)
        .find_map(|value| match value {
            crate::OutputValue::Http(response) => Some(response),
            _ => None,
        })
}

/// Runs one invocation: body → [`Invocation`](crate::Invocation) → the function → response.
fn invoke(
    function: &'static FunctionDescription,
    request: Request<Incoming>,
    options: ServerOptions,
) -> impl Future<Output = Response<Body>> + Send {
    let invocation_id = invocation_id(request.headers());
    let trace = trace_context(request.headers());
    let body = request.into_body();
    async move {
        let body = match loopback::read_body(body, options.max_body_bytes).await {
            Ok(body) => body,
            Err(error) => return report_failure(function, &invocation_id, &error),
        };
        let mut invocation = match protocol::decode_request(function, invocation_id.clone(), &body) {
            Ok(invocation) => invocation,
            Err(error) => return report_failure(function, &invocation_id, &error),
        };
        invocation.trace = trace;
        let mut outputs = match dispatch::invoke(invocation).await {
            Ok(outputs) => outputs,
            // `dispatch::invoke` has written the stderr line already.
            Err(error) => return error_response(status_for(&error), &error.to_string()),
        };
        keep_levels(function.name, &invocation_id, &mut outputs.logs);
        // The envelope carries whole bodies; the rare streamed one is read in a future of its
        // own, which every invocation would otherwise carry.
        if outputs.has_streamed_bodies() {
            Box::pin(outputs.collect_streamed_bodies()).await;
        }
        match protocol::encode_response(function, &outputs) {
            Ok(envelope) => json_response(StatusCode::OK, envelope),
            Err(error) => report_failure(function, &invocation_id, &error),
        }
    }
}

/// Moves warnings and errors out of the envelope's `Logs`, which the host logs at Information
/// whatever they say, to stderr, which it logs at Warning (a line containing "warn") or Error;
/// the other lines stay in `Logs`, tied to the invocation.
fn keep_levels(function: &str, invocation_id: &str, logs: &mut Vec<crate::LogLine>) {
    let is_high = |line: &crate::LogLine| line.level() <= tracing::Level::WARN;
    if logs.iter().any(is_high) {
        let (high, rest): (Vec<_>, Vec<_>) = std::mem::take(logs).into_iter().partition(is_high);
        *logs = rest;
        crate::logging::replay_to_console(function, invocation_id, &high);
    }
}

/// The host's invocation id, or a fresh one for callers that send none.
fn invocation_id(headers: &HeaderMap) -> String {
    headers
        .get(&INVOCATION_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map_or_else(generated_invocation_id, str::to_owned)
}

/// The W3C trace context the host's HTTP client sends with its request to the worker (its
/// current activity's `traceparent` and `tracestate`), if any: the envelope itself carries none.
fn trace_context(headers: &HeaderMap) -> Option<crate::TraceContext> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let trace_parent = text("traceparent").filter(|value| !value.is_empty())?;
    Some(crate::TraceContext {
        trace_parent: trace_parent.to_owned(),
        trace_state: text("tracestate").unwrap_or_default().to_owned(),
        attributes: Default::default(),
    })
}

/// Unique across the process (a counter) and across restarts (the process start time and id).
fn generated_invocation_id() -> String {
    static STARTED: OnceLock<u128> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let started = STARTED.get_or_init(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    let sequence = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("azfn-{started:x}-{:x}-{sequence}", std::process::id())
}

fn status_for(error: &InvocationError) -> StatusCode {
    match error {
        InvocationError::UnknownFunction(_) => StatusCode::NOT_FOUND,
        InvocationError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        error if error.is_bad_input() => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn ready() -> Response<Body> {
    let mut response = Response::new(Body::from("azfn custom handler ready\n"));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn method_not_allowed(method: &Method, path: &str, allowed: &'static str) -> Response<Body> {
    let mut response = report(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method} is not served on {path}; use {allowed}"),
    );
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

/// Writes the stderr line for a failed invocation, which the host logs as an error, and the
/// response for it.
fn report_failure(function: &FunctionDescription, invocation_id: &str, error: &InvocationError) -> Response<Body> {
    eprintln!(
        "azfn: function `{}` invocation {invocation_id} failed: {error}",
        function.name
    );
    error_response(status_for(error), &error.to_string())
}

/// Writes the stderr line and the response for a request that is not an invocation.
fn report(status: StatusCode, message: &str) -> Response<Body> {
    eprintln!("azfn: {message}");
    error_response(status, message)
}

fn error_response(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, serde_json::json!({ "error": message }).to_string().into_bytes())
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port_with(variables: &[(&str, &str)]) -> Result<u16, PortError> {
        port_from(|name| {
            variables
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn the_custom_handler_port_wins_and_the_legacy_one_is_the_fallback() {
        assert_eq!(
            port_with(&[
                ("FUNCTIONS_CUSTOMHANDLER_PORT", "4001"),
                ("FUNCTIONS_HTTPWORKER_PORT", "4002")
            ]),
            Ok(4001)
        );
        assert_eq!(port_with(&[("FUNCTIONS_HTTPWORKER_PORT", "4002")]), Ok(4002));
        assert_eq!(
            port_with(&[
                ("FUNCTIONS_CUSTOMHANDLER_PORT", " "),
                ("FUNCTIONS_HTTPWORKER_PORT", "4002")
            ]),
            Ok(4002)
        );
    }

    #[test]
    fn missing_and_invalid_ports_say_which_variable_and_why() {
        let not_set = port_with(&[]).expect_err("no port");
        assert_eq!(not_set, PortError::NotSet);
        assert_eq!(
            not_set.to_string(),
            "neither FUNCTIONS_CUSTOMHANDLER_PORT nor FUNCTIONS_HTTPWORKER_PORT is set"
        );
        for bad in ["abc", "0", "65536", "-1"] {
            let error = port_with(&[
                ("FUNCTIONS_CUSTOMHANDLER_PORT", bad),
                ("FUNCTIONS_HTTPWORKER_PORT", "4002"),
            ])
            .expect_err("invalid port");
            assert_eq!(
                error,
                PortError::Invalid {
                    variable: "FUNCTIONS_CUSTOMHANDLER_PORT",
                    value: bad.to_owned()
                }
            );
            assert_eq!(
                error.to_string(),
                format!("FUNCTIONS_CUSTOMHANDLER_PORT is {bad:?}, which is not a TCP port number (1 to 65535)")
            );
        }
    }

    #[test]
    fn invocation_ids_come_from_the_header_or_are_generated_uniquely() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Azure-Functions-InvocationId", HeaderValue::from_static("abc-123"));
        assert_eq!(invocation_id(&headers), "abc-123");
        let first = invocation_id(&HeaderMap::new());
        let second = invocation_id(&HeaderMap::new());
        assert!(first.starts_with("azfn-"), "{first}");
        assert_ne!(first, second);
    }

    #[test]
    fn warnings_and_errors_leave_the_envelope_logs_for_stderr() {
        use tracing::Level;
        let mut logs = vec![
            crate::LogLine::new(Level::INFO, "app", "kept"),
            crate::LogLine::new(Level::WARN, "app", "to stderr"),
            crate::LogLine::new(Level::DEBUG, "app", "kept too"),
            crate::LogLine::new(Level::ERROR, "app", "to stderr too"),
        ];
        keep_levels("audit", "inv-1", &mut logs);
        let kept: Vec<&str> = logs.iter().map(crate::LogLine::message).collect();
        assert_eq!(kept, ["kept", "kept too"]);
    }

    #[test]
    fn the_trace_context_comes_from_the_w3c_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(trace_context(&headers), None);
        headers.insert("tracestate", "k=v".parse().unwrap());
        assert_eq!(trace_context(&headers), None, "no tracestate without a traceparent");
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        headers.insert("traceparent", parent.parse().unwrap());
        let trace = trace_context(&headers).expect("a trace context");
        assert_eq!(trace.trace_parent, parent);
        assert_eq!(trace.trace_state, "k=v");
    }

    #[test]
    fn statuses_follow_the_kind_of_failure() {
        assert_eq!(
            status_for(&InvocationError::UnknownFunction("f".into())),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status_for(&InvocationError::MalformedRequest("x".into())),
            StatusCode::BAD_REQUEST
        );
        let binding = InvocationError::Binding {
            binding: "b".into(),
            message: "m".into(),
        };
        assert_eq!(status_for(&binding), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_for(&InvocationError::Panic("p".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let output = InvocationError::Output {
            binding: "b".into(),
            message: "m".into(),
        };
        assert_eq!(status_for(&output), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
