use azfn::prelude::*;

#[function(name = "bad name", http_trigger(route = "a//b", methods = "got", auth_level = "root"))]
async fn many(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
