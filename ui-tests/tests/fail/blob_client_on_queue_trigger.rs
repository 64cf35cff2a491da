use azfn::prelude::*;
use azfn::storage::blob::BlobClient;

#[function(queue_trigger(queue_name = "orders"))]
async fn on_order(blob: BlobClient) {
    let _ = blob;
}

fn main() {}
