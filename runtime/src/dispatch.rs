//! Runs invocations: the one place that calls user code, whatever transport brought the request.

use std::any::Any;

use crate::error::InvocationError;
use crate::invocation::{Invocation, Outputs};

/// Runs one invocation to completion on its own task, so that a panic in user code fails this
/// invocation only and never the worker.
pub async fn invoke(invocation: Invocation) -> Result<Outputs, InvocationError> {
    let function = invocation.function;
    let invocation_id = invocation.invocation_id.clone();
    // The invoker is called inside the task, so a panic even before its first await is caught.
    let result = match tokio::spawn(async move { (function.invoke)(invocation).await }).await {
        Ok(result) => result,
        Err(join_error) => Err(InvocationError::Panic(match join_error.try_into_panic() {
            Ok(payload) => panic_message(&*payload),
            Err(_) => "the invocation was cancelled".to_owned(),
        })),
    };
    if let Err(error) = &result {
        // The host reads stderr lines as errors: the message survives even though the failed
        // response's logs are dropped.
        eprintln!(
            "azfn: function `{}` invocation {invocation_id} failed: {error}",
            function.name
        );
    }
    result
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}
