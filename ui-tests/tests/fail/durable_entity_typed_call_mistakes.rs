use azfn::durable::OrchestrationContext;
use azfn::prelude::*;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Counter(i64);

#[entity]
impl Counter {
    pub fn add(&mut self, amount: i64) -> i64 {
        self.0 += amount;
        self.0
    }
}

#[function(orchestration_trigger)]
async fn tally(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
    // A wrong input type, then a misspelt operation.
    let total: i64 = ctx.call_operation(Counter::ADD, "daily", &"five").await?;
    ctx.signal_operation(Counter::ADDD, "daily", &1)?;
    Ok(total)
}

fn main() {}
