use azfn::prelude::*;

#[function(http_trigger(route = "stock"), table_input(table_name = "stock"))]
async fn stock(req: HttpRequest) -> String {
    req.url().to_owned()
}

fn main() {}
