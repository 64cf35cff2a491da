use azfn::prelude::*;

struct NotData;

#[function(queue_trigger(queue_name = "orders"))]
async fn takes_anything(message: NotData) {
    let _ = message;
}

fn main() {}
