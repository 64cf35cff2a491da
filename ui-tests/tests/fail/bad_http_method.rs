use azfn::prelude::*;

#[function(http_trigger(methods = "get, fetch"))]
async fn fetcher(req: HttpRequest) -> String {
    req.url().to_owned()
}

#[function(http_trigger(methods = ["post", "send"]))]
async fn sender(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
