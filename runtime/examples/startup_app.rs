//! An app with an async start-up, for `tests/startup.rs`: its state factory waits until the file
//! named by `STARTUP_APP_GATE` exists (when set), then fails with `STARTUP_APP_FAIL=error`,
//! panics with `STARTUP_APP_FAIL=panic`, or builds the greeting its one function answers with.

use std::time::Duration;

use azfn::prelude::*;

/// What the start-up built.
struct Greeting {
    text: String,
}

#[function(http_trigger(methods = "get"))]
async fn greet(greeting: State<Greeting>) -> String {
    greeting.text.clone()
}

fn main() {
    azfn::App::new()
        .state_async(|| async {
            if let Some(gate) = std::env::var_os("STARTUP_APP_GATE") {
                while !std::path::Path::new(&gate).exists() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            match std::env::var("STARTUP_APP_FAIL").as_deref() {
                Ok("error") => Err("the greeting service answered 503".to_owned()),
                Ok("panic") => panic!("the greeting service is gone"),
                _ => Ok(Greeting {
                    text: "hello from start-up".to_owned(),
                }),
            }
        })
        .run();
}
