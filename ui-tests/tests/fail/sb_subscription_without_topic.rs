use azfn::prelude::*;

#[function(service_bus_trigger(queue_name = "orders", subscription_name = "audit"))]
async fn audit(message: String) {
    let _ = message;
}

fn main() {}
