//! Where the driver's entities come from (closures, or the app's entity functions), and how it
//! delivers their operations, signals and orchestration starts.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::time::SystemTime;

use super::{EntityStates, Instance, OrchestrationDriver};
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
    /// Delivers `message` and, in turn, the messages it sets off: the signals its operation
    /// emits (scheduled ones go to `delivery.signals`), the forwarding of a lock request, and
    /// what waited on an entity its release unlocks. The orchestrations the operations start go
    /// to `delivery.started`, the answers to calls and the lock grants to `delivery.answers`.
    ///
    /// An entity locked by an orchestration runs only that orchestration's messages: the others
    /// (other orchestrations' calls, signals, lock requests) wait in order until its release.
    pub(super) async fn deliver(&self, message: EntityMessage, delivery: &mut Delivery<'_>) {
        let mut queue = VecDeque::from([message]);
        // Entities that signal each other forever are stopped as orchestrations are.
        let mut operations = 0;
        while let Some(message) = queue.pop_front()
            && operations < self.max_episodes
        {
            let lock = delivery.locks.entry(message.entity.to_string()).or_default();
            let from_others = lock.holder.is_some() && lock.holder != message.parent;
            if from_others && !matches!(message.request, Request::Release) {
                lock.waiting.push_back(message);
                continue;
            }
            match message.request {
                Request::Release => {
                    // Only the holder's release unlocks.
                    if !from_others && lock.holder.is_some() {
                        lock.holder = None;
                        // What waited runs first, in the order it came.
                        for waited in lock.waiting.drain(..).rev() {
                            queue.push_front(waited);
                        }
                    }
                }
                Request::Lock { id, lockset, position } => {
                    let Some(parent) = message.parent else { continue };
                    lock.holder = Some(parent.clone());
                    match lockset.get(position + 1) {
                        Some(next) => queue.push_back(EntityMessage {
                            entity: next.clone(),
                            parent: Some(parent),
                            request: Request::Lock {
                                id,
                                lockset,
                                position: position + 1,
                            },
                        }),
                        None => delivery.answers.push((parent, id, LOCK_GRANTED.to_owned())),
                    }
                }
                Request::Operation {
                    ref operation,
                    ref input,
                    ref call_id,
                } => {
                    operations += 1;
                    let (outcome, actions) = self
                        .run_entity_operation(
                            &message.entity,
                            operation,
                            input.as_deref(),
                            call_id.as_deref(),
                            delivery.states,
                        )
                        .await;
                    if let (Some(id), Some(parent)) = (call_id, &message.parent) {
                        delivery
                            .answers
                            .push((parent.clone(), id.clone(), entity_answer(outcome)));
                    }
                    for action in actions {
                        match action {
                            OperationActionType::SendSignal(signal) => {
                                let Ok(entity) = signal.instance_id.parse::<EntityId>() else {
                                    continue;
                                };
                                let next = EntityMessage {
                                    entity,
                                    parent: None,
                                    request: Request::Operation {
                                        operation: signal.name,
                                        input: signal.input.map(|v| v.value),
                                        call_id: None,
                                    },
                                };
                                match signal.scheduled_time.map(Timestamp::to_system_time) {
                                    Some(due) if due > delivery.clock => delivery.signals.push((due, next)),
                                    _ => queue.push_back(next),
                                }
                            }
                            OperationActionType::StartNewOrchestration(start) => delivery.started.push(Instance {
                                id: start.instance_id,
                                name: start.name,
                                version: start.version.map(|v| v.value),
                                input: start.input.map(|v| v.value),
                                parent: None,
                            }),
                        }
                    }
                }
            }
        }
    }

    /// Runs one operation on `entity`, from its stored state: with its registered closure, or
    /// else as a batch of one through the entity runner. Returns the operation's result (JSON
    /// text) and the actions it emitted.
    async fn run_entity_operation(
        &self,
        entity: &EntityId,
        operation: &str,
        input: Option<&str>,
        call_id: Option<&str>,
        states: &EntityStates,
    ) -> (Result<Option<String>, TaskFailureDetails>, Vec<OperationActionType>) {
        let key = entity.to_string();
        let stored = || {
            states
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .cloned()
                .flatten()
        };
        if let Some(run) = self.entities.get(entity.name()) {
            let mut states = states.lock().unwrap_or_else(PoisonError::into_inner);
            let state = states.entry(key.clone()).or_default();
            let outcome = run(operation, input, state);
            return (outcome.map_err(|error| entity_failure("Error", error)), Vec::new());
        }
        let Some(runner) = &self.entity_runner else {
            let error = format!("no entity named `{}` is registered with the driver", entity.name());
            return (Err(entity_failure("EntityNotFound", error)), Vec::new());
        };
        let request = EntityBatchRequest {
            instance_id: key.clone(),
            entity_state: stored().map(StringValue::from),
            operations: vec![OperationRequest {
                operation: operation.to_owned(),
                request_id: call_id.unwrap_or_default().to_owned(),
                input: input.map(|i| StringValue::from(i.to_owned())),
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
                format!("the batch of entity `{entity}` has no result for its operation"),
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

/// The grant an entity at the end of a lock set raises on the orchestration (`ResponseMessage`
/// with the result .NET's `EntityMessageEvent` writes).
const LOCK_GRANTED: &str = r#"{"result":"Lock Acquisition Completed"}"#;

/// A message for an entity: an orchestration's call, signal, lock request or release, or a
/// signal an entity sent.
#[derive(Clone, Debug)]
pub(super) struct EntityMessage {
    entity: EntityId,
    /// The orchestration that sent it (calls, lock requests, releases): where answers go, and
    /// the holder its lock lets through.
    parent: Option<String>,
    request: Request,
}

/// What an [`EntityMessage`] asks for.
#[derive(Clone, Debug)]
enum Request {
    /// Run an operation; for a call, `call_id` is the request id its answer is raised under.
    Operation {
        operation: String,
        /// The input as JSON text.
        input: Option<String>,
        call_id: Option<String>,
    },
    /// Lock the entity for `parent`, then `lockset[position + 1]`; the last grants `id`.
    Lock {
        id: String,
        lockset: Vec<EntityId>,
        position: usize,
    },
    /// Unlock the entity if `parent` holds it.
    Release,
}

impl EntityMessage {
    /// Reads an orchestration's message to an entity, in the legacy format: the event `op`
    /// (`{"op", "id", "input", "signal", "parent", …}`, or a lock request `{"id", "parent",
    /// "lockset", "pos"}`) or `release` (`{"parent", "id"}`).
    pub(super) fn from_legacy(entity: EntityId, name: &str, request: Option<&str>) -> Option<Self> {
        let request: serde_json::Value = serde_json::from_str(request?).ok()?;
        let parent = request.get("parent").and_then(|v| v.as_str()).map(str::to_owned);
        let request = match name {
            "release" => Request::Release,
            "op" => {
                let id = request.get("id")?.as_str()?.to_owned();
                if let Some(lockset) = request.get("lockset") {
                    let lockset = lockset
                        .as_array()?
                        .iter()
                        .map(|locked| {
                            Some(EntityId::new(
                                locked.get("name")?.as_str()?,
                                locked.get("key")?.as_str()?,
                            ))
                        })
                        .collect::<Option<Vec<_>>>()?;
                    let position = request.get("pos").and_then(|v| v.as_u64()).unwrap_or(0);
                    Request::Lock {
                        id,
                        lockset,
                        position: usize::try_from(position).ok()?,
                    }
                } else {
                    let signal = request.get("signal").and_then(|v| v.as_bool()).unwrap_or(false);
                    Request::Operation {
                        operation: request.get("op")?.as_str()?.to_owned(),
                        input: request.get("input").and_then(|v| v.as_str()).map(str::to_owned),
                        call_id: (!signal).then_some(id),
                    }
                }
            }
            _ => return None,
        };
        Some(EntityMessage {
            entity,
            parent,
            request,
        })
    }
}

/// The entities' locks, by entity id.
pub(super) type EntityLocks = HashMap<String, EntityLock>;

/// An entity's lock: the orchestration holding it and the messages from others that wait.
#[derive(Default)]
pub(super) struct EntityLock {
    holder: Option<String>,
    waiting: VecDeque<EntityMessage>,
}

/// Where the entity work of one delivery goes, besides the entities' states.
pub(super) struct Delivery<'a> {
    /// The virtual time it happens at.
    pub(super) clock: SystemTime,
    pub(super) states: &'a EntityStates,
    pub(super) locks: &'a mut EntityLocks,
    /// Scheduled signals to deliver later.
    pub(super) signals: &'a mut Vec<(SystemTime, EntityMessage)>,
    /// The orchestrations the entities started, to run.
    pub(super) started: &'a mut Vec<Instance>,
    /// Events to raise on orchestrations: (instance id, event name, payload).
    pub(super) answers: &'a mut Vec<(String, String, String)>,
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
