//! The baseline: the least a custom handler can do and still speak the protocol, written by hand
//! on hyper 1, so azfn's figures can be read as a fraction of the protocol's practical limit.
//!
//! - `GET /` answers at once (the host's readiness probe);
//! - `POST /hello` parses the `{"Data", "Metadata"}` envelope with serde_json (the HTTP request
//!   typed, the metadata as JSON, as a real handler must read both) and writes, by hand, the
//!   same response JSON azfn writes for its `hello` function;
//! - `POST /nap` does the same after 200 ms (the memory scenario);
//! - `GET /api/hello?name=x` answers `Hello, x!` as text: a forwarded request.
//!
//! It listens where the host says, `127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT`, on the same tokio
//! multi-threaded runtime and HTTP/1.1 settings (keep-alive, no Nagle) azfn uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// The invocation envelope, as the host sends it.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Data")]
    data: Data,
    #[serde(rename = "Metadata", default)]
    #[allow(dead_code, reason = "parsed as a real handler must, though `hello` does not use it")]
    metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Data {
    req: HttpTriggerValue,
}

/// The HTTP trigger's value (the host's PascalCase request object), the fields a handler reads.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(
    dead_code,
    reason = "parsed as a real handler must, even where the answer does not use it"
)]
struct HttpTriggerValue {
    url: String,
    method: String,
    #[serde(default)]
    query: HashMap<String, String>,
    #[serde(default)]
    headers: HashMap<String, Vec<String>>,
    #[serde(default)]
    body: Option<String>,
}

/// The response envelope azfn writes for a function returning a `String`.
#[derive(Serialize)]
struct ResponseEnvelope<'a> {
    #[serde(rename = "Outputs")]
    outputs: Empty,
    #[serde(rename = "Logs")]
    logs: [&'a str; 0],
    #[serde(rename = "ReturnValue")]
    return_value: HttpReturn<'a>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct HttpReturn<'a> {
    #[serde(rename = "statusCode")]
    status_code: u16,
    headers: TextHeaders,
    body: &'a str,
}

#[derive(Serialize)]
struct TextHeaders {
    #[serde(rename = "content-type")]
    content_type: &'static str,
}

const TEXT: &str = "text/plain; charset=utf-8";

type Body = Full<Bytes>;

#[tokio::main]
async fn main() {
    let port = match std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT").map(|p| p.parse::<u16>()) {
        Ok(Ok(port)) => port,
        _ => {
            eprintln!("baseline: set FUNCTIONS_CUSTOMHANDLER_PORT to the port to listen on");
            std::process::exit(2);
        }
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("baseline: cannot listen on {address}: {error}");
            std::process::exit(1);
        }
    };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                eprintln!("baseline: accept failed: {error}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle));
            if let Err(error) = connection.await {
                eprintln!("baseline: connection error: {error}");
            }
        });
    }
}

async fn handle(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => text(StatusCode::OK, "ready".to_owned()),
        (&Method::POST, "/hello") => invoke(request, Duration::ZERO).await,
        (&Method::POST, "/nap") => invoke(request, Duration::from_millis(200)).await,
        (&Method::GET, "/api/hello") => {
            let name = request.uri().query().and_then(name_from_query);
            text(StatusCode::OK, greeting(name.as_deref().unwrap_or("world")))
        }
        _ => text(StatusCode::NOT_FOUND, "not found".to_owned()),
    };
    Ok(response)
}

/// Reads the envelope, greets `Query.name`, and answers with the response envelope.
async fn invoke(request: Request<Incoming>, delay: Duration) -> Response<Body> {
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("cannot read the body: {error}")),
    };
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("not an invocation envelope: {error}")),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let body = greeting(envelope.data.req.query.get("name").map_or("world", String::as_str));
    let answer = ResponseEnvelope {
        outputs: Empty {},
        logs: [],
        return_value: HttpReturn {
            status_code: 200,
            headers: TextHeaders { content_type: TEXT },
            body: &body,
        },
    };
    match serde_json::to_vec(&answer) {
        Ok(json) => {
            let mut response = Response::new(Body::from(json));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(error) => text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}

/// The `name` parameter of a query string; the runner only sends plain ASCII, so no decoding.
fn name_from_query(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("name="))
        .map(str::to_owned)
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
    response
}
