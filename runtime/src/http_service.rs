//! Mounting an HTTP service (an `axum::Router`, any tower `Service`) as one function.
//!
//! The service becomes a function whose HTTP trigger has the catch-all route
//! `<prefix>/{*path}`: the host sends every request under it, and the service sees the request
//! with the host's route prefix and the mount prefix stripped (`/api/shop/items/1` reaches the
//! router as `/items/1`), so routes are written as the service would define them anywhere.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use azfn_bindings::{BindingDescription, PropertyValue, catalog};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use tower_service::Service;

use crate::error::{Error, InvocationError};
use crate::extract::HTTP_RETURN;
use crate::function::{FunctionDescription, InvokeFuture};
use crate::http::HttpRequest;
use crate::invocation::{Invocation, OutputValue, Outputs};

/// The request body a mounted service receives.
pub type ServiceBody = Full<Bytes>;

type ResponseFuture = Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, Error>> + Send>>;
pub(crate) type BoxedService = Arc<dyn Fn(http::Request<ServiceBody>) -> ResponseFuture + Send + Sync>;

/// Mounted services by function name (lowercase), read by [`invoke_service`].
fn services() -> &'static Mutex<BTreeMap<String, BoxedService>> {
    static SERVICES: OnceLock<Mutex<BTreeMap<String, BoxedService>>> = OnceLock::new();
    SERVICES.get_or_init(Default::default)
}

/// Erases a service's types: each request gets its own clone, as tower expects.
pub(crate) fn boxed<S, B>(service: S) -> BoxedService
where
    S: Service<http::Request<ServiceBody>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Display,
{
    Arc::new(move |request| {
        let mut service = service.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(|e| Error::msg(format!("the HTTP service is not ready: {e}")))?;
            let response = service
                .call(request)
                .await
                .map_err(|e| Error::msg(format!("the HTTP service failed: {e}")))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| Error::msg(format!("cannot read the HTTP service's response body: {e}")))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes))
        })
    })
}

/// Describes the mounted service `name` under `prefix` as a function, and keeps the service.
pub(crate) fn mount(name: &str, prefix: &str, service: BoxedService) -> &'static FunctionDescription {
    let prefix = prefix.trim_matches('/');
    let route: &'static str = Box::leak(
        if prefix.is_empty() {
            "{*path}".to_owned()
        } else {
            format!("{prefix}/{{*path}}")
        }
        .into_boxed_str(),
    );
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let properties: &'static [(&'static str, PropertyValue)] = Box::leak(
        vec![
            ("route", PropertyValue::Str(route)),
            ("authLevel", PropertyValue::Str("anonymous")),
        ]
        .into_boxed_slice(),
    );
    let bindings: &'static [BindingDescription] = Box::leak(Box::new([BindingDescription {
        kind: &catalog::HTTP_TRIGGER,
        name: "req",
        data_type: None,
        properties,
    }]));
    services()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name.to_ascii_lowercase(), service);
    Box::leak(Box::new(FunctionDescription {
        name,
        rust_path: "azfn::App::http_service",
        location: (file!(), line!()),
        bindings,
        return_bindings: &HTTP_RETURN,
        retry: None,
        streams_request_body: false,
        invoke: invoke_service,
    }))
}

/// The path the service routes on: the catch-all part after the mount prefix, and the query.
fn service_path(request: &HttpRequest) -> String {
    let path = request.param("path").unwrap_or("");
    match request.raw_query() {
        Some(query) if !query.is_empty() => format!("/{path}?{query}"),
        _ => format!("/{path}"),
    }
}

fn invoke_service(invocation: Invocation) -> InvokeFuture {
    Box::pin(async move {
        let function = invocation.function;
        let service = services()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&function.name.to_ascii_lowercase())
            .cloned();
        let service = service.ok_or_else(|| InvocationError::UnknownFunction(function.name.to_owned()))?;
        let request = match invocation.trigger() {
            crate::BindingData::Http(request) => request,
            other => {
                return Err(InvocationError::Binding {
                    binding: "req".into(),
                    message: format!("expected an HTTP request, found {}", other.to_json()),
                });
            }
        };
        let http_request = request.to_http(&service_path(request)).map(Full::new);
        let response = service(http_request).await.map_err(InvocationError::Function)?;
        Ok(Outputs {
            return_value: Some(OutputValue::Http(response.into())),
            ..Outputs::default()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_sees_the_path_after_the_mount_and_the_query() {
        let request = HttpRequest::builder()
            .url("https://x/api/shop/items/1?full=true")
            .param("path", "items/1")
            .build();
        assert_eq!(service_path(&request), "/items/1?full=true");
        assert_eq!(
            service_path(&HttpRequest::builder().url("https://x/api/shop").build()),
            "/"
        );
    }
}
