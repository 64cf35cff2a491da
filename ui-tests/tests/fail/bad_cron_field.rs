use azfn::prelude::*;

#[function(timer_trigger(schedule = "0 61 * * * *"))]
async fn every_hour(timer: TimerInfo) {
    let _ = timer;
}

fn main() {}
