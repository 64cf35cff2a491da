use azfn::prelude::*;

#[function(
    queue_trigger(queue_name = "orders"),
    service_bus_output(queue_or_topic_name = "shipping", entity_type = "Exchange")
)]
async fn forward(message: String) -> String {
    message
}

fn main() {}
