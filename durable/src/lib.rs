//! # azfn-durable: Durable Functions for azfn
//!
//! Orchestrations, activities, entities and the durable client, over the Durable extension's
//! protobuf ("passthrough") protocol. It builds on `azfn-core` (the binding kinds, extraction
//! traits and dispatch) and on `azfn-wire` (the Durable protobuf messages and gRPC framing), and
//! knows no transport of the host: it runs the same under the custom handler and gRPC.
//!
//! Users enable the `durable` feature of `azfn` and name these items as `azfn::durable::…`.
//!
//! Calls are checked by the compiler when they name their function by its item:
//! `ctx.call(say_hello, &city)`, [`OrchestrationContext::call_orchestration`], [`EntityId::of`],
//! [`DurableClient::start_orchestration`] (see [`Activity`]); the string forms remain for
//! functions of other apps.
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod binding;
pub mod client;
pub mod driver;
pub mod entity;
pub mod orchestration;
pub mod testing;
pub use azfn_wire::durable as proto;

pub use azfn_core::activity::ActivityContext;
pub use binding::Orchestrator;
pub use client::{DurableClient, OrchestrationMetadata, RuntimeStatus};
pub use entity::EntityContext;
pub use orchestration::{
    Activity, DurableInput, DurableTask, Entity, EntityId, Operation, Orchestration, OrchestrationContext, RetryPolicy,
    TaskFailed, when_all, when_any,
};
