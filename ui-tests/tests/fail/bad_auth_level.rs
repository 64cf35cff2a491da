use azfn::prelude::*;

#[function(http_trigger(auth_level = "public"))]
async fn open(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
