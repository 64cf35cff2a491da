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
//! - **Sub-orchestrations** start when created, among the orchestrators registered with
//!   [`orchestrator`](OrchestrationDriver::orchestrator), and run alongside their parent on the
//!   same virtual clock, as do the orchestrations entities start: at each virtual instant the
//!   instances take their episodes in the order they were created.
//! - **Entities** answer the calls and signals orchestrations send (in the legacy message
//!   format, one operation at a time): closures over the entity's state registered
//!   with [`entity`](OrchestrationDriver::entity), or an [`EntityRunner`] — [`AppEntities`] runs
//!   the app's `#[function(entity_trigger)]` functions through the host's encoding (an
//!   [`EntityBatchRequest`](crate::proto::EntityBatchRequest) in, an
//!   [`EntityBatchResult`](crate::proto::EntityBatchResult) out), and the driver keeps their state,
//!   delivers the signals they send and runs the orchestrations they start. A scheduled signal
//!   runs when the virtual clock reaches its due time; one still pending when the orchestration
//!   ends is dropped.
//! - **Locks** ([`lock_entities`](OrchestrationContext::lock_entities)): the driver grants them
//!   as the extension's entity scheduler does. A lock request locks each entity of the set for
//!   the orchestration, in the set's order, and the last entity raises the grant; a locked
//!   entity runs its holder's operations, while the others' calls, signals and lock requests
//!   wait, in the order they came, until the holder's release.
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

mod activities;
mod entities;

pub use activities::{ActivityFuture, ActivityRunner, AppActivities, MockActivities};
pub use entities::{AppEntities, EntityBatchFuture, EntityFn, EntityRunner};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
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
use crate::proto::{OrchestrationInstance, OrchestrationStatus, ParentInstanceInfo, TaskFailureDetails};
use crate::testing::{decode_orchestrator_response, encode_orchestrator_request};
use azfn_wire::wkt::{StringValue, Timestamp};
use entities::{Delivery, EntityLocks, EntityMessage};

type OrchestratorFn = Arc<dyn Fn(&OrchestratorRequest, &RunOptions) -> OrchestratorResponse + Send + Sync>;
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
    /// The orchestrations started by the entity operations this one's messages (calls,
    /// signals, releases) ran or set off, each run as an instance of its own alongside the
    /// others, to its end or until nothing is left to happen (`OrchestratorNotFound` when its
    /// orchestrator is not registered).
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

/// An instance to run: the top-level one, a sub-orchestration, or one an entity started.
struct Instance {
    id: String,
    name: String,
    version: Option<String>,
    input: Option<String>,
    parent: Option<ParentInstanceInfo>,
}

type EntityStates = Mutex<HashMap<String, Option<String>>>;

/// Where a run came from, so that its end reaches whoever waits on it.
#[derive(Clone, Copy)]
enum Origin {
    TopLevel,
    /// A sub-orchestration of the run `parent` (in its execution `execution`), the task `task_id`.
    Sub {
        parent: usize,
        execution: usize,
        task_id: i32,
    },
    /// An orchestration started by an entity operation delivered on behalf of the run `by`.
    Started {
        by: usize,
    },
}

/// An instance being driven, between two of its episodes.
struct Run {
    instance: Instance,
    origin: Origin,
    orchestrator: Option<OrchestratorFn>,
    /// Timers, planned events and children's ends, by virtual time.
    agenda: Agenda,
    /// Events raised when it has nothing else to do (the top-level run only).
    waiting: VecDeque<PlannedEvent>,
    /// The new events of its next episode.
    inbox: VecDeque<HistoryEvent>,
    history: Vec<HistoryEvent>,
    /// The version of the running execution (continue-as-new may change it).
    version: Option<String>,
    /// Scheduled entity signals not delivered yet, with their due time.
    signals: Vec<(SystemTime, EntityMessage)>,
    result: DriverResult,
    finished: bool,
}

impl Run {
    fn execution_id(&self, n: usize) -> String {
        format!("{}-execution-{n}", self.instance.id)
    }

    /// The `executionStarted` event of its execution `n`.
    fn started(&self, input: Option<String>, n: usize, at: SystemTime) -> HistoryEvent {
        event(
            -1,
            at,
            EventType::ExecutionStarted(ExecutionStartedEvent {
                name: self.instance.name.clone(),
                version: self.version.clone().map(StringValue::from),
                input: input.map(StringValue::from),
                orchestration_instance: Some(OrchestrationInstance {
                    instance_id: self.instance.id.clone(),
                    execution_id: Some(self.execution_id(n).into()),
                }),
                parent_instance: self.instance.parent.clone(),
                ..Default::default()
            }),
        )
    }
}

/// Everything the driver runs at once, on one virtual clock: the instances (the top-level one
/// first, then the others in the order they were created), the entities' states and locks.
struct World {
    clock: SystemTime,
    /// `None` while that run is in an episode.
    runs: Vec<Option<Run>>,
    states: EntityStates,
    locks: EntityLocks,
    /// Children's ends to put on their parents' agendas: (parent, execution, time, event).
    ends: Vec<(usize, usize, SystemTime, HistoryEvent)>,
    /// Episodes run so far, all instances together.
    episodes: usize,
}

impl World {
    /// Raises each answer (instance, event name, payload) on its instance — `current`, the run
    /// in its episode, or the live run of that id; an answer for an instance that has ended is
    /// dropped, as the extension drops messages to completed orchestrations.
    fn raise_answers(&mut self, mut current: Option<&mut Run>, answers: Vec<(String, String, String)>) {
        for (instance, name, payload) in answers {
            let event = raised(self.clock, &name, Some(payload));
            match current.as_deref_mut() {
                Some(run) if run.instance.id == instance => run.inbox.push_back(event),
                _ => {
                    let target = self
                        .runs
                        .iter_mut()
                        .rev()
                        .flatten()
                        .find(|run| !run.finished && run.instance.id == instance);
                    if let Some(run) = target {
                        run.inbox.push_back(event);
                    }
                }
            }
        }
    }
}

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
        let mut world = World {
            clock: self.start,
            runs: Vec::new(),
            states: Mutex::new(HashMap::new()),
            locks: EntityLocks::default(),
            ends: Vec::new(),
            episodes: 0,
        };
        let instance = Instance {
            id: instance_id.to_owned(),
            name: name.to_owned(),
            version: version.map(str::to_owned),
            input,
            parent: None,
        };
        self.add_run(&mut world, instance, Origin::TopLevel);
        self.run_world(&mut world).await;

        // Each run's result goes into its creator's, from the last created (children come after
        // their creators).
        let mut runs: Vec<Run> = world.runs.into_iter().flatten().collect();
        let mut started: Vec<Vec<DriverResult>> = runs.iter().map(|_| Vec::new()).collect();
        let mut top_level = None;
        while let Some(run) = runs.pop() {
            let mut result = run.result;
            result.history = run.history;
            result.started_orchestrations = std::mem::take(&mut started[runs.len()]);
            match run.origin {
                Origin::Sub { parent, .. } => runs[parent].result.sent_events.extend(result.sent_events),
                Origin::Started { by } => started[by].insert(0, result),
                Origin::TopLevel => top_level = Some(result),
            }
        }
        let Some(mut result) = top_level else {
            unreachable!("the top-level run is the first of the runs")
        };
        result.entity_states = world.states.into_inner().unwrap_or_else(PoisonError::into_inner);
        result
    }

    /// Adds a run for `instance`, starting now (failed at once when its orchestrator is not
    /// registered).
    fn add_run(&self, world: &mut World, instance: Instance, origin: Origin) {
        let clock = world.clock;
        let orchestrator = self.orchestrators.get(&instance.name).cloned();
        let mut run = Run {
            origin,
            orchestrator,
            agenda: Agenda {
                items: Vec::new(),
                next: 0,
            },
            waiting: VecDeque::new(),
            inbox: VecDeque::new(),
            history: Vec::new(),
            version: instance.version.clone(),
            signals: Vec::new(),
            result: DriverResult {
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
            },
            finished: false,
            instance,
        };
        if matches!(origin, Origin::TopLevel) {
            for (after, planned) in &self.timed_events {
                run.agenda.push(
                    clock + *after,
                    raised(clock + *after, &planned.name, planned.data.clone()),
                );
            }
            run.waiting.extend(self.waiting_events.iter().cloned());
        }
        if run.orchestrator.is_none() {
            run.result.status = OrchestrationStatus::Failed;
            run.result.failure = Some(TaskFailureDetails {
                error_type: "OrchestratorNotFound".into(),
                error_message: format!(
                    "no orchestrator named `{}` is registered with the driver",
                    run.instance.name
                ),
                ..Default::default()
            });
            finish(world, &mut run);
        } else {
            let started = run.started(run.instance.input.clone(), 1, clock);
            run.inbox.push_back(started);
        }
        world.runs.push(Some(run));
    }

    /// Runs every instance until none has anything left to do (or the episode limit is
    /// reached): at each virtual instant, episodes first (the earliest created run first), then
    /// the events planned for when the top-level run waits, then the clock moves on to the
    /// next due signal, timer or event.
    async fn run_world(&self, world: &mut World) {
        loop {
            for (parent, execution, at, end) in world.ends.drain(..) {
                if let Some(run) = world.runs[parent].as_mut()
                    && !run.finished
                    && run.result.executions == execution
                {
                    run.agenda.push(at, end);
                }
            }
            if let Some(index) = world
                .runs
                .iter()
                .position(|run| live(run).is_some_and(|r| !r.inbox.is_empty()))
            {
                if world.episodes >= self.max_episodes {
                    return;
                }
                let Some(mut run) = world.runs[index].take() else {
                    return;
                };
                self.episode(world, index, &mut run).await;
                world.runs[index] = Some(run);
                continue;
            }
            let clock = world.clock;
            if let Some(run) = world
                .runs
                .iter_mut()
                .flatten()
                .find(|r| !r.finished && !r.waiting.is_empty())
            {
                if let Some(planned) = run.waiting.pop_front() {
                    run.inbox.push_back(raised(clock, &planned.name, planned.data));
                }
                continue;
            }
            let next_signal = world
                .runs
                .iter()
                .filter_map(live)
                .flat_map(|r| r.signals.iter().map(|(at, _)| *at))
                .min();
            let next_agenda = world
                .runs
                .iter()
                .filter_map(live)
                .filter_map(|r| r.agenda.earliest())
                .min();
            if let Some(at) = next_signal.filter(|at| next_agenda.is_none_or(|next| *at <= next)) {
                // Signals due before anything else happens to the orchestrations.
                world.clock = world.clock.max(at);
                for index in 0..world.runs.len() {
                    let Some(mut run) = world.runs[index].take() else {
                        continue;
                    };
                    let (due, later): (Vec<_>, Vec<_>) = run.signals.drain(..).partition(|(due, _)| *due == at);
                    run.signals = later;
                    if !due.is_empty() {
                        run.result.finished_at = world.clock;
                    }
                    for (_, message) in due {
                        self.deliver_for(world, index, &mut run, message).await;
                    }
                    world.runs[index] = Some(run);
                }
            } else if let Some(at) = next_agenda {
                world.clock = world.clock.max(at);
                for run in world.runs.iter_mut().flatten().filter(|r| !r.finished) {
                    if run.agenda.earliest() == Some(at)
                        && let Some((_, due)) = run.agenda.pop_earliest()
                    {
                        run.inbox.extend(due);
                    }
                }
            } else {
                return; // Waiting for something that will never come.
            }
        }
    }

    /// Delivers `message`, sent on behalf of `run` (the run `index`), to its entity: raises the
    /// answers it sets off and adds the orchestrations it starts.
    async fn deliver_for(&self, world: &mut World, index: usize, run: &mut Run, message: EntityMessage) {
        let mut started = Vec::new();
        let mut answers = Vec::new();
        let mut delivery = Delivery {
            clock: world.clock,
            states: &world.states,
            locks: &mut world.locks,
            signals: &mut run.signals,
            started: &mut started,
            answers: &mut answers,
        };
        self.deliver(message, &mut delivery).await;
        world.raise_answers(Some(run), answers);
        for instance in started {
            self.add_run(world, instance, Origin::Started { by: index });
        }
    }

    /// One episode of `run` (the run `index`, out of `world.runs` meanwhile): its inbox to the
    /// orchestrator, through the host's encoding, and the answer's actions applied.
    async fn episode(&self, world: &mut World, index: usize, run: &mut Run) {
        let Some(orchestrator) = run.orchestrator.clone() else {
            return;
        };
        let clock = world.clock;
        world.episodes += 1;
        run.result.episodes += 1;
        run.result.finished_at = clock;

        let mut new_events = vec![event(
            -1,
            clock,
            EventType::OrchestratorStarted(OrchestratorStartedEvent {}),
        )];
        new_events.extend(run.inbox.drain(..));
        let request = OrchestratorRequest {
            instance_id: run.instance.id.clone(),
            execution_id: Some(run.execution_id(run.result.executions).into()),
            past_events: run.history.clone(),
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
        run.history.extend(new_events);
        let custom_status = response.custom_status.map(|s| s.value);
        if custom_status != run.result.custom_status {
            run.result.custom_status_history.push(CustomStatusChange {
                at: clock,
                episode: run.result.episodes,
                execution: run.result.executions,
                json: custom_status.clone(),
            });
        }
        run.result.custom_status = custom_status;

        let mut completion = None;
        for action in response.actions {
            let id = action.id;
            match action.orchestrator_action_type {
                Some(OrchestratorActionType::ScheduleTask(task)) => {
                    run.history.push(event(
                        id,
                        clock,
                        EventType::TaskScheduled(TaskScheduledEvent {
                            name: task.name.clone(),
                            input: task.input.clone(),
                            ..Default::default()
                        }),
                    ));
                    let outcome = self.activities.run(&task.name, task.input.map(|v| v.value)).await;
                    run.inbox.push_back(match outcome {
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
                    run.history.push(event(
                        id,
                        clock,
                        EventType::TimerCreated(TimerCreatedEvent { fire_at: timer.fire_at }),
                    ));
                    let at = timer.fire_at.map_or(UNIX_EPOCH, Timestamp::to_system_time);
                    run.agenda.push(
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
                    run.history.push(event(
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
                            name: Some(run.instance.name.clone().into()),
                            version: run.version.clone().map(StringValue::from),
                            orchestration_instance: Some(OrchestrationInstance {
                                instance_id: run.instance.id.clone(),
                                execution_id: Some(run.execution_id(run.result.executions).into()),
                            }),
                        }),
                    };
                    let origin = Origin::Sub {
                        parent: index,
                        execution: run.result.executions,
                        task_id: id,
                    };
                    self.add_run(world, child, origin);
                }
                Some(OrchestratorActionType::SendEvent(send)) => {
                    let target = send.instance.map(|i| i.instance_id).unwrap_or_default();
                    let data = send.data.map(|v| v.value);
                    run.history.push(event(
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
                    // A scheduled signal is an operation request under a name carrying its time.
                    let kind = if scheduled.is_some() { "op" } else { send.name.as_str() };
                    let message = target
                        .parse::<EntityId>()
                        .ok()
                        .and_then(|entity| EntityMessage::from_legacy(entity, kind, data.as_deref()));
                    match (message, scheduled) {
                        (Some(message), Some(due)) => run.signals.push((due, message)),
                        (Some(message), None) => self.deliver_for(world, index, run, message).await,
                        (None, _) if target == run.instance.id => {
                            run.inbox.push_back(raised(clock, &send.name, data));
                        }
                        (None, _) => run.result.sent_events.push((target, send.name, data)),
                    }
                }
                Some(OrchestratorActionType::CompleteOrchestration(done)) => completion = Some(done),
                _ => {}
            }
        }

        let Some(done) = completion else {
            run.history.push(event(
                -1,
                clock,
                EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}),
            ));
            return;
        };
        let status = OrchestrationStatus::try_from(done.orchestration_status).unwrap_or(OrchestrationStatus::Failed);
        if status == OrchestrationStatus::ContinuedAsNew {
            run.result.executions += 1;
            run.history.clear();
            run.agenda
                .items
                .retain(|(_, _, e)| matches!(e.event_type, Some(EventType::EventRaised(_))));
            run.inbox.clear();
            if let Some(next) = done.new_version.map(|v| v.value) {
                run.version = Some(next);
            }
            let started = run.started(done.result.map(|v| v.value), run.result.executions, clock);
            run.inbox.push_back(started);
            run.inbox.extend(done.carryover_events);
            return;
        }
        run.history.push(completed_event(clock, &done));
        run.history.push(event(
            -1,
            clock,
            EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}),
        ));
        run.result.status = status;
        run.result.output = done.result.map(|v| v.value);
        run.result.failure = done.failure_details;
        finish(world, run);
    }
}

/// The run in `slot` if it has not ended.
fn live(slot: &Option<Run>) -> Option<&Run> {
    slot.as_ref().filter(|run| !run.finished)
}

/// Ends `run` now: its result takes its history and the time; its parent, if any, learns of the
/// end; its scheduled signals not delivered yet are dropped.
fn finish(world: &mut World, run: &mut Run) {
    run.finished = true;
    run.signals.clear();
    run.result.finished_at = world.clock;
    if let Origin::Sub {
        parent,
        execution,
        task_id,
    } = run.origin
    {
        let end = match run.result.status {
            OrchestrationStatus::Completed => {
                EventType::SubOrchestrationInstanceCompleted(SubOrchestrationInstanceCompletedEvent {
                    task_scheduled_id: task_id,
                    result: run.result.output.clone().map(StringValue::from),
                })
            }
            _ => EventType::SubOrchestrationInstanceFailed(SubOrchestrationInstanceFailedEvent {
                task_scheduled_id: task_id,
                failure_details: run.result.failure.clone(),
            }),
        };
        world
            .ends
            .push((parent, execution, world.clock, event(-1, world.clock, end)));
    }
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
