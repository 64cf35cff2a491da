use azfn::prelude::*;

#[function(http_trigger(route = "orders/{id/items"))]
async fn unclosed(req: HttpRequest) -> String {
    req.url().to_owned()
}

#[function(http_trigger(route = "files/{*path}/meta"))]
async fn catch_all_not_last(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
