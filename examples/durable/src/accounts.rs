//! A critical section: [`transfer`] moves money between two [`Account`] entities while it
//! holds the lock on both, so that no other orchestration or client sees or changes either
//! balance half-way.

use azfn::durable::{EntityId, OrchestrationContext};
use azfn::prelude::*;
use serde::{Deserialize, Serialize};

/// An account entity over its balance in cents, written as a type whose methods are its
/// operations (`#[entity]`): `deposit` and `withdraw` take an amount and return the new
/// balance (a withdrawal larger than the balance fails), `balance` reads it. On the wire the
/// state is the bare number (`serde(transparent)`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
#[serde(transparent)]
pub struct Account {
    cents: i64,
}

#[entity(name = "account")]
impl Account {
    /// Adds `amount`; returns the new balance.
    pub fn deposit(&mut self, amount: i64) -> i64 {
        self.cents += amount;
        self.cents
    }

    /// Takes `amount` out and returns the new balance; more than the balance fails, and the
    /// failed operation changes nothing.
    pub fn withdraw(&mut self, amount: i64) -> Result<i64, azfn::Error> {
        if amount > self.cents {
            return Err(azfn::Error::msg(format!(
                "cannot withdraw {amount} from a balance of {}",
                self.cents
            )));
        }
        self.cents -= amount;
        Ok(self.cents)
    }

    /// The balance.
    pub fn balance(&self) -> i64 {
        self.cents
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
    let accounts = [EntityId::of_type::<Account>(&from), EntityId::of_type::<Account>(&to)];
    let section = ctx.lock_entities(&accounts).await?;
    // Typed calls: the entity, the operation and both types come from `Account`.
    let balance = ctx.call_operation(Account::BALANCE, &from, &()).await?;
    if balance < amount {
        return Ok(TransferOutcome::Refused { balance });
    }
    let from_balance = ctx.call_operation(Account::WITHDRAW, &from, &amount).await?;
    let to_balance = ctx.call_operation(Account::DEPOSIT, &to, &amount).await?;
    section.release();
    Ok(TransferOutcome::Done {
        from_balance,
        to_balance,
    })
}
