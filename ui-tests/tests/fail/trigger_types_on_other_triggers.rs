use azfn::prelude::*;
use azfn::ServiceBusMessageMetadata;

#[derive(serde::Deserialize)]
struct Search {
    q: String,
}

#[function(queue_trigger(queue_name = "orders"))]
async fn timer_info_on_a_queue(message: String, timer: TimerInfo) {
    let _ = (message, timer);
}

#[function(timer_trigger(schedule = "0 */5 * * * *"))]
async fn queue_metadata_on_a_timer(timer: TimerInfo, meta: QueueTriggerMetadata) {
    let _ = (timer, meta);
}

#[function(http_trigger(route = "files", methods = "get"))]
async fn blob_metadata_on_http(meta: BlobTriggerMetadata) -> String {
    format!("{meta:?}")
}

#[function(blob_trigger(path = "uploads/{name}"))]
async fn query_on_a_blob(content: Vec<u8>, Query(search): Query<Search>) {
    let _ = (content, search.q);
}

#[function(queue_trigger(queue_name = "orders"))]
async fn service_bus_metadata_on_a_queue(message: String, meta: ServiceBusMessageMetadata) {
    let _ = (message, meta);
}

fn main() {}
