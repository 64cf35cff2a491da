use azfn::prelude::*;

#[function(event_hub_trigger(event_hub_name = "telemetry", cardinality = "one"))]
async fn telemetry(events: Vec<String>) {
    let _ = events;
}

fn main() {}
