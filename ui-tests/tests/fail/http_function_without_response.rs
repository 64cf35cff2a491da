use azfn::prelude::*;

#[derive(FunctionOutput)]
struct OnlyQueue {
    #[queue_output(queue_name = "orders")]
    orders: Vec<String>,
}

#[function(http_trigger(methods = "post"))]
async fn enqueue(body: String) -> OnlyQueue {
    OnlyQueue { orders: vec![body] }
}

fn main() {}
