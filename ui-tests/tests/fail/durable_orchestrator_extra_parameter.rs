use azfn::durable::OrchestrationContext;
use azfn::prelude::*;

#[function(orchestration_trigger)]
async fn checkout(ctx: OrchestrationContext, order: String, note: String) -> Result<String, azfn::Error> {
    let _ = (ctx, note);
    Ok(order)
}

fn main() {}
