//! What a function can know about its own invocation.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::cancel::CancellationToken;
use crate::data::DecodeError;
use crate::extensions::Extensions;
use crate::invocation::{Invocation, Metadata, RetryContext, TraceContext};

/// The invocation's context: take it as a parameter of any function.
///
/// ```
/// use azfn::prelude::*;
///
/// #[function(queue_trigger(queue_name = "orders"))]
/// async fn audit(message: String, ctx: FunctionContext) {
///     let attempt = ctx.retry().map_or(0, |r| r.retry_count);
///     tracing::info!("{} ({}) attempt {attempt}: {message}", ctx.function_name(), ctx.invocation_id());
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct FunctionContext {
    invocation_id: String,
    function_name: &'static str,
    metadata: Metadata,
    retry: Option<RetryContext>,
    trace: Option<TraceContext>,
    cancellation: CancellationToken,
    extensions: Extensions,
    state: Arc<Extensions>,
}

impl FunctionContext {
    pub(crate) fn of(invocation: &Invocation) -> Self {
        FunctionContext {
            invocation_id: invocation.invocation_id.clone(),
            function_name: invocation.function.name,
            metadata: invocation.metadata.clone(),
            retry: invocation.retry.clone(),
            trace: invocation.trace.clone(),
            cancellation: invocation.cancellation.clone(),
            extensions: invocation.extensions.clone(),
            state: Arc::clone(&invocation.state),
        }
    }

    /// The host's id of this invocation.
    pub fn invocation_id(&self) -> &str {
        &self.invocation_id
    }

    /// The function's name, as the host knows it.
    pub fn function_name(&self) -> &'static str {
        self.function_name
    }

    /// The trigger's metadata, decoded: route parameters, query values, queue message id,
    /// blob path parameters, `sys`, …
    pub fn trigger_metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// The trigger's metadata read into a type of yours (`#[derive(Deserialize)]`, with the
    /// host's key names).
    pub fn trigger_metadata_as<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        T::deserialize(&Value::Object((*self.metadata).clone()))
            .map_err(|e| DecodeError::new(format!("trigger metadata: {e}")))
    }

    /// Where this invocation stands in the function's retry policy, when one applies.
    pub fn retry(&self) -> Option<&RetryContext> {
        self.retry.as_ref()
    }

    /// The W3C trace context the host propagated.
    pub fn trace_context(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }

    /// Cancelled when the host cancels the invocation or the worker shuts down.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// A value a middleware attached to this invocation.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }

    /// A value of the app's shared state (see `App::state`).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.state.get_arc::<T>()
    }
}
