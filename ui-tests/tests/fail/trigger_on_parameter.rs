use azfn::prelude::*;

#[function(http_trigger(methods = "get"))]
async fn misplaced(#[queue_trigger(queue_name = "orders")] message: String) -> String {
    message
}

fn main() {}
