use azfn::prelude::*;

#[function(service_bus_trigger(queue_name = "orders", access_rights = "listen"))]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
