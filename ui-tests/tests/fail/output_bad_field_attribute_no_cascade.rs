// One mistake in a field attribute of a `FunctionOutput` struct is reported once, at the
// attribute: the struct still implements what the function returning it needs, so there is no
// "trait not implemented" error at the function or at the places that use the struct.
use azfn::prelude::*;

#[derive(FunctionOutput)]
struct Accepted {
    #[http_output]
    response: HttpResponse,
    #[queue_output(queue_nme = "orders")]
    orders: Vec<String>,
}

#[function(http_trigger(route = "orders", methods = "post"))]
async fn accept(body: String) -> Accepted {
    Accepted {
        response: HttpResponse::new(StatusCode::ACCEPTED),
        orders: vec![body],
    }
}

fn main() {}
