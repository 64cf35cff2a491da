use azfn::durable::OrchestrationContext;
use azfn::prelude::*;

#[function(orchestration_trigger)]
async fn checkout(ctx: OrchestrationContext, order: String) -> Result<String, azfn::Error> {
    let _ = ctx;
    Ok(order)
}

fn main() {}
