use azfn::durable::OrchestrationContext;
use azfn::prelude::*;

#[function(orchestration_trigger)]
async fn ship(ctx: OrchestrationContext, parcel: u32) -> Result<bool, azfn::Error> {
    let _ = ctx;
    Ok(parcel > 0)
}

#[function(orchestration_trigger)]
async fn order(ctx: OrchestrationContext) -> Result<bool, azfn::Error> {
    Ok(ctx.call(ship, &7).await?)
}

fn main() {}
