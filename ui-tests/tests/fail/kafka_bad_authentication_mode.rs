use azfn::prelude::*;

#[function(kafka_trigger(
    broker_list = "%Brokers%",
    topic = "orders",
    authentication_mode = "Kerberos",
    protocol = "SaslSsl"
))]
async fn orders(event: azfn::KafkaEvent) {
    let _ = event;
}

fn main() {}
