use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
async fn forgets(message: String) -> String {
    message
}

fn main() {}
