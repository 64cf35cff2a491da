use azfn::prelude::*;

#[function(htp_trigger(methods = "get"))]
async fn typo() {}

fn main() {}
