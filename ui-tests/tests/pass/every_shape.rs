//! Every shape of function the core supports compiles, and describes itself as expected.

use azfn::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Order {
    id: u32,
}

#[function(http_trigger(route = "orders/{id:int}", methods = ["get", "head"], auth_level = "anonymous"))]
async fn get_order(req: HttpRequest, #[blob_input(path = "orders/{id}.json")] order: Option<Json<Order>>) -> HttpResponse {
    match order {
        Some(Json(order)) => HttpResponse::ok().json(&order),
        None => HttpResponse::not_found().text(format!("no order {}", req.param("id").unwrap_or("?"))),
    }
}

#[function(http_trigger)]
fn sync_hello() -> &'static str {
    "hello"
}

#[function(http_trigger(methods = "post"))]
async fn create(Json(order): Json<Order>, ctx: FunctionContext) -> Result<(StatusCode, Json<Order>), azfn::Error> {
    let _ = ctx.invocation_id();
    Ok((StatusCode::CREATED, Json(order)))
}

#[function(timer_trigger(schedule = "0 */5 * * * *", run_on_startup, use_monitor = false))]
fn tick(_timer: TimerInfo) {}

#[function(timer_trigger(schedule = "00:05:00"))]
async fn every_five_minutes(_timer: TimerInfo) -> Result<(), std::io::Error> {
    Ok(())
}

#[function(queue_trigger(queue_name = "%InQueue%", connection = "Storage"), queue_output(queue_name = "out-queue"))]
async fn forward(order: Order, meta: QueueTriggerMetadata) -> Vec<Order> {
    let _ = meta.dequeue_count;
    vec![order]
}

#[function(name = "blob-copy", blob_trigger(path = "inbox/{name}"), blob_output(path = "outbox/{name}"))]
async fn copy(content: Vec<u8>, meta: BlobTriggerMetadata) -> Vec<u8> {
    let _ = meta.uri;
    content
}

#[derive(FunctionOutput)]
struct Both {
    #[http_output]
    response: HttpResponse,
    #[queue_output(queue_name = "orders")]
    orders: Vec<Order>,
    #[blob_output(path = "audit/{rand-guid}.txt", name = "audit")]
    audit_entry: Option<String>,
}

#[function(http_trigger(methods = "post"))]
async fn accept(Json(orders): Json<Vec<Order>>) -> azfn::Result<Both> {
    Ok(Both { response: HttpResponse::new(StatusCode::ACCEPTED), orders, audit_entry: None })
}

fn main() {
    let registry = azfn::Registry::global().expect("unique names");
    assert_eq!(registry.len(), 8);
    let copy = registry.get("BLOB-COPY").expect("names are case-insensitive");
    let json = azfn::manifest::function_json(copy);
    assert_eq!(json["bindings"][0]["dataType"], "binary");
    assert_eq!(json["bindings"][1]["name"], "$return");
    let accept = registry.get("accept").unwrap();
    let names: Vec<_> = accept.all_bindings().map(|b| b.name).collect();
    assert_eq!(names, ["req", "response", "orders", "audit"]);
}
