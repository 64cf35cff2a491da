//! Durable Functions with azfn: the patterns in one app.
//!
//! - [`start_orchestration`]: an HTTP starter. `POST /api/orchestrators/{name}` starts the
//!   orchestrator named in the route with the request's JSON body as input, through the
//!   `durableClient` binding, and answers `202 Accepted` with the instance's management links.
//! - [`process_order`]: fan-out/fan-in. Prices every line of an order in parallel with
//!   [`price_line`], retrying failed attempts ([`RetryPolicy`]), waits out a cooling-off period
//!   on a durable timer, sums the prices and reports progress as a custom status.
//! - [`approval`]: human interaction. Sends an approval request ([`send_approval_request`]), then
//!   races the external event `Approved` against a deadline timer.
//! - [`counter`]: a durable entity with `add`, `reset` and `get`, driven by [`tally`], which
//!   signals it and calls it.
//! - [`health_check`]: an HTTP call made by the Durable extension (`call_http`, polling `202`
//!   answers), a managed-identity token from version `2` on (the orchestration's version),
//!   and a counter reset scheduled for the next midnight (a scheduled entity signal).
//! - [`transfer`]: a critical section. Locks two [`Account`] entities, then withdraws from one
//!   and deposits into the other while no one else can touch either (module [`accounts`]).
//! - [`price_line`], [`send_approval_request`]: activities, taking and returning serde types.
//! - [`manage::manage_instance`]: terminates or purges an instance with its sub-orchestrations
//!   (recursively), over HTTP.
//!
//! Orchestrators run again from the start on every replay, so they must be deterministic: see
//! [the rules](azfn::durable::orchestration#what-an-orchestrator-must-not-do).

use std::time::Duration;

pub mod manage;

use azfn::App;
use azfn::durable::orchestration::{DurableHttpRequest, Either, TokenSource, select, try_when_all};
use azfn::durable::{DurableClient, EntityContext, EntityId, OrchestrationContext, RetryPolicy};
use azfn::prelude::*;
use serde::{Deserialize, Serialize};

pub mod accounts;
pub use accounts::{Account, Transfer, TransferOutcome, transfer};

// ---------------------------------------------------------------------------------------------
// The HTTP starter
// ---------------------------------------------------------------------------------------------

/// `POST /api/orchestrators/{name}[?instanceId=...]`: starts the orchestrator `name` with the
/// request's JSON body (none when empty) as input and answers `202 Accepted` with the links to
/// query, signal or terminate the instance (`Location` is the status link).
///
/// Answers `404` for a name that is not one of the app's orchestrators, `400` for a body that
/// is not JSON and `409` when the chosen instance id is taken.
#[function(http_trigger(route = "orchestrators/{name}", methods = "post"))]
pub async fn start_orchestration(
    req: HttpRequest,
    #[durable_client] client: DurableClient,
) -> Result<HttpResponse, azfn::Error> {
    let name = req
        .param("name")
        .ok_or_else(|| azfn::Error::bad_request("the route has no orchestrator name"))?;
    if !is_orchestrator(name) {
        return Err(azfn::Error::not_found(format!("no orchestrator named `{name}`")));
    }
    let input: serde_json::Value = if req.body().iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        req.json().map_err(azfn::Error::bad_request)?
    };
    let mut start = client.start(name).input(&input);
    if let Some(id) = req.query("instanceId") {
        start = start.instance_id(id);
    }
    let instance_id = match start.send().await {
        Ok(id) => id,
        Err(e) if e.is_already_exists() => {
            return Err(azfn::Error::with_status(StatusCode::CONFLICT, e));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(name, instance_id, "started an orchestration");
    Ok(client.create_check_status_response(&req, &instance_id))
}

/// Whether the app has an orchestrator function called `name`.
fn is_orchestrator(name: &str) -> bool {
    azfn::Registry::global()
        .ok()
        .and_then(|registry| registry.get(name))
        .is_some_and(|f| f.trigger().kind.json_type == azfn::bindings::catalog::ORCHESTRATION_TRIGGER.json_type)
}

// ---------------------------------------------------------------------------------------------
// Fan-out/fan-in with retries and a timer
// ---------------------------------------------------------------------------------------------

/// One line of an order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OrderLine {
    /// What is ordered.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// An order: the input of [`process_order`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Order {
    /// Its id.
    pub order_id: String,
    /// Its lines.
    pub lines: Vec<OrderLine>,
}

/// A priced order: the output of [`process_order`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OrderSummary {
    /// The order's id.
    pub order_id: String,
    /// The price of each line, in cents, in the order's order.
    pub line_totals: Vec<u64>,
    /// The sum, in cents.
    pub total_cents: u64,
}

/// What [`process_order`] reports as its custom status while it runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OrderProgress {
    /// `pricing`, `cooling-off` or `done`.
    pub stage: String,
    /// How many lines the order has.
    pub lines: usize,
}

/// How long a priced order waits before it is final (a durable timer: no compute is used, and
/// the instance survives restarts while it waits).
pub const COOLING_OFF: Duration = Duration::from_secs(15 * 60);

/// How failed [`price_line`] attempts are retried: 3 attempts in all, 5 s then 10 s apart.
pub fn pricing_retry_policy() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_secs(5)).backoff_coefficient(2.0)
}

/// Prices every line of the order in parallel (fan-out), waits for all of them (fan-in), waits
/// [`COOLING_OFF`] and returns the total.
#[function(orchestration_trigger)]
pub async fn process_order(ctx: OrchestrationContext, order: Order) -> Result<OrderSummary, azfn::Error> {
    let progress = |stage: &str| OrderProgress {
        stage: stage.to_owned(),
        lines: order.lines.len(),
    };
    ctx.set_custom_status(&progress("pricing"))?;
    ctx.log()
        .info(format!("pricing {} lines of {}", order.lines.len(), order.order_id));

    // Every call is scheduled before the first await, so the activities run in parallel. The
    // typed call takes the activity's name, input and output types from `price_line` itself.
    let line_totals: Vec<u64> = try_when_all(
        order
            .lines
            .iter()
            .map(|line| ctx.call_with_retry(price_line, line, pricing_retry_policy())),
    )
    .await?;

    ctx.set_custom_status(&progress("cooling-off"))?;
    ctx.create_timer_after(COOLING_OFF).await;

    ctx.set_custom_status(&progress("done"))?;
    Ok(OrderSummary {
        order_id: order.order_id,
        total_cents: line_totals.iter().sum(),
        line_totals,
    })
}

/// The unit price of `sku`, in cents.
pub fn unit_price(sku: &str) -> Option<u64> {
    match sku {
        "tea" => Some(450),
        "scones" => Some(300),
        "jam" => Some(525),
        _ => None,
    }
}

/// Prices one order line. An unknown SKU fails the activity (and so, after the retries, the
/// orchestration).
#[function(activity_trigger)]
pub fn price_line(line: OrderLine) -> Result<u64, azfn::Error> {
    let unit = unit_price(&line.sku).ok_or_else(|| azfn::Error::msg(format!("unknown sku `{}`", line.sku)))?;
    tracing::info!(sku = line.sku, quantity = line.quantity, "priced a line");
    Ok(unit * u64::from(line.quantity))
}

// ---------------------------------------------------------------------------------------------
// Human interaction: an external event raced against a timer
// ---------------------------------------------------------------------------------------------

/// What needs approving: the input of [`approval`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalRequest {
    /// What is asked for.
    pub subject: String,
    /// Who decides.
    pub approver: String,
}

/// The payload of the `Approved` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Approved {
    /// Who approved.
    pub by: String,
}

/// How an approval ended: the output of [`approval`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ApprovalOutcome {
    /// The `Approved` event came in time.
    Approved {
        /// Who approved.
        by: String,
    },
    /// [`APPROVAL_TIMEOUT`] passed first.
    TimedOut,
}

/// How long [`approval`] waits for the `Approved` event.
pub const APPROVAL_TIMEOUT: Duration = Duration::from_secs(72 * 3600);

/// The name of the event [`approval`] waits for. Raise it with the instance's `sendEventPostUri`
/// (`{eventName}` = `Approved`) or `DurableClient::raise_event`.
pub const APPROVED_EVENT: &str = "Approved";

/// Sends the approval request, then waits for the `Approved` event or [`APPROVAL_TIMEOUT`],
/// whichever comes first.
#[function(orchestration_trigger)]
pub async fn approval(ctx: OrchestrationContext, request: ApprovalRequest) -> Result<ApprovalOutcome, azfn::Error> {
    // The string form, which names the activity by its host name and its types by annotation:
    // the form for an activity of another app, which this crate cannot name (here it is this
    // app's `send_approval_request`, which `ctx.call(send_approval_request, &request)` would
    // check at compile time).
    let sent: String = ctx.call_activity("send_approval_request", &request).await?;
    ctx.set_custom_status(&sent)?;

    let decision = ctx.wait_for_external_event::<Approved>(APPROVED_EVENT);
    let deadline = ctx.create_timer_after(APPROVAL_TIMEOUT);
    // The loser is dropped: a dropped timer fires harmlessly, a dropped waiter takes no event.
    match select(decision, deadline).await {
        Either::Left(approved) => Ok(ApprovalOutcome::Approved { by: approved?.by }),
        Either::Right(()) => Ok(ApprovalOutcome::TimedOut),
    }
}

/// Sends the approval request (here: logs it) and says what it did. An activity may do I/O; an
/// orchestrator may not.
#[function(activity_trigger)]
pub fn send_approval_request(request: ApprovalRequest) -> String {
    tracing::info!(
        approver = request.approver,
        subject = request.subject,
        "approval requested"
    );
    format!("asked {} to approve {}", request.approver, request.subject)
}

// ---------------------------------------------------------------------------------------------
// An entity, and an orchestrator that talks to it
// ---------------------------------------------------------------------------------------------

/// A counter entity: `add` (an `i64`, returns the new value), `reset` (deletes the state) and
/// `get`. Entities process one operation at a time, so `add` needs no locking.
#[function(entity_trigger)]
pub fn counter(ctx: &mut EntityContext<i64>) -> Result<Option<i64>, azfn::Error> {
    match ctx.operation() {
        "add" => {
            let amount: i64 = ctx.input()?;
            *ctx.state_mut() += amount;
            Ok(Some(*ctx.state()))
        }
        "reset" => {
            ctx.delete_state();
            Ok(None)
        }
        "get" => Ok(Some(*ctx.state())),
        _ => Err(ctx.unknown_operation()),
    }
}

/// The input of [`tally`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TallyInput {
    /// Which counter (the entity key).
    pub key: String,
    /// What to add to it.
    pub amounts: Vec<i64>,
}

/// The output of [`tally`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TallyReport {
    /// The counter's value after all the additions.
    pub total: i64,
    /// Its value after the reset.
    pub after_reset: i64,
}

/// Signals `add` to the counter for every amount (fire and forget), then calls `get` (which
/// waits for the answer: an entity handles its operations in order, so the signals came
/// first), `reset` and `get` again.
#[function(orchestration_trigger)]
pub async fn tally(ctx: OrchestrationContext, input: TallyInput) -> Result<TallyReport, azfn::Error> {
    // The entity's name comes from the `counter` function; its operations are strings.
    let counter_id = EntityId::of(counter, input.key);
    for amount in &input.amounts {
        ctx.signal_entity(&counter_id, "add", amount)?;
    }
    let total: i64 = ctx.call_entity(&counter_id, "get", &()).await?;
    ctx.call_entity::<(), _>(&counter_id, "reset", &()).await?;
    let after_reset: i64 = ctx.call_entity(&counter_id, "get", &()).await?;
    Ok(TallyReport { total, after_reset })
}

// ---------------------------------------------------------------------------------------------
// An HTTP call made by the extension, a version, a scheduled signal
// ---------------------------------------------------------------------------------------------

/// The output of [`health_check`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HealthReport {
    /// The status code the checked URL finally answered.
    pub status: u16,
    /// How many checks the `health` counter has seen today, this one included.
    pub checks_today: i64,
    /// The orchestration's version, as its starter set it.
    pub version: Option<String>,
}

/// The resource [`health_check`] asks a managed-identity token for, from version `2` on.
pub const HEALTH_TOKEN_RESOURCE: &str = "https://management.core.windows.net/.default";

/// GETs the URL given as input through the Durable extension (which polls a `202 Accepted`
/// with a `Location` until the answer is final), sending a managed-identity token when the
/// instance was started with version `2`; counts the check in the `health` counter, whose
/// reset is scheduled for the next midnight (UTC).
#[function(orchestration_trigger)]
pub async fn health_check(ctx: OrchestrationContext, url: String) -> Result<HealthReport, azfn::Error> {
    let mut request = DurableHttpRequest::new("GET", url).header("Accept", "application/json");
    if ctx.version().as_deref() == Some("2") {
        request = request.token_source(TokenSource::managed_identity(HEALTH_TOKEN_RESOURCE));
    }
    let response = ctx.call_http(request).await?;

    let counter_id = EntityId::of(counter, "health");
    ctx.signal_entity(&counter_id, "add", &1)?;
    let now = ctx.current_utc_time();
    let since_midnight = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() % 86_400;
    let midnight = now + Duration::from_secs(86_400 - since_midnight);
    ctx.signal_entity_at(&counter_id, "reset", &(), midnight)?;
    let checks_today: i64 = ctx.call_entity(&counter_id, "get", &()).await?;
    Ok(HealthReport {
        status: response.status_code,
        checks_today,
        version: ctx.version(),
    })
}

/// The app. Every `#[function]` linked into the binary is registered; the app adds no state
/// or middleware.
pub fn app() -> App {
    App::new()
}
