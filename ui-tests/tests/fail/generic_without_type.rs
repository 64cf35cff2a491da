use azfn::prelude::*;

#[function(generic_trigger(hub = "chat", event_name = "message"))]
async fn chat(message: String) {
    let _ = message;
}

fn main() {}
