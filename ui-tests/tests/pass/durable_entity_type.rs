//! An entity written as a type: every operation form, called by its typed constants.
use azfn::durable::{DurableClient, EntityContext, EntityId, OrchestrationContext};
use azfn::prelude::*;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Cart {
    items: Vec<String>,
}

#[entity(name = "Cart")]
impl Cart {
    /// A write with an input and a result.
    pub fn add(&mut self, item: String) -> usize {
        self.items.push(item);
        self.items.len()
    }

    /// A read.
    pub fn items(&self) -> Vec<String> {
        self.items.clone()
    }

    /// An async write that may fail.
    pub async fn remove(&mut self, index: usize) -> Result<String, azfn::Error> {
        if index >= self.items.len() {
            return Err(azfn::Error::msg("no such item"));
        }
        Ok(self.items.remove(index))
    }

    /// The whole context, renamed on the wire.
    #[operation(name = "Clear")]
    pub fn clear_all(ctx: &mut EntityContext<Self>) {
        ctx.delete_state();
    }

    /// Not an operation: no receiver.
    pub fn empty() -> Self {
        Cart::default()
    }
}

#[function(orchestration_trigger)]
async fn checkout(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
    let section = ctx.lock_entities(&[EntityId::of_type::<Cart>("ann")]).await?;
    let count: usize = ctx.call_operation(Cart::ADD, "ann", &"tea".to_owned()).await?;
    let removed: String = ctx.call_operation(Cart::REMOVE, "ann", &(count - 1)).await?;
    let items: Vec<String> = ctx.call_operation(Cart::ITEMS, "ann", &()).await?;
    section.release();
    ctx.signal_operation(Cart::CLEAR_ALL, "ann", &())?;
    Ok([vec![removed], items].concat())
}

async fn empty_the_cart(client: DurableClient) -> Result<(), azfn::Error> {
    Ok(client.signal_operation(Cart::CLEAR_ALL, "ann", &()).await?)
}

fn main() {
    let _ = (empty_the_cart, Cart::empty());
    assert_eq!(Cart::CLEAR_ALL.name(), "Clear");
}
