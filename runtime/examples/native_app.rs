//! A tiny app for the native transport's specialization test (`tests/native_mock_host.rs`): the
//! worker restarts it with the host's environment, and its one function reports what that
//! environment and working directory are.

use azfn::prelude::*;

/// Answers with the value of the variable named by the message, and the working directory.
#[function(queue_trigger(queue_name = "env"), queue_output(queue_name = "seen"))]
fn read_env(name: String) -> String {
    let value = std::env::var(&name).unwrap_or_else(|_| "(unset)".to_owned());
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    format!("{value} in {cwd}")
}

fn main() {
    azfn::App::new().run();
}
