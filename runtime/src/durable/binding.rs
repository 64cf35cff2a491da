//! How Durable Functions' bindings meet `#[function]`: the kind markers, and the traits'
//! impls for what each kind's functions take and return.
//!
//! The values travel as the Durable extension's passthrough protocol has them (the messages in
//! `wire/proto/durable/orchestrator_service.proto`): an activity's input is the JSON text of the value the orchestrator sent, its
//! result is the function's return value with no `$return` binding declared (the host hands it
//! to the extension as it is); an orchestrator's or an entity's trigger value is the base64 of a
//! protobuf request, and its return value the base64 of the protobuf response.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::DurableClient;
use super::entity::{
    EntityContext, IntoOperationResult, OperationFuture, decode_batch_request, encode_batch_result, run_entity_batch,
    run_entity_batch_async,
};
use super::orchestration::{OrchestrationContext, decode_request, encode_response, run_orchestrator};
use super::proto::{OrchestratorRequest, OrchestratorResponse};
use crate::data::BindingData;
use crate::error::{Error, InvocationError};
use crate::extract::{FromInputBinding, FromInvocation, ReturnOutputs};
use crate::invocation::{Invocation, OutputValue, Outputs};
use azfn_bindings::BindingDescription;

use crate::extract::kind::{activity_trigger, durable_client};

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

/// The durable client, from the `durableClient` binding's value (JSON text naming the task hub
/// and the extension's local gRPC endpoint).
impl FromInputBinding<durable_client> for DurableClient {
    fn from_input_binding(invocation: &Invocation, name: &str) -> Result<Self, InvocationError> {
        let binding_error = |message: String| InvocationError::Binding {
            binding: name.to_owned(),
            message,
        };
        match invocation.binding(name) {
            BindingData::Text(text) => DurableClient::from_binding(text),
            BindingData::Json(value) => DurableClient::from_json(value),
            BindingData::Null => {
                return Err(binding_error(
                    "the host sent no durable client: is the Durable extension installed (extension bundle v4)?"
                        .to_owned(),
                ));
            }
            other => {
                return Err(binding_error(format!(
                    "expected the durable client's JSON, found {}",
                    other.to_json()
                )));
            }
        }
        .map_err(|e| binding_error(e.to_string()))
    }
}

/// The base64 text of a durable trigger's value.
fn trigger_text(invocation: &Invocation) -> Result<&str, InvocationError> {
    match invocation.trigger() {
        BindingData::Text(text) | BindingData::Json(Value::String(text)) => Ok(text),
        other => Err(InvocationError::Binding {
            binding: invocation.function.trigger().name.to_owned(),
            message: format!(
                "expected the Durable extension's base64 request, found {}",
                other.to_json()
            ),
        }),
    }
}

fn malformed_trigger(invocation: &Invocation, error: &Error) -> InvocationError {
    InvocationError::Binding {
        binding: invocation.function.trigger().name.to_owned(),
        message: error.to_string(),
    }
}

/// Outputs holding only the return value the extension reads: base64 text, which the host
/// passes through untouched because no `$return` binding is declared.
fn durable_return(base64_text: String) -> Outputs {
    Outputs {
        return_value: Some(OutputValue::Text(base64_text)),
        ..Outputs::default()
    }
}

/// What an `orchestration_trigger` function is: an `async fn` taking the
/// [`OrchestrationContext`] and returning `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an orchestrator",
    label = "an orchestrator takes an `OrchestrationContext` and returns `Result<T, E>`",
    note = "write `async fn name(ctx: OrchestrationContext) -> Result<T, azfn::Error>`, where `T: serde::Serialize` (the orchestration's output)"
)]
pub trait Orchestrator<M> {
    /// Runs one episode of the orchestration.
    fn run_episode(self, request: &OrchestratorRequest) -> OrchestratorResponse;
}

impl<F, Fut, T, E> Orchestrator<(T, E)> for F
where
    F: FnOnce(OrchestrationContext) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    T: Serialize,
    E: Into<Error>,
{
    fn run_episode(self, request: &OrchestratorRequest) -> OrchestratorResponse {
        run_orchestrator(request, |context| {
            let episode = self(context);
            async move { episode.await.map_err(Into::into) }
        })
    }
}

/// The one parameter of an `orchestration_trigger` function.
#[diagnostic::on_unimplemented(
    message = "an orchestrator takes an `OrchestrationContext`, not `{Self}`",
    label = "this parameter must be `azfn::durable::OrchestrationContext`",
    note = "the orchestration's input is read from the context: `let input: T = ctx.input()?;`"
)]
pub trait OrchestrationParameter {
    /// The parameter, from the context the engine made.
    fn from_context(context: OrchestrationContext) -> Self;
}

impl OrchestrationParameter for OrchestrationContext {
    fn from_context(context: OrchestrationContext) -> Self {
        context
    }
}

/// Runs an orchestrator function's episode for one invocation: what `#[function]` generates.
#[doc(hidden)]
pub fn durable_orchestrate<M>(
    invocation: &Invocation,
    orchestrator: impl Orchestrator<M>,
) -> Result<Outputs, InvocationError> {
    let request = decode_request(trigger_text(invocation)?).map_err(|e| malformed_trigger(invocation, &e))?;
    let response = orchestrator.run_episode(&request);
    Ok(durable_return(encode_response(&response)))
}

/// Runs an entity function over one batch of operations: what `#[function]` generates for a
/// plain `fn`.
#[doc(hidden)]
pub fn durable_entity<S, R, M, F>(invocation: &Invocation, operation: F) -> Result<Outputs, InvocationError>
where
    S: Serialize + DeserializeOwned + Default,
    R: IntoOperationResult<M>,
    F: FnMut(&mut EntityContext<S>) -> R,
{
    let request = decode_batch_request(trigger_text(invocation)?).map_err(|e| malformed_trigger(invocation, &e))?;
    let result = run_entity_batch(&request, operation);
    Ok(durable_return(encode_batch_result(&result)))
}

/// [`durable_entity`] for an `async fn`.
#[doc(hidden)]
pub async fn durable_entity_async<S, R, M, F>(invocation: &Invocation, operation: F) -> Result<Outputs, InvocationError>
where
    S: Serialize + DeserializeOwned + Default,
    R: IntoOperationResult<M>,
    F: for<'a> FnMut(&'a mut EntityContext<S>) -> OperationFuture<'a, R>,
{
    let request = decode_batch_request(trigger_text(invocation)?).map_err(|e| malformed_trigger(invocation, &e))?;
    let result = run_entity_batch_async(&request, operation).await;
    Ok(durable_return(encode_batch_result(&result)))
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
