//! The local host's console: one timestamped line per event, like `func start` prints.
//!
//! Lines go to standard output, which Rust flushes at each newline, so a program reading the
//! console (a test, an IDE) sees every line as it happens.

use std::io::Write;

use crate::clock;

/// Prints `[timestamp] message`.
pub fn line(message: impl AsRef<str>) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for text in message.as_ref().lines() {
        let _ = writeln!(out, "[{}] {text}", clock::console_timestamp());
    }
}

/// Prints a line the worker wrote. Like the host, standard error lines count as errors unless
/// they mention "warn".
pub fn worker_output(text: &str, from_stderr: bool) {
    let level = match (from_stderr, text.to_ascii_lowercase().contains("warn")) {
        (false, _) => "",
        (true, true) => "warning: ",
        (true, false) => "error: ",
    };
    line(format!("{level}{text}"));
}
