use azfn::prelude::*;

#[function(name = "2fast", http_trigger(methods = "get"))]
async fn fast(req: HttpRequest) -> String {
    req.url().to_owned()
}

#[function(name = "host", http_trigger(methods = "get"))]
async fn reserved(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
