use azfn::prelude::*;

#[derive(FunctionOutput)]
struct Outputs {
    #[http_output]
    response: HttpResponse,
    note: String,
}

fn main() {}
