//! The HTTP pipeline every deploy request goes through: the Azure SDK for Rust's `azure_core`
//! pipeline with its bearer-token policy and its retry policy.
//!
//! What the retry policy does (read in `typespec_client_core` 1.1
//! `src/http/policies/retry/mod.rs`): it retries 408, 429, 500, 502, 503 and 504, and transport
//! errors (`ErrorKind::Io` / `Connection`, which is what a connection dropped in the middle of an
//! upload gives); on 429 and 503 it waits the longer of its own back-off and the server's
//! `x-ms-retry-after-ms`, `retry-after-ms` or `Retry-After` (seconds or an HTTP date, the list
//! `azure_core`'s pipeline configures); before each retry it resets the request body, so a
//! rewindable upload is sent again from its first byte. That is what ARM and the SCM site ask for,
//! so no policy is added; only the number of retries is set here.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    Body, ClientOptions, Context, ExponentialRetryOptions, Method, Pipeline, PipelineSendOptions, Request,
    RetryOptions, Url,
};
use azure_core::time::Duration;

use crate::error::{Error, Result};

/// How many times a request is retried after a throttling answer, a server error or a lost
/// connection.
pub const MAX_RETRIES: u32 = 5;

/// An answer, whatever its status.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Headers,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value, if present.
    pub fn header(&self, name: &'static str) -> Option<&str> {
        self.headers.get_optional_str(&HeaderName::from_static(name))
    }

    /// The body as JSON.
    pub fn json(&self, what: &str) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::new(format!("{what}: the answer is not JSON ({e}): {}", self.text())))
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }

    /// The error an unexpected status makes: ARM's `error.message` when the body has one.
    pub fn error(&self, what: &str) -> Error {
        let detail = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| {
                let error = body.get("error").unwrap_or(&body);
                let message = error.get("message").or_else(|| error.get("Message"))?.as_str()?;
                let code = error.get("code").and_then(|c| c.as_str());
                Some(match code {
                    Some(code) => format!("{code}: {message}"),
                    None => message.to_owned(),
                })
            })
            .unwrap_or_else(|| self.text());
        Error::new(format!("{what}: HTTP {}{}", self.status, prefixed(&detail)))
    }
}

fn prefixed(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// A client that signs every request with a bearer token for one scope.
#[derive(Debug, Clone)]
pub struct AzureClient {
    pipeline: Pipeline,
}

impl AzureClient {
    /// A client whose requests carry a token from `credential` for `scope`.
    pub fn new(credential: Arc<dyn TokenCredential>, scope: String) -> AzureClient {
        let bearer: Arc<dyn Policy> = Arc::new(BearerTokenAuthorizationPolicy::new(credential, vec![scope]));
        let options = ClientOptions {
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                max_retries: MAX_RETRIES,
                initial_delay: Duration::milliseconds(500),
                // The default (one minute since the first try) would forbid retrying an upload
                // that took longer than that before its connection dropped.
                max_total_elapsed: Duration::minutes(15),
                ..Default::default()
            }),
            ..Default::default()
        };
        // The bearer policy runs per try, so a retry after a long wait gets a fresh token.
        let pipeline = Pipeline::new(
            Some("cargo-azfn"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            vec![bearer],
            None,
        );
        AzureClient { pipeline }
    }

    /// Sends a request and reads the whole answer. Only transport failures (after the retries)
    /// are errors; every status is returned.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(&'static str, String)],
        body: Option<Body>,
    ) -> Result<Reply> {
        let what = format!("{method} {}", without_query(&url));
        let mut request = Request::new(url, method);
        for (name, value) in headers {
            request.insert_header(*name, value.clone());
        }
        if let Some(body) = body {
            request.set_body(body);
        }
        let options = PipelineSendOptions {
            skip_checks: true,
            ..Default::default()
        };
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|e| Error::new(format!("{what} failed: {}", describe(&e))))?;
        let (status, headers, body) = response.deconstruct();
        Ok(Reply {
            status: u16::from(status),
            headers,
            body: body.to_vec(),
        })
    }

    /// Sends a JSON body (or none) and reads the answer.
    pub async fn send_json(&self, method: Method, url: Url, body: Option<&serde_json::Value>) -> Result<Reply> {
        let mut headers = vec![("accept", "application/json".to_owned())];
        let body = match body {
            Some(value) => {
                headers.push(("content-type", "application/json".to_owned()));
                Some(Body::from(
                    serde_json::to_vec(value).map_err(|e| Error::new(e.to_string()))?,
                ))
            }
            None => None,
        };
        self.send(method, url, &headers, body).await
    }
}

/// A URL without its query, for messages.
pub fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// An `azure_core` error with its causes, one line.
pub fn describe(error: &azure_core::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
