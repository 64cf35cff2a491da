//! Errors: the one a function returns, and the ones an invocation can end with.

use std::error::Error as StdError;
use std::fmt;

/// An error a function returns. Any `std::error::Error` converts into it with `?`.
///
/// Returning `Err` fails the invocation, as an unhandled exception does in .NET: the host sees a
/// failure (so its retry policy applies, and an HTTP caller gets the host's bare `500`) and the
/// message goes to the worker's log at Error. An HTTP function's error made with a status
/// ([`Error::with_status`], [`Error::not_found`], …) is its response instead.
///
/// ```
/// fn parse(s: &str) -> Result<u32, azfn::Error> {
///     let n: u32 = s.parse()?;
///     if n == 0 {
///         return Err(azfn::Error::msg("zero is not an order number"));
///     }
///     Ok(n)
/// }
/// assert_eq!(parse("0").unwrap_err().to_string(), "zero is not an order number");
/// assert!(parse("x").is_err());
/// ```
pub struct Error {
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    status: Option<http::StatusCode>,
}

impl Error {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error {
            message: message.to_string(),
            source: None,
            status: None,
        }
    }

    /// An error an HTTP function answers with `status` and this message, meant for the caller
    /// (`404`, `409`, `422`, …): a handled response, not a failed invocation. Without a status,
    /// the invocation fails: the caller gets a bare `500` and the message goes only to the log.
    ///
    /// ```
    /// let e = azfn::Error::with_status(http::StatusCode::NOT_FOUND, "no order 7");
    /// assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND));
    /// ```
    pub fn with_status(status: http::StatusCode, message: impl fmt::Display) -> Self {
        Error {
            status: Some(status),
            ..Error::msg(message)
        }
    }

    /// A `400 Bad Request` error, for input the caller got wrong.
    pub fn bad_request(message: impl fmt::Display) -> Self {
        Error::with_status(http::StatusCode::BAD_REQUEST, message)
    }

    /// A `404 Not Found` error.
    pub fn not_found(message: impl fmt::Display) -> Self {
        Error::with_status(http::StatusCode::NOT_FOUND, message)
    }

    /// The HTTP status this error answers with, if it is meant for the caller.
    pub fn status(&self) -> Option<http::StatusCode> {
        self.status
    }

    /// The error this one wraps, if any.
    pub fn source(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        // Keep the whole chain in the message: the log is where it is read.
        let mut message = error.to_string();
        let mut next = error.source();
        while let Some(cause) = next {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            next = cause.source();
        }
        Error {
            message,
            source: Some(Box::new(error)),
            status: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("message", &self.message).finish()
    }
}

/// Error types a function may return in `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as a function's error",
    label = "not an error type azfn can report",
    note = "use `azfn::Error` (`azfn::Error::msg(\"...\")` for a message) or any type implementing `std::error::Error + Send + Sync`"
)]
pub trait IntoFunctionError {
    /// The error, as azfn reports it.
    fn into_function_error(self) -> Error;
}

impl<E: Into<Error>> IntoFunctionError for E {
    fn into_function_error(self) -> Error {
        self.into()
    }
}

/// Why an invocation failed.
#[derive(Debug)]
pub enum InvocationError {
    /// The host asked for a function this app does not have.
    UnknownFunction(String),
    /// The invocation request itself could not be read.
    MalformedRequest(String),
    /// A binding's value does not convert to the parameter's type.
    Binding {
        /// The binding name.
        binding: String,
        /// What went wrong.
        message: String,
    },
    /// The function returned `Err`.
    Function(Error),
    /// The function panicked.
    Panic(String),
    /// The function ran past the app's invocation deadline and was cancelled.
    Timeout(std::time::Duration),
    /// The request body is larger than the worker accepts.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A per-invocation service (`Scoped<T>`) could not be built: its factory failed, or none
    /// was registered.
    Scoped {
        /// The service's type.
        service: String,
        /// What went wrong.
        message: String,
    },
    /// An output could not be encoded.
    Output {
        /// The binding name.
        binding: String,
        /// What went wrong.
        message: String,
    },
}

impl InvocationError {
    /// Whether the host (or its caller) sent something wrong, rather than the function failing.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            InvocationError::UnknownFunction(_)
                | InvocationError::MalformedRequest(_)
                | InvocationError::Binding { .. }
        )
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvocationError::UnknownFunction(name) => write!(f, "this app has no function named `{name}`"),
            InvocationError::MalformedRequest(why) => write!(f, "malformed invocation request: {why}"),
            InvocationError::Binding { binding, message } => {
                write!(f, "binding `{binding}` could not be converted: {message}")
            }
            InvocationError::Function(error) => write!(f, "the function returned an error: {error}"),
            InvocationError::Panic(message) => write!(f, "the function panicked: {message}"),
            InvocationError::Timeout(deadline) => {
                write!(f, "the function did not finish within {deadline:?} and was cancelled")
            }
            InvocationError::TooLarge { limit } => write!(f, "the request body is larger than {limit} bytes"),
            InvocationError::Scoped { service, message } => {
                write!(f, "the scoped service `{service}` could not be built: {message}")
            }
            InvocationError::Output { binding, message } => {
                write!(f, "output `{binding}` could not be written: {message}")
            }
        }
    }
}

impl StdError for InvocationError {}

/// The text a panic was raised with, for the failure it becomes.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}
