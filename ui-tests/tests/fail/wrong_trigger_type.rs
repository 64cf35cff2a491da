use azfn::prelude::*;

#[function(queue_trigger(queue_name = "orders"))]
async fn queue_with_http(req: HttpRequest) {
    let _ = req;
}

fn main() {}
