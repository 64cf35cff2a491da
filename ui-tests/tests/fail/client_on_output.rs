use azfn::prelude::*;
use azfn::storage::blob::BlobClient;

#[function(queue_trigger(queue_name = "orders"), blob_output(path = "out/{queueTrigger}"))]
async fn copy(message: String) -> BlobClient {
    let _ = message;
    unimplemented!()
}

fn main() {}
