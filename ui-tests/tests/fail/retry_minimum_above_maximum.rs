use azfn::prelude::*;

#[function(
    event_hub_trigger(event_hub_name = "telemetry"),
    retry(exponential_backoff, max_retry_count = 3, minimum_interval = "00:10:00", maximum_interval = "00:01:00")
)]
async fn telemetry(events: Vec<String>) {
    let _ = events;
}

fn main() {}
