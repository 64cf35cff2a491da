//! A critical section: [`transfer`] moves money between two [`account`] entities while it
//! holds the lock on both, so that no other orchestration or client sees or changes either
//! balance half-way.

use azfn::durable::{EntityContext, EntityId, OrchestrationContext};
use azfn::prelude::*;
use serde::{Deserialize, Serialize};

/// An account entity over its balance in cents: `deposit` and `withdraw` (an amount; return
/// the new balance; a withdrawal larger than the balance fails) and `balance`.
#[function(entity_trigger)]
pub fn account(ctx: &mut EntityContext<i64>) -> Result<Option<i64>, azfn::Error> {
    match ctx.operation() {
        "deposit" => {
            let amount: i64 = ctx.input()?;
            *ctx.state_mut() += amount;
            Ok(Some(*ctx.state()))
        }
        "withdraw" => {
            let amount: i64 = ctx.input()?;
            if amount > *ctx.state() {
                return Err(azfn::Error::msg(format!(
                    "cannot withdraw {amount} from a balance of {}",
                    ctx.state()
                )));
            }
            *ctx.state_mut() -= amount;
            Ok(Some(*ctx.state()))
        }
        "balance" => Ok(Some(*ctx.state())),
        _ => Err(ctx.unknown_operation()),
    }
}

/// The input of [`transfer`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Transfer {
    /// The account debited (the entity key).
    pub from: String,
    /// The account credited.
    pub to: String,
    /// How much, in cents.
    pub amount: i64,
}

/// What [`transfer`] did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TransferOutcome {
    /// The money moved; the balances after it.
    Done {
        /// The debited account's new balance.
        from_balance: i64,
        /// The credited account's new balance.
        to_balance: i64,
    },
    /// The debited account's balance was too low; nothing moved.
    Refused {
        /// The debited account's balance.
        balance: i64,
    },
}

/// Locks both accounts (`lock_entities`: in a fixed order, whatever the transfer's direction,
/// so two opposite transfers never wait on each other), reads the balance, then withdraws and
/// deposits. Inside the section only the two locked accounts may be called; the locks go when
/// `section` is dropped — here explicitly, before returning.
#[function(orchestration_trigger)]
pub async fn transfer(ctx: OrchestrationContext) -> Result<TransferOutcome, azfn::Error> {
    let Transfer { from, to, amount } = ctx.input()?;
    if from == to || amount <= 0 {
        return Err(azfn::Error::msg(
            "a transfer needs two different accounts and a positive amount",
        ));
    }
    let (from, to) = (EntityId::new("account", from), EntityId::new("account", to));
    let section = ctx.lock_entities(&[from.clone(), to.clone()]).await?;
    let balance: i64 = ctx.call_entity(&from, "balance", &()).await?;
    if balance < amount {
        return Ok(TransferOutcome::Refused { balance });
    }
    let from_balance: i64 = ctx.call_entity(&from, "withdraw", &amount).await?;
    let to_balance: i64 = ctx.call_entity(&to, "deposit", &amount).await?;
    section.release();
    Ok(TransferOutcome::Done {
        from_balance,
        to_balance,
    })
}
