// A `FunctionOutput` without an HTTP response, with a bad value, returned by a queue function:
// the value's error only, no trait error at the function.
use azfn::prelude::*;

#[derive(FunctionOutput)]
struct Forward {
    #[queue_output(queue_name = "Shipping!")]
    shipping: String,
}

#[function(queue_trigger(queue_name = "orders"))]
async fn forward(order: String) -> Forward {
    Forward { shipping: order }
}

fn main() {}
