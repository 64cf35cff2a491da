use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
unsafe fn dangerous(message: String) {
    let _ = message;
}

fn main() {}
