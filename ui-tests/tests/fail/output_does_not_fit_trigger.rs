use azfn::prelude::*;

#[function(http_trigger(methods = "post"), queue_output(queue_name = "orders"))]
async fn enqueue(body: String) -> String {
    body
}

#[function(queue_trigger(queue_name = "orders"), http_output)]
async fn answer(message: String) -> HttpResponse {
    HttpResponse::ok().text(message)
}

fn main() {}
