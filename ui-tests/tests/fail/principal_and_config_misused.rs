use azfn::prelude::*;
use azfn::OptionalClientPrincipal;

#[derive(serde::Deserialize)]
struct Settings {
    queue: String,
}

// The caller's identity comes with an HTTP request: a queue message has none.
#[function(queue_trigger(queue_name = "orders"))]
async fn principal_on_a_queue(message: String, caller: ClientPrincipal) {
    let _ = (message, caller);
}

#[function(timer_trigger(schedule = "0 */5 * * * *"))]
async fn optional_principal_on_a_timer(timer: TimerInfo, caller: OptionalClientPrincipal) {
    let _ = (timer, caller);
}

// `Config<T>` reads settings into a type that must be deserializable.
struct NotDeserializable;

#[function(queue_trigger(queue_name = "orders"))]
async fn config_of_a_plain_struct(message: String, settings: Config<Settings>, other: Config<NotDeserializable>) {
    let _ = (message, &settings.queue, other);
}

fn main() {}
