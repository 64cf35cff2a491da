//! The pieces every reply is made of: status results, exceptions, log lines, worker metadata.

use super::proto::{RpcException, RpcLog, StatusResult, WorkerMetadata, rpc_log, status_result::Status};
use crate::error::InvocationError;
use crate::function::FunctionDescription;

/// The category of the worker's own log lines.
pub(crate) const WORKER_CATEGORY: &str = "Worker";

/// `Success`.
pub(crate) fn success() -> StatusResult {
    StatusResult {
        status: Status::Success as i32,
        ..StatusResult::default()
    }
}

/// `Failure` with `exception`.
pub(crate) fn failure(exception: RpcException) -> StatusResult {
    StatusResult {
        status: Status::Failure as i32,
        result: exception.message.clone(),
        exception: Some(exception),
        ..StatusResult::default()
    }
}

/// `Cancelled` with `exception`.
pub(crate) fn cancelled(exception: RpcException) -> StatusResult {
    StatusResult {
        status: Status::Cancelled as i32,
        ..failure(exception)
    }
}

/// A failure of the worker itself (not of user code).
pub(crate) fn worker_exception(kind: &str, message: impl Into<String>) -> RpcException {
    RpcException {
        message: message.into(),
        source: "azfn".to_owned(),
        r#type: kind.to_owned(),
        is_user_exception: false,
        stack_trace: String::new(),
    }
}

/// How an invocation failed, as the host records it. The user-code flag (honoured with
/// `EnableUserCodeException`) is set when the function returned `Err` or panicked; a value that
/// does not convert or an output that cannot be written is the worker's report about the data.
pub(crate) fn invocation_exception(function: &FunctionDescription, error: &InvocationError) -> RpcException {
    let (kind, user) = match error {
        InvocationError::Function(_) => ("FunctionError", true),
        InvocationError::Panic(_) => ("Panic", true),
        // The deadline is the app's, so a timeout is not a fault of the function's code.
        InvocationError::Timeout(_) => ("Timeout", false),
        InvocationError::TooLarge { .. } => ("TooLarge", false),
        InvocationError::Binding { .. } => ("BindingError", false),
        InvocationError::Output { .. } => ("OutputError", false),
        // The factory is the app's code.
        InvocationError::Scoped { .. } => ("ScopedServiceError", true),
        InvocationError::MalformedRequest(_) => ("MalformedRequest", false),
        InvocationError::UnknownFunction(_) => ("UnknownFunction", false),
    };
    RpcException {
        message: error.to_string(),
        source: if user { function.rust_path } else { "azfn" }.to_owned(),
        r#type: kind.to_owned(),
        is_user_exception: user,
        stack_trace: format!(
            "at {} ({}:{})",
            function.rust_path, function.location.0, function.location.1
        ),
    }
}

/// The category of an invocation's log lines.
pub(crate) fn function_category(function: &FunctionDescription) -> String {
    format!("Function.{}", function.name)
}

/// A line of an invocation, for that function's logger.
pub(crate) fn invocation_log(
    invocation_id: &str,
    function: &FunctionDescription,
    level: rpc_log::Level,
    message: String,
    exception: Option<RpcException>,
) -> RpcLog {
    RpcLog {
        invocation_id: invocation_id.to_owned(),
        category: function_category(function),
        level: level as i32,
        message,
        exception,
        log_category: rpc_log::RpcLogCategory::User as i32,
        ..RpcLog::default()
    }
}

/// A line of the worker itself, for the host's worker logger.
pub(crate) fn worker_log(level: rpc_log::Level, message: String) -> RpcLog {
    RpcLog {
        category: WORKER_CATEGORY.to_owned(),
        level: level as i32,
        message,
        log_category: rpc_log::RpcLogCategory::System as i32,
        ..RpcLog::default()
    }
}

/// What this worker is, for the host's telemetry.
pub(crate) fn worker_metadata() -> WorkerMetadata {
    WorkerMetadata {
        runtime_name: "rust".to_owned(),
        // The compiler's version is not known at run time; the minimum supported one is.
        runtime_version: env!("CARGO_PKG_RUST_VERSION").to_owned(),
        worker_version: env!("CARGO_PKG_VERSION").to_owned(),
        worker_bitness: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        custom_properties: [("worker".to_owned(), "azfn".to_owned())].into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::InvokeFuture;
    use crate::invocation::{Invocation, Outputs};

    fn never_called(_: Invocation) -> InvokeFuture {
        Box::pin(async { Ok(Outputs::default()) })
    }

    static FUNCTION: FunctionDescription = FunctionDescription {
        name: "f",
        rust_path: "app::f",
        location: ("src/main.rs", 9),
        bindings: &[],
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: never_called,
    };

    #[test]
    fn user_failures_are_flagged_and_worker_failures_are_not() {
        let panic = invocation_exception(&FUNCTION, &InvocationError::Panic("boom".into()));
        assert!(panic.is_user_exception);
        assert_eq!(
            (panic.r#type.as_str(), panic.source.as_str(), panic.message.as_str()),
            ("Panic", "app::f", "the function panicked: boom")
        );
        assert_eq!(panic.stack_trace, "at app::f (src/main.rs:9)");
        let binding = InvocationError::Binding {
            binding: "b".into(),
            message: "m".into(),
        };
        let binding = invocation_exception(&FUNCTION, &binding);
        assert!(!binding.is_user_exception);
        assert_eq!(binding.source, "azfn");
    }

    #[test]
    fn statuses_carry_their_exception() {
        let failed = failure(worker_exception("X", "why"));
        assert_eq!(failed.status, Status::Failure as i32);
        assert_eq!(failed.result, "why");
        assert_eq!(cancelled(worker_exception("X", "why")).status, Status::Cancelled as i32);
        assert_eq!(success().exception, None);
    }
}
