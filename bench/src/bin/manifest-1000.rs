//! An app of 1,000 functions, to time `--write-app` (1,000 `function.json` files and a
//! `host.json`).
//!
//! `macro_rules!` cannot build identifiers, so build.rs writes the invocation with the 1,000
//! names (`m0000` … `m0999`); the macro below turns each into a function of its own.

use azfn::prelude::*;

/// One function per identifier, cycling through the kinds of trigger so the manifest has the
/// variety of a real app: HTTP, queue to queue, timer, blob.
///
/// The unit functions spell `-> ()`: without a return type, `#[function]` spans its generated
/// locals at the function's name, which here comes from outside this macro, and hygiene then
/// hides them (reported as an azfn-macros bug).
macro_rules! generated_functions {
    ($($http:ident $queue:ident $timer:ident $blob:ident)*) => {
        $(
            #[function(http_trigger(methods = "get, post", auth_level = "function"))]
            async fn $http(req: HttpRequest) -> String {
                format!("{} answers {}", stringify!($http), req.query("name").unwrap_or("world"))
            }

            #[function(queue_trigger(queue_name = "incoming"), queue_output(queue_name = "outgoing"))]
            async fn $queue(message: String) -> String {
                message
            }

            #[function(timer_trigger(schedule = "0 */5 * * * *"))]
            async fn $timer(timer: TimerInfo) -> () {
                let _ = timer.is_past_due;
            }

            #[function(blob_trigger(path = "uploads/{name}"))]
            async fn $blob(content: Vec<u8>, meta: BlobTriggerMetadata) -> () {
                let _ = (content.len(), meta);
            }
        )*
    };
}

include!(concat!(env!("OUT_DIR"), "/manifest_1000_functions.rs"));

fn main() {
    azfn::App::new().run();
}
