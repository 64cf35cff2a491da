use azfn::prelude::*;

#[function(queue_trigger(queue_name = "Orders_Queue"))]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
