use azfn::prelude::*;

#[function(generic_trigger(type = "web pubsub Trigger"))]
async fn chat(message: String) {
    let _ = message;
}

fn main() {}
