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
use azfn_core::data::BindingData;
use azfn_core::error::{Error, InvocationError};
use azfn_core::extract::FromInputBinding;
use azfn_core::invocation::{Invocation, OutputValue, Outputs};

use azfn_core::extract::kind::durable_client;

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
    note = "the orchestration's input is the second parameter, `async fn(ctx: OrchestrationContext, input: T)`, or read from the context: `let input: T = ctx.input()?;`"
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

/// One episode of an orchestrator that takes a typed input besides its context: the input is
/// read from the instance's, and one that does not fit fails the orchestration, naming the
/// parameter's type. What `#[function]` generates for `async fn(ctx, input: T)`.
#[doc(hidden)]
pub async fn orchestrate_with_input<I, Fut, T, E>(
    context: OrchestrationContext,
    orchestrator: impl FnOnce(OrchestrationContext, I) -> Fut,
) -> Result<T, Error>
where
    I: DeserializeOwned,
    Fut: Future<Output = Result<T, E>>,
    E: Into<Error>,
{
    let input = context.input::<I>().map_err(|e| {
        Error::msg(format!(
            "the orchestration's input does not fit the parameter's type `{}` ({e})",
            std::any::type_name::<I>()
        ))
    })?;
    orchestrator(context, input).await.map_err(Into::into)
}

/// One episode of an orchestrator that takes only its context, its error made an [`Error`]:
/// what `#[function]` generates for `Orchestration::run`.
#[doc(hidden)]
pub async fn orchestrate_plain<Fut, T, E>(episode: Fut) -> Result<T, Error>
where
    Fut: Future<Output = Result<T, E>>,
    E: Into<Error>,
{
    episode.await.map_err(Into::into)
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
