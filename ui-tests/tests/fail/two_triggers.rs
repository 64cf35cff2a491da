use azfn::prelude::*;

#[function(http_trigger(methods = "get"), queue_trigger(queue_name = "orders"))]
async fn both(body: String) -> String {
    body
}

fn main() {}
