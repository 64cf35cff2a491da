use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
async fn fails(message: String) -> Result<(), String> {
    Err(message)
}

fn main() {}
