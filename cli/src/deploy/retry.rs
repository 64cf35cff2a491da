//! The retry policy of deploy requests: `azure_core`'s, made to honour the server's wait on
//! every status it retries.
//!
//! `azure_core` 1.1's retry policy (`typespec_client_core` `src/http/policies/retry/mod.rs`)
//! retries 408, 429, 500, 502, 503 and 504 and transport errors (`ErrorKind::Io` /
//! `Connection`: a connection refused, or dropped in the middle of an upload), resets the body
//! before each retry, and waits the longer of its back-off and the server's
//! `x-ms-retry-after-ms`, `retry-after-ms` or `Retry-After` — but reads those headers on 429 and
//! 503 only. An SCM site or gateway that answers 500, 502 or 504 with a `Retry-After` would be
//! retried too early, so this policy takes its place (the pipeline's own is turned off) and
//! reads the server's wait on every retried status, with `azure_core`'s header parser.

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::error::ErrorKind;
use azure_core::http::headers::{HeaderName, RETRY_AFTER, RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS};
use azure_core::http::policies::{Policy, PolicyResult, get_retry_after};
use azure_core::http::{Context, Request};
use azure_core::time::OffsetDateTime;

/// The statuses that are retried (`azure_core`'s list).
pub const RETRIED_STATUSES: &[u16] = &[408, 429, 500, 502, 503, 504];

/// The longest server-asked wait honoured; a longer one is cut to this.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(300);

/// Retries with exponential back-off, or the server's wait when it gives one.
#[derive(Debug, Clone)]
pub struct ServerPacedRetry {
    /// Retries after the first try.
    pub max_retries: u32,
    /// The first back-off; it doubles with each retry.
    pub initial_delay: Duration,
    /// The longest back-off.
    pub max_delay: Duration,
    /// No retry starts after this long since the first try (an upload of a large zip over a
    /// slow link may take minutes before its connection drops).
    pub max_elapsed: Duration,
}

impl Default for ServerPacedRetry {
    fn default() -> Self {
        ServerPacedRetry {
            max_retries: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(15 * 60),
        }
    }
}

impl ServerPacedRetry {
    /// The back-off before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// The wait a response asks for, from the headers `azure_core`'s pipeline reads.
pub fn server_wait(headers: &azure_core::http::headers::Headers) -> Option<Duration> {
    const HEADERS: [HeaderName; 3] = [X_MS_RETRY_AFTER_MS, RETRY_AFTER_MS, RETRY_AFTER];
    let wait = get_retry_after(headers, OffsetDateTime::now_utc, &HEADERS)?;
    let millis = u64::try_from(wait.whole_milliseconds()).unwrap_or(0);
    Some(Duration::from_millis(millis).min(MAX_SERVER_WAIT))
}

#[async_trait::async_trait]
impl Policy for ServerPacedRetry {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            if retry > 0 {
                request.body_mut().reset().await?;
            }
            let result = next[0].send(ctx, request, &next[1..]).await;
            retry += 1;
            let wait = match &result {
                Ok(response) if RETRIED_STATUSES.contains(&u16::from(response.status())) => {
                    Some(server_wait(response.headers()).unwrap_or_else(|| self.backoff(retry)))
                }
                Ok(_) => None,
                Err(error) if matches!(error.kind(), ErrorKind::Io | ErrorKind::Connection) => {
                    Some(self.backoff(retry))
                }
                Err(_) => None,
            };
            match wait {
                Some(wait) if retry <= self.max_retries && started.elapsed() + wait < self.max_elapsed => {
                    tokio::time::sleep(wait).await;
                }
                _ => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use azure_core::http::headers::Headers;

    use super::*;

    #[test]
    fn the_servers_wait_wins_and_back_off_doubles() {
        let mut headers = Headers::new();
        headers.insert(RETRY_AFTER, "2");
        assert_eq!(server_wait(&headers), Some(Duration::from_secs(2)));
        let mut headers = Headers::new();
        headers.insert(RETRY_AFTER_MS, "250");
        assert_eq!(server_wait(&headers), Some(Duration::from_millis(250)));
        let mut headers = Headers::new();
        headers.insert(RETRY_AFTER, "86400");
        assert_eq!(server_wait(&headers), Some(MAX_SERVER_WAIT));
        assert_eq!(server_wait(&Headers::new()), None);
        let policy = ServerPacedRetry::default();
        assert_eq!(policy.backoff(1), Duration::from_millis(500));
        assert_eq!(policy.backoff(3), Duration::from_secs(2));
        assert_eq!(policy.backoff(20), Duration::from_secs(30));
    }
}
