//! What a function can know about its own invocation.

use serde_json::{Map, Value};

use crate::invocation::Invocation;

/// The invocation's context: take it as a parameter of any function.
///
/// ```
/// use azfn::prelude::*;
///
/// #[function(queue_trigger(queue_name = "orders"))]
/// async fn audit(message: String, ctx: FunctionContext) {
///     println!("{} ran as {} for {message}", ctx.function_name(), ctx.invocation_id());
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct FunctionContext {
    invocation_id: String,
    function_name: &'static str,
    metadata: Map<String, Value>,
}

impl FunctionContext {
    pub(crate) fn of(invocation: &Invocation) -> Self {
        FunctionContext {
            invocation_id: invocation.invocation_id.clone(),
            function_name: invocation.function.name,
            metadata: invocation.metadata.clone(),
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
}
