//! A small app for `tests/statuses.rs`, run as the host runs it: an HTTP function that fails in
//! every way a function can, and a middleware that rescues failures when the caller asks it to
//! (header `x-rescue`), so the test sees on the wire what the host gets in each case.

use azfn::prelude::*;
use azfn::{App, BindingData, Invocation, InvocationError, Next, Outputs};

/// Fails, panics, answers 404 or brews, by its route value.
#[function(http_trigger(route = "brew/{mode}", methods = "get"))]
async fn brew(req: HttpRequest) -> azfn::Result<String> {
    tracing::info!("brewing {}", req.param("mode").unwrap_or("?"));
    match req.param("mode") {
        Some("panic") => panic!("the kettle exploded"),
        Some("fail") => Err(azfn::Error::msg("no water (the tank's password is hunter2)")),
        Some("missing") => Err(azfn::Error::not_found("no such tea")),
        _ => Ok("tea".to_owned()),
    }
}

/// Turns a failure into a `503` response, on purpose, when the request asks for it.
async fn rescue(invocation: Invocation, next: Next) -> Result<Outputs, InvocationError> {
    let function = invocation.function;
    let asked = matches!(invocation.trigger(), BindingData::Http(request) if request.header("x-rescue").is_some());
    match next.run(invocation).await {
        Err(error) if asked => {
            let response = HttpResponse::new(StatusCode::SERVICE_UNAVAILABLE).text(format!("rescued: {error}"));
            Ok(Outputs::http_response_for(function, response))
        }
        other => other,
    }
}

fn main() {
    App::new().middleware(rescue).run();
}
