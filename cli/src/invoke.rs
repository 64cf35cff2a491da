//! `cargo azfn invoke <function>`: sends a trigger payload to a running local host and prints
//! what the function produced.
//!
//! The host is asked about the function first (`GET /admin/functions/{name}`). An HTTP function
//! is called at its URL (route parameters from `--param name=value`); any other function goes
//! through the admin API (`POST /admin/functions/{name}` with `{"input": ...}`), whose answer
//! from the local host lists the outputs and logs.
//!
//! With `--via-storage`, a queue- or blob-triggered function is reached through real storage
//! instead: the input is enqueued on the trigger's queue, or uploaded as a blob named after
//! the trigger's path (its `{parameters}` from `--param`), in the account its connection names
//! in local.settings.json; the running host's listener then runs the function.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use http::Request;
use http::header::{CONTENT_TYPE, HOST};
use serde_json::{Value, json};

use crate::client::{self, ClientError, FullResponse};
use crate::error::{Context, Error, Result};

/// How long to wait for the host's answer (the function runs meanwhile).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// A built-in sample input per trigger type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Example {
    /// A JSON queue message.
    Queue,
    /// A timer firing (the input is ignored).
    Timer,
    /// A small text blob.
    Blob,
    /// A JSON request body.
    Http,
}

impl Example {
    /// The sample input.
    pub fn input(self) -> &'static str {
        match self {
            Example::Queue => r#"{"id":1,"item":"widget","quantity":2}"#,
            Example::Timer => "",
            Example::Blob => "Hello from a sample blob",
            Example::Http => r#"{"name":"Ferris"}"#,
        }
    }
}

/// Where the input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// No input.
    Empty,
    /// Given on the command line.
    Text(String),
    /// A file's content.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A built-in sample.
    Example(Example),
}

impl Input {
    /// Reads the input text.
    pub fn read(&self) -> Result<String> {
        match self {
            Input::Empty => Ok(String::new()),
            Input::Text(text) => Ok(text.clone()),
            Input::File(path) => std::fs::read_to_string(path).context(|| format!("cannot read {}", path.display())),
            Input::Stdin => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context(|| "cannot read standard input".to_owned())?;
                Ok(text)
            }
            Input::Example(example) => Ok(example.input().to_owned()),
        }
    }
}

/// What `invoke` does.
#[derive(Debug, Clone)]
pub struct InvokeOptions {
    /// The function's name.
    pub function: String,
    /// The input.
    pub input: Input,
    /// The local host's port.
    pub port: u16,
    /// A key for the host (`x-functions-key`).
    pub key: Option<String>,
    /// The HTTP method for an HTTP function.
    pub method: Option<String>,
    /// Route parameter values for an HTTP function, or blob path parameters with
    /// `via_storage`.
    pub params: Vec<(String, String)>,
    /// Enqueue or upload the input instead of calling the admin API: the settings and the
    /// message encoding to use.
    pub via_storage: Option<ViaStorage>,
}

/// What `--via-storage` needs.
#[derive(Debug, Clone)]
pub struct ViaStorage {
    /// The local settings' values (the connections).
    pub values: std::collections::BTreeMap<String, String>,
    /// host.json `extensions.queues.messageEncoding`.
    pub encoding: crate::storage::options::MessageEncoding,
}

/// Runs `invoke`; fails when the invocation failed.
pub async fn invoke(options: &InvokeOptions) -> Result<()> {
    let input = options.input.read()?;
    let description = describe_function(options).await?;
    if let Some(via) = &options.via_storage {
        return put_in_storage(options, via, &description, &input).await;
    }
    match description["invoke_url_template"].as_str() {
        Some(url) => call_http_function(options, &description, url, &input).await,
        None => call_admin(options, &input).await,
    }
}

async fn send<B>(options: &InvokeOptions, request: Request<B>) -> Result<FullResponse>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    client::send(options.port, request, Some(ANSWER_TIMEOUT))
        .await
        .map_err(|e| match e {
            ClientError::Connect(_) => Error::new(format!(
                "no local host answers on port {}: start one with `cargo azfn start` (or pass --port)",
                options.port
            )),
            other => Error::new(format!("the local host did not answer: {other}")),
        })
}

fn request(options: &InvokeOptions, method: &str, path: &str) -> http::request::Builder {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, format!("localhost:{}", options.port));
    if let Some(key) = &options.key {
        builder = builder.header("x-functions-key", key);
    }
    builder
}

/// `GET /admin/functions/{name}`.
async fn describe_function(options: &InvokeOptions) -> Result<Value> {
    let path = format!("/admin/functions/{}", options.function);
    let request = request(options, "GET", &path)
        .body(client::empty())
        .context(|| "cannot build the request".to_owned())?;
    let response = send(options, request).await?;
    match response.status() {
        200 => serde_json::from_slice(&response.body).context(|| "the host's description is not JSON".to_owned()),
        401 => Err(Error::new(
            "the local host needs the master key: pass --key <master key>",
        )),
        404 => Err(Error::new(format!(
            "the local host has no function `{}`",
            options.function
        ))),
        status => Err(Error::new(format!("the local host answered {status}"))),
    }
}

/// Calls an HTTP function at its URL and prints the response.
async fn call_http_function(options: &InvokeOptions, description: &Value, url: &str, input: &str) -> Result<()> {
    let template = url
        .find("://")
        .and_then(|scheme| url[scheme + 3..].find('/').map(|slash| &url[scheme + 3 + slash..]))
        .unwrap_or("/");
    let path = fill_route(template, &options.params)?;
    let method = options
        .method
        .clone()
        .unwrap_or_else(|| default_method(&allowed_methods(description), !input.is_empty()));
    let content_type = if serde_json::from_str::<Value>(input).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let request = request(options, &method, &path)
        .header(CONTENT_TYPE, content_type)
        .body(client::full(input.to_owned()))
        .context(|| "cannot build the request".to_owned())?;
    let response = send(options, request).await?;
    println!("{method} {path} → HTTP {}", response.status());
    for (name, value) in &response.head.headers {
        println!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    println!();
    println!("{}", String::from_utf8_lossy(&response.body));
    if response.status() >= 500 {
        return Err(Error::new(format!(
            "the function failed (HTTP {}); see the host's console",
            response.status()
        )));
    }
    Ok(())
}

/// `--via-storage`: enqueues the input on the trigger's queue or uploads it as the trigger's
/// blob.
async fn put_in_storage(options: &InvokeOptions, via: &ViaStorage, description: &Value, input: &str) -> Result<()> {
    use azfn_bindings::catalog::{BLOB_TRIGGER, QUEUE_TRIGGER};
    let trigger = description["config"]["bindings"]
        .as_array()
        .and_then(|bindings| {
            bindings.iter().find(|b| {
                b["type"]
                    .as_str()
                    .is_some_and(|t| t.to_ascii_lowercase().ends_with("trigger"))
            })
        })
        .cloned()
        .unwrap_or(Value::Null);
    let kind = trigger["type"].as_str().unwrap_or("unknown").to_owned();
    let connection = trigger["connection"].as_str().filter(|c| !c.is_empty());
    let storage = crate::storage::Storage::new(via.values.clone(), via.encoding);
    let account = storage.account(connection).map_err(Error::new)?;
    let hint = |e: String| {
        let running = if account.development {
            " (Azurite runs while `cargo azfn start` does: is it running?)"
        } else {
            ""
        };
        Error::new(format!("{e}{running}"))
    };
    if kind.eq_ignore_ascii_case(QUEUE_TRIGGER.json_type) {
        let queue = trigger["queueName"].as_str().unwrap_or_default().to_ascii_lowercase();
        storage.send(connection, &queue, input.as_bytes()).await.map_err(hint)?;
        println!(
            "Enqueued {} bytes on queue '{queue}' ({}); the running host's trigger of `{}` takes it from there",
            input.len(),
            account.setting,
            options.function
        );
        Ok(())
    } else if kind.eq_ignore_ascii_case(BLOB_TRIGGER.json_type) {
        let pattern = trigger["path"].as_str().unwrap_or_default();
        let data: serde_json::Map<String, Value> = options
            .params
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let path = crate::host::storage::resolve_expressions(pattern, &data).map_err(|e| {
            Error::new(format!(
                "the blob path {pattern} needs a value: pass --param NAME=VALUE ({e})"
            ))
        })?;
        let (container, name) = crate::host::storage::split_blob_path(&path)
            .ok_or_else(|| Error::new(format!("`{path}` is not a container/blob path")))?;
        storage
            .upload(connection, container, name, input.as_bytes())
            .await
            .map_err(hint)?;
        println!(
            "Uploaded {} bytes as blob {path} ({}); the running host's scan finds it within {} s",
            input.len(),
            account.setting,
            crate::host::blob_listener::SCAN_INTERVAL.as_secs()
        );
        Ok(())
    } else {
        Err(Error::new(format!(
            "--via-storage reaches queue and blob triggers; `{}` has a {kind} trigger",
            options.function
        )))
    }
}

/// The methods the function's HTTP trigger accepts (empty: all).
fn allowed_methods(description: &Value) -> Vec<String> {
    description["config"]["bindings"]
        .as_array()
        .and_then(|bindings| bindings.iter().find(|b| b["type"] == "httpTrigger"))
        .and_then(|trigger| trigger["methods"].as_array())
        .map(|methods| {
            methods
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_uppercase)
                .collect()
        })
        .unwrap_or_default()
}

/// GET without input when allowed, POST with input when allowed, else the first allowed.
pub fn default_method(allowed: &[String], has_input: bool) -> String {
    let allows = |m: &str| allowed.is_empty() || allowed.iter().any(|a| a == m);
    let preferred = if has_input { ["POST", "GET"] } else { ["GET", "POST"] };
    preferred
        .iter()
        .find(|m| allows(m))
        .map(|m| (*m).to_owned())
        .or_else(|| allowed.first().cloned())
        .unwrap_or_else(|| "GET".to_owned())
}

/// Fills the `{parameters}` of a route path with `params`; optional parameters, parameters
/// with defaults and catch-alls may be left out (a segment left empty is dropped).
pub fn fill_route(template: &str, params: &[(String, String)]) -> Result<String> {
    let mut segments = Vec::new();
    for segment in template.split('/') {
        let filled = fill_segment(segment, params).map_err(|name| {
            Error::new(format!(
                "the route {template} needs a value for `{name}`: pass --param {name}=<value>"
            ))
        })?;
        if !filled.is_empty() || !segment.contains('{') {
            segments.push(filled);
        }
    }
    Ok(segments.join("/"))
}

/// One segment with its parameters filled; `Err(name)` for a required parameter without value.
fn fill_segment(segment: &str, params: &[(String, String)]) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(length) = rest[open..].find('}') else {
            break;
        };
        let inside = &rest[open + 1..open + length];
        let name_end = inside.find([':', '=', '?']).unwrap_or(inside.len());
        let name = inside[..name_end].trim_start_matches('*');
        match params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, value)) => out.push_str(&encode_segment(value)),
            None if inside.ends_with('?') || inside.contains('=') || inside.starts_with('*') => {
                // `{name}.{ext?}` without ext is `name`, without the dot.
                if out.ends_with('.') {
                    out.pop();
                }
            }
            None => return Err(name.to_owned()),
        }
        rest = &rest[open + length + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Percent-encodes what cannot stand in a path segment (a catch-all keeps its slashes).
fn encode_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Invokes through the admin API and prints the outputs.
async fn call_admin(options: &InvokeOptions, input: &str) -> Result<()> {
    let path = format!("/admin/functions/{}", options.function);
    let body = json!({ "input": input }).to_string();
    let request = request(options, "POST", &path)
        .header(CONTENT_TYPE, "application/json")
        .body(client::full(body))
        .context(|| "cannot build the request".to_owned())?;
    let response = send(options, request).await?;
    if response.status() != 202 {
        return Err(Error::new(format!(
            "the local host answered {}: {}",
            response.status(),
            String::from_utf8_lossy(&response.body)
        )));
    }
    let summary: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    print!("{}", summary_text(&summary));
    if summary["status"] == "Failed" {
        return Err(Error::new(format!("`{}` failed", options.function)));
    }
    Ok(())
}

/// The admin answer as lines: status, outputs, logs, HTTP response, error.
pub fn summary_text(summary: &Value) -> String {
    let mut text = format!(
        "{}: {} (invocation {})\n",
        summary["function"].as_str().unwrap_or("?"),
        summary["status"].as_str().unwrap_or("?"),
        summary["id"].as_str().unwrap_or("?")
    );
    for output in summary["outputs"].as_array().into_iter().flatten() {
        let target = output["target"].as_str().map_or_else(
            || output["binding"].as_str().unwrap_or("?").to_owned(),
            |t| format!("'{t}'"),
        );
        text.push_str(&format!(
            "  → {} {target}: {}\n",
            output["type"].as_str().unwrap_or("?"),
            output["value"].as_str().unwrap_or("")
        ));
    }
    for log in summary["logs"].as_array().into_iter().flatten() {
        text.push_str(&format!("  log: {}\n", log.as_str().unwrap_or("")));
    }
    if let Some(status) = summary["http"]["status"].as_u64() {
        text.push_str(&format!(
            "  → HTTP {status}: {}\n",
            summary["http"]["body"].as_str().unwrap_or("")
        ));
    }
    if let Some(error) = summary["error"].as_str() {
        text.push_str(&format!("  error: {error}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn routes_are_filled() {
        assert_eq!(
            fill_route("/api/greet/{name:alpha}", &params(&[("name", "Bob")])).unwrap(),
            "/api/greet/Bob"
        );
        assert_eq!(fill_route("/api/items/{id?}", &[]).unwrap(), "/api/items");
        assert_eq!(
            fill_route("/api/files/{*path}", &params(&[("path", "a/b c")])).unwrap(),
            "/api/files/a/b%20c"
        );
        assert_eq!(
            fill_route("/api/{name}.{ext}", &params(&[("name", "x")]))
                .unwrap_err()
                .message(),
            "the route /api/{name}.{ext} needs a value for `ext`: pass --param ext=<value>"
        );
        assert!(fill_route("/api/greet/{name}", &[]).is_err());
    }

    #[test]
    fn methods_follow_the_input() {
        let get = vec!["GET".to_owned()];
        let both = vec!["GET".to_owned(), "POST".to_owned()];
        assert_eq!(default_method(&get, true), "GET");
        assert_eq!(default_method(&both, true), "POST");
        assert_eq!(default_method(&both, false), "GET");
        assert_eq!(default_method(&[], true), "POST");
        assert_eq!(default_method(&["PUT".to_owned()], false), "PUT");
    }

    #[test]
    fn summaries_are_readable() {
        let summary = json!({"function": "ship", "status": "Succeeded", "id": "1",
            "outputs": [{"binding": "$return", "type": "queue", "target": "shipping", "value": "{\"id\":1}"}],
            "logs": ["shipped"], "http": null});
        assert_eq!(
            summary_text(&summary),
            "ship: Succeeded (invocation 1)\n  → queue 'shipping': {\"id\":1}\n  log: shipped\n"
        );
    }

    #[test]
    fn examples_exist_for_each_trigger() {
        assert!(serde_json::from_str::<Value>(Example::Queue.input()).is_ok());
        assert!(serde_json::from_str::<Value>(Example::Http.input()).is_ok());
        assert_eq!(Example::Timer.input(), "");
        assert!(!Example::Blob.input().is_empty());
    }
}
