//! A test driver for orchestrations: runs an orchestration to the end in-process, with virtual
//! time, mock (or real) activities, sub-orchestrations, external events and entities (closures,
//! or the app's real entity functions).
//!
//! The driver plays the part of the Durable extension: it keeps the history, and for every
//! episode sends the orchestrator an [`OrchestratorRequest`] (past events plus the new ones,
//! with timestamps and ids, through the same base64/protobuf encoding the host uses) and
//! applies the actions of the answer. So a test also exercises replay: every episode runs the
//! orchestrator again from the start over the history so far.
//!
//! - **Activities** run as soon as they are scheduled and complete at the same virtual instant;
//!   they come from an [`ActivityRunner`] — [`MockActivities`] for closures, or an adapter over
//!   the app's real activity functions.
//! - **Timers**: when nothing else is left to do, the virtual clock jumps to the earliest timer.
//! - **External events** are planned by the test, at a virtual time
//!   ([`raise_event_at`](OrchestrationDriver::raise_event_at)) or for when the orchestration
//!   has nothing else to do ([`raise_event_when_waiting`](OrchestrationDriver::raise_event_when_waiting)).
//! - **Sub-orchestrations** run (to their end, with their own clock) when created, among the
//!   orchestrators registered with [`orchestrator`](OrchestrationDriver::orchestrator).
//! - **Entities** answer the calls and signals orchestrations send (in the legacy message
//!   format, one operation at a time, no locks): closures over the entity's state registered
//!   with [`entity`](OrchestrationDriver::entity), or an [`EntityRunner`] — [`AppEntities`] runs
//!   the app's `#[function(entity_trigger)]` functions through the host's encoding (an
//!   [`EntityBatchRequest`] in, an [`EntityBatchResult`] out), and the driver keeps their state,
//!   delivers the signals they send and runs the orchestrations they start. A scheduled signal
//!   runs when the virtual clock reaches its due time; one still pending when the orchestration
//!   ends is dropped.
//! - **Custom status**: every change is kept, with its virtual time and episode
//!   ([`DriverResult::custom_status_history`]).
//!
//! ```
//! use azfn::durable::driver::{MockActivities, OrchestrationDriver};
//! use azfn::durable::orchestration::OrchestrationContext;
//! use azfn::durable::proto::OrchestrationStatus;
//! use std::time::Duration;
//!
//! async fn remind(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
//!     let who: String = ctx.input()?;
//!     ctx.create_timer_after(Duration::from_secs(3600)).await;
//!     Ok(ctx.call_activity("Greet", &who).await?)
//! }
//!
//! let activities = MockActivities::new().activity("Greet", |who: String| Ok::<_, String>(format!("Hi {who}")));
//! let driver = OrchestrationDriver::new(activities).orchestrator("Remind", remind);
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let result = rt.block_on(driver.run("Remind", &"Ann"));
//! assert_eq!(result.status, OrchestrationStatus::Completed);
//! assert_eq!(result.output::<String>().unwrap(), "Hi Ann");
//! assert_eq!(result.finished_at.duration_since(driver.start()).unwrap(), Duration::from_secs(3600));
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::orchestration::{
    EntityId, OrchestrationContext, RunOptions, decode_request, encode_response, run_orchestrator_with,
};
use crate::proto::{
    CompleteOrchestrationAction, EventRaisedEvent, EventSentEvent, ExecutionCompletedEvent, ExecutionStartedEvent,
    HistoryEvent, OrchestratorCompletedEvent, OrchestratorRequest, OrchestratorResponse, OrchestratorStartedEvent,
    SubOrchestrationInstanceCompletedEvent, SubOrchestrationInstanceCreatedEvent, SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent, TaskFailedEvent, TaskScheduledEvent, TimerCreatedEvent, TimerFiredEvent,
    history_event::EventType, orchestrator_action::OrchestratorActionType,
};
use crate::proto::{EntityBatchRequest, EntityBatchResult, OperationRequest};
use crate::proto::{OrchestrationInstance, OrchestrationStatus, ParentInstanceInfo, TaskFailureDetails};
use crate::proto::{operation_action::OperationActionType, operation_result::ResultType};
use crate::testing::{
    decode_entity_batch_result, decode_orchestrator_response, encode_entity_batch_request, encode_orchestrator_request,
};
use azfn_wire::wkt::{StringValue, Timestamp};

/// The future of one activity run: the result's JSON text (`None` for no result), or why it
/// failed.
pub type ActivityFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, TaskFailureDetails>> + Send + 'a>>;

/// Runs activities by name for the driver. [`MockActivities`] implements it for closures; an
/// adapter over the app's registered activity functions can implement it to run the real ones.
///
/// ```
/// use azfn::durable::driver::{ActivityFuture, ActivityRunner};
///
/// /// Echoes every input back.
/// struct Echo;
///
/// impl ActivityRunner for Echo {
///     fn run<'a>(&'a self, _name: &'a str, input: Option<String>) -> ActivityFuture<'a> {
///         Box::pin(async move { Ok(input) })
///     }
/// }
/// ```
pub trait ActivityRunner: Send + Sync {
    /// Runs the activity `name` with `input` (JSON text; `None` for no input).
    fn run<'a>(&'a self, name: &'a str, input: Option<String>) -> ActivityFuture<'a>;
}

type MockFn = Box<dyn Fn(Option<String>) -> ActivityFuture<'static> + Send + Sync>;

/// Activities made of closures, by name. An unknown name fails the activity with error type
/// `ActivityNotFound`.
///
/// ```
/// use azfn::durable::driver::MockActivities;
///
/// let activities = MockActivities::new()
///     .activity("Double", |n: i64| Ok::<_, String>(n * 2))
///     .async_activity("Fetch", |url: String| async move {
///         if url.starts_with("https://") { Ok(url.len()) } else { Err("insecure") }
///     });
/// # let _ = activities;
/// ```
#[derive(Default)]
pub struct MockActivities {
    activities: HashMap<String, MockFn>,
}

impl fmt::Debug for MockActivities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockActivities")
            .field("activities", &self.activities.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The failure of a mock activity that returned `Err(error)`.
fn mock_failure(error: impl fmt::Display) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: "Error".into(),
        error_message: error.to_string(),
        ..Default::default()
    }
}

fn decode_input<I: DeserializeOwned>(input: Option<&str>) -> Result<I, TaskFailureDetails> {
    serde_json::from_str(input.unwrap_or("null")).map_err(|e| TaskFailureDetails {
        error_type: "DeserializationError".into(),
        error_message: format!("the activity input does not decode: {e}"),
        ..Default::default()
    })
}

fn encode_output<O: Serialize>(output: &O) -> Result<Option<String>, TaskFailureDetails> {
    serde_json::to_string(output)
        .map(|text| (text != "null").then_some(text))
        .map_err(mock_failure)
}

impl MockActivities {
    /// No activities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the activity `name`: `f` gets the input decoded as `I`; `Ok` completes the activity
    /// with the value as JSON, `Err` fails it with the error's text (error type `Error`).
    pub fn activity<I, O, E, F>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned,
        O: Serialize,
        E: fmt::Display,
        F: Fn(I) -> Result<O, E> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let run: MockFn = Box::new(move |input| {
            let result = decode_input::<I>(input.as_deref())
                .and_then(|input| f(input).map_err(mock_failure))
                .and_then(|output| encode_output(&output));
            Box::pin(std::future::ready(result))
        });
        self.activities.insert(name.to_owned(), run);
        self
    }

    /// Adds the async activity `name`, as [`activity`](Self::activity).
    pub fn async_activity<I, O, E, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned,
        O: Serialize,
        E: fmt::Display,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: MockFn = Box::new(move |input| {
            let started = decode_input::<I>(input.as_deref()).map(|input| f(input));
            Box::pin(async move {
                match started {
                    Ok(future) => future
                        .await
                        .map_err(mock_failure)
                        .and_then(|output| encode_output(&output)),
                    Err(details) => Err(details),
                }
            })
        });
        self.activities.insert(name.to_owned(), run);
        self
    }

    /// Adds an activity that fails with these details (for example non-retriable ones).
    pub fn failing(mut self, name: &str, details: TaskFailureDetails) -> Self {
        let run: MockFn = Box::new(move |_| Box::pin(std::future::ready(Err(details.clone()))));
        self.activities.insert(name.to_owned(), run);
        self
    }
}

impl ActivityRunner for MockActivities {
    fn run<'a>(&'a self, name: &'a str, input: Option<String>) -> ActivityFuture<'a> {
        match self.activities.get(name) {
            Some(run) => run(input),
            None => Box::pin(std::future::ready(Err(TaskFailureDetails {
                error_type: "ActivityNotFound".into(),
                error_message: format!("no activity named `{name}` is registered with the driver"),
                ..Default::default()
            }))),
        }
    }
}

impl MockActivities {
    /// Whether an activity `name` is mocked.
    pub fn has(&self, name: &str) -> bool {
        self.activities.contains_key(name)
    }
}

/// The app's own `#[function(activity_trigger)]` functions, run through its middleware exactly
/// as the host invokes them (the input as JSON text, the result from the return value), with
/// mocks taking the place of the ones a test replaces.
///
/// ```
/// use azfn::durable::OrchestrationContext;
/// use azfn::durable::driver::{AppActivities, MockActivities, OrchestrationDriver};
/// use azfn::prelude::*;
///
/// #[function(activity_trigger)]
/// async fn shout(word: String) -> String {
///     word.to_uppercase()
/// }
///
/// async fn greet(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
///     let loud: String = ctx.call_activity("shout", &"hi").await?;
///     let name: String = ctx.call_activity("lookup_name", &()).await?;
///     Ok(format!("{loud}, {name}"))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mocks = MockActivities::new().activity("lookup_name", |_: ()| Ok::<_, String>("Ferris"));
/// let result = OrchestrationDriver::new(AppActivities::with_mocks(mocks))
///     .orchestrator("greet", greet)
///     .run("greet", &())
///     .await;
/// assert_eq!(result.output::<String>().unwrap(), "HI, Ferris");
/// # });
/// ```
#[derive(Debug, Default)]
pub struct AppActivities {
    mocks: MockActivities,
}

impl AppActivities {
    /// The app's activities, none mocked.
    pub fn new() -> Self {
        AppActivities::default()
    }

    /// The app's activities, with `mocks` run instead of the app's functions of those names
    /// (and as activities the app does not have).
    pub fn with_mocks(mocks: MockActivities) -> Self {
        AppActivities { mocks }
    }
}

impl ActivityRunner for AppActivities {
    fn run<'a>(&'a self, name: &'a str, input: Option<String>) -> ActivityFuture<'a> {
        let function = azfn_core::function::Registry::global()
            .ok()
            .and_then(|registry| registry.get(name))
            .filter(|f| f.trigger().kind.json_type == azfn_bindings::catalog::ACTIVITY_TRIGGER.json_type);
        let Some(function) = function.filter(|_| !self.mocks.has(name)) else {
            return self.mocks.run(name, input);
        };
        Box::pin(async move {
            let mut invocation = azfn_core::invocation::Invocation::new(function, format!("driver-{name}"));
            let value = input.map_or(azfn_core::data::BindingData::Null, azfn_core::data::BindingData::Text);
            invocation.data.insert(function.trigger().name.to_owned(), value);
            match azfn_core::dispatch::invoke(invocation).await {
                Ok(outputs) => Ok(outputs.return_value.map(|value| match value {
                    azfn_core::invocation::OutputValue::Json(json) => json.to_string(),
                    azfn_core::invocation::OutputValue::Text(text) => serde_json::Value::String(text).to_string(),
                    other => format!("{other:?}"),
                })),
                Err(error) => Err(TaskFailureDetails {
                    error_type: "ActivityFailed".into(),
                    error_message: error.to_string(),
                    ..Default::default()
                }),
            }
        })
    }
}

type OrchestratorFn = Arc<dyn Fn(&OrchestratorRequest, &RunOptions) -> OrchestratorResponse + Send + Sync>;

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

/// An external event the test raises.
#[derive(Clone, Debug)]
struct PlannedEvent {
    name: String,
    data: Option<String>,
}

/// Runs orchestrations in-process for tests; see the [module documentation](self).
pub struct OrchestrationDriver {
    activities: Arc<dyn ActivityRunner>,
    orchestrators: HashMap<String, OrchestratorFn>,
    entities: HashMap<String, EntityFn>,
    entity_runner: Option<Arc<dyn EntityRunner>>,
    timed_events: Vec<(Duration, PlannedEvent)>,
    waiting_events: Vec<PlannedEvent>,
    start: SystemTime,
    options: RunOptions,
    max_episodes: usize,
}

impl fmt::Debug for OrchestrationDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrchestrationDriver")
            .field("orchestrators", &self.orchestrators.keys().collect::<Vec<_>>())
            .field("entities", &self.entities.keys().collect::<Vec<_>>())
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// How a driven orchestration ended (or where it stopped).
#[derive(Clone, Debug, PartialEq)]
pub struct DriverResult {
    /// The instance id.
    pub instance_id: String,
    /// `Completed`, `Failed`, `Terminated`, or `Running` if it was still waiting when nothing
    /// was left to happen (or the episode limit was reached).
    pub status: OrchestrationStatus,
    /// The output as JSON text.
    pub output: Option<String>,
    /// Why it failed.
    pub failure: Option<TaskFailureDetails>,
    /// The last custom status, as JSON text.
    pub custom_status: Option<String>,
    /// Every change of the custom status, in order (see
    /// [`custom_status_history`](Self::custom_status_history)).
    custom_status_history: Vec<CustomStatusChange>,
    /// The entities' states at the end, JSON text by entity id (see
    /// [`entity_state`](Self::entity_state)).
    entity_states: HashMap<String, Option<String>>,
    /// The history of the last execution.
    pub history: Vec<HistoryEvent>,
    /// How many executions ran (1 + the number of continue-as-new).
    pub executions: usize,
    /// How many episodes (orchestrator runs) there were, all executions together.
    pub episodes: usize,
    /// The virtual time it ended (or stopped) at.
    pub finished_at: SystemTime,
    /// Events sent to instances the driver does not run: (instance id, event name, data).
    pub sent_events: Vec<(String, String, Option<String>)>,
    /// The orchestrations entities started (while this one ran), each run to its end as an
    /// instance of its own (`OrchestratorNotFound` when its orchestrator is not registered).
    pub started_orchestrations: Vec<DriverResult>,
}

/// One change of an orchestration's custom status, as [`DriverResult::custom_status_history`]
/// lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomStatusChange {
    /// The virtual time of the episode that set it.
    pub at: SystemTime,
    /// That episode, counting from 1 over all the instance's executions.
    pub episode: usize,
    /// The execution it belongs to, from 1 (continue-as-new starts the next).
    pub execution: usize,
    /// The new custom status as JSON text (`None`: cleared).
    pub json: Option<String>,
}

impl CustomStatusChange {
    /// The new custom status decoded from JSON (a cleared one decodes as `null`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json.as_deref().unwrap_or("null"))
    }
}

impl DriverResult {
    /// The output decoded from JSON (a missing output decodes as `null`).
    pub fn output<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.output.as_deref().unwrap_or("null"))
    }

    /// The last custom status decoded from JSON.
    pub fn custom_status<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.custom_status.as_deref().unwrap_or("null"))
    }

    /// Every change of the custom status, in order, each with the virtual time and episode of
    /// the answer that made it: an episode that sets the status it already had is no change.
    /// The last one is [`custom_status`](Self::custom_status).
    ///
    /// ```
    /// use azfn::durable::driver::{MockActivities, OrchestrationDriver};
    /// use azfn::durable::orchestration::OrchestrationContext;
    /// use std::time::Duration;
    ///
    /// async fn steps(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     for step in ["one", "two", "three"] {
    ///         ctx.set_custom_status(&step)?;
    ///         ctx.create_timer_after(Duration::from_secs(60)).await;
    ///     }
    ///     Ok(())
    /// }
    /// let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("Steps", steps);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let result = rt.block_on(driver.run("Steps", &()));
    /// let history: Vec<(String, u64)> = result
    ///     .custom_status_history()
    ///     .iter()
    ///     .map(|change| {
    ///         let after = change.at.duration_since(driver.start()).unwrap().as_secs();
    ///         (change.decode().unwrap(), after)
    ///     })
    ///     .collect();
    /// assert_eq!(history, [("one".to_owned(), 0), ("two".to_owned(), 60), ("three".to_owned(), 120)]);
    /// assert_eq!(result.custom_status::<String>().unwrap(), "three");
    /// ```
    pub fn custom_status_history(&self) -> &[CustomStatusChange] {
        &self.custom_status_history
    }

    /// The state `entity` had when the run ended, decoded from JSON; `None` when it has none
    /// (never touched, or deleted). Set on the result of the run only, not on those of the
    /// sub-orchestrations or started orchestrations it holds.
    ///
    /// ```
    /// use azfn::durable::driver::{MockActivities, OrchestrationDriver};
    /// use azfn::durable::{EntityId, OrchestrationContext};
    ///
    /// async fn bump(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     ctx.signal_entity(&EntityId::new("hits", "home"), "bump", &())?;
    ///     Ok(())
    /// }
    /// let driver = OrchestrationDriver::new(MockActivities::new())
    ///     .entity("hits", |_, _, state| {
    ///         let hits: u32 = state.as_deref().map_or(0, |s| s.parse().unwrap());
    ///         *state = Some((hits + 1).to_string());
    ///         Ok(None)
    ///     })
    ///     .orchestrator("Bump", bump);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let result = rt.block_on(driver.run("Bump", &()));
    /// assert_eq!(result.entity_state::<u32>(&EntityId::new("hits", "home")).unwrap().unwrap(), 1);
    /// assert!(result.entity_state::<u32>(&EntityId::new("hits", "away")).is_none());
    /// ```
    pub fn entity_state<T: DeserializeOwned>(&self, entity: &EntityId) -> Option<Result<T, serde_json::Error>> {
        let json = self.entity_states.get(&entity.to_string())?.as_deref()?;
        Some(serde_json::from_str(json))
    }
}

fn event(event_id: i32, at: SystemTime, event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id,
        timestamp: Some(Timestamp::from_system_time(at)),
        event_type: Some(event_type),
    }
}

fn raised(at: SystemTime, name: &str, input: Option<String>) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::EventRaised(EventRaisedEvent {
            name: name.to_owned(),
            input: input.map(StringValue::from),
        }),
    )
}

/// Work that happens at a virtual time: timers firing, planned events, finished children.
struct Agenda {
    items: Vec<(SystemTime, u64, HistoryEvent)>,
    next: u64,
}

impl Agenda {
    fn push(&mut self, at: SystemTime, event: HistoryEvent) {
        self.items.push((at, self.next, event));
        self.next += 1;
    }

    /// The earliest time something is due.
    fn earliest(&self) -> Option<SystemTime> {
        self.items.iter().map(|(at, _, _)| *at).min()
    }

    /// Takes every item due at the earliest time, in the order they were added.
    fn pop_earliest(&mut self) -> Option<(SystemTime, Vec<HistoryEvent>)> {
        let at = self.items.iter().map(|(at, _, _)| *at).min()?;
        let mut due: Vec<_> = Vec::new();
        let mut rest = Vec::new();
        for item in self.items.drain(..) {
            if item.0 == at { due.push(item) } else { rest.push(item) }
        }
        self.items = rest;
        due.sort_by_key(|(_, seq, _)| *seq);
        Some((at, due.into_iter().map(|(_, _, e)| e).collect()))
    }
}

/// An instance to run: the top-level one or a sub-orchestration.
struct Instance {
    id: String,
    name: String,
    version: Option<String>,
    input: Option<String>,
    parent: Option<ParentInstanceInfo>,
    start: SystemTime,
    top_level: bool,
}

type EntityStates = Mutex<HashMap<String, Option<String>>>;

impl OrchestrationDriver {
    /// A driver whose activities come from `activities`, starting at 2024-01-01T00:00:00Z.
    pub fn new(activities: impl ActivityRunner + 'static) -> Self {
        OrchestrationDriver {
            activities: Arc::new(activities),
            orchestrators: HashMap::new(),
            entities: HashMap::new(),
            entity_runner: None,
            timed_events: Vec::new(),
            waiting_events: Vec::new(),
            start: UNIX_EPOCH + Duration::from_secs(1_704_067_200),
            options: RunOptions::default(),
            max_episodes: 10_000,
        }
    }

    /// Registers the orchestrator `name` (to run, or to start as a sub-orchestration).
    pub fn orchestrator<F, Fut, T>(mut self, name: &str, orchestrator: F) -> Self
    where
        F: Fn(OrchestrationContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, azfn_core::Error>>,
        T: Serialize,
    {
        let run: OrchestratorFn =
            Arc::new(move |request, options| run_orchestrator_with(request, options, &orchestrator));
        self.orchestrators.insert(name.to_owned(), run);
        self
    }

    /// Registers the entity `name` (see [`EntityFn`]).
    ///
    /// ```
    /// use azfn::durable::driver::{MockActivities, OrchestrationDriver};
    ///
    /// let driver = OrchestrationDriver::new(MockActivities::new()).entity("Counter", |op, input, state| {
    ///     let current: i64 = state.as_deref().map_or(0, |s| s.parse().unwrap());
    ///     let next = match op {
    ///         "add" => current + input.unwrap_or("0").parse::<i64>().map_err(|e| e.to_string())?,
    ///         "get" => current,
    ///         other => return Err(format!("no operation {other}")),
    ///     };
    ///     *state = Some(next.to_string());
    ///     Ok(Some(next.to_string()))
    /// });
    /// # let _ = driver;
    /// ```
    pub fn entity<F>(mut self, name: &str, operation: F) -> Self
    where
        F: Fn(&str, Option<&str>, &mut Option<String>) -> Result<Option<String>, String> + Send + Sync + 'static,
    {
        self.entities.insert(name.to_lowercase(), Arc::new(operation));
        self
    }

    /// Runs the entities not registered as closures with `runner`, a batch of one operation at
    /// a time: [`AppEntities`] for the app's real entity functions. The driver keeps each
    /// entity's state between batches, delivers the signals a batch emits (scheduled ones when
    /// the virtual clock reaches them) and runs the orchestrations it starts
    /// ([`DriverResult::started_orchestrations`]).
    pub fn entities(mut self, runner: impl EntityRunner + 'static) -> Self {
        self.entity_runner = Some(Arc::new(runner));
        self
    }

    /// Raises the event `name` with `data` on the top-level instance `after` the start (virtual
    /// time).
    pub fn raise_event_at<D: Serialize + ?Sized>(mut self, after: Duration, name: &str, data: &D) -> Self {
        let data = serde_json::to_string(data).ok().filter(|t| t != "null");
        self.timed_events.push((
            after,
            PlannedEvent {
                name: name.to_owned(),
                data,
            },
        ));
        self
    }

    /// Raises the event `name` with `data` on the top-level instance as soon as it has nothing
    /// else to do (before the clock moves to the next timer). Several are raised in order, one
    /// each time the orchestration waits.
    pub fn raise_event_when_waiting<D: Serialize + ?Sized>(mut self, name: &str, data: &D) -> Self {
        let data = serde_json::to_string(data).ok().filter(|t| t != "null");
        self.waiting_events.push(PlannedEvent {
            name: name.to_owned(),
            data,
        });
        self
    }

    /// Sets the virtual start time.
    pub fn start_at(mut self, start: SystemTime) -> Self {
        self.start = start;
        self
    }

    /// The virtual start time.
    pub fn start(&self) -> SystemTime {
        self.start
    }

    /// Sets the engine's options (e.g. the maximum timer interval).
    pub fn options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets how many episodes a run may take in all before the driver stops it (default 10 000),
    /// against orchestrations that never end; it also bounds how many entity operations one
    /// call or signal may set off (entities signalling each other).
    pub fn max_episodes(mut self, max: usize) -> Self {
        self.max_episodes = max;
        self
    }

    /// Runs the orchestrator `name` with `input` under the instance id `"test-instance"`.
    pub async fn run<I: Serialize + ?Sized>(&self, name: &str, input: &I) -> DriverResult {
        self.run_instance("test-instance", name, input).await
    }

    /// Runs the orchestrator `name` with `input` under `instance_id`.
    pub async fn run_instance<I: Serialize + ?Sized>(&self, instance_id: &str, name: &str, input: &I) -> DriverResult {
        self.run_versioned(instance_id, name, None, input).await
    }

    /// Runs the orchestrator `name` at `version` (what
    /// [`OrchestrationContext::version`] gives) with `input` under `instance_id`, as a client's
    /// start with a version does.
    ///
    /// ```
    /// use azfn::durable::driver::{MockActivities, OrchestrationDriver};
    /// use azfn::durable::orchestration::OrchestrationContext;
    ///
    /// async fn which(ctx: OrchestrationContext) -> Result<Option<String>, azfn::Error> {
    ///     Ok(ctx.version())
    /// }
    /// let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("Which", which);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let result = rt.block_on(driver.run_versioned("i", "Which", Some("2.0"), &()));
    /// assert_eq!(result.output::<Option<String>>().unwrap().as_deref(), Some("2.0"));
    /// ```
    pub async fn run_versioned<I: Serialize + ?Sized>(
        &self,
        instance_id: &str,
        name: &str,
        version: Option<&str>,
        input: &I,
    ) -> DriverResult {
        let input = serde_json::to_string(input).ok().filter(|t| t != "null");
        let entities = Mutex::new(HashMap::new());
        let mut episodes = 0;
        let instance = Instance {
            id: instance_id.to_owned(),
            name: name.to_owned(),
            version: version.map(str::to_owned),
            input,
            parent: None,
            start: self.start,
            top_level: true,
        };
        let mut result = self.drive(instance, &entities, &mut episodes).await;
        result.entity_states = entities.into_inner().unwrap_or_else(PoisonError::into_inner);
        result
    }

    fn drive<'a>(
        &'a self,
        instance: Instance,
        entities: &'a EntityStates,
        episodes: &'a mut usize,
    ) -> Pin<Box<dyn Future<Output = DriverResult> + 'a>> {
        Box::pin(async move {
            let mut clock = instance.start;
            let mut agenda = Agenda {
                items: Vec::new(),
                next: 0,
            };
            let mut waiting = VecDeque::new();
            if instance.top_level {
                for (after, planned) in &self.timed_events {
                    agenda.push(
                        instance.start + *after,
                        raised(instance.start + *after, &planned.name, planned.data.clone()),
                    );
                }
                waiting.extend(self.waiting_events.iter().cloned());
            }
            let mut result = DriverResult {
                instance_id: instance.id.clone(),
                status: OrchestrationStatus::Running,
                output: None,
                failure: None,
                custom_status: None,
                custom_status_history: Vec::new(),
                entity_states: HashMap::new(),
                history: Vec::new(),
                executions: 1,
                episodes: 0,
                finished_at: clock,
                sent_events: Vec::new(),
                started_orchestrations: Vec::new(),
            };
            let Some(orchestrator) = self.orchestrators.get(&instance.name).cloned() else {
                result.status = OrchestrationStatus::Failed;
                result.failure = Some(TaskFailureDetails {
                    error_type: "OrchestratorNotFound".into(),
                    error_message: format!(
                        "no orchestrator named `{}` is registered with the driver",
                        instance.name
                    ),
                    ..Default::default()
                });
                return result;
            };
            let execution = |n: usize| format!("{}-execution-{n}", instance.id);
            let started = |input: Option<String>, version: Option<String>, n: usize, at: SystemTime| {
                event(
                    -1,
                    at,
                    EventType::ExecutionStarted(ExecutionStartedEvent {
                        name: instance.name.clone(),
                        version: version.map(StringValue::from),
                        input: input.map(StringValue::from),
                        orchestration_instance: Some(OrchestrationInstance {
                            instance_id: instance.id.clone(),
                            execution_id: Some(execution(n).into()),
                        }),
                        parent_instance: instance.parent.clone(),
                        ..Default::default()
                    }),
                )
            };
            // The version of the running execution (continue-as-new may change it).
            let mut version = instance.version.clone();
            let mut inbox: VecDeque<HistoryEvent> =
                VecDeque::from([started(instance.input.clone(), version.clone(), 1, clock)]);
            let mut history: Vec<HistoryEvent> = Vec::new();

            // Scheduled entity signals not delivered yet, with their due time.
            let mut signals: Vec<(SystemTime, EntityMessage)> = Vec::new();

            loop {
                if inbox.is_empty() {
                    let next_signal = signals.iter().map(|(at, _)| *at).min();
                    if let Some(planned) = waiting.pop_front() {
                        inbox.push_back(raised(clock, &planned.name, planned.data));
                    } else if let Some(at) = next_signal.filter(|at| agenda.earliest().is_none_or(|next| *at <= next)) {
                        // A signal is due before anything else happens to the orchestration.
                        clock = clock.max(at);
                        let (due, later): (Vec<_>, Vec<_>) = signals.drain(..).partition(|(due, _)| *due == at);
                        signals = later;
                        for (_, message) in due {
                            let mut delivery = Delivery {
                                clock,
                                states: entities,
                                signals: &mut signals,
                                started: &mut result.started_orchestrations,
                            };
                            self.deliver(message, &mut delivery, episodes).await;
                        }
                        continue;
                    } else if let Some((at, due)) = agenda.pop_earliest() {
                        clock = clock.max(at);
                        inbox.extend(due);
                    } else {
                        break; // Waiting for something that will never come.
                    }
                }
                if *episodes >= self.max_episodes {
                    break;
                }
                *episodes += 1;
                result.episodes += 1;

                let mut new_events = vec![event(
                    -1,
                    clock,
                    EventType::OrchestratorStarted(OrchestratorStartedEvent {}),
                )];
                new_events.extend(inbox.drain(..));
                let request = OrchestratorRequest {
                    instance_id: instance.id.clone(),
                    execution_id: Some(execution(result.executions).into()),
                    past_events: history.clone(),
                    new_events: new_events.clone(),
                    ..Default::default()
                };
                // Through the wire form, as the host carries it.
                let wire = encode_orchestrator_request(&request);
                let response = match decode_request(&wire) {
                    Ok(decoded) => orchestrator(&decoded, &self.options),
                    Err(error) => panic!("the driver's own request did not decode: {error}"),
                };
                let response = decode_orchestrator_response(&encode_response(&response))
                    .unwrap_or_else(|error| panic!("the engine's response did not decode: {error}"));
                history.extend(new_events);
                let custom_status = response.custom_status.map(|s| s.value);
                if custom_status != result.custom_status {
                    result.custom_status_history.push(CustomStatusChange {
                        at: clock,
                        episode: result.episodes,
                        execution: result.executions,
                        json: custom_status.clone(),
                    });
                }
                result.custom_status = custom_status;

                let mut completion = None;
                for action in response.actions {
                    let id = action.id;
                    match action.orchestrator_action_type {
                        Some(OrchestratorActionType::ScheduleTask(task)) => {
                            history.push(event(
                                id,
                                clock,
                                EventType::TaskScheduled(TaskScheduledEvent {
                                    name: task.name.clone(),
                                    input: task.input.clone(),
                                    ..Default::default()
                                }),
                            ));
                            let outcome = self.activities.run(&task.name, task.input.map(|v| v.value)).await;
                            inbox.push_back(match outcome {
                                Ok(result) => event(
                                    -1,
                                    clock,
                                    EventType::TaskCompleted(TaskCompletedEvent {
                                        task_scheduled_id: id,
                                        result: result.map(StringValue::from),
                                    }),
                                ),
                                Err(details) => event(
                                    -1,
                                    clock,
                                    EventType::TaskFailed(TaskFailedEvent {
                                        task_scheduled_id: id,
                                        failure_details: Some(details),
                                    }),
                                ),
                            });
                        }
                        Some(OrchestratorActionType::CreateTimer(timer)) => {
                            history.push(event(
                                id,
                                clock,
                                EventType::TimerCreated(TimerCreatedEvent { fire_at: timer.fire_at }),
                            ));
                            let at = timer.fire_at.map_or(UNIX_EPOCH, Timestamp::to_system_time);
                            agenda.push(
                                at,
                                event(
                                    -1,
                                    at,
                                    EventType::TimerFired(TimerFiredEvent {
                                        fire_at: timer.fire_at,
                                        timer_id: id,
                                    }),
                                ),
                            );
                        }
                        Some(OrchestratorActionType::CreateSubOrchestration(sub)) => {
                            history.push(event(
                                id,
                                clock,
                                EventType::SubOrchestrationInstanceCreated(SubOrchestrationInstanceCreatedEvent {
                                    instance_id: sub.instance_id.clone(),
                                    name: sub.name.clone(),
                                    version: sub.version.clone(),
                                    input: sub.input.clone(),
                                    ..Default::default()
                                }),
                            ));
                            let child = Instance {
                                id: sub.instance_id,
                                name: sub.name,
                                version: sub.version.map(|v| v.value),
                                input: sub.input.map(|v| v.value),
                                parent: Some(ParentInstanceInfo {
                                    task_scheduled_id: id,
                                    name: Some(instance.name.clone().into()),
                                    version: version.clone().map(StringValue::from),
                                    orchestration_instance: Some(OrchestrationInstance {
                                        instance_id: instance.id.clone(),
                                        execution_id: Some(execution(result.executions).into()),
                                    }),
                                }),
                                start: clock,
                                top_level: false,
                            };
                            let done = self.drive(child, entities, episodes).await;
                            result.sent_events.extend(done.sent_events);
                            let at = done.finished_at.max(clock);
                            match done.status {
                                OrchestrationStatus::Completed => agenda.push(
                                    at,
                                    event(
                                        -1,
                                        at,
                                        EventType::SubOrchestrationInstanceCompleted(
                                            SubOrchestrationInstanceCompletedEvent {
                                                task_scheduled_id: id,
                                                result: done.output.map(StringValue::from),
                                            },
                                        ),
                                    ),
                                ),
                                OrchestrationStatus::Failed | OrchestrationStatus::Terminated => agenda.push(
                                    at,
                                    event(
                                        -1,
                                        at,
                                        EventType::SubOrchestrationInstanceFailed(
                                            SubOrchestrationInstanceFailedEvent {
                                                task_scheduled_id: id,
                                                failure_details: done.failure,
                                            },
                                        ),
                                    ),
                                ),
                                // A child that never ends keeps its parent waiting.
                                _ => {}
                            }
                        }
                        Some(OrchestratorActionType::SendEvent(send)) => {
                            let target = send.instance.map(|i| i.instance_id).unwrap_or_default();
                            let data = send.data.map(|v| v.value);
                            history.push(event(
                                id,
                                clock,
                                EventType::EventSent(EventSentEvent {
                                    instance_id: target.clone(),
                                    name: send.name.clone(),
                                    input: data.clone().map(StringValue::from),
                                }),
                            ));
                            let scheduled = send
                                .name
                                .strip_prefix("op@")
                                .and_then(|_| scheduled_signal_due(data.as_deref()));
                            let message = target
                                .parse::<EntityId>()
                                .ok()
                                .and_then(|entity| EntityMessage::from_legacy(entity, data.as_deref()));
                            if let (Some(message), Some(due)) = (&message, scheduled) {
                                signals.push((due, message.clone()));
                            } else if let Some(message) = message
                                && send.name == "op"
                            {
                                let mut delivery = Delivery {
                                    clock,
                                    states: entities,
                                    signals: &mut signals,
                                    started: &mut result.started_orchestrations,
                                };
                                if let Some((id, payload)) = self.deliver(message, &mut delivery, episodes).await {
                                    inbox.push_back(raised(clock, &id, Some(payload)));
                                }
                            } else if target == instance.id {
                                inbox.push_back(raised(clock, &send.name, data));
                            } else {
                                result.sent_events.push((target, send.name, data));
                            }
                        }
                        Some(OrchestratorActionType::CompleteOrchestration(done)) => completion = Some(done),
                        _ => {}
                    }
                }

                let Some(done) = completion else {
                    history.push(event(
                        -1,
                        clock,
                        EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}),
                    ));
                    continue;
                };
                let status =
                    OrchestrationStatus::try_from(done.orchestration_status).unwrap_or(OrchestrationStatus::Failed);
                if status == OrchestrationStatus::ContinuedAsNew {
                    result.executions += 1;
                    history.clear();
                    agenda
                        .items
                        .retain(|(_, _, e)| matches!(e.event_type, Some(EventType::EventRaised(_))));
                    inbox.clear();
                    if let Some(next) = done.new_version.map(|v| v.value) {
                        version = Some(next);
                    }
                    inbox.push_back(started(
                        done.result.map(|v| v.value),
                        version.clone(),
                        result.executions,
                        clock,
                    ));
                    inbox.extend(done.carryover_events);
                    continue;
                }
                history.push(completed_event(clock, &done));
                history.push(event(
                    -1,
                    clock,
                    EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}),
                ));
                result.status = status;
                result.output = done.result.map(|v| v.value);
                result.failure = done.failure_details;
                break;
            }
            result.history = history;
            result.finished_at = clock;
            result
        })
    }

    /// Delivers `message` and, in turn, the signals its operation emits (scheduled ones go to
    /// `delivery.signals`), and runs the orchestrations they start; returns the answer to the
    /// message when it is a call: the response event's name (the request id) and payload.
    async fn deliver(
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
struct EntityMessage {
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
    fn from_legacy(entity: EntityId, request: Option<&str>) -> Option<Self> {
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
struct Delivery<'a> {
    /// The virtual time it happens at.
    clock: SystemTime,
    states: &'a EntityStates,
    /// Scheduled signals to deliver later.
    signals: &'a mut Vec<(SystemTime, EntityMessage)>,
    /// The orchestrations the entities started, run.
    started: &'a mut Vec<DriverResult>,
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

/// When a scheduled signal's request (`{"op", "signal", "due", …}`) is due.
fn scheduled_signal_due(request: Option<&str>) -> Option<SystemTime> {
    let request: serde_json::Value = serde_json::from_str(request?).ok()?;
    crate::orchestration::guid::parse_round_trip(request.get("due")?.as_str()?)
}

fn completed_event(at: SystemTime, done: &CompleteOrchestrationAction) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::ExecutionCompleted(ExecutionCompletedEvent {
            orchestration_status: done.orchestration_status,
            result: done.result.clone(),
            failure_details: done.failure_details.clone(),
        }),
    )
}
