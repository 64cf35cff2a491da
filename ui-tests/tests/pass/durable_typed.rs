//! Typed durable calls: the function items are the references, and still call like functions.
use azfn::durable::{ActivityContext, DurableClient, EntityContext, EntityId, OrchestrationContext, RetryPolicy};
use azfn::prelude::*;
use std::time::Duration;

/// Prices an item.
#[function(activity_trigger, name = "Price")]
pub fn price(item: String) -> Result<u32, azfn::Error> {
    Ok(u32::try_from(item.len())?)
}

#[function(activity_trigger)]
async fn log_visit(ctx: ActivityContext, entry: (String, u32)) -> String {
    format!("{} {} for {}", entry.0, entry.1, ctx.instance_id())
}

#[function(activity_trigger)]
fn tick() {}

#[function(orchestration_trigger)]
async fn checkout(ctx: OrchestrationContext, items: Vec<String>) -> Result<u32, azfn::Error> {
    let retry = RetryPolicy::new(3, Duration::from_secs(5));
    let mut total = 0;
    for item in &items {
        total += ctx.call_with_retry(price, item, retry.clone()).await?;
    }
    let _line: String = ctx.call(log_visit, &("total".to_owned(), total)).await?;
    ctx.call(tick, &()).await?;
    let cart_id = EntityId::of(cart, "ann");
    ctx.signal_entity(&cart_id, "add", &"tea")?;
    Ok(total)
}

#[function(orchestration_trigger(orchestration = "Untyped"))]
async fn untyped(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
    // An orchestrator that reads its input itself takes any serializable input.
    let first = ctx.call_orchestration(checkout, &vec!["tea".to_owned()]).await?;
    let again: u32 = ctx.call_orchestration(untyped, &"anything").await?;
    let third = ctx.call_orchestration(untyped, &42).await?;
    Ok(first + again + third)
}

#[function(entity_trigger(entity_name = "Cart"))]
async fn cart(ctx: &mut EntityContext<Vec<String>>) -> Result<usize, azfn::Error> {
    let item: String = ctx.input()?;
    ctx.state_mut().push(item);
    Ok(ctx.state().len())
}

#[function(entity_trigger)]
fn counter(ctx: &mut EntityContext<i64>) -> i64 {
    *ctx.state()
}

#[function(http_trigger(methods = "post"))]
async fn start(req: HttpRequest, #[durable_client] client: DurableClient) -> Result<HttpResponse, azfn::Error> {
    let id = client.start_orchestration(checkout, &req.json::<Vec<String>>()?).await?;
    let _other = client.start_orchestration_with(untyped, &1).instance_id("one").send().await?;
    Ok(client.create_check_status_response(&req, &id))
}

fn main() {
    use azfn::durable::{Activity, Entity, Orchestration};
    assert_eq!(<price as Activity>::NAME, "Price");
    assert_eq!(<tick as Activity>::NAME, "tick");
    assert_eq!(<untyped as Orchestration>::NAME, "Untyped");
    assert_eq!(<cart as Entity>::NAME, "Cart");
    assert_eq!(EntityId::of(counter, "k").to_string(), "@counter@k");
    // The items still call like the functions they stand for.
    assert_eq!(price("tea".to_owned()).unwrap(), 3);
    tick();
    let _ = start;
}
