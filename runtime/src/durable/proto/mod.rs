//! The messages of the Durable Task protocol (`orchestrator_service.proto` of
//! microsoft/durabletask-protobuf), written by hand with `prost` derives so that no build needs
//! `protoc`. Field numbers and types follow the `.proto` exactly; names follow what `prost-build`
//! would generate (nested enums and oneofs in a module named after their message).
//!
//! - [`common`]: what everything shares (instances, failure details, statuses, trace context).
//! - [`history`]: history events, the orchestrator request and response, and their actions.
//! - [`entity`]: entity batches, operations and their actions.
//! - [`sidecar`]: the `TaskHubSidecarService` requests and responses the durable client sends.

pub mod common;
pub mod entity;
pub mod history;
pub mod sidecar;

pub use common::*;
