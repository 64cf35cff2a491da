//! The azfn quickstart: the functions most apps start with.
//!
//! Build it and write its function app folder with
//! `cargo run -p quickstart -- --write-app target/azfn/quickstart`, then run `func start` in that
//! folder (or deploy it as a zip).

use azfn::prelude::*;
use serde::{Deserialize, Serialize};

/// `GET /api/hello?name=Ferris` → `Hello, Ferris!`
#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn hello(req: HttpRequest) -> String {
    format!("Hello, {}!", req.query("name").unwrap_or("world"))
}

/// `GET /api/greet/Ferris` → `{"greeting": "Hello, Ferris!"}`: a route parameter.
#[function(http_trigger(route = "greet/{name:alpha}", methods = "get", auth_level = "anonymous"))]
async fn greet(req: HttpRequest) -> Json<Greeting> {
    let name = req.param("name").unwrap_or("world");
    Json(Greeting {
        greeting: format!("Hello, {name}!"),
    })
}

#[derive(Serialize, Deserialize)]
struct Greeting {
    greeting: String,
}

/// Runs every five minutes.
#[function(timer_trigger(schedule = "0 */5 * * * *"))]
async fn tick(timer: TimerInfo) {
    if timer.is_past_due {
        println!("tick is running late");
    }
}

/// An order, as it travels through the queues.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Order {
    id: u32,
    item: String,
    quantity: u32,
}

/// Takes each new order from `orders` and forwards it to `shipping` with its queue metadata
/// checked; the return value is the output message.
#[function(queue_trigger(queue_name = "orders"), queue_output(queue_name = "shipping"))]
async fn ship(order: Order, meta: QueueTriggerMetadata) -> Result<Order, azfn::Error> {
    if order.quantity == 0 {
        return Err(azfn::Error::msg(format!(
            "order {} (message {}) has no items",
            order.id, meta.id
        )));
    }
    // At Information: host.json `logging.logLevel` decides whether it is kept.
    tracing::info!(id = order.id, "shipping order");
    Ok(order)
}

/// The response and the queue messages of `accept`.
#[derive(FunctionOutput)]
struct Accepted {
    #[http_output]
    response: HttpResponse,
    #[queue_output(queue_name = "orders")]
    orders: Vec<Order>,
}

/// `POST /api/orders` with a JSON array of orders: accepts them and queues one message each.
#[function(http_trigger(route = "orders", methods = "post", auth_level = "function"))]
async fn accept(Json(orders): Json<Vec<Order>>) -> Accepted {
    let count = orders.len();
    Accepted {
        response: HttpResponse::new(StatusCode::ACCEPTED).json(&serde_json::json!({ "accepted": count })),
        orders,
    }
}

fn main() {
    azfn::App::new().run();
}
