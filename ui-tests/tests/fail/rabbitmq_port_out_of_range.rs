use azfn::prelude::*;

#[function(rabbitmq_trigger(queue_name = "orders", host_name = "localhost", port = 70000))]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
