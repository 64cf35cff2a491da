//! The HTTP pipeline every deploy request goes through: the Azure SDK for Rust's `azure_core`
//! pipeline with its bearer-token policy, and a retry policy of ours in place of its own.
//!
//! Retries are [`ServerPacedRetry`]'s: `azure_core`'s statuses and transport errors, with the
//! server's wait honoured on every retried status, and the body rewound before each retry.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    Body, ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, RetryOptions, Url,
};

use crate::error::{Error, Result};

use super::retry::ServerPacedRetry;

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
        // The pipeline's own retry policy is off: ours runs in its place, per call, so the
        // bearer policy after it signs every try.
        let options = ClientOptions {
            retry: RetryOptions::none(),
            ..Default::default()
        };
        let retry: Arc<dyn Policy> = Arc::new(ServerPacedRetry::default());
        let pipeline = Pipeline::new(
            Some("cargo-azfn"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            vec![retry],
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
