use azfn::durable::OrchestrationContext;
use azfn::prelude::*;

#[function(orchestration_trigger, queue_output(queue_name = "done"))]
async fn checkout(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    Ok(ctx.input()?)
}

fn main() {}
