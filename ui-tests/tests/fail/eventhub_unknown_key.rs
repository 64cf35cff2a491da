use azfn::prelude::*;

#[function(event_hub_trigger(event_hub_name = "telemetry", partition = "1"))]
async fn telemetry(events: Vec<String>) {
    let _ = events;
}

fn main() {}
