use azfn::durable::EntityContext;
use azfn::prelude::*;

#[function(entity_trigger)]
fn counter(ctx: &mut EntityContext<i64>, #[blob_input(path = "limits/counter")] limit: String) {
    let _ = (ctx, limit);
}

fn main() {}
