//! A tiny app for the settlement test after specialization (`tests/native_settlement.rs`): the
//! worker restarts it with the host's environment and relays its stream, and its one function
//! completes its Service Bus message, a call that must reach the host through the relay.

use azfn::ServiceBusSettlement;
use azfn::prelude::*;

/// Completes the message.
#[function(service_bus_trigger(queue_name = "orders", connection = "ServiceBus"))]
async fn complete(body: String, settlement: ServiceBusSettlement) -> Result<(), azfn::Error> {
    let _ = body;
    settlement.complete().await?;
    Ok(())
}

fn main() {
    azfn::App::new().run();
}
