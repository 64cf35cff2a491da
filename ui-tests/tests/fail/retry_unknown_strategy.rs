use azfn::prelude::*;

#[function(
    timer_trigger(schedule = "0 */5 * * * *"),
    retry(linear, max_retry_count = 3, delay_interval = "00:00:10")
)]
async fn tick(_timer: TimerInfo) {}

fn main() {}
