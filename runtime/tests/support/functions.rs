//! Functions as users write them, shared by the transport tests (end_to_end.rs over the custom
//! handler, native_mock_host.rs over gRPC): the same user code must give the same results on
//! both. Each test binary that includes this module registers these functions.

use azfn::prelude::*;
use serde::{Deserialize, Serialize};

/// HTTP with a blob input (the real-host capture `captures/http-with-blob-input.json`).
#[function(
    name = "post-hello-blobInput",
    http_trigger(
        name = "httpPayload",
        route = "hello/blobInput",
        methods = "post",
        auth_level = "anonymous"
    )
)]
async fn hello_blob(
    req: HttpRequest,
    #[blob_input(path = "hello/{query.name}", name = "blobIn")] blob: String,
) -> String {
    format!("{} says {}", req.text().unwrap_or_default(), blob.trim_end())
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Shipment {
    pub message: String,
    pub attempt: u64,
}

/// A queue trigger whose message and metadata go to another queue.
#[function(
    name = "queue",
    queue_trigger(name = "inMsg", queue_name = "in-q"),
    queue_output(queue_name = "out-q")
)]
async fn queue_copy(message: String, meta: QueueTriggerMetadata) -> Shipment {
    Shipment {
        message: format!("{message} ({})", meta.id),
        attempt: meta.dequeue_count,
    }
}

/// A timer that fails when it runs late.
#[function(name = "timer", timer_trigger(schedule = "0 */5 * * * *"))]
async fn timer_check(timer: TimerInfo, ctx: FunctionContext) -> Result<(), azfn::Error> {
    if timer.is_past_due {
        return Err(azfn::Error::msg(format!("{} ran late", ctx.function_name())));
    }
    Ok(())
}

#[function(queue_trigger(queue_name = "boom"))]
async fn panics(message: String) {
    panic!("user code panicked on {message}");
}

#[function(queue_trigger(queue_name = "strict"))]
async fn strict(shipment: Shipment) {
    let _ = shipment;
}

#[derive(FunctionOutput)]
pub struct Accepted {
    #[http_output]
    response: HttpResponse,
    #[queue_output(queue_name = "orders")]
    orders: Vec<Shipment>,
    #[blob_output(path = "audit/{rand-guid}")]
    audit: Option<String>,
}

/// HTTP in, an HTTP response and queue messages out.
#[function(http_trigger(methods = "post"))]
fn accept(Json(orders): Json<Vec<Shipment>>) -> Accepted {
    Accepted {
        response: HttpResponse::new(StatusCode::ACCEPTED).text("queued"),
        orders,
        audit: None,
    }
}
