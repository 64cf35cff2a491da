// A misspelt required key is one error, with the key it meant, not also "needs `queue_name`".
use azfn::prelude::*;

#[function(queue_trigger(queue_nme = "orders"))]
async fn ship(order: String) {
    let _ = order;
}

fn main() {}
