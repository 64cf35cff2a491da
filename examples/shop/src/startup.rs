//! Async start-up and a per-invocation service.
//!
//! - [`PriceList`] is shared state built by an async factory (`App::state_async`): it is read
//!   from the file the `SHOP_PRICE_FILE` setting names (as a real app would fetch it over the
//!   network), before the worker reports ready; a missing or malformed file stops start-up with a
//!   message the host logs.
//! - [`StockReservation`] is a unit of work built for each invocation of `place_order` by an
//!   async factory (`App::scoped_async_for`): it takes items out of the catalog as the order is
//!   read, and unless the function commits it, its `Drop` puts them back, so a failed order
//!   leaves the stock as it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use azfn::prelude::*;
use azfn::{Invocation, Scoped};
use serde::{Deserialize, Serialize};

use crate::Catalog;

/// The price of each item, in cents, by item id.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceList(BTreeMap<u32, u64>);

impl PriceList {
    /// The prices the shop starts with when `SHOP_PRICE_FILE` is not set.
    pub fn default_prices() -> Self {
        PriceList(BTreeMap::from([(1, 450), (2, 300)]))
    }

    /// Loads the prices from the file `SHOP_PRICE_FILE` names (lines of `id=cents`), or the
    /// defaults when it is not set. The start-up factory.
    pub async fn load() -> Result<PriceList, String> {
        let Some(path) = std::env::var_os("SHOP_PRICE_FILE") else {
            return Ok(PriceList::default_prices());
        };
        let shown = path.to_string_lossy().into_owned();
        let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
            .await
            .map_err(|e| format!("cannot read the price file {shown}: {e}"))?
            .map_err(|e| format!("cannot read the price file {shown}: {e}"))?;
        PriceList::parse(&text)
    }

    /// Reads lines of `id=cents`.
    pub fn parse(text: &str) -> Result<PriceList, String> {
        let mut prices = BTreeMap::new();
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let parsed = line
                .split_once('=')
                .and_then(|(id, cents)| Some((id.trim().parse().ok()?, cents.trim().parse().ok()?)));
            let (id, cents) =
                parsed.ok_or_else(|| format!("line {}: expected `id=cents`, found `{line}`", number + 1))?;
            prices.insert(id, cents);
        }
        Ok(PriceList(prices))
    }

    fn price(&self, id: u32) -> Option<u64> {
        self.0.get(&id).copied()
    }
}

/// Items taken out of the catalog for one order: put back on drop unless committed.
#[derive(Debug)]
pub struct StockReservation {
    catalog: Arc<Catalog>,
    taken: Vec<(u32, u32)>,
    committed: bool,
}

impl StockReservation {
    /// The factory: a reservation on the app's catalog (its shared state).
    pub fn begin(invocation: &Invocation) -> impl Future<Output = Result<StockReservation, String>> + Send + use<> {
        let catalog = invocation.state.get_arc::<Catalog>();
        async move {
            let catalog = catalog.ok_or("the app has no catalog")?;
            Ok(StockReservation {
                catalog,
                taken: Vec::new(),
                committed: false,
            })
        }
    }

    /// Takes `quantity` of item `id` out of the catalog.
    fn take(&mut self, id: u32, quantity: u32) -> azfn::Result<()> {
        self.catalog
            .take_stock(id, quantity)
            .map_err(|why| azfn::Error::with_status(StatusCode::CONFLICT, format!("item {id}: {why}")))?;
        self.taken.push((id, quantity));
        Ok(())
    }

    /// Keeps what was taken.
    fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for StockReservation {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for &(id, quantity) in &self.taken {
            self.catalog.add_stock(id, quantity);
        }
        if !self.taken.is_empty() {
            tracing::info!(lines = self.taken.len(), "order rolled back");
        }
    }
}

/// An order: item ids and quantities.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Order {
    /// `(item id, quantity)` pairs.
    pub lines: Vec<(u32, u32)>,
}

/// What an accepted order costs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The total, in cents.
    pub total_cents: u64,
}

/// `POST /api/orders`: takes the items out of stock and prices them; `409` (and the stock as it
/// was) when an item is short.
#[function(http_trigger(route = "orders", methods = "post", auth_level = "anonymous"))]
async fn place_order(
    Json(order): Json<Order>,
    prices: State<PriceList>,
    reservation: Scoped<StockReservation>,
) -> azfn::Result<Json<Receipt>> {
    let mut reservation = reservation.into_inner();
    let mut total_cents = 0;
    for (id, quantity) in order.lines {
        reservation.take(id, quantity)?;
        let price = prices
            .price(id)
            .ok_or_else(|| azfn::Error::with_status(StatusCode::CONFLICT, format!("item {id} has no price")))?;
        total_cents += price * u64::from(quantity);
    }
    reservation.commit();
    Ok(Json(Receipt { total_cents }))
}
