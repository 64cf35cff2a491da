use azfn::prelude::*;

#[function(http_trigger(route = "orders/{id:integer}"))]
async fn order(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
