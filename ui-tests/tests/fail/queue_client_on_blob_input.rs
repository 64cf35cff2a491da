use azfn::prelude::*;
use azfn::storage::queue::QueueClient;

#[function(queue_trigger(queue_name = "orders"))]
async fn on_order(message: String, #[blob_input(path = "orders/{queueTrigger}")] queue: QueueClient) {
    let _ = (message, queue);
}

fn main() {}
