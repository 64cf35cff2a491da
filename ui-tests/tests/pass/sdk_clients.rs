//! Azure SDK clients as parameters: the blob bindings that take one ask for deferred binding
//! (`properties.SupportsDeferredBinding`, no `dataType`), the others do not.

use azfn::prelude::*;
use azfn::storage::blob::{BlobClient, BlobContainerClient};
use azfn::storage::queue::QueueClient;

#[function(blob_trigger(path = "uploads/{name}"))]
async fn on_upload(blob: BlobClient, meta: BlobTriggerMetadata) {
    let _ = (blob.url(), meta.uri);
}

#[function(queue_trigger(queue_name = "orders", connection = "Orders"))]
async fn on_order(message: String, queue: QueueClient) {
    let _ = (message, queue.url());
}

#[function(queue_trigger(queue_name = "jobs"))]
async fn on_job(
    job: String,
    #[blob_input(path = "archive/{queueTrigger}")] archive: BlobContainerClient,
    #[blob_input(path = "jobs/{queueTrigger}")] content: Option<String>,
) {
    let _ = (job, archive.url(), content);
}

#[function(blob_trigger(path = "plain/{name}"))]
async fn on_plain(content: Vec<u8>) {
    let _ = content;
}

fn main() {
    let registry = azfn::Registry::global().expect("unique names");
    let json = |name: &str| azfn::manifest::function_json(registry.get(name).unwrap());
    let upload = json("on_upload");
    assert_eq!(upload["bindings"][0]["properties"], serde_json::json!({"SupportsDeferredBinding": "True"}));
    assert!(upload["bindings"][0].get("dataType").is_none());
    assert!(upload["bindings"][0].get("SupportsDeferredBinding").is_none());
    let order = json("on_order");
    assert!(order["bindings"][0].get("properties").is_none(), "queues have no deferred binding");
    let job = json("on_job");
    assert_eq!(job["bindings"][1]["properties"]["SupportsDeferredBinding"], "True");
    assert!(job["bindings"][2].get("properties").is_none());
    assert_eq!(job["bindings"][2]["dataType"], "string");
    let plain = json("on_plain");
    assert!(plain["bindings"][0].get("properties").is_none());
    assert_eq!(plain["bindings"][0]["dataType"], "binary");
}
