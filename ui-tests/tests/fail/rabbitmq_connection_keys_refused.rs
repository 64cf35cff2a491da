use azfn::prelude::*;

#[function(
    rabbitmq_trigger(queue_name = "orders", host_name = "localhost", port = 5672),
    rabbitmq_output(queue_name = "shipped", password = "%RabbitPassword%")
)]
async fn orders(message: String) -> String {
    message
}

fn main() {}
