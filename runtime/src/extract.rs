//! The traits that connect a function's Rust signature to its bindings.
//!
//! `#[function]` never guesses from type names: for every parameter and for the return type it
//! emits a call through one of these traits, with the binding kind as a type parameter, and rustc
//! checks the rest. A type that does not fit gets the trait's `on_unimplemented` message, pointing
//! at the user's parameter.

use std::marker::PhantomData;
use std::sync::Arc;

use azfn_bindings::{BindingDescription, DataType, catalog};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::context::FunctionContext;
use crate::data::BindingData;
use crate::error::{Error, InvocationError};
use crate::http::{Headers, HttpRequest, Identities, IntoHttpResponse, Path, Query};
use crate::invocation::{Invocation, OutputValue, Outputs};
use crate::triggers::{BlobTriggerMetadata, QueueTriggerMetadata, TimerInfo};

/// The binding kinds, as types: the type parameter of the traits in this module, named exactly
/// as the attribute is spelled so that compiler messages read in the same words
/// (`a azfn::kind::queue_trigger function`).
#[allow(non_camel_case_types, missing_debug_implementations)]
pub mod kind {
    macro_rules! markers {
        (triggers: $($trigger:ident = $static:ident)*; others: $($other:ident)*) => {
            $(
                #[doc = concat!("The `", stringify!($trigger), "` binding kind.")]
                pub struct $trigger;
                impl super::TriggerKind for $trigger {
                    const KIND: &'static azfn_bindings::BindingKind = &azfn_bindings::catalog::$static;
                }
            )*
            $(
                #[doc = concat!("The `", stringify!($other), "` binding kind.")]
                pub struct $other;
            )*
            /// The attribute names of every marker, to check against the catalog.
            #[cfg(test)]
            pub const NAMES: &[&str] = &[$(stringify!($trigger),)* $(stringify!($other),)*];
        };
    }
    markers! {
        triggers:
            http_trigger = HTTP_TRIGGER
            timer_trigger = TIMER_TRIGGER
            queue_trigger = QUEUE_TRIGGER
            blob_trigger = BLOB_TRIGGER;
        others: blob_input http_output queue_output blob_output
    }
}

/// A trigger kind: the type parameter of [`FromInvocation`].
pub trait TriggerKind {
    /// The catalog entry.
    const KIND: &'static azfn_bindings::BindingKind;
}

/// Types a function can take as a parameter without a binding attribute: the trigger's payload,
/// its metadata, or the invocation's context.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a `{K}` function",
    label = "this parameter cannot be bound",
    note = "a parameter without a binding attribute receives the trigger's payload (`String`, `Vec<u8>`, `Json<T>` or any `T: serde::Deserialize`), the trigger's own types (`HttpRequest` for http_trigger, `TimerInfo` for timer_trigger, `QueueTriggerMetadata` for queue_trigger, `BlobTriggerMetadata` for blob_trigger), or `FunctionContext`"
)]
pub trait FromInvocation<K>: Sized {
    /// Extracts the value.
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError>;
}

fn binding_error(invocation: &Invocation, binding: &str, message: impl ToString) -> InvocationError {
    let _ = invocation;
    InvocationError::Binding {
        binding: binding.to_owned(),
        message: message.to_string(),
    }
}

impl<K: TriggerKind, T: DeserializeOwned> FromInvocation<K> for T {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        let trigger = invocation.function.trigger();
        invocation
            .trigger()
            .decode()
            .map_err(|e| binding_error(invocation, trigger.name, e))
    }
}

impl FromInvocation<kind::http_trigger> for HttpRequest {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        let name = invocation.function.trigger().name;
        match invocation.trigger() {
            BindingData::Http(request) => Ok((**request).clone()),
            other => Err(binding_error(
                invocation,
                name,
                format!("expected an HTTP request, found {:?}", other.to_json()),
            )),
        }
    }
}

/// The HTTP request of an HTTP function, or a binding error naming the trigger.
fn http_request(invocation: &Invocation) -> Result<&HttpRequest, InvocationError> {
    match invocation.trigger() {
        BindingData::Http(request) => Ok(request),
        other => Err(binding_error(
            invocation,
            invocation.function.trigger().name,
            format!("expected an HTTP request, found {}", other.to_json()),
        )),
    }
}

impl<T: DeserializeOwned> FromInvocation<kind::http_trigger> for Query<T> {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        Query::from_request(http_request(invocation)?)
            .map_err(|e| binding_error(invocation, invocation.function.trigger().name, e))
    }
}

impl<T: DeserializeOwned> FromInvocation<kind::http_trigger> for Path<T> {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        Path::from_request(http_request(invocation)?)
            .map_err(|e| binding_error(invocation, invocation.function.trigger().name, e))
    }
}

impl FromInvocation<kind::http_trigger> for Headers {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(Headers(http_request(invocation)?.headers().clone()))
    }
}

impl FromInvocation<kind::http_trigger> for Identities {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(Identities(http_request(invocation)?.identities().to_vec()))
    }
}

impl FromInvocation<kind::timer_trigger> for TimerInfo {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        TimerInfo::from_binding(invocation.trigger())
            .map_err(|e| binding_error(invocation, invocation.function.trigger().name, e))
    }
}

impl FromInvocation<kind::queue_trigger> for QueueTriggerMetadata {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        QueueTriggerMetadata::from_metadata(&invocation.metadata).map_err(|e| binding_error(invocation, "metadata", e))
    }
}

impl FromInvocation<kind::blob_trigger> for BlobTriggerMetadata {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        BlobTriggerMetadata::from_metadata(&invocation.metadata).map_err(|e| binding_error(invocation, "metadata", e))
    }
}

impl<K: TriggerKind> FromInvocation<K> for FunctionContext {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(FunctionContext::of(invocation))
    }
}

/// Shared state of the app, registered with `App::state`: a database pool, an SDK client.
///
/// ```no_run
/// use azfn::prelude::*;
///
/// struct Pricing { vat: f64 }
///
/// #[function(http_trigger(methods = "get"))]
/// async fn price(req: HttpRequest, pricing: State<Pricing>) -> String {
///     let net: f64 = req.query("net").and_then(|n| n.parse().ok()).unwrap_or(0.0);
///     format!("{:.2}", net * (1.0 + pricing.vat))
/// }
///
/// fn main() {
///     azfn::App::new().state(Pricing { vat: 0.2 }).run();
/// }
/// ```
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<K: TriggerKind, T: Send + Sync + 'static> FromInvocation<K> for State<T> {
    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        invocation
            .state
            .get_arc::<T>()
            .map(State)
            .ok_or_else(|| InvocationError::Binding {
                binding: "state".to_owned(),
                message: format!(
                    "no state of type `{}` was registered: add it with `App::new().state(...)`",
                    std::any::type_name::<T>()
                ),
            })
    }
}

/// Types an input binding (`#[blob_input(...)]`) can fill.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive a `{K}` binding",
    label = "this parameter cannot be bound",
    note = "an input binding fills `String`, `Vec<u8>`, `Json<T>`, any `T: serde::Deserialize`, or an `Option` of one of these (`None` when there is no value)"
)]
pub trait FromInputBinding<K>: Sized {
    /// Extracts the value of the input binding `name`.
    fn from_input_binding(invocation: &Invocation, name: &str) -> Result<Self, InvocationError>;
}

impl<K, T: DeserializeOwned> FromInputBinding<K> for T {
    fn from_input_binding(invocation: &Invocation, name: &str) -> Result<Self, InvocationError> {
        invocation
            .binding(name)
            .decode()
            .map_err(|e| binding_error(invocation, name, e))
    }
}

/// Types that can be written to an output binding of kind `K`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written to a `{K}` binding",
    label = "not a value this output can take",
    note = "an http_output takes `HttpResponse`, `Json<T>`, `String`, `&'static str` or `()`; other outputs take any `T: serde::Serialize` (`Option<T>`: `None` writes nothing; `Vec<T>`: one message per element; `Vec<u8>`: bytes)"
)]
pub trait IntoOutputValue<K> {
    /// The value to write, or `None` to write nothing.
    fn into_output_value(self, binding: &BindingDescription) -> Result<Option<OutputValue>, Error>;
}

impl<T: IntoHttpResponse> IntoOutputValue<kind::http_output> for T {
    fn into_output_value(self, _binding: &BindingDescription) -> Result<Option<OutputValue>, Error> {
        Ok(Some(OutputValue::Http(self.into_http_response())))
    }
}

/// Converts any serializable value for a data output (queue, blob, …).
fn serialized_output<T: Serialize>(value: T, binding: &BindingDescription) -> Result<Option<OutputValue>, Error> {
    let json = serde_json::to_value(value).map_err(|e| Error::msg(format!("cannot serialize the value: {e}")))?;
    Ok(match json {
        Value::Null => None,
        Value::String(text) => Some(OutputValue::Text(text)),
        // A `Vec<u8>` serializes as numbers; a binary binding wants it as bytes.
        Value::Array(items) if binding.data_type == Some(DataType::Binary) => Some(OutputValue::Bytes(
            items
                .iter()
                .filter_map(Value::as_u64)
                .filter_map(|n| u8::try_from(n).ok())
                .collect(),
        )),
        other => Some(OutputValue::Json(other)),
    })
}

macro_rules! data_outputs {
    ($($kind:ident)*) => {$(
        impl<T: Serialize> IntoOutputValue<kind::$kind> for T {
            fn into_output_value(self, binding: &BindingDescription) -> Result<Option<OutputValue>, Error> {
                serialized_output(self, binding)
            }
        }
    )*};
}
data_outputs!(queue_output blob_output);

/// Return types of functions whose outputs come from the return type itself: a
/// `#[derive(FunctionOutput)]` struct, `()`, or, for HTTP functions, any HTTP response.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a `{K}` function",
    label = "this return type has no output bindings",
    note = "return `()`, a `#[derive(FunctionOutput)]` struct, or declare where the value goes with an output in `#[function(...)]`, e.g. `queue_output(queue_name = \"...\")`; HTTP functions may also return `HttpResponse`, `Json<T>`, `String` or `&'static str`"
)]
pub trait ReturnOutputs<K> {
    /// The output bindings this type writes.
    const BINDINGS: &'static [BindingDescription];
    /// Whether one of them is an HTTP response.
    const HAS_HTTP: bool;
    /// Writes the outputs.
    fn write_outputs(self, outputs: &mut Outputs) -> Result<(), InvocationError>;
}

/// The implicit `$return` HTTP output of an HTTP function.
pub static HTTP_RETURN: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::HTTP_OUTPUT,
    name: azfn_bindings::RETURN_BINDING_NAME,
    data_type: None,
    properties: &[],
}];

impl<T: IntoHttpResponse> ReturnOutputs<kind::http_trigger> for T {
    const BINDINGS: &'static [BindingDescription] = &HTTP_RETURN;
    const HAS_HTTP: bool = true;
    fn write_outputs(self, outputs: &mut Outputs) -> Result<(), InvocationError> {
        outputs.return_value = Some(OutputValue::Http(self.into_http_response()));
        Ok(())
    }
}

macro_rules! unit_returns {
    ($($kind:ident)*) => {$(
        impl ReturnOutputs<kind::$kind> for () {
            const BINDINGS: &'static [BindingDescription] = &[];
            const HAS_HTTP: bool = false;
            fn write_outputs(self, _outputs: &mut Outputs) -> Result<(), InvocationError> {
                Ok(())
            }
        }
    )*};
}
unit_returns!(timer_trigger queue_trigger blob_trigger);

/// Writes one output value through [`IntoOutputValue`], naming the binding on failure.
pub fn write_output<K, T: IntoOutputValue<K>>(
    outputs: &mut Outputs,
    binding: &'static BindingDescription,
    value: T,
) -> Result<(), InvocationError> {
    let value = value.into_output_value(binding).map_err(|e| InvocationError::Output {
        binding: binding.name.to_owned(),
        message: e.to_string(),
    })?;
    if binding.is_return() {
        outputs.return_value = value;
    } else {
        outputs.set(binding.name, value);
    }
    Ok(())
}

/// Picks the `dataType` a Rust type asks for: byte types ask for binary; anything else leaves it
/// to the binding kind. Resolved at compile time: inherent constants win over the trait's.
#[derive(Debug)]
pub struct DataTypeOf<T: ?Sized>(PhantomData<T>);

/// The fallback of [`DataTypeOf`]: no preference.
pub trait NoDataTypePreference {
    /// The preference.
    const DATA_TYPE: Option<DataType> = None;
}

impl<T: ?Sized> NoDataTypePreference for DataTypeOf<T> {}

macro_rules! binary_types {
    ($($ty:ty),*) => {$(
        impl DataTypeOf<$ty> {
            /// Bytes ask for binary.
            pub const DATA_TYPE: Option<DataType> = Some(DataType::Binary);
        }
    )*};
}
binary_types!(Vec<u8>, Option<Vec<u8>>, bytes::Bytes, Option<bytes::Bytes>);

/// `preferred`, else `fallback` (`Option::or` as a `const fn`).
pub const fn data_type_or(preferred: Option<DataType>, fallback: Option<DataType>) -> Option<DataType> {
    match preferred {
        Some(d) => Some(d),
        None => fallback,
    }
}

/// Whether no binding of `a` has the name of a binding of `b`, compared case-insensitively as
/// the host does. A `const fn`, so `#[function]` can check at compile time that a returned
/// struct's fields do not reuse the names of the function's own bindings.
pub const fn distinct_binding_names(a: &[BindingDescription], b: &[BindingDescription]) -> bool {
    let mut i = 0;
    while i < a.len() {
        let mut j = 0;
        while j < b.len() {
            if same_name(a[i].name.as_bytes(), b[j].name.as_bytes()) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn same_name(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if !a[i].eq_ignore_ascii_case(&b[i]) {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalog_kind_has_a_marker() {
        let mut markers: Vec<_> = super::kind::NAMES.to_vec();
        let mut catalog: Vec<_> = azfn_bindings::catalog::ALL.iter().map(|k| k.attr).collect();
        markers.sort();
        catalog.sort();
        assert_eq!(markers, catalog);
    }
}
