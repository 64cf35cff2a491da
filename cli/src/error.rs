//! The one error type of the tool: a message for the user that says what went wrong and, where
//! there is one, what to do about it.

use std::fmt;

/// A failure of a `cargo azfn` command, shown to the user as `error: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns any displayable error into an [`Error`] that says what was being done.
pub trait Context<T> {
    /// Prefixes the error with `what` (`"cannot read host.json: <cause>"`).
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|cause| Error::new(format!("{}: {cause}", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_the_cause() {
        let failed: std::result::Result<(), &str> = Err("no such file");
        let error = failed.context(|| "cannot read host.json".to_owned()).unwrap_err();
        assert_eq!(error.to_string(), "cannot read host.json: no such file");
    }
}
