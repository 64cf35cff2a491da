//! The requests the runner sends, shaped as the host sends them (see `runtime/src/custom_handler/mod.rs`).

use bytes::Bytes;
use http::Method;

/// The invocation id header the host adds to every request; a fixed one here, so both servers
/// read the same bytes.
pub const INVOCATION_ID: (&str, &str) = ("x-azure-functions-invocationid", "5f4d3b0e-8c1a-4f7e-9a39-2d9c1b7e6a01");

/// The `Data`/`Metadata` envelope of `GET /api/hello?name=x` (the shape of `runtime/tests/captures/http-with-blob-input.json`): the
/// HTTP trigger's value under `req`, and the trigger metadata with its double-encoded values.
pub const HELLO_ENVELOPE: &str = r#"{"Data":{"req":{"Url":"http://localhost:7071/api/hello?name=x","Method":"GET","Query":{"name":"x"},"Headers":{"Accept":["*/*"],"Host":["localhost:7071"],"User-Agent":["curl/8.5.0"]},"Params":{},"Identities":[{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,"BootstrapContext":null,"Claims":[],"Label":null,"Name":null,"NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}]}},"Metadata":{"name":"\"x\"","Query":{"name":"x"},"Headers":{"Accept":"*/*","Host":"localhost:7071","User-Agent":"curl/8.5.0"},"sys":{"MethodName":"hello","UtcNow":"2025-01-01T00:00:00.0000000Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}}}"#;

/// The text `hello` answers to `name=x`.
pub const GREETING: &str = "Hello, x!";

/// One kind of request, repeated by the load generator.
#[derive(Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub path_and_query: &'static str,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
    /// A 200 answer must contain these bytes to count as a success.
    pub expect: &'static str,
}

impl RequestSpec {
    /// `POST /{function}` with the hello envelope: an invocation, as the host sends it.
    pub fn invocation(function: &'static str) -> RequestSpec {
        RequestSpec {
            method: Method::POST,
            path_and_query: function,
            content_type: Some("application/json; charset=utf-8"),
            body: Bytes::from_static(HELLO_ENVELOPE.as_bytes()),
            expect: GREETING,
        }
    }

    /// `GET /api/hello?name=x`: the request a forwarding host sends as the client sent it.
    pub fn forwarded() -> RequestSpec {
        RequestSpec {
            method: Method::GET,
            path_and_query: "/api/hello?name=x",
            content_type: None,
            body: Bytes::new(),
            expect: GREETING,
        }
    }

    /// The same request as raw HTTP/1.1 on a connection that closes after it.
    pub fn raw_head(&self) -> String {
        let content_type = self
            .content_type
            .map(|c| format!("Content-Type: {c}\r\n"))
            .unwrap_or_default();
        format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{content_type}Content-Length: {}\r\n{}: {}\r\nConnection: close\r\n\r\n",
            self.method,
            self.path_and_query,
            self.body.len(),
            INVOCATION_ID.0,
            INVOCATION_ID.1
        )
    }
}
