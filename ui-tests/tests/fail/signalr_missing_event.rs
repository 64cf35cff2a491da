use azfn::prelude::*;

#[function(signalr_trigger(hub_name = "chat", category = "messages"))]
async fn send(invocation: azfn::SignalRInvocationContext) {
    let _ = invocation;
}

fn main() {}
