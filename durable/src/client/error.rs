//! What a durable client call fails with: the gRPC status codes and [`ClientError`].

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// A gRPC status code.
///
/// ```
/// use azfn::durable::client::GrpcCode;
/// assert_eq!(GrpcCode::from_u32(5), GrpcCode::NotFound);
/// assert_eq!(GrpcCode::NotFound.to_string(), "NOT_FOUND");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcCode {
    /// 0.
    Ok,
    /// 1.
    Cancelled,
    /// 2.
    Unknown,
    /// 3.
    InvalidArgument,
    /// 4.
    DeadlineExceeded,
    /// 5.
    NotFound,
    /// 6.
    AlreadyExists,
    /// 7.
    PermissionDenied,
    /// 8.
    ResourceExhausted,
    /// 9.
    FailedPrecondition,
    /// 10.
    Aborted,
    /// 11.
    OutOfRange,
    /// 12.
    Unimplemented,
    /// 13.
    Internal,
    /// 14.
    Unavailable,
    /// 15.
    DataLoss,
    /// 16.
    Unauthenticated,
    /// A code gRPC does not define.
    Other(u32),
}

impl GrpcCode {
    /// The code of a number.
    ///
    /// ```
    /// assert_eq!(azfn::durable::client::GrpcCode::from_u32(99), azfn::durable::client::GrpcCode::Other(99));
    /// ```
    pub fn from_u32(code: u32) -> Self {
        use GrpcCode::*;
        match code {
            0 => Ok,
            1 => Cancelled,
            2 => Unknown,
            3 => InvalidArgument,
            4 => DeadlineExceeded,
            5 => NotFound,
            6 => AlreadyExists,
            7 => PermissionDenied,
            8 => ResourceExhausted,
            9 => FailedPrecondition,
            10 => Aborted,
            11 => OutOfRange,
            12 => Unimplemented,
            13 => Internal,
            14 => Unavailable,
            15 => DataLoss,
            16 => Unauthenticated,
            other => Other(other),
        }
    }

    /// The code gRPC maps an HTTP status to, for responses without `grpc-status`.
    pub(super) fn from_http(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => GrpcCode::Internal,
            401 => GrpcCode::Unauthenticated,
            403 => GrpcCode::PermissionDenied,
            404 => GrpcCode::Unimplemented,
            429 | 502..=504 => GrpcCode::Unavailable,
            _ => GrpcCode::Unknown,
        }
    }
}

impl fmt::Display for GrpcCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            GrpcCode::Ok => "OK",
            GrpcCode::Cancelled => "CANCELLED",
            GrpcCode::Unknown => "UNKNOWN",
            GrpcCode::InvalidArgument => "INVALID_ARGUMENT",
            GrpcCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            GrpcCode::NotFound => "NOT_FOUND",
            GrpcCode::AlreadyExists => "ALREADY_EXISTS",
            GrpcCode::PermissionDenied => "PERMISSION_DENIED",
            GrpcCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            GrpcCode::FailedPrecondition => "FAILED_PRECONDITION",
            GrpcCode::Aborted => "ABORTED",
            GrpcCode::OutOfRange => "OUT_OF_RANGE",
            GrpcCode::Unimplemented => "UNIMPLEMENTED",
            GrpcCode::Internal => "INTERNAL",
            GrpcCode::Unavailable => "UNAVAILABLE",
            GrpcCode::DataLoss => "DATA_LOSS",
            GrpcCode::Unauthenticated => "UNAUTHENTICATED",
            GrpcCode::Other(code) => return write!(f, "status {code}"),
        };
        f.write_str(name)
    }
}

/// Why a durable client call failed. Converts into [`azfn::Error`](azfn_core::Error) with `?`.
///
/// ```
/// use azfn::durable::client::{ClientError, GrpcCode};
/// let e = ClientError::Status { method: "RaiseEvent", code: GrpcCode::NotFound, message: "no instance abc".into() };
/// assert!(e.is_not_found());
/// assert_eq!(e.to_string(), "the Durable extension answered RaiseEvent with NOT_FOUND: no instance abc");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The binding's value is not a durable client's.
    Config(String),
    /// The extension's endpoint could not be reached.
    Connect {
        /// The address.
        address: String,
        /// What went wrong.
        message: String,
    },
    /// The HTTP/2 exchange failed.
    Transport {
        /// The gRPC method.
        method: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The answer is not a well-formed gRPC response.
    Protocol {
        /// The gRPC method.
        method: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The extension answered with a gRPC error status.
    Status {
        /// The gRPC method.
        method: &'static str,
        /// The status.
        code: GrpcCode,
        /// The `grpc-message`.
        message: String,
    },
    /// No orchestration instance has this id.
    InstanceNotFound {
        /// The id.
        instance_id: String,
    },
    /// The call did not finish in time.
    Timeout {
        /// The gRPC method.
        method: &'static str,
        /// The time allowed.
        after: Duration,
    },
    /// A value to send does not serialize, or one received does not deserialize.
    Payload(String),
}

impl ClientError {
    /// The gRPC status, for [`ClientError::Status`].
    ///
    /// ```
    /// use azfn::durable::client::{ClientError, GrpcCode};
    /// assert_eq!(ClientError::Config("x".into()).code(), None);
    /// ```
    pub fn code(&self) -> Option<GrpcCode> {
        match self {
            ClientError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the instance or entity does not exist (`NOT_FOUND`, or no such instance).
    ///
    /// ```
    /// let e = azfn::durable::client::ClientError::InstanceNotFound { instance_id: "abc".into() };
    /// assert!(e.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::InstanceNotFound { .. }) || self.code() == Some(GrpcCode::NotFound)
    }

    /// Whether an instance with the id already exists (`ALREADY_EXISTS`).
    ///
    /// ```
    /// use azfn::durable::client::{ClientError, GrpcCode};
    /// let e = ClientError::Status { method: "StartInstance", code: GrpcCode::AlreadyExists, message: String::new() };
    /// assert!(e.is_already_exists());
    /// ```
    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(GrpcCode::AlreadyExists)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(message) => write!(f, "the durable client binding is not usable: {message}"),
            ClientError::Connect { address, message } => {
                write!(f, "cannot connect to the Durable extension at {address}: {message}")
            }
            ClientError::Transport { method, message } => {
                write!(f, "the call {method} to the Durable extension failed: {message}")
            }
            ClientError::Protocol { method, message } => {
                write!(
                    f,
                    "the Durable extension's answer to {method} is not valid gRPC: {message}"
                )
            }
            ClientError::Status {
                method,
                code: GrpcCode::Unimplemented,
                message,
            } => write!(
                f,
                "the Durable extension does not implement {method} (a newer extension bundle may): {message}"
            ),
            ClientError::Status { method, code, message } => {
                write!(f, "the Durable extension answered {method} with {code}: {message}")
            }
            ClientError::InstanceNotFound { instance_id } => {
                write!(f, "no orchestration instance has the id `{instance_id}`")
            }
            ClientError::Timeout { method, after } => {
                write!(
                    f,
                    "the call {method} to the Durable extension did not finish within {after:?}"
                )
            }
            ClientError::Payload(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ClientError {}
