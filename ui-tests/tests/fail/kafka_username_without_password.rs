use azfn::prelude::*;

#[function(kafka_trigger(broker_list = "%Brokers%", topic = "orders", username = "%KafkaUser%"))]
async fn orders(event: azfn::KafkaEvent) {
    let _ = event;
}

fn main() {}
