//! Azure Storage connections for azfn, shared by the runtime and `cargo azfn`, so that a
//! binding's `connection` means the same account to both.
//!
//! | module | concern |
//! |---|---|
//! | [`account`] | which account a `connection` names (connection strings, identities) |
//! | [`sas`] | signing an account SAS, or a blob service SAS, with an account key (the SDK takes no shared key) |
//! | [`clients`] | Azure SDK for Rust clients per connection, made once and reused |
//! | [`reference`](mod@reference) | the blob reference the host sends for deferred binding |
//!
//! The SDK crates are re-exported ([`blob`], [`queue`], [`azure_core`]) so that users name the same
//! versions azfn builds clients with.

pub mod account;
pub mod clients;
mod clock;
pub mod reference;
pub mod sas;

pub use azure_core;
pub use azure_storage_blob as blob;
pub use azure_storage_queue as queue;
pub use clients::StorageClients;
