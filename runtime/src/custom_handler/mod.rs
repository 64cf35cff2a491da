//! The custom-handler transport: how the Azure Functions host talks to an azfn app.
//!
//! With `customHandler` in `host.json`, the host starts the app as a child process, hands it a
//! port in `FUNCTIONS_CUSTOMHANDLER_PORT` and talks plain HTTP/1.1 to `127.0.0.1` on that port:
//! it polls `GET /` until any answer comes back (readiness), then sends every invocation as
//! `POST /{FunctionName}` with a JSON body `{"Data": {...}, "Metadata": {...}}`, and expects
//! `200` with `Content-Type: application/json` and a body
//! `{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}`. Any other status fails the
//! invocation, so the host's retry policies apply.
//!
//! [`protocol`] converts between those JSON envelopes and azfn's transport-neutral
//! [`Invocation`](crate::Invocation) and [`Outputs`](crate::Outputs); [`serve`] is the HTTP
//! server the host talks to. The rules honoured, as the host's code applies them:
//!
//! - the port comes from `FUNCTIONS_CUSTOMHANDLER_PORT`, else the legacy
//!   `FUNCTIONS_HTTPWORKER_PORT` ([`port_from_env`]);
//! - `GET /` answers at once, whatever else the app is doing;
//! - function names in the path are matched case-insensitively; request bodies may be sized or
//!   chunked; many invocations run at once;
//! - every input value except the HTTP request is double JSON-encoded by the host (a queue
//!   message `abc` arrives as `"\"abc\""`, a count of 1 as `"1"`) and bytes arrive as base64:
//!   both are undone before a function sees the value;
//! - the HTTP request arrives as a PascalCase object (`Url`, `Method`, `Query`, `Headers`,
//!   `Params`, `Identities`, `Body`), with the shapes both old and current hosts send;
//! - string outputs are sent base64-encoded, because the host base64-decodes any string output
//!   that happens to be valid base64 (see [`protocol::encode_response`]);
//! - HTTP responses are sent as `{"statusCode", "headers", "body"}` objects with string header
//!   values and a text body (`body` is always present, which a `$return` response requires);
//! - failures answer non-2xx with a JSON `{"error": "..."}` body and a line on stderr, which
//!   the host logs as an error: `404` for an unknown function, `400` for a request or binding
//!   that cannot be read, `500` when the function fails, panics, or writes an output that
//!   cannot be encoded. An HTTP function's failure is one too (the host then answers its
//!   caller `500`); only an error with a status is a response.
//!
//! With `enableForwardingHttpRequest` (`App::forward_http_requests`), the host sends the
//! requests of HTTP-only functions as they came from the client, at their original path; the
//! server routes them by the functions' route templates and answers with the function's HTTP
//! response as it is (see `forwarding.rs`).

mod direct;
mod encoding;
mod forwarding;
pub mod protocol;
mod server;

pub use server::{PortError, ServerOptions, port_from_env, serve, serve_with};
