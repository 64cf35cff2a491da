use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
async fn orders(messages: Vec<String>) {
    let _ = messages;
}

fn main() {}
