use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
async fn copy(
    message: String,
    #[blob_input(path = "orders/{queueTrigger}")] order_doc: String,
    #[blob_input(path = "archive/{queueTrigger}", name = "orderDoc")] archived: String,
) {
    let _ = (message, order_doc, archived);
}

fn main() {}
