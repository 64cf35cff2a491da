//! The two ways the local host talks to the worker. Everything else (routing, keys, timers,
//! the admin API, the console) is shared: it builds an [`InvocationPayload`] and gets back an
//! [`InvocationResult`], whichever transport carries them.
//!
//! | transport | launch | ready when | an invocation is |
//! |---|---|---|---|
//! | [`Transport::CustomHandler`] | `FUNCTIONS_CUSTOMHANDLER_PORT` and friends | `GET /` answers | `POST /{function}` with JSON (see `payload.rs`, `response.rs`) |
//! | [`Transport::Grpc`] | the host's gRPC arguments | `StartStream`, init, metadata and loads are done | an `InvocationRequest` on `EventStream` ([`super::grpc`]) |

use http::Request;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};

use super::grpc;
use super::payload::{HOST_VERSION, InvocationPayload};
use super::response::{self, InvocationResult};
use crate::app::Function;
use crate::client::{self, ChunkedBody};

/// How the host talks to the worker (`cargo azfn start --transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Transport {
    /// The custom-handler protocol: the worker is an HTTP server (host.json `customHandler`).
    #[default]
    CustomHandler,
    /// The gRPC language-worker protocol of the native runtime: the host is a gRPC server and
    /// the worker describes its functions (worker indexing). The app needs azfn's `native`
    /// feature.
    Grpc,
}

impl Transport {
    /// The `language` the admin API reports for functions.
    pub fn language(self) -> &'static str {
        match self {
            Transport::CustomHandler => "custom",
            Transport::Grpc => "native",
        }
    }
}

/// A ready worker, as reached by its transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// A custom handler listening on `127.0.0.1:port`.
    Http {
        /// The worker's port.
        port: u16,
    },
    /// A gRPC worker's stream.
    Grpc(grpc::Channel),
}

impl Connection {
    /// Sends one invocation of `function` and reads the answer.
    pub async fn invoke(
        &self,
        function: &Function,
        payload: &InvocationPayload,
        id: &str,
    ) -> Result<InvocationResult, String> {
        match self {
            Connection::Http { port } => invoke_over_http(*port, function, payload, id).await,
            Connection::Grpc(channel) => channel.invoke(function, payload, id).await,
        }
    }

    /// Resolves when the connection is gone while the process may still run: a gRPC worker
    /// that ended its stream (with why, empty for a clean end). A custom handler has no such
    /// state, so this never resolves for it.
    pub async fn closed(&self) -> String {
        match self {
            Connection::Http { .. } => std::future::pending().await,
            Connection::Grpc(channel) => channel.closed().await,
        }
    }
}

/// POSTs the payload to `/{name}` on the worker as the host does (chunked, no `Content-Length`)
/// and reads the answer (`response.rs`).
async fn invoke_over_http(
    port: u16,
    function: &Function,
    payload: &InvocationPayload,
    id: &str,
) -> Result<InvocationResult, String> {
    let body = serde_json::to_vec(&payload.to_json()).map_err(|e| format!("cannot encode the payload: {e}"))?;
    let request = Request::post(format!("/{}", function.name))
        .header(HOST, format!("127.0.0.1:{port}"))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .header("X-Azure-Functions-HostVersion", HOST_VERSION)
        .header("X-Azure-Functions-InvocationId", id)
        .header(USER_AGENT, format!("Azure-Functions-Host/{HOST_VERSION}"))
        .body(ChunkedBody::new(body))
        .map_err(|e| format!("cannot build the request to the worker: {e}"))?;
    let response = client::send(port, request, None)
        .await
        .map_err(|e| format!("the worker could not be reached: {e}"))?;
    response::read_response(
        function,
        response.status(),
        response.header("content-type"),
        &response.body,
    )
    .map_err(|e| e.0)
}
