use azfn::durable::OrchestrationContext;
use azfn::prelude::*;

#[function(orchestration_trigger)]
fn checkout(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    let _ = ctx;
    Ok(())
}

fn main() {}
