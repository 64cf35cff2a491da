use azfn::prelude::*;
use azfn::ServiceBusSettlement;

#[function(queue_trigger(queue_name = "orders"))]
async fn settle_a_queue_message(message: String, settlement: ServiceBusSettlement) -> Result<(), azfn::Error> {
    let _ = message;
    settlement.complete().await?;
    Ok(())
}

fn main() {}
