use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"), generic_output(type = "webPubSubTrigger", hub = "chat"))]
async fn chat(message: String) -> String {
    message
}

fn main() {}
