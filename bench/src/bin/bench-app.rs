//! The azfn app the benchmarks drive: 50 functions, as a realistic app has, of which the
//! runner calls three.
//!
//! - `hello`: `GET /api/hello?name=x` → `Hello, x!`; the throughput, latency and cold-start
//!   function, invoked with the JSON envelope (`POST /hello`) or forwarded raw
//!   (`GET /api/hello?name=x`);
//! - `ship`: a queue function (queue in, queue out), so the registry holds more than HTTP;
//! - `nap`: answers after 200 ms, so that 1,000 invocations are in flight at once in the memory
//!   scenario;
//! - 47 generated HTTP functions, so the registry, the forwarding routes and start-up carry the
//!   weight of a 50-function app.

use std::time::Duration;

use azfn::prelude::*;
use serde::{Deserialize, Serialize};

#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn hello(req: HttpRequest) -> String {
    format!("Hello, {}!", req.query("name").unwrap_or("world"))
}

/// An order, as it travels through the queues.
#[derive(Serialize, Deserialize)]
struct Order {
    id: u32,
    item: String,
}

#[function(queue_trigger(queue_name = "orders"), queue_output(queue_name = "shipping"))]
async fn ship(order: Order) -> Order {
    order
}

#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn nap(req: HttpRequest) -> String {
    tokio::time::sleep(Duration::from_millis(200)).await;
    format!("Hello, {}!", req.query("name").unwrap_or("world"))
}

/// One HTTP function per identifier; its name and route are the identifier, so each is
/// distinct. (`macro_rules!` cannot build identifiers, hence the explicit list.)
macro_rules! generated_functions {
    ($($name:ident)*) => {
        $(
            #[function(http_trigger(methods = "get", auth_level = "anonymous"))]
            async fn $name(req: HttpRequest) -> String {
                format!("{} says hello to {}", stringify!($name), req.query("name").unwrap_or("world"))
            }
        )*
    };
}

generated_functions! {
    g01 g02 g03 g04 g05 g06 g07 g08 g09 g10 g11 g12 g13 g14 g15 g16 g17 g18 g19 g20 g21 g22 g23 g24
    g25 g26 g27 g28 g29 g30 g31 g32 g33 g34 g35 g36 g37 g38 g39 g40 g41 g42 g43 g44 g45 g46 g47
}

/// What the async state factory of the cold-start variant builds.
struct Warmed;

fn main() {
    // Forwarding only changes host.json; the server answers both the envelope (`POST /hello`)
    // and the forwarded request (`GET /api/hello`), so one binary serves both scenarios.
    let app = azfn::App::new().forward_http_requests();
    // The cold-start variant with an async start-up: a factory that awaits a future that is
    // ready at once, so what is measured is the start-up machinery itself.
    let app = if std::env::var_os(BENCH_ASYNC_STARTUP).is_some() {
        app.state_async(|| async {
            std::future::ready(()).await;
            Ok::<_, std::convert::Infallible>(Warmed)
        })
    } else {
        app
    };
    app.run();
}

/// Set (to anything) to give the app an async state factory.
const BENCH_ASYNC_STARTUP: &str = "BENCH_ASYNC_STARTUP";
