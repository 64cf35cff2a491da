//! Where the driver's entities come from (closures, or the app's entity functions), and how it
//! delivers their operations, signals and orchestration starts.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::time::SystemTime;

use super::{DriverResult, EntityStates, Instance, OrchestrationDriver};
use crate::orchestration::EntityId;
use crate::proto::{EntityBatchRequest, EntityBatchResult, OperationRequest, TaskFailureDetails};
use crate::proto::{operation_action::OperationActionType, operation_result::ResultType};
use crate::testing::{decode_entity_batch_result, encode_entity_batch_request};
use azfn_wire::wkt::{StringValue, Timestamp};

/// What an entity operation does: gets the operation's name and input (JSON text) and the
/// entity's state (JSON text, `None` when it does not exist; set it to `None` to delete the
/// entity), and returns the result as JSON text, or an error message.
pub type EntityFn =
    Arc<dyn Fn(&str, Option<&str>, &mut Option<String>) -> Result<Option<String>, String> + Send + Sync>;

/// The future of one entity batch: the batch's result, or why the entity could not run at all.
pub type EntityBatchFuture<'a> = Pin<Box<dyn Future<Output = Result<EntityBatchResult, String>> + Send + 'a>>;

/// Runs entity batches for the driver, as the Durable extension runs an entity function: an
/// [`EntityBatchRequest`] (the entity's id and stored state, the operations) in, an
/// [`EntityBatchResult`] (each operation's result, the new state, the signals and orchestration
/// starts it emits) out. [`AppEntities`] implements it over the app's real entity functions.
///
/// ```
/// use azfn::durable::driver::{EntityBatchFuture, EntityRunner};
/// use azfn::durable::entity::{EntityContext, run_entity_batch};
/// use azfn::durable::proto::EntityBatchRequest;
///
/// /// Every entity counts the operations it got.
/// struct Counting;
///
/// impl EntityRunner for Counting {
///     fn run(&self, request: EntityBatchRequest) -> EntityBatchFuture<'_> {
///         let result = run_entity_batch(&request, |ctx: &mut EntityContext<u64>| {
///             *ctx.state_mut() += 1;
///             *ctx.state()
///         });
///         Box::pin(std::future::ready(Ok(result)))
///     }
/// }
/// ```
pub trait EntityRunner: Send + Sync {
    /// Runs one batch of the entity `request.instance_id` (`@name@key`).
    fn run(&self, request: EntityBatchRequest) -> EntityBatchFuture<'_>;
}

/// The app's own `#[function(entity_trigger)]` functions, invoked as the host invokes them: the
/// batch's request as base64 protobuf in, the function's return value read as an
/// [`EntityBatchResult`]. The driver keeps each entity's state between batches and delivers the
/// signals and orchestration starts a batch emits.
///
/// ```
/// use azfn::durable::driver::{AppEntities, MockActivities, OrchestrationDriver};
/// use azfn::durable::{EntityContext, EntityId, OrchestrationContext};
/// use azfn::prelude::*;
///
/// #[function(entity_trigger)]
/// fn tally_entity(ctx: &mut EntityContext<i64>) -> Result<i64, azfn::Error> {
///     let amount: i64 = ctx.input()?;
///     *ctx.state_mut() += amount;
///     Ok(*ctx.state())
/// }
///
/// async fn add_twice(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
///     let entity = EntityId::new("tally_entity", "k");
///     ctx.signal_entity(&entity, "add", &2)?;
///     Ok(ctx.call_entity(&entity, "add", &3).await?)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let result = OrchestrationDriver::new(MockActivities::new())
///     .entities(AppEntities::new())
///     .orchestrator("add_twice", add_twice)
///     .run("add_twice", &())
///     .await;
/// assert_eq!(result.output::<i64>().unwrap(), 5);
/// # });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct AppEntities;

impl AppEntities {
    /// The app's entity functions.
    pub fn new() -> Self {
        AppEntities
    }
}

impl EntityRunner for AppEntities {
    fn run(&self, request: EntityBatchRequest) -> EntityBatchFuture<'_> {
        Box::pin(async move {
            let name = request
                .instance_id
                .parse::<EntityId>()
                .map_err(|e| e.to_string())?
                .name()
                .to_owned();
            let function = azfn_core::function::Registry::global()
                .map_err(|e| e.to_string())?
                .get(&name)
                .filter(|f| f.trigger().kind.json_type == azfn_bindings::catalog::ENTITY_TRIGGER.json_type)
                .ok_or_else(|| format!("the app has no entity function named `{name}`"))?;
            let mut invocation = azfn_core::invocation::Invocation::new(function, format!("driver-{name}"));
            let value = azfn_core::data::BindingData::Text(encode_entity_batch_request(&request));
            invocation.data.insert(function.trigger().name.to_owned(), value);
            let outputs = azfn_core::dispatch::invoke(invocation)
                .await
                .map_err(|e| format!("the entity function `{name}` failed: {e}"))?;
            match outputs.return_value {
                Some(azfn_core::invocation::OutputValue::Text(text)) => {
                    decode_entity_batch_result(&text).map_err(|e| e.to_string())
                }
                other => Err(format!(
                    "the entity function `{name}` returned {other:?}, not an entity batch result"
                )),
            }
        })
    }
}

impl OrchestrationDriver {
    /// Delivers `message` and, in turn, the signals its operation emits (scheduled ones go to
    /// `delivery.signals`), and runs the orchestrations they start; returns the answer to the
    /// message when it is a call: the response event's name (the request id) and payload.
    pub(super) async fn deliver(
        &self,
        message: EntityMessage,
        delivery: &mut Delivery<'_>,
        episodes: &mut usize,
    ) -> Option<(String, String)> {
        let mut answer = None;
        let mut queue = VecDeque::from([message]);
        // Entities that signal each other forever are stopped as orchestrations are.
        let mut operations = 0;
        while let Some(message) = queue.pop_front()
            && operations < self.max_episodes
        {
            operations += 1;
            let (outcome, actions) = self.run_entity_operation(&message, delivery.states).await;
            if let Some(id) = &message.call_id {
                answer.get_or_insert_with(|| (id.clone(), entity_answer(outcome)));
            }
            for action in actions {
                match action {
                    OperationActionType::SendSignal(signal) => {
                        let Ok(entity) = signal.instance_id.parse::<EntityId>() else {
                            continue;
                        };
                        let next = EntityMessage {
                            entity,
                            operation: signal.name,
                            input: signal.input.map(|v| v.value),
                            call_id: None,
                        };
                        match signal.scheduled_time.map(Timestamp::to_system_time) {
                            Some(due) if due > delivery.clock => delivery.signals.push((due, next)),
                            _ => queue.push_back(next),
                        }
                    }
                    OperationActionType::StartNewOrchestration(start) => {
                        let instance = Instance {
                            id: start.instance_id,
                            name: start.name,
                            version: start.version.map(|v| v.value),
                            input: start.input.map(|v| v.value),
                            parent: None,
                            start: delivery.clock,
                            top_level: false,
                        };
                        let done = self.drive(instance, delivery.states, episodes).await;
                        delivery.started.push(done);
                    }
                }
            }
        }
        answer
    }

    /// Runs one operation on an entity, from its stored state: with its registered closure, or
    /// else as a batch of one through the entity runner. Returns the operation's result (JSON
    /// text) and the actions it emitted.
    async fn run_entity_operation(
        &self,
        message: &EntityMessage,
        states: &EntityStates,
    ) -> (Result<Option<String>, TaskFailureDetails>, Vec<OperationActionType>) {
        let key = message.entity.to_string();
        let stored = || {
            states
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .cloned()
                .flatten()
        };
        if let Some(run) = self.entities.get(message.entity.name()) {
            let mut states = states.lock().unwrap_or_else(PoisonError::into_inner);
            let state = states.entry(key.clone()).or_default();
            let outcome = run(&message.operation, message.input.as_deref(), state);
            return (outcome.map_err(|error| entity_failure("Error", error)), Vec::new());
        }
        let Some(runner) = &self.entity_runner else {
            let error = format!(
                "no entity named `{}` is registered with the driver",
                message.entity.name()
            );
            return (Err(entity_failure("EntityNotFound", error)), Vec::new());
        };
        let request = EntityBatchRequest {
            instance_id: key.clone(),
            entity_state: stored().map(StringValue::from),
            operations: vec![OperationRequest {
                operation: message.operation.clone(),
                request_id: message.call_id.clone().unwrap_or_default(),
                input: message.input.clone().map(StringValue::from),
                ..Default::default()
            }],
            ..Default::default()
        };
        let batch = match runner.run(request).await {
            Ok(batch) => batch,
            Err(error) => return (Err(entity_failure("EntityFailed", error)), Vec::new()),
        };
        if let Some(details) = batch.failure_details {
            // The whole batch failed: the state stays as it was, nothing it did counts.
            return (Err(details), Vec::new());
        }
        states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, batch.entity_state.map(|s| s.value));
        let outcome = match batch.results.into_iter().next().and_then(|r| r.result_type) {
            Some(ResultType::Success(ok)) => Ok(ok.result.map(|v| v.value)),
            Some(ResultType::Failure(failed)) => Err(failed.failure_details.unwrap_or_default()),
            None => Err(entity_failure(
                "EntityFailed",
                format!(
                    "the batch of entity `{}` has no result for its operation",
                    message.entity
                ),
            )),
        };
        let actions = batch
            .actions
            .into_iter()
            .filter_map(|action| action.operation_action_type)
            .collect();
        (outcome, actions)
    }
}

/// One operation for an entity: an orchestration's call or signal, or a signal an entity sent.
#[derive(Clone, Debug)]
pub(super) struct EntityMessage {
    entity: EntityId,
    operation: String,
    /// The input as JSON text.
    input: Option<String>,
    /// For a call, the request id its answer is raised under.
    call_id: Option<String>,
}

impl EntityMessage {
    /// Reads an orchestration's request message, in the legacy format (`{"op", "id",
    /// "input", "signal", …}`).
    pub(super) fn from_legacy(entity: EntityId, request: Option<&str>) -> Option<Self> {
        let request: serde_json::Value = serde_json::from_str(request?).ok()?;
        let id = request.get("id")?.as_str()?.to_owned();
        let signal = request.get("signal").and_then(|v| v.as_bool()).unwrap_or(false);
        Some(EntityMessage {
            entity,
            operation: request.get("op")?.as_str()?.to_owned(),
            input: request.get("input").and_then(|v| v.as_str()).map(str::to_owned),
            call_id: (!signal).then_some(id),
        })
    }
}

/// Where the entity work of one delivery goes, besides the entities' states.
pub(super) struct Delivery<'a> {
    /// The virtual time it happens at.
    pub(super) clock: SystemTime,
    pub(super) states: &'a EntityStates,
    /// Scheduled signals to deliver later.
    pub(super) signals: &'a mut Vec<(SystemTime, EntityMessage)>,
    /// The orchestrations the entities started, run.
    pub(super) started: &'a mut Vec<DriverResult>,
}

fn entity_failure(error_type: &str, message: String) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: error_type.to_owned(),
        error_message: message,
        ..Default::default()
    }
}

/// The response message to a call, in the legacy format the orchestration reads.
fn entity_answer(outcome: Result<Option<String>, TaskFailureDetails>) -> String {
    let payload = match outcome {
        Ok(result) => serde_json::json!({ "result": result }),
        Err(details) => serde_json::json!({
            "result": details.error_message,
            "exceptionType": details.error_type,
            "failureDetails": { "ErrorType": details.error_type, "ErrorMessage": details.error_message },
        }),
    };
    payload.to_string()
}
