use azfn::prelude::*;

#[function(service_bus_trigger(connection = "ServiceBus"))]
async fn audit(message: String) {
    let _ = message;
}

fn main() {}
