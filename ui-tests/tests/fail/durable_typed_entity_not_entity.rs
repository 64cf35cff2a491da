use azfn::durable::EntityId;
use azfn::prelude::*;

#[function(activity_trigger)]
fn price(item: String) -> u32 {
    item.len() as u32
}

fn main() {
    let _ = EntityId::of(price, "key");
}
