use azfn::prelude::*;

#[function(orchestration_trigger)]
async fn checkout(order: String) -> Result<String, azfn::Error> {
    Ok(order)
}

fn main() {}
