use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
async fn generic<T: serde::de::DeserializeOwned>(message: T) {
    let _ = message;
}

fn main() {}
