//! Durable Functions (feature `durable`): orchestrations, activities, entities and the durable
//! client, over the Durable extension's protobuf ("passthrough") protocol.

pub mod client;
pub mod driver;
pub mod entity;
pub mod orchestration;
pub mod proto;
