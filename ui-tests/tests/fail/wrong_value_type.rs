use azfn::prelude::*;

#[function(timer_trigger(schedule = "0 0 * * * *", run_on_startup = "yes"))]
async fn startup(timer: TimerInfo) {
    let _ = timer;
}

fn main() {}
