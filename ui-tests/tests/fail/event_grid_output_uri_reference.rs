use azfn::prelude::*;

#[function(
    queue_trigger(queue_name = "orders"),
    event_grid_output(topic_endpoint_uri = "%TopicUri%", topic_key_setting = "TopicKey")
)]
async fn publish(message: String) -> azfn::EventGridEvent {
    azfn::EventGridEvent { subject: message, ..Default::default() }
}

fn main() {}
