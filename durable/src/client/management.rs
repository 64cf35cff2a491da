//! The extension's HTTP API as the durable client builds it: the management links of an
//! instance and the "check status" responses of the async HTTP pattern.

use std::time::{Duration, Instant};

use azfn_bindings::percent::encode_component;
use http::StatusCode;

use azfn_core::{HttpRequest, HttpResponse};

use super::{
    ClientError, DEFAULT_CONNECTION, DEFAULT_WEBHOOK_PATH, DurableClient, HttpManagementPayload, RuntimeStatus,
};

impl DurableClient {
    /// The management links of an instance, on the extension's HTTP API at `httpBaseUrl`.
    /// Fails when the binding has no `httpBaseUrl`.
    ///
    /// ```
    /// use azfn::durable::client::DurableClient;
    /// let client = DurableClient::from_binding(r#"{"taskHubName":"Hub","connectionName":"Storage",
    ///     "rpcBaseUrl":"http://localhost:4001","requiredQueryStringParameters":"code=k",
    ///     "httpBaseUrl":"http://localhost:7071/runtime/webhooks/durabletask"}"#).unwrap();
    /// let links = client.create_http_management_payload("abc").unwrap();
    /// assert_eq!(
    ///     links.status_query_get_uri,
    ///     "http://localhost:7071/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=k"
    /// );
    /// ```
    pub fn create_http_management_payload(&self, instance_id: &str) -> Result<HttpManagementPayload, ClientError> {
        let base =
            self.inner.http_base_url.as_deref().ok_or_else(|| {
                ClientError::Config("it has no `httpBaseUrl`, so there is no HTTP API to link to".into())
            })?;
        Ok(self.management_payload(base.trim_end_matches('/'), instance_id))
    }

    /// The `202 Accepted` answer of the async HTTP pattern: the management links as JSON, with
    /// `Location` (the status URL) and `Retry-After: 10`. The links use the origin (scheme, host
    /// and port) the caller used for `request`, and the path of `httpBaseUrl`.
    ///
    /// ```
    /// use azfn::HttpRequest;
    /// use azfn::durable::client::DurableClient;
    /// let client = DurableClient::from_binding(r#"{"taskHubName":"Hub","rpcBaseUrl":"http://localhost:4001",
    ///     "httpBaseUrl":"http://localhost:7071/runtime/webhooks/durabletask"}"#).unwrap();
    /// let req = HttpRequest::builder().url("https://app.example.com/api/start").build();
    /// let res = client.create_check_status_response(&req, "abc");
    /// assert_eq!(res.status(), http::StatusCode::ACCEPTED);
    /// assert_eq!(
    ///     res.header_value("location"),
    ///     Some("https://app.example.com/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage")
    /// );
    /// assert_eq!(res.header_value("retry-after"), Some("10"));
    /// ```
    pub fn create_check_status_response(&self, request: &HttpRequest, instance_id: &str) -> HttpResponse {
        let payload = self.management_payload_for(request, instance_id);
        HttpResponse::new(StatusCode::ACCEPTED)
            .header("location", &payload.status_query_get_uri)
            .header("retry-after", "10")
            .json(&payload)
    }

    /// Waits up to `timeout`, polling every `interval`, for the instance to finish, and answers
    /// like the extension's HTTP API: `200` with the output when it completed, `200` with its
    /// status when it failed, was terminated or canceled, and otherwise the `202` of
    /// [`create_check_status_response`](Self::create_check_status_response).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient, req: azfn::HttpRequest) -> Result<azfn::HttpResponse, azfn::Error> {
    /// use std::time::Duration;
    /// let id = client.start_new("Quick", &()).await?;
    /// Ok(client
    ///     .wait_for_completion_or_create_check_status_response(&req, &id, Duration::from_secs(10), Duration::from_secs(1))
    ///     .await?)
    /// # }
    /// ```
    pub async fn wait_for_completion_or_create_check_status_response(
        &self,
        request: &HttpRequest,
        instance_id: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<HttpResponse, ClientError> {
        let started = Instant::now();
        loop {
            let status = self.get_status(instance_id, true).await?;
            match status {
                Some(status) if status.runtime_status == RuntimeStatus::Completed => {
                    let output = status.serialized_output.unwrap_or_else(|| "null".to_owned());
                    return Ok(HttpResponse::ok()
                        .header("content-type", "application/json")
                        .bytes(output));
                }
                Some(status) if status.runtime_status.is_terminal() => {
                    return Ok(HttpResponse::ok().json(&status.to_json()));
                }
                _ => {}
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Ok(self.create_check_status_response(request, instance_id));
            }
            tokio::time::sleep(left.min(interval.max(Duration::from_millis(1)))).await;
        }
    }

    /// The links for a request: its origin, and the path of `httpBaseUrl`.
    fn management_payload_for(&self, request: &HttpRequest, instance_id: &str) -> HttpManagementPayload {
        let configured = self.inner.http_base_url.as_deref().map(|b| b.trim_end_matches('/'));
        let request_origin = origin_of(request.url());
        let base = match (request_origin, configured) {
            (Some(origin), Some(base)) => match origin_of(base) {
                Some(base_origin) => format!("{origin}{}", &base[base_origin.len()..]),
                None => base.to_owned(),
            },
            (Some(origin), None) => format!("{origin}{DEFAULT_WEBHOOK_PATH}"),
            (None, Some(base)) => base.to_owned(),
            (None, None) => DEFAULT_WEBHOOK_PATH.to_owned(),
        };
        self.management_payload(&base, instance_id)
    }

    fn management_payload(&self, base: &str, instance_id: &str) -> HttpManagementPayload {
        let instance = format!("{base}/instances/{}", encode_component(instance_id));
        let mut query = String::new();
        if !self.inner.task_hub_name.is_empty() {
            query.push_str("taskHub=");
            query.push_str(&encode_component(&self.inner.task_hub_name));
            query.push('&');
        }
        query.push_str("connection=");
        query.push_str(&encode_component(
            self.inner.connection_name.as_deref().unwrap_or(DEFAULT_CONNECTION),
        ));
        if !self.inner.required_query_string_parameters.is_empty() {
            query.push('&');
            query.push_str(&self.inner.required_query_string_parameters);
        }
        HttpManagementPayload {
            id: instance_id.to_owned(),
            status_query_get_uri: format!("{instance}?{query}"),
            send_event_post_uri: format!("{instance}/raiseEvent/{{eventName}}?{query}"),
            terminate_post_uri: format!("{instance}/terminate?reason={{text}}&{query}"),
            rewind_post_uri: format!("{instance}/rewind?reason={{text}}&{query}"),
            purge_history_delete_uri: format!("{instance}?{query}"),
            restart_post_uri: format!("{instance}/restart?{query}"),
            suspend_post_uri: format!("{instance}/suspend?reason={{text}}&{query}"),
            resume_post_uri: format!("{instance}/resume?reason={{text}}&{query}"),
        }
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_absolute_urls() {
        assert_eq!(
            origin_of("https://app.example.com:8443/api/x?y=1").as_deref(),
            Some("https://app.example.com:8443")
        );
        assert_eq!(origin_of("/api/x"), None);
    }
}
