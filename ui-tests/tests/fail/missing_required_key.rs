use azfn::prelude::*;

#[function(queue_trigger(connection = "Storage"))]
async fn no_queue(message: String) {
    let _ = message;
}

#[function(timer_trigger())]
async fn no_schedule(timer: TimerInfo) {
    let _ = timer;
}

fn main() {}
