//! Durable HTTP calls: the request and response of the Durable extension's built-in HTTP
//! activity (`BuiltIn::HttpActivity`, run by the extension's `TaskHttpActivityShim`, never by
//! the worker), in the JSON its `DurableHttpRequest` / `DurableHttpResponse` classes read and
//! write, and what the 202 polling needs from a response.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::task::RetryPolicy;

/// The name the extension reserves for its HTTP activity.
pub(crate) const HTTP_ACTIVITY: &str = "BuiltIn::HttpActivity";

/// How long to wait between two polls when a 202 response has no `Retry-After`: the
/// extension's `HttpOptions.DefaultAsyncRequestSleepTimeMilliseconds` default, 30 s.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// An HTTP request the Durable extension makes on the orchestration's behalf
/// ([`OrchestrationContext::call_http`](super::OrchestrationContext::call_http)).
///
/// ```
/// use azfn::durable::orchestration::{DurableHttpRequest, TokenSource};
/// use std::time::Duration;
///
/// let request = DurableHttpRequest::new("POST", "https://example.net/orders")
///     .header("Content-Type", "application/json")
///     .content(r#"{"id":7}"#)
///     .token_source(TokenSource::managed_identity("https://management.core.windows.net/.default"))
///     .timeout(Duration::from_secs(90));
/// assert_eq!(request.method, "POST");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DurableHttpRequest {
    /// The method, e.g. `GET` (the extension sends any text as the method).
    pub method: String,
    /// The absolute URL.
    pub uri: String,
    /// Headers, each with one or more values. A `Content-Type` sets the content's type.
    pub headers: BTreeMap<String, Vec<String>>,
    /// The body, sent as text (`text/plain` unless a `Content-Type` header says otherwise).
    pub content: Option<String>,
    /// Where the extension gets a bearer token for the `Authorization` header.
    pub token_source: Option<TokenSource>,
    /// Whether a `202 Accepted` with a `Location` header is followed: the orchestration waits
    /// (`Retry-After` seconds, else 30 s, on a durable timer) and GETs the location, until the
    /// answer is not a 202. Default: on, as in the extension's own orchestration context.
    pub asynchronous_pattern_enabled: bool,
    /// How long the extension waits for each response (.NET `TimeSpan`); none by default.
    pub timeout: Option<Duration>,
    /// Retry the call (`retryOptions`): see [`HttpRetry`]. None by default.
    pub retry: Option<HttpRetry>,
}

/// When and how a durable HTTP call is retried (the extension's `HttpRetryOptions`).
///
/// The extension fails the call on a listed status (on any status outside 2xx when the list is
/// empty), and the orchestration retries failed calls as [`policy`](Self::policy) says, on
/// durable timers. Only the first call is retried, not the 202 polls.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRetry {
    /// Attempts, intervals, back-off and timeout.
    pub policy: RetryPolicy,
    /// The statuses that fail the call so that it is retried; empty: every non-2xx status.
    pub status_codes_to_retry: Vec<u16>,
}

impl Serialize for HttpRetry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // PascalCase, as the extension's (Newtonsoft) and the isolated worker's classes name
        // them; an absent interval or timeout keeps the extension's default.
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("FirstRetryInterval", &time_span(self.policy.first_retry_interval))?;
        if let Some(max) = self.policy.max_retry_interval {
            map.serialize_entry("MaxRetryInterval", &time_span(max))?;
        }
        map.serialize_entry("BackoffCoefficient", &self.policy.backoff_coefficient)?;
        if let Some(timeout) = self.policy.retry_timeout {
            map.serialize_entry("RetryTimeout", &time_span(timeout))?;
        }
        map.serialize_entry("MaxNumberOfAttempts", &self.policy.max_attempts)?;
        map.serialize_entry("StatusCodesToRetry", &self.status_codes_to_retry)?;
        map.end()
    }
}

impl DurableHttpRequest {
    /// A request with no headers, no content, no token and the 202 polling on.
    pub fn new(method: impl Into<String>, uri: impl Into<String>) -> Self {
        DurableHttpRequest {
            method: method.into(),
            uri: uri.into(),
            headers: BTreeMap::new(),
            content: None,
            token_source: None,
            asynchronous_pattern_enabled: true,
            timeout: None,
            retry: None,
        }
    }

    /// Adds a value to the header `name`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.entry(name.into()).or_default().push(value.into());
        self
    }

    /// Sets the body.
    pub fn content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }

    /// Sets where the bearer token comes from.
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Turns the 202 polling on or off.
    pub fn asynchronous_pattern(mut self, enabled: bool) -> Self {
        self.asynchronous_pattern_enabled = enabled;
        self
    }

    /// Sets the per-response timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries the call as `policy` says when it fails or answers one of
    /// `status_codes_to_retry` (any non-2xx status when empty).
    pub fn retry(mut self, policy: RetryPolicy, status_codes_to_retry: impl IntoIterator<Item = u16>) -> Self {
        self.retry = Some(HttpRetry {
            policy,
            status_codes_to_retry: status_codes_to_retry.into_iter().collect(),
        });
        self
    }

    /// The request that polls `location`: a GET with the same headers (but `x-functions-key`,
    /// which the extension drops because a status endpoint needs another key), token source
    /// and timeout.
    pub(crate) fn location_poll(&self, location: &str) -> DurableHttpRequest {
        let mut headers = self.headers.clone();
        headers.retain(|name, _| !name.eq_ignore_ascii_case("x-functions-key"));
        DurableHttpRequest {
            method: "GET".into(),
            uri: location.to_owned(),
            headers,
            content: None,
            token_source: self.token_source.clone(),
            asynchronous_pattern_enabled: self.asynchronous_pattern_enabled,
            timeout: self.timeout,
            retry: None,
        }
    }

    /// The activity's input: the request inside a one-element JSON array, which is what the
    /// extension's `TaskHttpActivityShim` reads (DTFx's parameter array).
    pub(crate) fn activity_input(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&[self])
    }
}

impl Serialize for DurableHttpRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", &self.method)?;
        map.serialize_entry("uri", &self.uri)?;
        map.serialize_entry("headers", &Headers(&self.headers))?;
        if let Some(content) = &self.content {
            map.serialize_entry("content", content)?;
        }
        if let Some(source) = &self.token_source {
            map.serialize_entry("tokenSource", source)?;
        }
        map.serialize_entry("asynchronousPatternEnabled", &self.asynchronous_pattern_enabled)?;
        if let Some(retry) = &self.retry {
            map.serialize_entry("retryOptions", retry)?;
        }
        if let Some(timeout) = self.timeout {
            map.serialize_entry("timeout", &time_span(timeout))?;
        }
        map.end()
    }
}

/// Headers as the extension's `HttpHeadersConverter` writes them: one value as a string,
/// several as an array.
struct Headers<'a>(&'a BTreeMap<String, Vec<String>>);

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, values) in self.0 {
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

/// A .NET `TimeSpan` in its constant format, `[d.]hh:mm:ss[.fffffff]`.
fn time_span(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (days, hours, minutes, secs) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    let mut text = if days > 0 {
        format!("{days}.{hours:02}:{minutes:02}:{secs:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{secs:02}")
    };
    let ticks = duration.subsec_nanos() / 100;
    if ticks > 0 {
        text.push_str(&format!(".{ticks:07}"));
    }
    text
}

/// Where the extension gets the bearer token of a durable HTTP request.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenSource {
    /// The function app's managed identity, for `resource` (the extension's
    /// `ManagedIdentityTokenSource`, `kind` `AzureManagedIdentity`).
    ManagedIdentity {
        /// The resource (scope) the token is for, e.g.
        /// `https://management.core.windows.net/.default`.
        resource: String,
        /// The authority host (`authorityhost`), for sovereign clouds.
        authority_host: Option<String>,
        /// The tenant (`tenantid`).
        tenant_id: Option<String>,
    },
}

impl TokenSource {
    /// The managed identity, for `resource`, on the default authority and tenant.
    pub fn managed_identity(resource: impl Into<String>) -> Self {
        TokenSource::ManagedIdentity {
            resource: resource.into(),
            authority_host: None,
            tenant_id: None,
        }
    }
}

impl Serialize for TokenSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let TokenSource::ManagedIdentity {
            resource,
            authority_host,
            tenant_id,
        } = self;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", "AzureManagedIdentity")?;
        map.serialize_entry("resource", resource)?;
        if authority_host.is_some() || tenant_id.is_some() {
            let mut options = serde_json::Map::new();
            if let Some(host) = authority_host {
                options.insert("authorityhost".into(), host.clone().into());
            }
            if let Some(tenant) = tenant_id {
                options.insert("tenantid".into(), tenant.clone().into());
            }
            map.serialize_entry("options", &options)?;
        }
        map.end()
    }
}

/// The response of a durable HTTP call, as the extension's `DurableHttpResponse` writes it.
///
/// ```
/// use azfn::durable::orchestration::DurableHttpResponse;
/// let response: DurableHttpResponse = serde_json::from_str(
///     r#"{"statusCode":200,"headers":{"Content-Type":"application/json","Set-Cookie":["a=1","b=2"]},"content":"{}"}"#,
/// ).unwrap();
/// assert_eq!(response.status_code, 200);
/// assert_eq!(response.header("content-type"), Some("application/json"));
/// assert_eq!(response.headers["Set-Cookie"], ["a=1", "b=2"]);
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DurableHttpResponse {
    /// The status code.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// The headers (response and content headers), each with its values.
    #[serde(default, deserialize_with = "read_headers")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// The body as text.
    #[serde(default)]
    pub content: Option<String>,
}

impl DurableHttpResponse {
    /// The first value of the header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.first())
            .map(String::as_str)
    }

    /// Where to poll next and after how long, when this answer asks for it (202 with a
    /// `Location`); the delay is `Retry-After` in seconds, else 30 s.
    pub(crate) fn next_poll(&self) -> Option<(String, Duration)> {
        if self.status_code != 202 {
            return None;
        }
        let location = self.header("Location")?.to_owned();
        let delay = self
            .header("Retry-After")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map_or(DEFAULT_POLL_INTERVAL, Duration::from_secs);
        Some((location, delay))
    }
}

/// Reads headers whose values are strings or arrays of strings.
fn read_headers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Values {
        One(String),
        Many(Vec<String>),
    }
    let raw: Option<BTreeMap<String, Values>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(name, values)| {
            let values = match values {
                Values::One(one) => vec![one],
                Values::Many(many) => many,
            };
            (name, values)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_written_as_the_extension_reads_them() {
        let request = DurableHttpRequest::new("GET", "https://example.net/a")
            .header("Accept", "application/json")
            .header("X-Many", "1")
            .header("X-Many", "2")
            .token_source(TokenSource::ManagedIdentity {
                resource: "https://r/.default".into(),
                authority_host: Some("https://login.example".into()),
                tenant_id: None,
            })
            .timeout(Duration::new(90_061, 500_000_000));
        assert_eq!(
            request.activity_input().unwrap(),
            r#"[{"method":"GET","uri":"https://example.net/a","headers":{"Accept":"application/json","X-Many":["1","2"]},"tokenSource":{"kind":"AzureManagedIdentity","resource":"https://r/.default","options":{"authorityhost":"https://login.example"}},"asynchronousPatternEnabled":true,"timeout":"1.01:01:01.5000000"}]"#
        );
        let retried = DurableHttpRequest::new("GET", "https://e/").retry(
            RetryPolicy::new(3, Duration::from_secs(5)).max_retry_interval(Duration::from_secs(60)),
            [503, 429],
        );
        assert_eq!(
            serde_json::to_string(&retried).unwrap(),
            r#"{"method":"GET","uri":"https://e/","headers":{},"asynchronousPatternEnabled":true,"retryOptions":{"FirstRetryInterval":"00:00:05","MaxRetryInterval":"00:01:00","BackoffCoefficient":1.0,"MaxNumberOfAttempts":3,"StatusCodesToRetry":[503,429]}}"#
        );
        let plain = DurableHttpRequest::new("POST", "https://e/")
            .content("hi")
            .asynchronous_pattern(false);
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"method":"POST","uri":"https://e/","headers":{},"content":"hi","asynchronousPatternEnabled":false}"#
        );
    }

    #[test]
    fn polls_follow_location_and_retry_after() {
        let read = |json: &str| serde_json::from_str::<DurableHttpResponse>(json).unwrap();
        let accepted = read(r#"{"statusCode":202,"headers":{"location":"https://e/s","Retry-After":"5"}}"#);
        assert_eq!(
            accepted.next_poll(),
            Some(("https://e/s".into(), Duration::from_secs(5)))
        );
        let no_delay = read(r#"{"statusCode":202,"headers":{"Location":["https://e/s"]},"content":null}"#);
        assert_eq!(
            no_delay.next_poll(),
            Some(("https://e/s".into(), DEFAULT_POLL_INTERVAL))
        );
        assert_eq!(read(r#"{"statusCode":202,"headers":null}"#).next_poll(), None);
        assert_eq!(
            read(r#"{"statusCode":200,"headers":{"Location":"x"}}"#).next_poll(),
            None
        );

        let request = DurableHttpRequest::new("POST", "https://e/start")
            .header("x-functions-key", "k")
            .header("Accept", "*/*")
            .content("body");
        let poll = request.location_poll("https://e/s");
        assert_eq!(
            (poll.method.as_str(), poll.uri.as_str(), poll.content),
            ("GET", "https://e/s", None)
        );
        assert_eq!(poll.headers.keys().collect::<Vec<_>>(), ["Accept"]);
    }
}
