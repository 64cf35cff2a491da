use azfn::prelude::*;

#[function(timer_trigger(schedule = "0 */5 * * * *"), retry(fixed_delay, max_retry_count = 3))]
async fn tick(_timer: TimerInfo) {}

fn main() {}
