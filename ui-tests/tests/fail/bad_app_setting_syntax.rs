use azfn::prelude::*;

#[function(service_bus_trigger(queue_name = "%OrdersQueue"))]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
