use azfn::durable::{ActivityContext, DurableClient, EntityContext, OrchestrationContext, RetryPolicy};
use azfn::prelude::*;
use std::time::Duration;

#[function(orchestration_trigger)]
async fn checkout(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
    let items: Vec<String> = ctx.input()?;
    let retry = RetryPolicy::new(3, Duration::from_secs(5));
    let mut total = 0;
    for item in &items {
        total += ctx.call_activity_with_retry::<u32, _>("price", item, retry.clone()).await?;
    }
    Ok(total)
}

#[function(activity_trigger)]
async fn price(item: String, ctx: ActivityContext) -> Result<u32, azfn::Error> {
    let _ = ctx.instance_id();
    Ok(u32::try_from(item.len())?)
}

#[function(entity_trigger(entity_name = "cart"))]
async fn cart(ctx: &mut EntityContext<Vec<String>>) -> Result<usize, azfn::Error> {
    let item: String = ctx.input()?;
    ctx.state_mut().push(item);
    Ok(ctx.state().len())
}

#[function(http_trigger(methods = "post"))]
async fn start(req: HttpRequest, #[durable_client] client: DurableClient) -> Result<HttpResponse, azfn::Error> {
    let id = client.start_new("checkout", &req.json::<Vec<String>>()?).await?;
    Ok(client.create_check_status_response(&req, &id))
}

fn main() {}
