//! Static descriptions of bindings, as the `#[function]` macro emits them.
//!
//! These are `const`-constructible so that a function's whole description lives in a `static`
//! and costs nothing at start-up. The manifest writer and every transport read the same values.

use crate::catalog::{BindingKind, DataType, Direction};

/// A value of a binding key, already validated by the macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyValue {
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A list of strings (`methods`).
    List(&'static [&'static str]),
}

/// One binding of one function.
#[derive(Debug)]
pub struct BindingDescription {
    /// The catalog entry.
    pub kind: &'static BindingKind,
    /// The binding name (`req`, `order`, `$return`): the key in `Data`/`Outputs`.
    pub name: &'static str,
    /// The `dataType` to declare, if any.
    pub data_type: Option<DataType>,
    /// The `function.json` keys this binding sets, in the order the user wrote them.
    pub properties: &'static [(&'static str, PropertyValue)],
}

impl BindingDescription {
    /// The binding's direction.
    pub const fn direction(&self) -> Direction {
        self.kind.direction()
    }

    /// Whether this is the `$return` binding.
    pub fn is_return(&self) -> bool {
        self.name == RETURN_BINDING_NAME
    }

    /// The value of the `function.json` key `json`, if set.
    ///
    /// ```
    /// use azfn_bindings::description::{BindingDescription, PropertyValue};
    /// let b = BindingDescription {
    ///     kind: &azfn_bindings::catalog::QUEUE_OUTPUT,
    ///     name: "out",
    ///     data_type: None,
    ///     properties: &[("queueName", PropertyValue::Str("orders"))],
    /// };
    /// assert_eq!(b.property("queueName"), Some(PropertyValue::Str("orders")));
    /// ```
    pub fn property(&self, json: &str) -> Option<PropertyValue> {
        self.properties.iter().find(|(k, _)| *k == json).map(|&(_, v)| v)
    }
}

/// The property key that asks the host for deferred binding: `"properties":
/// {"SupportsDeferredBinding": "True"}` in the binding's JSON (the .NET isolated worker's
/// spelling, FunctionMetadataProviderGenerator). A description carries it as
/// `PropertyValue::Bool`; `false` writes nothing.
pub const SUPPORTS_DEFERRED_BINDING: &str = "SupportsDeferredBinding";

/// The binding name the host uses for a function's return value.
pub const RETURN_BINDING_NAME: &str = "$return";
