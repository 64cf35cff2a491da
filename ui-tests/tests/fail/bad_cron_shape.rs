use azfn::prelude::*;

#[function(timer_trigger(schedule = "0 */5 * * *  * *"))]
async fn too_many_fields(timer: TimerInfo) {
    let _ = timer;
}

#[function(timer_trigger(schedule = "0 0 9 * * Funday"))]
async fn no_such_day(timer: TimerInfo) {
    let _ = timer;
}

fn main() {}
