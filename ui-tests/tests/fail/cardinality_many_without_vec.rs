use azfn::prelude::*;

#[function(service_bus_trigger(queue_name = "orders", cardinality = "many"))]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
