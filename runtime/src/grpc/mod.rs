//! What both gRPC users share: the framing codec and the protobuf well-known types. The native
//! transport (feature `native`) and Durable Functions (feature `durable`) both speak gRPC.

pub use azfn_wire::{codec, wkt};
