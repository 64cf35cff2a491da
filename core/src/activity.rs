//! The `activity_trigger` binding (feature `durable`): an activity's input and result are plain
//! JSON as the Durable extension passes them, so they need nothing of the Durable protocol and
//! live here, where the extraction traits are (their blanket impls over `T` must be in the crate
//! of the traits). `azfn-durable` re-exports [`ActivityContext`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::data::BindingData;
use crate::error::InvocationError;
use crate::extract::kind::activity_trigger;
use crate::extract::{FromInvocation, ReturnOutputs};
use crate::invocation::{Invocation, OutputValue, Outputs};
use azfn_bindings::BindingDescription;

/// An activity's input: the JSON text of what the orchestrator passed, read as `T`.
///
/// Over the custom handler the host sends that text JSON-encoded once more; both transports
/// leave [`BindingData::Text`] holding the text itself, which is parsed here. (`activity_trigger`
/// is deliberately not a [`TriggerKind`], whose payload impl would hand over the text as it is.)
impl<T: DeserializeOwned> ActivityParameter for T {
    const IS_PAYLOAD: bool = true;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        activity_input(invocation.trigger()).map_err(|message| InvocationError::Binding {
            binding: invocation.function.trigger().name.to_owned(),
            message,
        })
    }
}

/// A parameter of an activity: its input, or [`ActivityContext`]. (One blanket impl of
/// [`FromInvocation`] reads both, so that a wrong parameter's compiler error names only the
/// traits at stake, not every impl of `FromInvocation`.)
#[doc(hidden)]
pub trait ActivityParameter: Sized {
    /// Whether this is the activity's input.
    const IS_PAYLOAD: bool = false;

    /// Reads the value.
    fn read(invocation: &Invocation) -> Result<Self, InvocationError>;
}

impl<T: ActivityParameter> FromInvocation<activity_trigger> for T {
    const IS_PAYLOAD: bool = T::IS_PAYLOAD;

    fn from_invocation(invocation: &Invocation) -> Result<Self, InvocationError> {
        T::read(invocation)
    }
}

fn activity_input<T: DeserializeOwned>(value: &BindingData) -> Result<T, String> {
    let parsed = match value {
        // The passthrough protocol's `rawInput`: always JSON text.
        BindingData::Text(text) if text.trim().is_empty() => serde_json::from_value(Value::Null),
        BindingData::Text(text) => serde_json::from_str(text),
        BindingData::Json(Value::String(text)) => serde_json::from_str(text),
        BindingData::Json(value) => serde_json::from_value(value.clone()),
        BindingData::Bytes(bytes) => serde_json::from_slice(bytes),
        BindingData::Null => serde_json::from_value(Value::Null),
        BindingData::Http(_) => return Err("an activity's input cannot be an HTTP request".to_owned()),
    };
    parsed.map_err(|e| format!("the activity's input does not fit the parameter's type ({e})"))
}

/// What an activity knows besides its input: the orchestration instance that called it.
///
/// ```
/// use azfn::durable::ActivityContext;
/// use azfn::prelude::*;
///
/// #[function(activity_trigger)]
/// async fn record_visit(entry: String, ctx: ActivityContext) -> String {
///     format!("{} for {entry}", ctx.instance_id())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityContext {
    instance_id: String,
}

impl ActivityContext {
    /// The id of the orchestration instance that scheduled this activity (empty if the host
    /// did not say).
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }
}

impl ActivityParameter for ActivityContext {
    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        let instance_id = invocation
            .metadata
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("instanceId"))
            .and_then(|(_, value)| value.as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(ActivityContext { instance_id })
    }
}

/// An activity's result: the return value, serialized, with no `$return` binding declared (a
/// declared one would make the host base64-decode strings). `()` and `None` store no result.
impl<T: Serialize> ReturnOutputs<activity_trigger> for T {
    const BINDINGS: &'static [BindingDescription] = &[];
    const HAS_HTTP: bool = false;

    fn write_outputs(self, outputs: &mut Outputs) -> Result<(), InvocationError> {
        let value = serde_json::to_value(self).map_err(|e| InvocationError::Output {
            binding: azfn_bindings::RETURN_BINDING_NAME.to_owned(),
            message: format!("the activity's result cannot be serialized ({e})"),
        })?;
        if !value.is_null() {
            outputs.return_value = Some(OutputValue::Json(value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_inputs_are_read_from_their_json_text() {
        let city: String = activity_input(&BindingData::Text("\"Tokyo\"".into())).unwrap();
        assert_eq!(city, "Tokyo");
        let numbers: Vec<u32> = activity_input(&BindingData::Text("[1,2]".into())).unwrap();
        assert_eq!(numbers, [1, 2]);
        let nothing: Option<u32> = activity_input(&BindingData::Null).unwrap();
        assert_eq!(nothing, None);
        let error = activity_input::<u32>(&BindingData::Text("\"x\"".into())).unwrap_err();
        assert!(error.contains("does not fit"), "{error}");
    }
}
