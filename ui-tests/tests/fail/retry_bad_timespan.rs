use azfn::prelude::*;

#[function(
    timer_trigger(schedule = "0 */5 * * * *"),
    retry(exponential_backoff, max_retry_count = 3, minimum_interval = "00:00:04", maximum_interval = "00:75:00")
)]
async fn tick(_timer: TimerInfo) {}

fn main() {}
