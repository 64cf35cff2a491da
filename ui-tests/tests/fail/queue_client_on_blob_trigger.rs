use azfn::prelude::*;
use azfn::storage::queue::QueueClient;

#[function(blob_trigger(path = "uploads/{name}"))]
async fn on_upload(queue: QueueClient) {
    let _ = queue;
}

fn main() {}
