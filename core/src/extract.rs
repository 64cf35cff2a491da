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
use crate::triggers::{BlobTriggerMetadata, QueueTriggerMetadata, TimerInfo, WarmupContext};

/// The binding kinds, as types: the type parameter of the traits in this module, named exactly
/// as the attribute is spelled so that compiler messages read in the same words
/// (`a azfn::kind::queue_trigger function`).
///
/// The kinds of a service family exist only with its cargo feature (`servicebus`, `cosmosdb`,
/// …); `#[function]` names the feature when a user writes a kind whose feature is off.
#[allow(non_camel_case_types, missing_debug_implementations)]
pub mod kind {
    use super::{BindingDescription, Error, IntoOutputValue, InvocationError, OutputValue, Outputs, ReturnOutputs};

    macro_rules! markers {
        (
            always { $($always:tt)* }
            $( $feature:literal { $($gated:tt)* } )*
        ) => {
            markers!(@items [cfg(all())] $($always)*);
            $( markers!(@items [cfg(feature = $feature)] $($gated)*); )*
            /// The attribute names of every marker compiled in, to check against the catalog.
            #[cfg(test)]
            pub(crate) fn names() -> Vec<&'static str> {
                let mut names = vec!["http_trigger", "http_output"];
                if cfg!(feature = "durable") {
                    names.extend(["orchestration_trigger", "activity_trigger", "entity_trigger", "durable_client"]);
                }
                names.extend(markers!(@names $($always)*));
                $( if cfg!(feature = $feature) { names.extend(markers!(@names $($gated)*)); } )*
                names
            }
        };
        (@names triggers [$($t:ident = $s:ident),*] inputs [$($i:ident),*] outputs [$($o:ident),*]) => {
            [$(stringify!($t),)* $(stringify!($i),)* $(stringify!($o),)*]
        };
        (@items [$cfg:meta] triggers [$($t:ident = $s:ident),*] inputs [$($i:ident),*] outputs [$($o:ident),*]) => {
            $(
                #[$cfg]
                #[doc = concat!("The `", stringify!($t), "` binding kind.")]
                pub struct $t;
                #[$cfg]
                impl super::TriggerKind for $t {
                    const KIND: &'static azfn_bindings::BindingKind = &azfn_bindings::catalog::$s;
                }
                #[$cfg]
                impl ReturnOutputs<$t> for () {
                    const BINDINGS: &'static [BindingDescription] = &[];
                    const HAS_HTTP: bool = false;
                    fn write_outputs(self, _outputs: &mut Outputs) -> Result<(), InvocationError> {
                        Ok(())
                    }
                }
            )*
            $(
                #[$cfg]
                #[doc = concat!("The `", stringify!($i), "` binding kind.")]
                pub struct $i;
            )*
            $(
                #[$cfg]
                #[doc = concat!("The `", stringify!($o), "` binding kind.")]
                pub struct $o;
                #[$cfg]
                impl<T: serde::Serialize> IntoOutputValue<$o> for T {
                    fn into_output_value(self, binding: &BindingDescription) -> Result<Option<OutputValue>, Error> {
                        super::serialized_output(self, binding)
                    }
                }
            )*
        };
    }

    /// The `http_trigger` binding kind.
    pub struct http_trigger;
    impl super::TriggerKind for http_trigger {
        const KIND: &'static azfn_bindings::BindingKind = &azfn_bindings::catalog::HTTP_TRIGGER;
    }
    /// The `http_output` binding kind.
    pub struct http_output;

    // Durable Functions' kinds: their traits' impls live in `durable::binding` (their values
    // travel differently); the markers live here, so that `durable` depends on this module and
    // not the other way round.
    /// The `orchestration_trigger` binding kind.
    #[cfg(feature = "durable")]
    #[allow(non_camel_case_types, missing_debug_implementations)]
    pub struct orchestration_trigger;
    /// The `activity_trigger` binding kind.
    #[cfg(feature = "durable")]
    #[allow(non_camel_case_types, missing_debug_implementations)]
    pub struct activity_trigger;
    /// The `entity_trigger` binding kind.
    #[cfg(feature = "durable")]
    #[allow(non_camel_case_types, missing_debug_implementations)]
    pub struct entity_trigger;
    /// The `durable_client` binding kind.
    #[cfg(feature = "durable")]
    #[allow(non_camel_case_types, missing_debug_implementations)]
    pub struct durable_client;
    #[cfg(feature = "durable")]
    impl super::TriggerKind for orchestration_trigger {
        const KIND: &'static azfn_bindings::BindingKind = &azfn_bindings::catalog::ORCHESTRATION_TRIGGER;
    }
    #[cfg(feature = "durable")]
    impl super::TriggerKind for entity_trigger {
        const KIND: &'static azfn_bindings::BindingKind = &azfn_bindings::catalog::ENTITY_TRIGGER;
    }

    markers! {
        always {
            triggers [
                timer_trigger = TIMER_TRIGGER, warmup_trigger = WARMUP_TRIGGER, queue_trigger = QUEUE_TRIGGER,
                blob_trigger = BLOB_TRIGGER, generic_trigger = GENERIC_TRIGGER
            ]
            inputs [blob_input, generic_input]
            outputs [queue_output, blob_output, generic_output]
        }
        "tables" { triggers [] inputs [table_input] outputs [table_output] }
        "servicebus" { triggers [service_bus_trigger = SERVICE_BUS_TRIGGER] inputs [] outputs [service_bus_output] }
        "eventhubs" { triggers [event_hub_trigger = EVENT_HUB_TRIGGER] inputs [] outputs [event_hub_output] }
        "eventgrid" { triggers [event_grid_trigger = EVENT_GRID_TRIGGER] inputs [] outputs [event_grid_output] }
        "cosmosdb" {
            triggers [cosmos_db_trigger = COSMOS_DB_TRIGGER] inputs [cosmos_db_input] outputs [cosmos_db_output]
        }
        "signalr" {
            triggers [signalr_trigger = SIGNALR_TRIGGER]
            inputs [signalr_connection_info_input, signalr_negotiation_input, signalr_endpoints_input]
            outputs [signalr_output]
        }
        "sql" { triggers [sql_trigger = SQL_TRIGGER] inputs [sql_input] outputs [sql_output] }
        "mysql" { triggers [mysql_trigger = MYSQL_TRIGGER] inputs [mysql_input] outputs [mysql_output] }
        "kafka" { triggers [kafka_trigger = KAFKA_TRIGGER] inputs [] outputs [kafka_output] }
        "rabbitmq" { triggers [rabbitmq_trigger = RABBITMQ_TRIGGER] inputs [] outputs [rabbitmq_output] }
        "sendgrid" { triggers [] inputs [] outputs [sendgrid_output] }
    }

    /// Whether the cargo feature `name` of this crate is on, for the catalog test.
    #[cfg(test)]
    pub(crate) fn feature_enabled(name: &str) -> bool {
        match name {
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
            _ => panic!("feature `{name}` of the catalog is not a feature of azfn"),
        }
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
    note = "a parameter without a binding attribute receives the trigger's payload (`String`, `Vec<u8>`, `Json<T>` or any `T: serde::Deserialize`), the trigger's own types (`HttpRequest` for http_trigger, `TimerInfo` for timer_trigger, `QueueTriggerMetadata` for queue_trigger, `BlobTriggerMetadata` for blob_trigger, `ServiceBusMessageMetadata` for service_bus_trigger, `EventHubBatchMetadata` for event_hub_trigger, …), or `FunctionContext`"
)]
pub trait FromInvocation<K>: Sized {
    /// Whether this is the trigger's payload (as opposed to metadata or context), whose type
    /// decides a batch-capable trigger's `cardinality`.
    #[doc(hidden)]
    const IS_PAYLOAD: bool = false;

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

/// A parameter read from a trigger: the trigger's payload, or a type that belongs to one trigger
/// (`TimerInfo` to `timer_trigger`, `HttpRequest` to `http_trigger`, …), named by `Owner`.
///
/// [`FromInvocation`] takes it for a trigger kind the owner [`Admits`]: the payload types for
/// every trigger, the others only for their own. Checking the owner through an associated type,
/// rather than with one impl per trigger, is what lets a type on the wrong trigger be reported
/// as that (`TimerInfo` belongs to `timer_trigger` functions) instead of as the payload's
/// missing `Deserialize`.
#[doc(hidden)]
pub trait Parameter: Sized {
    /// The trigger kind this type belongs to; [`AnyTrigger`] for a payload.
    type Owner;

    /// Whether this is the trigger's payload (see [`FromInvocation::IS_PAYLOAD`]).
    const IS_PAYLOAD: bool = false;

    /// Reads the value.
    fn read(invocation: &Invocation) -> Result<Self, InvocationError>;
}

/// The owner of the payload types: every trigger takes them.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct AnyTrigger;

/// Whether a `K` function may take `T`, whose owner is `Self`: when `Self` is `K`, or
/// [`AnyTrigger`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{T}` belongs to `{Self}` functions: a `{K}` function cannot take it",
    label = "only a `{Self}` function takes `{T}`",
    note = "a `{K}` function takes its trigger's payload (`String`, `Vec<u8>`, `Json<T>` or any `T: serde::Deserialize`), its own trigger's types, or `FunctionContext`"
)]
pub trait Admits<K, T> {}

impl<K: TriggerKind, T> Admits<K, T> for AnyTrigger {}
impl<K: TriggerKind, T> Admits<K, T> for K {}

impl<K: TriggerKind, T: Parameter> FromInvocation<K> for T
where
    T::Owner: Admits<K, T>,
{
    const IS_PAYLOAD: bool = T::IS_PAYLOAD;

    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        T::read(invocation)
    }
}

impl<T: DeserializeOwned> Parameter for T {
    type Owner = AnyTrigger;
    const IS_PAYLOAD: bool = true;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        let trigger = invocation.function.trigger();
        invocation
            .trigger()
            .decode()
            .map_err(|e| binding_error(invocation, trigger.name, e))
    }
}

impl Parameter for HttpRequest {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        let name = invocation.function.trigger().name;
        match invocation.trigger() {
            BindingData::Http(request) => Ok(request.clone()),
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

impl<T: DeserializeOwned> Parameter for Query<T> {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        Query::from_request(http_request(invocation)?)
            .map_err(|e| binding_error(invocation, invocation.function.trigger().name, e))
    }
}

impl<T: DeserializeOwned> Parameter for Path<T> {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        Path::from_request(http_request(invocation)?)
            .map_err(|e| binding_error(invocation, invocation.function.trigger().name, e))
    }
}

impl Parameter for Headers {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(Headers(http_request(invocation)?.headers().clone()))
    }
}

impl Parameter for Identities {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(Identities(http_request(invocation)?.identities().to_vec()))
    }
}

impl Parameter for TimerInfo {
    type Owner = kind::timer_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        TimerInfo::from_binding(invocation.trigger())
            .map_err(|e| binding_error(invocation, invocation.function.trigger().name, e))
    }
}

impl Parameter for QueueTriggerMetadata {
    type Owner = kind::queue_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        QueueTriggerMetadata::from_metadata(&invocation.metadata).map_err(|e| binding_error(invocation, "metadata", e))
    }
}

impl Parameter for BlobTriggerMetadata {
    type Owner = kind::blob_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        BlobTriggerMetadata::from_metadata(&invocation.metadata).map_err(|e| binding_error(invocation, "metadata", e))
    }
}

impl Parameter for WarmupContext {
    type Owner = kind::warmup_trigger;

    fn read(_invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(WarmupContext)
    }
}

/// Trigger metadata types read from the invocation's metadata with their `from_metadata`.
macro_rules! metadata_parameters {
    ($($(#[$cfg:meta])? $kind:ident => $ty:ty,)*) => {$(
        $(#[$cfg])?
        impl Parameter for $ty {
            type Owner = kind::$kind;

            fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
                <$ty>::from_metadata(&invocation.metadata).map_err(|e| binding_error(invocation, "metadata", e))
            }
        }
    )*};
}

metadata_parameters! {
    #[cfg(feature = "servicebus")]
    service_bus_trigger => crate::triggers::servicebus::ServiceBusMessageMetadata,
    #[cfg(feature = "servicebus")]
    service_bus_trigger => crate::triggers::servicebus::ServiceBusBatchMetadata,
    #[cfg(feature = "eventhubs")]
    event_hub_trigger => crate::triggers::eventhubs::EventHubEventMetadata,
    #[cfg(feature = "eventhubs")]
    event_hub_trigger => crate::triggers::eventhubs::EventHubBatchMetadata,
    #[cfg(feature = "rabbitmq")]
    rabbitmq_trigger => crate::triggers::rabbitmq::RabbitMqMessageMetadata,
}

/// Settles the triggering message through the channel the transport attached; never fails to
/// extract (a missing channel or lock token is the error of the method called).
#[cfg(feature = "servicebus")]
impl Parameter for crate::triggers::servicebus::settlement::ServiceBusSettlement {
    type Owner = kind::service_bus_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        Ok(Self::of_invocation(invocation))
    }
}

impl Parameter for FunctionContext {
    type Owner = AnyTrigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
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

impl<T: Send + Sync + 'static> Parameter for State<T> {
    type Owner = AnyTrigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
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

/// Picks the cardinality a Rust payload type asks for: `Vec<T>` asks for a batch. Resolved at
/// compile time like [`DataTypeOf`]; whether bytes (`Vec<u8>`) are a batch is settled by
/// [`is_batch`].
#[derive(Debug)]
pub struct CardinalityOf<T: ?Sized>(PhantomData<T>);

/// The fallback of [`CardinalityOf`]: one value.
pub trait NoCardinalityPreference {
    /// Whether the type is a batch.
    const MANY: bool = false;
}

impl<T: ?Sized> NoCardinalityPreference for CardinalityOf<T> {}

impl<T> CardinalityOf<Vec<T>> {
    /// A `Vec` is a batch (unless it is bytes, see [`is_batch`]).
    pub const MANY: bool = true;
}

/// Whether a payload type receives a batch: a `Vec` that is not bytes.
pub const fn is_batch(many: bool, data_type: Option<DataType>) -> bool {
    many && !matches!(data_type, Some(DataType::Binary))
}

/// A batch-capable trigger's cardinality: the payload's, or `default` when the first parameter
/// is not a payload (metadata, context, state) and so says nothing.
pub const fn payload_is_batch(is_payload: bool, many: bool, data_type: Option<DataType>, default: bool) -> bool {
    if is_payload { is_batch(many, data_type) } else { default }
}

/// The `cardinality` value for `function.json`.
pub const fn cardinality(many: bool) -> azfn_bindings::PropertyValue {
    azfn_bindings::PropertyValue::Str(if many { "many" } else { "one" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalog_kind_has_a_marker() {
        let mut markers: Vec<_> = super::kind::names();
        let mut catalog: Vec<_> = azfn_bindings::catalog::ALL
            .iter()
            .filter(|k| k.feature.is_none_or(super::kind::feature_enabled))
            .map(|k| k.attr)
            .collect();
        markers.sort();
        catalog.sort();
        assert_eq!(markers, catalog);
    }

    #[test]
    fn vec_payloads_are_batches_but_bytes_are_not() {
        use super::{CardinalityOf, DataTypeOf, NoCardinalityPreference as _, NoDataTypePreference as _, is_batch};
        assert!(is_batch(
            <CardinalityOf<Vec<String>>>::MANY,
            <DataTypeOf<Vec<String>>>::DATA_TYPE
        ));
        assert!(!is_batch(
            <CardinalityOf<Vec<u8>>>::MANY,
            <DataTypeOf<Vec<u8>>>::DATA_TYPE
        ));
        assert!(!is_batch(
            <CardinalityOf<String>>::MANY,
            <DataTypeOf<String>>::DATA_TYPE
        ));
    }
}
