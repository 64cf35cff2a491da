//! The binding catalog of azfn and the rules the Azure Functions host applies to it.
//!
//! This crate is the single source of truth that both `azfn-macros` (at compile time) and the
//! `azfn` runtime (at run time) read: every trigger and binding kind, its `function.json` keys,
//! their value types, defaults and validation rules. It has no dependencies so that the
//! proc-macro build stays fast.

pub mod catalog;
pub mod expression;
pub mod extension;
#[cfg(test)]
mod fuzz;
pub mod percent;
mod problem;
pub mod route;
mod rules;
pub mod schedule;
pub mod validate;

pub use catalog::{Batch, BindingKind, DataType, Direction, Fill, KeyRule, KeySpec, Refused, Role, TriggerData};
pub use problem::Problem;
pub use rules::{ValueRule, ValueShape};
pub mod description;
pub use description::{BindingDescription, PropertyValue, RETURN_BINDING_NAME};
