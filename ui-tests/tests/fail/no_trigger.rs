use azfn::prelude::*;

#[function(name = "lonely")]
async fn lonely() {}

fn main() {}
