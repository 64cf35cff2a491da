use azfn::prelude::*;

#[function(http_trigger(rout = "orders"))]
async fn orders(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
