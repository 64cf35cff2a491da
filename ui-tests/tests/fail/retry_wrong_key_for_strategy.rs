use azfn::prelude::*;

#[function(
    kafka_trigger(broker_list = "%Brokers%", topic = "orders"),
    retry(fixed_delay, max_retry_count = 3, delay_interval = "00:00:10", maximum_interval = "00:10:00")
)]
async fn orders(event: azfn::KafkaEvent) {
    let _ = event;
}

fn main() {}
