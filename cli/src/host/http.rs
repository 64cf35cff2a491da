//! The public HTTP server: HTTP triggers under the route prefix, with route templates and
//! constraints, method filters and auth levels, plus the admin API.
//!
//! - A path no route matches → 404.
//! - A path a route matches, with a method none of its functions accepts → 404, as the real
//!   host answers, and a console line naming the methods that would work.
//! - Keys are not checked unless `--enable-auth` is given: every request is let through, as
//!   `func start` does (it authenticates every local request as admin). With `--enable-auth`, a
//!   function (or admin) level route without the right key → 401. Keys come from the
//!   `x-functions-key` header or the `code` query parameter, and are set in local.settings.json.
//! - CORS: a request whose `Origin` is in local.settings.json `Host.CORS` gets the
//!   `Access-Control-Allow-*` headers, and its preflight `OPTIONS` a 204 answer.
//! - A failed invocation → 500 with an empty body.
//! - With host.json forwarding or proxying, HTTP-only functions' requests go to the worker raw,
//!   streamed both ways ([`super::forward`]); the others keep the JSON envelope.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::auth::authorized;
use super::forward::{self, ForwardedBody};
use super::payload::{self, IncomingRequest};
use super::reply::{Reply, empty_reply, status_reply};
use super::response::HttpReply;
use super::{Host, admin};
use crate::console;
use azfn_bindings::route::RouteLookup;

use crate::app::{AuthLevel, Function, FunctionApp, HttpTrigger, Trigger};

/// The largest request body accepted (the host's default `maxRequestBodySize` is 100 MB).
const MAX_BODY: usize = 100 * 1024 * 1024;

/// What the server answers: a response the host built, or a worker's forwarded one.
type Served = Response<Either<Full<Bytes>, ForwardedBody>>;

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, host: Arc<Host>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let host = host.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let host = host.clone();
                async move { Ok::<_, Infallible>(handle(&host, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(host: &Host, request: Request<Incoming>) -> Served {
    let app = host.app();
    let origin = request
        .headers()
        .get(hyper::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|origin| app.local.allows_origin(origin))
        .map(str::to_owned);
    let Some(origin) = origin else {
        return handle_request(host, request).await;
    };
    let preflight = request.method() == hyper::Method::OPTIONS
        && request
            .headers()
            .contains_key(hyper::header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut reply = if preflight {
        preflight_reply(&request).map(Either::Left)
    } else {
        handle_request(host, request).await
    };
    allow_origin(&mut reply, &app.local, &origin);
    reply
}

/// The answer to a CORS preflight request from an allowed origin: the method and headers it
/// asks for are allowed.
fn preflight_reply(request: &Request<Incoming>) -> Reply {
    let mut reply = empty_reply(StatusCode::NO_CONTENT);
    let headers = reply.headers_mut();
    for (asked, allowed) in [
        (
            hyper::header::ACCESS_CONTROL_REQUEST_METHOD,
            hyper::header::ACCESS_CONTROL_ALLOW_METHODS,
        ),
        (
            hyper::header::ACCESS_CONTROL_REQUEST_HEADERS,
            hyper::header::ACCESS_CONTROL_ALLOW_HEADERS,
        ),
    ] {
        if let Some(value) = request.headers().get(asked) {
            headers.insert(allowed, value.clone());
        }
    }
    reply
}

/// Adds the CORS headers for an allowed `origin`.
fn allow_origin<B>(reply: &mut Response<B>, settings: &crate::settings::LocalSettings, origin: &str) {
    let any = settings.cors.iter().any(|o| o == "*") && !settings.cors_credentials;
    let value = if any { "*" } else { origin };
    let headers = reply.headers_mut();
    if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    if !any {
        headers.append(hyper::header::VARY, hyper::header::HeaderValue::from_static("Origin"));
    }
    if settings.cors_credentials {
        headers.insert(
            hyper::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            hyper::header::HeaderValue::from_static("true"),
        );
    }
}

async fn handle_request(host: &Host, request: Request<Incoming>) -> Served {
    let (parts, body) = request.into_parts();
    let mut request = IncomingRequest {
        method: parts.method.as_str().to_owned(),
        host: parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| format!("localhost:{}", host.port()), str::to_owned),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: Bytes::new(),
    };
    // A gRPC worker that is still starting has not said which functions it has yet.
    host.wait_for_functions().await;
    // Only with forwarding on is the admin API told apart here; `admin::handle` does it below.
    if let Some(mode) = host.forward_mode()
        && admin::strip_admin(&azfn_bindings::percent::decode_path(&request.path)).is_none()
    {
        let app = host.app();
        if let RouteMatch::Found { function, trigger, .. } = match_route(&app, &request.method, &request.path)
            && forward::is_http_in_and_out(function)
        {
            if !authorized(&app, trigger.auth_level, &request) {
                return unauthorized(&request, trigger.auth_level).map(Either::Left);
            }
            // The body is not read here: it streams through to the worker.
            return match forward::forward(host, function, mode, Request::from_parts(parts, body), MAX_BODY).await {
                Ok(response) => response.map(Either::Right),
                Err(()) => empty_reply(StatusCode::INTERNAL_SERVER_ERROR).map(Either::Left),
            };
        }
    }
    request.body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return status_reply(StatusCode::BAD_REQUEST, &format!("cannot read the request body: {e}"))
                .map(Either::Left);
        }
    };
    if let Some(reply) = admin::handle(host, &request).await {
        return reply.map(Either::Left);
    }
    trigger(host, &request).await.map(Either::Left)
}

/// The 401 answer to a request without the key its function's `level` needs.
fn unauthorized(request: &IncomingRequest, level: AuthLevel) -> Reply {
    console::line(format!(
        "401: {} {} needs a {} key (x-functions-key header or code query parameter)",
        request.method,
        request.path,
        if level == AuthLevel::Admin {
            "master"
        } else {
            "function"
        }
    ));
    empty_reply(StatusCode::UNAUTHORIZED)
}

/// Routes a request to an HTTP-triggered function and answers with its response.
async fn trigger(host: &Host, request: &IncomingRequest) -> Reply {
    let app = host.app();
    match match_route(&app, &request.method, &request.path) {
        RouteMatch::NotFound => {
            if request.path == "/" {
                return status_reply(StatusCode::OK, "The azfn local Functions host is running.");
            }
            console::line(format!("404: no function matches {} {}", request.method, request.path));
            empty_reply(StatusCode::NOT_FOUND)
        }
        RouteMatch::WrongMethod { functions, allowed } => {
            console::line(format!(
                "404: {} {} matches {} but the method is not allowed; allowed: {}",
                request.method,
                request.path,
                functions
                    .iter()
                    .map(|f| format!("'{f}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                allowed.join(", ")
            ));
            empty_reply(StatusCode::NOT_FOUND)
        }
        RouteMatch::Found {
            function,
            trigger,
            values,
        } => {
            if !authorized(&app, trigger.auth_level, request) {
                return unauthorized(request, trigger.auth_level);
            }
            if !request.body.is_empty() && request.header("content-length").is_none() {
                console::line(format!(
                    "warning: {} {} has a body without Content-Length (chunked); like the real host, \
                     the local host does not pass it to the function",
                    request.method, request.path
                ));
            }
            let payload = payload::http_invocation(function, request, &values);
            let invocation = host
                .invoke(
                    &function.name,
                    payload,
                    "This function was programmatically called via the host APIs.",
                )
                .await;
            match invocation.outcome {
                Ok(result) => result
                    .http
                    .map_or_else(|| empty_reply(StatusCode::NO_CONTENT), reply_from),
                Err(_) => empty_reply(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
    }
}

/// What a request path and method lead to.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    /// The function to invoke, with the route values.
    Found {
        /// The function.
        function: &'a Function,
        /// Its HTTP trigger.
        trigger: &'a HttpTrigger,
        /// The route values, defaults applied.
        values: Vec<(String, String)>,
    },
    /// Routes match the path but none accepts the method.
    WrongMethod {
        /// The functions whose routes match.
        functions: Vec<&'a str>,
        /// The methods they accept.
        allowed: Vec<String>,
    },
    /// No route matches the path.
    NotFound,
}

/// Finds the function for `method` and the request's `raw_path` (as it arrived, with the
/// prefix) in the host's route table (`azfn_bindings::route`): precedence, case-insensitive
/// prefix and literals, `%2F` kept, the method checked after the route.
pub fn match_route<'a>(app: &'a FunctionApp, method: &str, raw_path: &str) -> RouteMatch<'a> {
    match app.routes.find(method, raw_path) {
        RouteLookup::Found { value: &index, values } => {
            let function = &app.functions[index];
            let Trigger::Http(trigger) = &function.trigger else {
                unreachable!("the route table holds only HTTP-triggered functions")
            };
            RouteMatch::Found {
                function,
                trigger,
                values,
            }
        }
        RouteLookup::WrongMethod { matched, allowed } => RouteMatch::WrongMethod {
            functions: matched
                .iter()
                .map(|&&index| app.functions[index].name.as_str())
                .collect(),
            allowed,
        },
        RouteLookup::NotFound => RouteMatch::NotFound,
    }
}

/// Turns a function's HTTP response into the server's; framing headers, and header names or
/// values HTTP cannot carry, are left out (the latter with a console line).
pub fn reply_from(reply: HttpReply) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        // The server frames the body itself; a length or encoding from the function would
        // contradict it.
        if ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|hop| name.eq_ignore_ascii_case(hop))
        {
            continue;
        }
        match (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => console::line(format!(
                "warning: response header `{name}: {value}` is not valid HTTP; left out"
            )),
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{HandlerDescription, parse_function};
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn http_function(name: &str, route: Option<&str>, methods: &[&str], auth: &str) -> Function {
        let mut trigger = json!({"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": auth});
        if let Some(route) = route {
            trigger["route"] = route.into();
        }
        if !methods.is_empty() {
            trigger["methods"] = json!(methods);
        }
        let bindings = json!({"bindings": [trigger, {"type": "http", "direction": "out", "name": "$return"}]});
        parse_function(name, &bindings, &BTreeMap::new()).unwrap()
    }

    fn app(settings: &[(&str, &str)]) -> FunctionApp {
        let functions = vec![
            http_function("hello", None, &["get"], "anonymous"),
            http_function("greet", Some("greet/{name:alpha}"), &["get"], "anonymous"),
            http_function("accept", Some("orders"), &["post"], "function"),
            http_function("list", Some("orders"), &["get"], "anonymous"),
            http_function("order", Some("orders/{id}"), &[], "admin"),
            http_function("special", Some("orders/special"), &[], "anonymous"),
        ];
        FunctionApp {
            root: PathBuf::new(),
            handler: HandlerDescription {
                executable: "x".into(),
                arguments: vec![],
                worker_path: None,
                worker_arguments: vec![],
                working_directory: String::new(),
                worker_directory: String::new(),
            },
            route_prefix: "api".into(),
            local: crate::settings::LocalSettings {
                values: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                ..Default::default()
            },
            enable_auth: true,
            function_timeout: None,
            routes: FunctionApp::route_table("api", &functions),
            functions,
            problems: vec![],
        }
    }

    fn found(app: &FunctionApp, method: &str, path: &str) -> Option<(String, Vec<(String, String)>)> {
        match match_route(app, method, path) {
            RouteMatch::Found { function, values, .. } => Some((function.name.clone(), values)),
            _ => None,
        }
    }

    fn request(query: &str, headers: &[(&str, &str)]) -> IncomingRequest {
        IncomingRequest {
            method: "GET".into(),
            host: "localhost".into(),
            path: "/api/x".into(),
            query: query.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn routes_methods_and_prefix() {
        let app = app(&[]);
        assert_eq!(found(&app, "GET", "/api/hello").unwrap().0, "hello");
        assert_eq!(found(&app, "GET", "/API/Hello/").unwrap().0, "hello");
        assert_eq!(
            found(&app, "GET", "/api/greet/Bob").unwrap().1,
            [("name".to_owned(), "Bob".to_owned())]
        );
        assert!(matches!(
            match_route(&app, "GET", "/api/greet/123"),
            RouteMatch::NotFound
        ));
        assert!(matches!(match_route(&app, "GET", "/hello"), RouteMatch::NotFound));
        assert!(matches!(match_route(&app, "GET", "/apix/hello"), RouteMatch::NotFound));
        assert_eq!(found(&app, "POST", "/api/orders").unwrap().0, "accept");
        assert_eq!(found(&app, "GET", "/api/orders").unwrap().0, "list");
        match match_route(&app, "POST", "/api/hello") {
            RouteMatch::WrongMethod { functions, allowed } => {
                assert_eq!(functions, ["hello"]);
                assert_eq!(allowed, ["GET"]);
            }
            other => panic!("{other:?}"),
        }
        match match_route(&app, "DELETE", "/api/orders") {
            RouteMatch::WrongMethod { allowed, .. } => assert_eq!(allowed, ["GET", "POST"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn literal_routes_win_over_parameters() {
        let app = app(&[]);
        assert_eq!(found(&app, "GET", "/api/orders/special").unwrap().0, "special");
        assert_eq!(found(&app, "GET", "/api/orders/7").unwrap().0, "order");
    }

    #[test]
    fn an_empty_prefix_serves_from_the_root() {
        let mut app = app(&[]);
        app.route_prefix = String::new();
        app.routes = FunctionApp::route_table(&app.route_prefix, &app.functions);
        assert_eq!(found(&app, "GET", "/hello").unwrap().0, "hello");
    }

    #[test]
    fn keys() {
        let mut open = app(&[("AzureWebJobs.FunctionKey", "fk"), ("AzureWebJobs.MasterKey", "mk")]);
        open.enable_auth = false;
        assert!(
            authorized(&open, AuthLevel::Admin, &request("", &[])),
            "without --enable-auth keys are not checked"
        );
        let unset = app(&[]);
        assert!(
            !authorized(&unset, AuthLevel::Function, &request("code=anything", &[])),
            "with --enable-auth and no key set, nothing opens a function-level route"
        );
        assert!(authorized(&unset, AuthLevel::Anonymous, &request("", &[])));
        let keyed = app(&[("AzureWebJobs.FunctionKey", "fk"), ("AzureWebJobs.MasterKey", "mk")]);
        assert!(authorized(&keyed, AuthLevel::Anonymous, &request("", &[])));
        assert!(!authorized(&keyed, AuthLevel::Function, &request("", &[])));
        assert!(!authorized(&keyed, AuthLevel::Function, &request("code=nope", &[])));
        assert!(authorized(&keyed, AuthLevel::Function, &request("code=fk", &[])));
        assert!(authorized(
            &keyed,
            AuthLevel::Function,
            &request("", &[("x-functions-key", "fk")])
        ));
        assert!(authorized(&keyed, AuthLevel::Function, &request("code=mk", &[])));
        assert!(!authorized(&keyed, AuthLevel::Admin, &request("code=fk", &[])));
        assert!(authorized(
            &keyed,
            AuthLevel::Admin,
            &request("", &[("X-Functions-Key", "mk")])
        ));
        let function_only = app(&[("AzureWebJobs.FunctionKey", "fk")]);
        assert!(!authorized(&function_only, AuthLevel::Admin, &request("code=fk", &[])));
    }
}
