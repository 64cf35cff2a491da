//! Durable Functions (feature `durable`): orchestrations, activities, entities and the durable
//! client, over the Durable extension's protobuf ("passthrough") protocol.

pub(crate) mod binding;
pub mod client;
pub mod driver;
pub mod entity;
pub mod orchestration;
pub use azfn_wire::durable as proto;

pub use binding::{ActivityContext, Orchestrator};
pub use client::{DurableClient, OrchestrationMetadata, RuntimeStatus};
pub use entity::EntityContext;
pub use orchestration::{DurableTask, EntityId, OrchestrationContext, RetryPolicy, TaskFailed, when_all, when_any};
