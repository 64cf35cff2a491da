use azfn::prelude::*;

struct Service;

impl Service {
    #[function(http_trigger(methods = "get"))]
    async fn handle(&self, req: HttpRequest) -> String {
        req.url().to_owned()
    }
}

fn main() {}
