use azfn::prelude::*;

#[function(service_bus_trigger(
    queue_name = "orders",
    connection = "Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKeyName=listen"
))]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
