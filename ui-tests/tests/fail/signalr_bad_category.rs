use azfn::prelude::*;

#[function(signalr_trigger(hub_name = "chat", category = "events", event = "send"))]
async fn send(invocation: azfn::SignalRInvocationContext) {
    let _ = invocation;
}

fn main() {}
