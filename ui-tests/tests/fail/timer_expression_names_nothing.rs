use azfn::prelude::*;

#[function(timer_trigger(schedule = "0 0 * * * *"), queue_output(queue_name = "reports-{id}"))]
async fn report(_timer: TimerInfo) -> String {
    "report".to_owned()
}

fn main() {}
