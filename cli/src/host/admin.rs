//! The admin API of the local host, shaped after the real host's:
//!
//! - `POST /admin/functions/{name}` with `{"input": "..."}` invokes any function and answers
//!   202 Accepted. The real host answers before the function runs and with an empty body; the
//!   local host waits for the invocation and describes it in the body (`status`, `outputs`,
//!   `logs`, `http`, `error`), which is what `cargo azfn invoke` prints.
//! - `GET /admin/functions` and `GET /admin/functions/{name}`: the functions with their
//!   `config` (function.json) and `invoke_url_template`.
//! - `GET /admin/host/status`: `{"state": "Running" | "Initialized" | "Error"}`.
//!
//! The API is open, as with `func start`, unless keys are checked (`--enable-auth`): then every
//! admin request needs the master key (`x-functions-key` or `code`) of local.settings.json.
//!
//! How `input` becomes the trigger value: a queue message's text (with the metadata of a fresh
//! message), a blob's content, nothing for a timer (which gets `TimerInfo`), the body of a
//! synthesized request for an HTTP trigger, and the double-encoded text for any other trigger.

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{Value, json};

use super::Host;
use super::auth::admin_authorized;
use super::payload::{self, IncomingRequest, InvocationPayload};
use super::reply::{Reply, empty_reply, json_or_text, status_reply};
use super::response::InvocationResult;
use super::worker::WorkerState;
use crate::app::{Function, FunctionApp, HttpTrigger, Trigger, get_ignore_case};
use crate::console;

/// Answers the request if it is for the admin API.
pub async fn handle(host: &Host, request: &IncomingRequest) -> Option<Reply> {
    let path = azfn_bindings::percent::decode_path(&request.path);
    let rest = strip_admin(&path)?;
    let app = host.app();
    if !admin_authorized(&app, request) {
        console::line(format!("401: {} {} needs the master key", request.method, request.path));
        return Some(empty_reply(StatusCode::UNAUTHORIZED));
    }
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let reply = match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["host", "status"]) => host_status(host),
        ("GET", ["functions"]) => json_reply(
            StatusCode::OK,
            &Value::from(
                app.functions
                    .iter()
                    .map(|f| function_json(&app, f, host))
                    .collect::<Vec<_>>(),
            ),
        ),
        ("GET", ["functions", name]) => match app.function(name) {
            Some(function) => json_reply(StatusCode::OK, &function_json(&app, function, host)),
            None => empty_reply(StatusCode::NOT_FOUND),
        },
        ("POST", ["functions", name]) => invoke(host, &app, name, request).await,
        _ => empty_reply(StatusCode::NOT_FOUND),
    };
    Some(reply)
}

/// The part of the path after `/admin`, if the path is under it.
pub fn strip_admin(path: &str) -> Option<&str> {
    let rest = path.get(..6).filter(|head| head.eq_ignore_ascii_case("/admin"))?;
    let rest = &path[rest.len()..];
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn host_status(host: &Host) -> Reply {
    let state = match host.worker().state() {
        WorkerState::Ready { .. } => "Running",
        WorkerState::Starting => "Initialized",
        WorkerState::Stopped { .. } => "Error",
    };
    json_reply(StatusCode::OK, &json!({ "state": state }))
}

/// A function as the admin API describes it.
fn function_json(app: &FunctionApp, function: &Function, host: &Host) -> Value {
    let port = host.port();
    let bindings: Vec<Value> = function
        .bindings
        .iter()
        .map(|b| Value::Object(b.properties.clone()))
        .collect();
    let url = match &function.trigger {
        Trigger::Http(http) => Value::from(format!("http://localhost:{port}{}", app.route_path(&http.route_text))),
        _ => Value::Null,
    };
    json!({
        "name": function.name,
        "config": { "bindings": bindings },
        "invoke_url_template": url,
        "language": host.transport().language(),
        "isDisabled": false,
    })
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    json_or_text(
        status,
        Bytes::from(value.to_string()),
        "application/json; charset=utf-8",
    )
}

/// `POST /admin/functions/{name}`.
async fn invoke(host: &Host, app: &FunctionApp, name: &str, request: &IncomingRequest) -> Reply {
    let Some(function) = app.function(name) else {
        console::line(format!("404: the admin API has no function '{name}' to invoke"));
        return empty_reply(StatusCode::NOT_FOUND);
    };
    let input = match read_input(&request.body) {
        Ok(input) => input,
        Err(message) => return status_reply(StatusCode::BAD_REQUEST, &message),
    };
    let payload = admin_payload(function, &input, host.port(), app);
    let invocation = host
        .invoke(
            &function.name,
            payload,
            "This function was programmatically called via the host APIs.",
        )
        .await;
    let summary = match &invocation.outcome {
        Ok(result) => {
            if let Some(reply) = &result.http {
                console::line(format!(
                    "{} → HTTP {} ({} bytes)",
                    function.name,
                    reply.status,
                    reply.body.len()
                ));
            }
            summary(&function.name, &invocation.id, result)
        }
        Err(error) => json!({
            "id": invocation.id, "function": function.name, "status": "Failed", "error": error,
        }),
    };
    json_reply(StatusCode::ACCEPTED, &summary)
}

/// `input` of the request body: a string as is, any other JSON value as its text, missing or
/// null as empty. An empty body is an empty input.
pub fn read_input(body: &[u8]) -> Result<String, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body must be JSON like {{\"input\": \"...\"}} ({e})"))?;
    let Value::Object(object) = value else {
        return Err("the body must be a JSON object like {\"input\": \"...\"}".into());
    };
    Ok(match get_ignore_case(&object, "input") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    })
}

/// The payload an admin invocation sends for `function`'s trigger type.
pub fn admin_payload(function: &Function, input: &str, port: u16, app: &FunctionApp) -> InvocationPayload {
    match &function.trigger {
        Trigger::Http(http) => payload::http_invocation(function, &synthetic_request(app, http, input, port), &[]),
        Trigger::Timer(_) => payload::timer_invocation(function),
        Trigger::Other { kind, .. } if kind.eq_ignore_ascii_case("queueTrigger") => {
            payload::queue_invocation(function, input)
        }
        Trigger::Other { kind, .. } if kind.eq_ignore_ascii_case("blobTrigger") => {
            payload::blob_invocation(function, input)
        }
        Trigger::Other { .. } => payload::generic_invocation(function, input),
    }
}

/// The request an admin invocation of an HTTP trigger stands for: POST (or the first method
/// the function accepts) to its route, with `input` as the body. Route parameters stay unset.
fn synthetic_request(app: &FunctionApp, http: &HttpTrigger, input: &str, port: u16) -> IncomingRequest {
    let method = match &http.methods {
        Some(methods) if !methods.iter().any(|m| m == "POST") => methods.first().cloned().unwrap_or_default(),
        _ => "POST".to_owned(),
    };
    let content_type = if serde_json::from_str::<Value>(input).is_ok() {
        "application/json"
    } else {
        "text/plain"
    };
    let mut headers = vec![("host".to_owned(), format!("localhost:{port}"))];
    if !input.is_empty() {
        headers.push(("content-type".to_owned(), content_type.to_owned()));
        headers.push(("content-length".to_owned(), input.len().to_string()));
    }
    IncomingRequest {
        method,
        host: format!("localhost:{port}"),
        path: app.route_path(&http.route_text),
        query: String::new(),
        headers,
        body: Bytes::from(input.to_owned()),
    }
}

/// The 202 body describing a finished invocation.
fn summary(function: &str, id: &str, result: &InvocationResult) -> Value {
    let outputs: Vec<Value> = result
        .messages
        .iter()
        .map(|m| json!({"binding": m.binding, "type": m.kind, "target": m.target, "value": m.value.display()}))
        .collect();
    let http = result.http.as_ref().map(|reply| {
        let headers: serde_json::Map<String, Value> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        json!({"status": reply.status, "headers": headers, "body": String::from_utf8_lossy(&reply.body)})
    });
    json!({
        "id": id, "function": function, "status": "Succeeded",
        "outputs": outputs, "logs": result.logs, "http": http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs() {
        assert_eq!(read_input(b"").unwrap(), "");
        assert_eq!(read_input(br#"{"input": "aaaaa"}"#).unwrap(), "aaaaa");
        assert_eq!(read_input(br#"{"Input": {"id": 1}}"#).unwrap(), "{\"id\":1}");
        assert_eq!(read_input(br#"{"input": null}"#).unwrap(), "");
        assert!(read_input(b"[1]").is_err());
        assert!(read_input(b"input=x").is_err());
    }

    #[test]
    fn admin_paths() {
        assert_eq!(strip_admin("/admin/functions/x"), Some("/functions/x"));
        assert_eq!(strip_admin("/Admin"), Some(""));
        assert_eq!(strip_admin("/administrator"), None);
        assert_eq!(strip_admin("/api/admin"), None);
    }
}
