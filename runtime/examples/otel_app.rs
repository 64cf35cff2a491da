//! A small app for `tests/opentelemetry.rs`, built with the `opentelemetry` feature and run as
//! the host runs it (custom handler or gRPC): functions that succeed, fail, or wait until they
//! are cancelled, by what they are sent, so the test sees each kind of span the worker exports.

use azfn::App;
use azfn::prelude::*;

/// Brews, fails, or waits to be cancelled, by its route value.
#[function(http_trigger(route = "brew/{mode}", methods = "get"))]
async fn brew(req: HttpRequest, ctx: FunctionContext) -> azfn::Result<String> {
    let mode = req.param("mode").unwrap_or("tea").to_owned();
    act(&mode, &ctx).await
}

/// The same, for a queue message.
#[function(queue_trigger(queue_name = "orders"))]
async fn ship(message: String, ctx: FunctionContext) -> azfn::Result<()> {
    act(&message, &ctx).await.map(drop)
}

async fn act(mode: &str, ctx: &FunctionContext) -> azfn::Result<String> {
    tracing::info!(mode, "acting");
    match mode {
        "fail" => Err(azfn::Error::msg("no water")),
        "wait" => {
            tracing::warn!("waiting until cancelled");
            ctx.cancellation().cancelled().await;
            Err(azfn::Error::msg("stopped waiting"))
        }
        _ => Ok("tea".to_owned()),
    }
}

fn main() {
    App::new().run();
}
