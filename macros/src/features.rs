//! Which service families the `azfn` crate was built with.
//!
//! `azfn`'s feature `servicebus` turns on this crate's feature `servicebus` (and so on), so the
//! macro knows, while it expands, whether the kinds a user writes exist in the runtime, and can
//! name the missing feature at the user's attribute instead of failing on generated code.

/// Whether the `azfn` feature `name` is enabled. Unknown names count as disabled.
pub fn enabled(name: &str) -> bool {
    state(name).unwrap_or(false)
}

/// What to say where `what` (an attribute, a binding kind) is used without its `feature`.
pub fn missing(what: &str, feature: &str) -> String {
    format!(
        "`{what}` needs the `{feature}` feature of azfn: in Cargo.toml write `azfn = {{ version = \"{}\", features = [\"{feature}\"] }}`",
        env!("CARGO_PKG_VERSION"),
    )
}

/// `cfg!` needs the name as a literal, hence one arm per feature; a test checks that every
/// feature of the catalog has one.
fn state(name: &str) -> Option<bool> {
    Some(match name {
        "tables" => cfg!(feature = "tables"),
        "servicebus" => cfg!(feature = "servicebus"),
        "eventhubs" => cfg!(feature = "eventhubs"),
        "eventgrid" => cfg!(feature = "eventgrid"),
        "cosmosdb" => cfg!(feature = "cosmosdb"),
        "signalr" => cfg!(feature = "signalr"),
        "sql" => cfg!(feature = "sql"),
        "mysql" => cfg!(feature = "mysql"),
        "kafka" => cfg!(feature = "kafka"),
        "rabbitmq" => cfg!(feature = "rabbitmq"),
        "sendgrid" => cfg!(feature = "sendgrid"),
        "durable" => cfg!(feature = "durable"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalog_feature_is_known() {
        for feature in azfn_bindings::catalog::features() {
            assert!(super::state(feature).is_some(), "{feature} is missing in features.rs");
        }
    }
}
