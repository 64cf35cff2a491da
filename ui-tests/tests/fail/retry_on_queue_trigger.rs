use azfn::prelude::*;

#[function(
    queue_trigger(queue_name = "orders"),
    retry(fixed_delay, max_retry_count = 5, delay_interval = "00:00:10")
)]
async fn orders(message: String) {
    let _ = message;
}

fn main() {}
