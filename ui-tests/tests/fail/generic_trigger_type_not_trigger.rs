use azfn::prelude::*;

#[function(generic_trigger(type = "webPubSub", hub = "chat"))]
async fn chat(message: String) {
    let _ = message;
}

fn main() {}
