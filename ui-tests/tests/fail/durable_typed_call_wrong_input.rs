use azfn::durable::{DurableClient, OrchestrationContext};
use azfn::prelude::*;

#[function(activity_trigger)]
fn price(item: String) -> u32 {
    item.len() as u32
}

#[function(orchestration_trigger)]
async fn checkout(ctx: OrchestrationContext, items: Vec<String>) -> Result<u32, azfn::Error> {
    let first: u32 = ctx.call(price, &items).await?;
    Ok(first)
}

async fn start(client: DurableClient) -> Result<String, azfn::Error> {
    Ok(client.start_orchestration(checkout, &"tea".to_owned()).await?)
}

fn main() {
    let _ = start;
}
