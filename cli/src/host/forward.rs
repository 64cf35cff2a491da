//! Forwarding and proxying: with host.json `customHandler.enableForwardingHttpRequest` or
//! `enableProxyingHttpRequest` (`App::forward_http_requests()`, `App::proxy_http_requests()`),
//! the real host sends the requests of HTTP-only functions to the worker as they came from the
//! client, and relays the worker's response as it is. The local host does the same:
//!
//! - which functions: exactly one input binding, an `httpTrigger`, and exactly one output
//!   binding, an `http` (the host's `IsHttpInAndOutFunction`); every other function keeps the
//!   JSON envelope;
//! - the request: `http://127.0.0.1:<port><path with the route prefix>?<query>`, its method,
//!   headers and body, the body streamed through as it arrives (chunked ones too), plus the
//!   host's `X-Azure-Functions-*` headers;
//! - the response: status, headers and body, the body streamed back as the worker sends it;
//! - the console: `Executing`, then `Executed` once the response body has ended. The host sees
//!   only an HTTP exchange, so any status the worker answers (a 500 too) is `Succeeded`; only a
//!   worker that cannot be reached or breaks off is `Failed` (and the client gets a 500).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Limited;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use super::payload::HOST_VERSION;
use super::transport::Connection;
use super::{Host, READY_WAIT, executed_line, executing_line};
use crate::app::{Direction, Function, FunctionApp, get_ignore_case};
use crate::clock;
use crate::console;

/// How host.json asks the host to pass HTTP-only functions' requests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMode {
    /// `enableForwardingHttpRequest`: the request is rebuilt and sent on.
    Forwarding,
    /// `enableProxyingHttpRequest` (newer hosts, YARP): the request is proxied.
    Proxying,
}

impl ForwardMode {
    /// The mode `app`'s host.json asks for, if any. Proxying wins when both flags are set, as in
    /// the newer hosts that know it. Only the `customHandler` section counts: the legacy
    /// `httpWorker` one forwards to `/{function}`, which an azfn worker takes for an invocation.
    pub fn of(app: &FunctionApp) -> Option<ForwardMode> {
        let text = std::fs::read(app.root.join("host.json")).ok()?;
        ForwardMode::from_host_json(&serde_json::from_slice(&text).ok()?)
    }

    /// The mode a host.json asks for, if any (see [`ForwardMode::of`]).
    pub fn from_host_json(host: &Value) -> Option<ForwardMode> {
        let section = get_ignore_case(host.as_object()?, "customHandler")?.as_object()?;
        let flag = |name: &str| get_ignore_case(section, name).and_then(Value::as_bool) == Some(true);
        if flag("enableProxyingHttpRequest") {
            Some(ForwardMode::Proxying)
        } else if flag("enableForwardingHttpRequest") {
            Some(ForwardMode::Forwarding)
        } else {
            None
        }
    }
}

/// Whether the host passes this function's requests on rather than invoking it with the JSON
/// envelope: one input binding, an `httpTrigger`, and one output binding, an `http` (an `inout`
/// binding counts as both, as in the host).
pub fn is_http_in_and_out(function: &Function) -> bool {
    let inputs: Vec<_> = function
        .bindings
        .iter()
        .filter(|b| b.direction != Direction::Out)
        .collect();
    let outputs: Vec<_> = function
        .bindings
        .iter()
        .filter(|b| b.direction != Direction::In)
        .collect();
    matches!(inputs.as_slice(), [only] if only.is("httpTrigger"))
        && matches!(outputs.as_slice(), [only] if only.is("http"))
}

/// Headers that describe one connection, not the message: never passed on.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Removes the hop-by-hop headers, and those the `Connection` header names as such.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for hop in HOP_BY_HOP {
        headers.remove(hop);
    }
}

/// Sends the client's request to the worker as the host does in `mode`, and answers with the
/// worker's response, its body streamed. `max_body` bounds the request body, as the host's
/// `maxRequestBodySize` does.
pub async fn forward(
    host: &Host,
    function: &Function,
    mode: ForwardMode,
    request: Request<Incoming>,
    max_body: usize,
) -> Result<Response<ForwardedBody>, ()> {
    let id = clock::new_guid();
    let name = function.name.clone();
    console::line(executing_line(
        &name,
        "This function was programmatically called via the host APIs.",
        &id,
    ));
    let started = Instant::now();
    let exchange = async {
        let port = match host.worker().ready(READY_WAIT).await? {
            Connection::Http { port } => port,
            Connection::Grpc(_) => return Err("a gRPC worker does not take forwarded requests".to_owned()),
        };
        send(port, mode, &id, request, max_body).await
    };
    let answered = match host.app().function_timeout {
        Some(limit) => tokio::time::timeout(limit, exchange).await.unwrap_or_else(|_| {
            Err(format!(
                "no response head within host.json `functionTimeout` ({}s)",
                limit.as_secs()
            ))
        }),
        None => exchange.await,
    };
    match answered {
        Ok(response) => {
            let (mut head, body) = response.into_parts();
            strip_hop_by_hop(&mut head.headers);
            let body = ForwardedBody {
                inner: body,
                finish: Some(Finish { name, id, started }),
            };
            Ok(Response::from_parts(head, body))
        }
        Err(reason) => {
            console::line(executed_line(&name, &id, started.elapsed().as_millis(), Err(&reason)));
            Err(())
        }
    }
}

/// One exchange with the worker over a connection of its own; the request body is passed on
/// as it arrives.
async fn send(
    port: u16,
    mode: ForwardMode,
    id: &str,
    request: Request<Incoming>,
    max_body: usize,
) -> Result<Response<Incoming>, String> {
    let (mut head, body) = request.into_parts();
    strip_hop_by_hop(&mut head.headers);
    let id_value = HeaderValue::from_str(id).map_err(|e| format!("invalid invocation id: {e}"))?;
    head.headers
        .insert("x-azure-functions-hostversion", HeaderValue::from_static(HOST_VERSION));
    head.headers.insert("x-azure-functions-invocationid", id_value.clone());
    match mode {
        ForwardMode::Forwarding => {
            // The host appends itself to the client's User-Agent.
            let ours = format!("Azure-Functions-Host/{HOST_VERSION}");
            let agent = match head.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()) {
                Some(theirs) => format!("{theirs} {ours}"),
                None => ours,
            };
            if let Ok(agent) = HeaderValue::from_str(&agent) {
                head.headers.insert(USER_AGENT, agent);
            }
        }
        ForwardMode::Proxying => {
            head.headers.insert("x-ms-invocation-id", id_value);
            if let Ok(worker) = HeaderValue::from_str(&format!("127.0.0.1:{port}")) {
                head.headers.insert(HOST, worker);
            }
        }
    }
    // Only the path and query: the request goes to the worker's address, not an absolute URI.
    head.uri = head
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
        .parse()
        .map_err(|e| format!("cannot build the worker's URI: {e}"))?;
    head.version = hyper::Version::HTTP_11;
    let request = Request::from_parts(head, Limited::new(body, max_body));

    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("the worker could not be reached: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with the worker failed: {e}"))?;
    // The connection ends by itself once the response body has been read (or dropped).
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("the worker did not answer the forwarded request: {e}"))
}

/// What is printed when a forwarded invocation ends.
#[derive(Debug)]
struct Finish {
    name: String,
    id: String,
    started: Instant,
}

impl Finish {
    fn print(self, outcome: Result<(), &str>) {
        console::line(executed_line(
            &self.name,
            &self.id,
            self.started.elapsed().as_millis(),
            outcome,
        ));
    }
}

/// The worker's response body, relayed as it arrives; the invocation's `Executed` line is
/// printed when it ends (or breaks off, or the client goes away).
#[derive(Debug)]
pub struct ForwardedBody {
    inner: Incoming,
    finish: Option<Finish>,
}

impl Body for ForwardedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => {
                if let Some(finish) = this.finish.take() {
                    finish.print(Ok(()));
                }
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(finish) = this.finish.take() {
                    finish.print(Err(&format!("the worker's response body broke off: {e}")));
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ForwardedBody {
    fn drop(&mut self) {
        // An empty body may never be polled, and a client may leave before the end; neither is
        // the function's failure (the host counts a client disconnect as none either).
        if let Some(finish) = self.finish.take() {
            finish.print(Ok(()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::parse_function;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn function(bindings: Value) -> Function {
        parse_function("f", &json!({ "bindings": bindings }), &BTreeMap::new()).unwrap()
    }

    #[test]
    fn only_http_in_and_out_functions_are_forwarded() {
        let trigger = json!({"type": "httpTrigger", "direction": "in", "name": "req"});
        let out = json!({"type": "http", "direction": "out", "name": "$return"});
        let queue = json!({"type": "queue", "direction": "out", "name": "q", "queueName": "x"});
        assert!(is_http_in_and_out(&function(json!([trigger, out]))));
        let upper = json!([{"type": "HTTPTRIGGER", "direction": "in", "name": "req"},
                           {"type": "HTTP", "direction": "out", "name": "res"}]);
        assert!(is_http_in_and_out(&function(upper)));
        assert!(!is_http_in_and_out(&function(json!([trigger, out, queue]))));
        assert!(
            !is_http_in_and_out(&function(json!([trigger]))),
            "no http output: the envelope"
        );
        let blob = json!({"type": "blob", "direction": "in", "name": "b", "path": "c/b"});
        assert!(!is_http_in_and_out(&function(json!([trigger, blob, out]))));
    }

    #[test]
    fn host_json_flags_pick_the_mode() {
        let mode = ForwardMode::from_host_json;
        assert_eq!(mode(&json!({"customHandler": {}})), None);
        assert_eq!(
            mode(&json!({"customHandler": {"enableForwardingHttpRequest": false}})),
            None
        );
        assert_eq!(
            mode(&json!({"customHandler": {"enableForwardingHttpRequest": true}})),
            Some(ForwardMode::Forwarding)
        );
        assert_eq!(
            mode(&json!({"CustomHandler": {"EnableProxyingHttpRequest": true,
                                            "enableForwardingHttpRequest": true}})),
            Some(ForwardMode::Proxying)
        );
        assert_eq!(
            mode(&json!({"httpWorker": {"enableForwardingHttpRequest": true}})),
            None
        );
    }
}
