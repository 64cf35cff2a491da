//! A small shop: the programming model in one app.
//!
//! - shared state: the [`Catalog`], registered once with `App::state` and taken as `State<Catalog>`;
//! - middleware: [`require_api_key`] guards the HTTP functions (short-circuits with `401`),
//!   [`stamp_request_id`] adds a header to every HTTP response and tags the invocation;
//! - the function context: invocation id, retry count, a value set by middleware, cancellation;
//! - logging: `tracing` events land in the invocation's log;
//! - a streamed request body: [`import_stock`] applies an upload line by line as it arrives;
//! - errors: `azfn::Error::not_found` answers `404` with its message; other errors answer a bare `500`;
//! - async start-up and a per-invocation service: the [`startup`] module's price list, built by an
//!   async factory before the worker reports ready, and the unit of work each order runs in.
//! - the caller's identity and typed app settings: the [`account`] module.

pub mod account;
mod import;
pub use import::{ImportReport, import_stock};

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use azfn::prelude::*;
use azfn::{App, Invocation, Next, Outputs};
use serde::{Deserialize, Serialize};

pub mod startup;

/// An item for sale.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Item {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// How many are in stock.
    pub stock: u32,
}

/// The shop's catalog, shared by every invocation.
#[derive(Debug, Default)]
pub struct Catalog {
    items: Mutex<BTreeMap<u32, Item>>,
}

impl Catalog {
    /// A catalog with these items.
    pub fn with(items: impl IntoIterator<Item = Item>) -> Self {
        Catalog {
            items: Mutex::new(items.into_iter().map(|i| (i.id, i)).collect()),
        }
    }

    fn get(&self, id: u32) -> Option<Item> {
        self.items.lock().ok()?.get(&id).cloned()
    }

    /// Takes `quantity` of item `id` out of stock, or says why it cannot.
    fn take_stock(&self, id: u32, quantity: u32) -> Result<(), String> {
        let mut items = self.items.lock().map_err(|_| "the catalog is unavailable".to_owned())?;
        let item = items.get_mut(&id).ok_or("no such item")?;
        item.stock = item
            .stock
            .checked_sub(quantity)
            .ok_or_else(|| format!("only {} in stock", item.stock))?;
        Ok(())
    }

    /// The item `id` as it is now.
    pub fn item(&self, id: u32) -> Option<Item> {
        self.get(id)
    }

    fn add_stock(&self, id: u32, quantity: u32) -> Option<Item> {
        let mut items = self.items.lock().ok()?;
        let item = items.get_mut(&id)?;
        item.stock += quantity;
        Some(item.clone())
    }
}

/// The request id [`stamp_request_id`] gives each invocation.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// `GET /api/items/{id}`: one item.
#[function(http_trigger(route = "items/{id:int}", methods = "get", auth_level = "anonymous"))]
async fn get_item(req: HttpRequest, catalog: State<Catalog>, ctx: FunctionContext) -> azfn::Result<Json<Item>> {
    let id: u32 = req
        .param("id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| azfn::Error::bad_request("bad id"))?;
    let request_id = ctx.extension::<RequestId>().map(|r| r.0.as_str()).unwrap_or("-");
    tracing::info!(id, request_id, "looking up item");
    catalog
        .get(id)
        .map(Json)
        .ok_or_else(|| azfn::Error::not_found(format!("no item {id}")))
}

/// A restock message.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Restock {
    /// The item.
    pub id: u32,
    /// How many arrived.
    pub quantity: u32,
}

/// Applies restock messages; an unknown item fails the invocation so the queue retries it.
#[function(queue_trigger(queue_name = "restock"), queue_output(queue_name = "stock-changed"))]
async fn restock(message: Restock, catalog: State<Catalog>, ctx: FunctionContext) -> azfn::Result<Item> {
    let attempt = ctx.retry().map_or(0, |r| r.retry_count);
    tracing::info!(id = message.id, attempt, "restocking");
    catalog
        .add_stock(message.id, message.quantity)
        .ok_or_else(|| azfn::Error::msg(format!("restock for unknown item {}", message.id)))
}

/// `POST /api/report`: a long report that stops early, answering `503`, when the invocation is
/// cancelled (the worker shutting down).
#[function(http_trigger(route = "report", methods = "post", auth_level = "anonymous"))]
async fn report(ctx: FunctionContext) -> HttpResponse {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(60)) => HttpResponse::ok().text("report done"),
        () = ctx.cancellation().cancelled() => {
            tracing::warn!("report cancelled");
            HttpResponse::new(StatusCode::SERVICE_UNAVAILABLE).text("shutting down, try again")
        }
    }
}

/// Lets HTTP requests through only with the `x-api-key` the app was given.
pub async fn require_api_key(invocation: Invocation, next: Next) -> azfn::Result<Outputs, azfn::InvocationError> {
    let key = invocation.state.get::<ApiKey>().map(|k| k.0.clone());
    let given = match invocation.trigger() {
        azfn::BindingData::Http(request) => request.header("x-api-key").map(str::to_owned),
        _ => None,
    };
    if key.is_some() && given != key {
        let denied = HttpResponse::new(StatusCode::UNAUTHORIZED).text("missing or wrong x-api-key");
        return Ok(Outputs::http_response_for(invocation.function, denied));
    }
    next.run(invocation).await
}

/// Gives the invocation a request id and stamps it on the HTTP response.
pub async fn stamp_request_id(mut invocation: Invocation, next: Next) -> azfn::Result<Outputs, azfn::InvocationError> {
    let id = format!("req-{}", invocation.invocation_id);
    invocation.extensions.insert(RequestId(id.clone()));
    let mut result = next.run(invocation).await;
    if let Some(response) = result.as_mut().ok().and_then(|o| o.http_response_mut()) {
        *response = response.clone().header("x-request-id", &id);
    }
    result
}

/// The API key HTTP callers must send.
#[derive(Debug, Clone)]
pub struct ApiKey(pub String);

/// The app: state (one value built at start-up), a per-invocation service, and middleware.
pub fn app() -> App {
    let catalog = Catalog::with([
        Item {
            id: 1,
            name: "tea".into(),
            stock: 10,
        },
        Item {
            id: 2,
            name: "scones".into(),
            stock: 0,
        },
    ]);
    let mut app = App::new()
        .state(catalog)
        .state_async(startup::PriceList::load)
        .scoped_async_for(|f| f.name == "place_order", startup::StockReservation::begin)
        .middleware(stamp_request_id);
    if let Ok(key) = std::env::var("SHOP_API_KEY") {
        app = app.state(ApiKey(key));
    }
    app.middleware_for(|f| f.trigger().kind.is_http_trigger(), require_api_key)
}
