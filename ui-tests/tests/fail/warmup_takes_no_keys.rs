use azfn::prelude::*;

#[function(warmup_trigger(schedule = "0 * * * * *"))]
async fn warmup(_context: azfn::WarmupContext) {}

fn main() {}
