use azfn::prelude::*;

#[derive(FunctionOutput)]
struct Twice {
    #[http_output]
    first: HttpResponse,
    #[http_output]
    second: HttpResponse,
}

fn main() {}
