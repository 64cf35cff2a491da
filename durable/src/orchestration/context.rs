//! [`OrchestrationContext`]: what an orchestrator function programs against, on top of the
//! replay state (`state`) and the task futures (`task`).

use std::fmt;
use std::sync::MutexGuard;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::critical::{self, LockTask};
use super::entity_id::EntityId;
use super::guid::format_round_trip;
use super::http::{DurableHttpRequest, DurableHttpResponse, HTTP_ACTIVITY};
use super::state::{ContinueAsNew, SharedState, Slot, SlotFuture, State};
use super::task::{DurableTask, RetryPolicy, Source, TaskName, TimerTask};
use crate::proto::TaskFailureDetails;
use crate::proto::{CreateSubOrchestrationAction, ScheduleTaskAction, orchestrator_action::OrchestratorActionType};
use azfn_wire::wkt::StringValue;

/// The context of one orchestration instance: its id and input, the deterministic clock, and
/// the methods that schedule durable work.
///
/// Every method that schedules work (activities, timers, sub-orchestrations, entity calls,
/// events) records the work immediately, in call order — the returned task need not be awaited
/// for the work to happen, and awaiting it later only waits for the result. The context is cheap
/// to clone; clones share the same instance.
///
/// See the [module documentation](super) for the rules an orchestrator must follow.
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, TaskFailed};
///
/// async fn greet(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
///     let mut greetings = Vec::new();
///     for city in ["Tokyo", "Seattle", "London"] {
///         let greeting: String = ctx.call_activity("SayHello", &city).await?;
///         greetings.push(greeting);
///     }
///     Ok(greetings)
/// }
/// ```
#[derive(Clone)]
pub struct OrchestrationContext {
    inner: SharedState,
}

impl fmt::Debug for OrchestrationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("OrchestrationContext")
            .field("instance_id", &state.instance_id)
            .field("name", &state.name)
            .field("is_replaying", &state.is_replaying)
            .finish_non_exhaustive()
    }
}

/// Serializes `value` for the wire: JSON text, or `None` for JSON `null`.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    Ok(if text == "null" { None } else { Some(text) })
}

fn serialization_failure(what: &str, error: &serde_json::Error) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: "SerializationError".into(),
        error_message: format!("the input of `{what}` could not be serialized to JSON: {error}"),
        is_non_retriable: true,
        ..Default::default()
    }
}

/// Options of a sub-orchestration call.
///
/// ```
/// use azfn::durable::orchestration::{RetryPolicy, SubOrchestratorOptions};
/// use std::time::Duration;
///
/// let options = SubOrchestratorOptions::new()
///     .instance_id("order-7-shipping")
///     .retry(RetryPolicy::new(3, Duration::from_secs(5)));
/// assert_eq!(options.instance_id.as_deref(), Some("order-7-shipping"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct SubOrchestratorOptions {
    /// The child's instance id. Default: `"<parent instance id>:<task id as 4 hex digits>"`
    /// (the durabletask-python rule), e.g. `order-7:0003`, which is deterministic.
    pub instance_id: Option<String>,
    /// Retry the child when it fails (each attempt reuses the same instance id).
    pub retry: Option<RetryPolicy>,
    /// The child's version (`createSubOrchestration.version`, which the child reads as
    /// [`OrchestrationContext::version`]). Default: none, as the .NET SDK sends.
    pub version: Option<String>,
}

impl SubOrchestratorOptions {
    /// No instance id, no retry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Start the child under this instance id.
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// Retry the child with this policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Start the child with this version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }
}

/// What a retried call schedules on each attempt.
#[derive(Clone)]
pub(crate) enum Schedule {
    Activity {
        name: String,
        input: Option<String>,
    },
    SubOrchestrator {
        name: String,
        instance_id: String,
        version: Option<String>,
        input: Option<String>,
    },
}

impl Schedule {
    fn name(&self) -> &str {
        match self {
            Schedule::Activity { name, .. } | Schedule::SubOrchestrator { name, .. } => name,
        }
    }
}

impl OrchestrationContext {
    pub(crate) fn from_state(state: State) -> Self {
        OrchestrationContext {
            inner: SharedState::new(state),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// The instance id.
    pub fn instance_id(&self) -> String {
        self.lock().instance_id.clone()
    }

    /// The execution id (a new one after each continue-as-new), if the host sent it.
    pub fn execution_id(&self) -> Option<String> {
        self.lock().execution_id.clone()
    }

    /// The orchestrator's name.
    pub fn name(&self) -> String {
        self.lock().name.clone()
    }

    /// The orchestration's version: the one its client or parent started it with
    /// (`executionStarted.version`), `None` when it was started without one. Branch on it to
    /// keep instances started by older code replaying the old way.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
    ///     let step = match ctx.version().as_deref() {
    ///         Some("2") => ctx.call_activity("PriceV2", &()).await?,
    ///         _ => ctx.call_activity("Price", &()).await?,
    ///     };
    ///     Ok(step)
    /// }
    /// ```
    pub fn version(&self) -> Option<String> {
        self.lock().version.clone()
    }

    /// The parent's instance id, when this is a sub-orchestration.
    pub fn parent_instance_id(&self) -> Option<String> {
        let state = self.lock();
        state
            .parent
            .as_ref()
            .and_then(|p| p.orchestration_instance.as_ref())
            .map(|i| i.instance_id.clone())
    }

    /// The input, decoded from JSON. A missing input decodes as JSON `null` (so `Option<T>`
    /// and `()` accept it).
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
    ///     let order: u32 = ctx.input()?;
    ///     Ok(order)
    /// }
    /// ```
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let raw = self.lock().input.clone();
        serde_json::from_str(raw.as_deref().unwrap_or("null"))
    }

    /// The input as JSON text, as it was sent.
    pub fn raw_input(&self) -> Option<String> {
        self.lock().input.clone()
    }

    /// The orchestration's "now": the time the current episode started, the same on every
    /// replay. Use it instead of `SystemTime::now()`.
    pub fn current_utc_time(&self) -> SystemTime {
        self.lock().now
    }

    /// Whether the code is running on history that was already recorded (a replay). Logging
    /// and other side effects should be skipped while replaying; [`log`](Self::log) does that.
    pub fn is_replaying(&self) -> bool {
        self.lock().is_replaying
    }

    /// A logger that emits `tracing` events only when not replaying, so that each line is
    /// written once per orchestration rather than once per episode.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     ctx.log().info(format_args!("processing order {}", ctx.instance_id()));
    ///     Ok(())
    /// }
    /// ```
    pub fn log(&self) -> ReplaySafeLogger {
        let state = self.lock();
        ReplaySafeLogger {
            enabled: !state.is_replaying,
            instance_id: state.instance_id.clone(),
            name: state.name.clone(),
        }
    }

    /// A deterministic GUID: the same value on every replay, different for each call. Computed
    /// as the .NET SDK does (a name-based UUID v5 of the instance id, the current time and a
    /// counter), lower-case and hyphenated.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    ///     let order_id = ctx.new_guid();
    ///     Ok(order_id)
    /// }
    /// ```
    pub fn new_guid(&self) -> String {
        self.lock().new_guid()
    }

    /// Sets the custom status clients see (any JSON-serializable value); it is sent with every
    /// episode's answer.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     ctx.set_custom_status(&serde_json::json!({"stage": "shipping"}))?;
    ///     Ok(())
    /// }
    /// ```
    pub fn set_custom_status<S: Serialize + ?Sized>(&self, status: &S) -> Result<(), serde_json::Error> {
        let text = serde_json::to_string(status)?;
        self.lock().custom_status = Some(text);
        Ok(())
    }

    /// Clears the custom status.
    pub fn clear_custom_status(&self) {
        self.lock().custom_status = None;
    }

    /// Schedules the activity `name` with `input` (serialized to JSON) and returns its task;
    /// awaiting it gives the activity's output decoded as `O`, or [`TaskFailed`](super::TaskFailed).
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    ///     let total: u64 = ctx.call_activity("PriceOrder", &serde_json::json!({"items": 3})).await?;
    ///     Ok(total)
    /// }
    /// ```
    pub fn call_activity<O: DeserializeOwned, I: Serialize + ?Sized>(&self, name: &str, input: &I) -> DurableTask<O> {
        let input = if self.lock().history_schedules_next() {
            // Replayed: the action is never sent, so the input is only checked to serialize
            // (as it did when the call was first made), without keeping the text.
            serde_json::to_writer(std::io::sink(), input).map(|()| None)
        } else {
            to_json(input)
        };
        self.schedule_activity(name, input, None)
    }

    /// Schedules the activity `name` with its input already serialized (or the error that
    /// serializing it gave): `call_activity` and `call_activity_with_retry` end here, and the
    /// typed calls (`typed.rs`) through them.
    fn schedule_activity<O: DeserializeOwned>(
        &self,
        name: &str,
        input: Result<Option<String>, serde_json::Error>,
        retry: Option<RetryPolicy>,
    ) -> DurableTask<O> {
        let input = match input {
            Ok(input) => input,
            Err(error) => return DurableTask::failed(name, serialization_failure(name, &error)),
        };
        let schedule = Schedule::Activity {
            name: name.to_owned(),
            input,
        };
        match retry {
            Some(policy) => self.schedule_with_retry(schedule, policy),
            None => self.schedule(schedule),
        }
    }

    /// Like [`call_activity`](Self::call_activity), retrying failed attempts as `policy` says:
    /// after a failure the orchestration waits on a durable timer, then schedules a new attempt
    /// (each attempt and each timer takes its own task id). The task fails with the last
    /// attempt's failure once the policy gives up.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{OrchestrationContext, RetryPolicy};
    /// # use std::time::Duration;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    ///     let policy = RetryPolicy::new(5, Duration::from_secs(10)).backoff_coefficient(2.0);
    ///     Ok(ctx.call_activity_with_retry("Flaky", &(), policy).await?)
    /// }
    /// ```
    pub fn call_activity_with_retry<O: DeserializeOwned, I: Serialize + ?Sized>(
        &self,
        name: &str,
        input: &I,
        policy: RetryPolicy,
    ) -> DurableTask<O> {
        self.schedule_activity(name, to_json(input), Some(policy))
    }

    /// Starts the orchestrator `name` as a sub-orchestration with `input` and returns its task,
    /// which gives the child's output. The child's instance id is
    /// `"<this instance id>:<task id, 4 hex digits>"`; use
    /// [`call_sub_orchestrator_with_options`](Self::call_sub_orchestrator_with_options) to choose
    /// it or to retry.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<bool, azfn::Error> {
    ///     let shipped: bool = ctx.call_sub_orchestrator("Ship", &42).await?;
    ///     Ok(shipped)
    /// }
    /// ```
    pub fn call_sub_orchestrator<O: DeserializeOwned, I: Serialize + ?Sized>(
        &self,
        name: &str,
        input: &I,
    ) -> DurableTask<O> {
        self.call_sub_orchestrator_with_options(name, input, SubOrchestratorOptions::default())
    }

    /// Starts a sub-orchestration with an explicit instance id and/or a retry policy.
    ///
    /// In a [critical section](Self::lock_entities) no sub-orchestration may start: the task
    /// fails at once (error type `LockingRulesViolation`) and nothing is scheduled.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{OrchestrationContext, SubOrchestratorOptions};
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     let child = format!("{}-shipping", ctx.instance_id());
    ///     let options = SubOrchestratorOptions::new().instance_id(child);
    ///     ctx.call_sub_orchestrator_with_options::<(), _>("Ship", &42, options).await?;
    ///     Ok(())
    /// }
    /// ```
    pub fn call_sub_orchestrator_with_options<O: DeserializeOwned, I: Serialize + ?Sized>(
        &self,
        name: &str,
        input: &I,
        options: SubOrchestratorOptions,
    ) -> DurableTask<O> {
        self.schedule_sub_orchestrator(name, to_json(input), options)
    }

    /// Starts the sub-orchestration `name` with its input already serialized (or the error
    /// that serializing it gave): the string and the typed calls (`typed.rs`) both end here.
    pub(crate) fn schedule_sub_orchestrator<O: DeserializeOwned>(
        &self,
        name: &str,
        input: Result<Option<String>, serde_json::Error>,
        options: SubOrchestratorOptions,
    ) -> DurableTask<O> {
        if let Err(failure) = critical::check_sub_orchestration(&self.lock(), name) {
            return DurableTask::failed(name, failure);
        }
        let input = match input {
            Ok(input) => input,
            Err(error) => return DurableTask::failed(name, serialization_failure(name, &error)),
        };
        let instance_id = match options.instance_id {
            Some(id) => id,
            None => {
                let state = self.lock();
                format!("{}:{:04x}", state.instance_id, state.next_id)
            }
        };
        let schedule = Schedule::SubOrchestrator {
            name: name.to_owned(),
            instance_id,
            version: options.version,
            input,
        };
        match options.retry {
            Some(policy) => self.schedule_with_retry(schedule, policy),
            None => self.schedule(schedule),
        }
    }

    /// Creates a durable timer that fires at `fire_at`; awaiting it waits until then. Dropping
    /// the timer (e.g. the loser of a [`select`](super::select)) is harmless: it still fires
    /// and the firing is ignored.
    ///
    /// Timers further away than the run's maximum timer interval (3 days by default, see
    /// [`RunOptions`](super::RunOptions)) are made of several shorter durable timers, as the
    /// Durable Task SDKs do for Azure Storage.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// # use std::time::Duration;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     let tomorrow = ctx.current_utc_time() + Duration::from_secs(86_400);
    ///     ctx.create_timer(tomorrow).await;
    ///     Ok(())
    /// }
    /// ```
    pub fn create_timer(&self, fire_at: SystemTime) -> TimerTask {
        TimerTask::new(self.inner.clone(), fire_at)
    }

    /// Creates a durable timer that fires `delay` after [`current_utc_time`](Self::current_utc_time)
    /// (at the latest 9999-12-31T23:59:59Z).
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// # use std::time::Duration;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     ctx.create_timer_after(Duration::from_secs(60)).await;
    ///     Ok(())
    /// }
    /// ```
    pub fn create_timer_after(&self, delay: Duration) -> TimerTask {
        let now = self.current_utc_time();
        // Saturate at 9999-12-31T23:59:59Z, the latest time .NET (and so the extension) holds.
        let latest = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        self.create_timer(now.checked_add(delay).map_or(latest, |t| t.min(latest)))
    }

    /// Waits for an external event named `name` (compared case-insensitively) and gives its
    /// payload decoded as `T`.
    ///
    /// Events that arrive before anyone waits are kept and handed to the next waiter of that
    /// name, oldest event first. Several waiters on one name are served first come, first
    /// served (FIFO): the earliest `wait_for_external_event` call gets the first event. A
    /// dropped waiter (e.g. the loser of a race with a timer) takes no event.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<bool, azfn::Error> {
    ///     let approved: bool = ctx.wait_for_external_event("Approval").await?;
    ///     Ok(approved)
    /// }
    /// ```
    pub fn wait_for_external_event<T: DeserializeOwned>(&self, name: &str) -> DurableTask<T> {
        let key = name.to_lowercase();
        let mut state = self.lock();
        let slot = state.new_slot();
        let buffered = state.buffered_events.iter().position(|e| match &e.event_type {
            Some(crate::proto::history_event::EventType::EventRaised(raised)) => raised.name.to_lowercase() == key,
            _ => false,
        });
        match buffered {
            Some(index) => {
                let event = state.buffered_events.remove(index);
                let input = match event.event_type {
                    Some(crate::proto::history_event::EventType::EventRaised(raised)) => raised.input.map(|v| v.value),
                    _ => None,
                };
                state.slots.insert(slot, Slot::Done(Ok(input)));
            }
            None => state.event_waiters.entry(key).or_default().push_back(slot),
        }
        drop(state);
        DurableTask::from_source(name, None, Source::Slot(SlotFuture::new(self.inner.clone(), slot)))
    }

    /// Sends the event `name` with `data` to another orchestration instance (fire and forget).
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     ctx.send_event("order-7", "PaymentReceived", &99.5)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn send_event<D: Serialize + ?Sized>(
        &self,
        instance_id: &str,
        name: &str,
        data: &D,
    ) -> Result<(), serde_json::Error> {
        let data = to_json(data)?;
        self.lock().send_event(instance_id.to_owned(), name.to_owned(), data);
        Ok(())
    }

    /// Restarts the orchestration with `input` once the orchestrator returns (its return value
    /// is then ignored). Events that arrived and were not consumed are carried over into the
    /// new execution (as the .NET SDK does by default); use
    /// [`continue_as_new_discarding_events`](Self::continue_as_new_discarding_events) to drop them.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// # use std::time::Duration;
    /// async fn counter(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     let n: u64 = ctx.input()?;
    ///     ctx.create_timer_after(Duration::from_secs(3600)).await;
    ///     ctx.continue_as_new(&(n + 1))?;
    ///     Ok(())
    /// }
    /// ```
    pub fn continue_as_new<I: Serialize + ?Sized>(&self, input: &I) -> Result<(), serde_json::Error> {
        self.set_continue_as_new(input, true, None)
    }

    /// Like [`continue_as_new`](Self::continue_as_new), dropping unconsumed events.
    pub fn continue_as_new_discarding_events<I: Serialize + ?Sized>(&self, input: &I) -> Result<(), serde_json::Error> {
        self.set_continue_as_new(input, false, None)
    }

    /// Like [`continue_as_new`](Self::continue_as_new), the new execution running at `version`
    /// (`completeOrchestration.newVersion`; the plain form keeps the current version, as DTFx
    /// does with no new version). This is how an eternal orchestration moves to new code.
    ///
    /// ```
    /// # use azfn::durable::orchestration::OrchestrationContext;
    /// async fn monitor(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     let round: u64 = ctx.input()?;
    ///     ctx.continue_as_new_with_version(&(round + 1), "2")?;
    ///     Ok(())
    /// }
    /// ```
    pub fn continue_as_new_with_version<I: Serialize + ?Sized>(
        &self,
        input: &I,
        version: &str,
    ) -> Result<(), serde_json::Error> {
        self.set_continue_as_new(input, true, Some(version.to_owned()))
    }

    fn set_continue_as_new<I: Serialize + ?Sized>(
        &self,
        input: &I,
        preserve_events: bool,
        version: Option<String>,
    ) -> Result<(), serde_json::Error> {
        let input = to_json(input)?;
        self.lock().continue_as_new = Some(ContinueAsNew {
            input,
            preserve_events,
            version,
        });
        Ok(())
    }

    /// Locks `entities` for a critical section: the task gives a
    /// [`CriticalSection`](super::CriticalSection) once all are locked, and until it is dropped
    /// (or [released](super::CriticalSection::release)) no one else can run operations on them
    /// while this orchestration calls them.
    ///
    /// The entities are locked in a fixed order (sorted by name then key, each once), as the
    /// Durable Task SDKs do so that two orchestrations never wait on each other: one `op`
    /// event carrying a lock request goes to the first entity, which forwards it along the
    /// set, and the last entity answers with an event named by the request's deterministic
    /// GUID.
    ///
    /// The .NET SDK's rules hold while the section is open (from the request on): no other
    /// lock request; calls only to locked entities, one at a time each, after the grant; no
    /// signals to locked entities; no sub-orchestrations. A refused request or call fails its
    /// task, a refused signal fails the orchestration (error type `LockingRulesViolation`).
    /// Activities, timers and external events are allowed — but an activity that waits on a
    /// locked entity (through a client) waits for the release, which may never come.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{EntityId, OrchestrationContext};
    /// async fn audit(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
    ///     let ledger = EntityId::new("ledger", "2024");
    ///     let section = ctx.lock_entities(&[ledger.clone()]).await?;
    ///     let total: i64 = ctx.call_entity(&ledger, "total", &()).await?;
    ///     ctx.call_activity::<(), _>("Archive", &total).await?;
    ///     drop(section); // released here
    ///     Ok(total)
    /// }
    /// ```
    pub fn lock_entities(&self, entities: &[EntityId]) -> LockTask {
        let mut state = self.lock();
        if let Err(failure) = critical::check_lock(&state, entities) {
            drop(state);
            return LockTask::refused(self.inner.clone(), failure);
        }
        let (id, locks, slot) = critical::request_locks(&mut state, entities);
        drop(state);
        LockTask::requested(self.inner.clone(), id, locks, slot)
    }

    /// Whether a critical section is open: locks requested (granted or not) and not released.
    pub fn in_critical_section(&self) -> bool {
        self.lock().critical_section.is_some()
    }

    ///
    /// In a [critical section](Self::lock_entities), only a locked entity may be called, once
    /// the lock is granted and when no earlier call to it is still pending; otherwise the task
    /// fails at once (error type `LockingRulesViolation`, naming the entity) and nothing is sent.
    ///
    /// The request goes out as an event in the extension's legacy entity message format (an
    /// `eventSent` named `op` to `@name@key`, carrying `{"op", "input", "id", "parent",
    /// "parentExecution"}` with a deterministic GUID as the id); the entity answers with an
    /// `eventRaised` named by that GUID.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{EntityId, OrchestrationContext};
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
    ///     let counter = EntityId::new("Counter", "daily");
    ///     let value: i64 = ctx.call_entity(&counter, "get", &()).await?;
    ///     Ok(value)
    /// }
    /// ```
    pub fn call_entity<O: DeserializeOwned, I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
    ) -> DurableTask<O> {
        let input = match to_json(input) {
            Ok(input) => input,
            Err(error) => return DurableTask::failed(operation, serialization_failure(operation, &error)),
        };
        let mut state = self.lock();
        if let Err(failure) = critical::check_call(&state, entity, operation) {
            return DurableTask::failed(operation, failure);
        }
        let request_id = state.new_guid();
        let parent = state.instance_id.clone();
        let parent_execution = state.execution_id.clone();
        let message = super::entity_message::request_message(
            operation,
            false,
            input.as_deref(),
            &request_id,
            Some(&parent),
            parent_execution.as_deref(),
            None,
        );
        let id = state.send_event(entity.to_string(), "op".into(), Some(message));
        critical::call_started(&mut state, &request_id, entity);
        let slot = state.new_slot();
        state.entity_waiters.insert(request_id.to_lowercase(), slot);
        drop(state);
        DurableTask::from_source(
            operation,
            Some(id),
            Source::Slot(SlotFuture::new(self.inner.clone(), slot)),
        )
    }

    /// Signals an entity: runs `operation` with `input` on it without waiting (fire and forget).
    ///
    /// In a [critical section](Self::lock_entities), signaling one of the locked entities
    /// breaks the locking rules: the orchestration fails (error type `LockingRulesViolation`)
    /// once the orchestrator next waits.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{EntityId, OrchestrationContext};
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     ctx.signal_entity(&EntityId::new("Counter", "daily"), "add", &1)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn signal_entity<I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
    ) -> Result<(), serde_json::Error> {
        let input = to_json(input)?;
        let mut state = self.lock();
        if let Err(failure) = critical::check_signal(&state, entity, operation) {
            let at = state.next_id;
            state.rule_violation.get_or_insert((failure, at));
            return Ok(());
        }
        let request_id = state.new_guid();
        let message =
            super::entity_message::request_message(operation, true, input.as_deref(), &request_id, None, None, None);
        state.send_event(entity.to_string(), "op".into(), Some(message));
        Ok(())
    }

    /// Signals an entity to run `operation` with `input` at `at` (fire and forget): the
    /// extension holds the message back until then.
    ///
    /// It goes out as the extension's own orchestrations send one: an event named
    /// `op@<delivery time>` whose request carries `due` = `at` (both in .NET's round-trip
    /// format). As the extension caps the delivery time for Azure Storage, a signal more than
    /// six days ahead is first delivered after the maximum timer interval (3 days by default)
    /// and the entity waits again for the rest.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{EntityId, OrchestrationContext};
    /// # use std::time::Duration;
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    ///     let in_an_hour = ctx.current_utc_time() + Duration::from_secs(3600);
    ///     ctx.signal_entity_at(&EntityId::new("Reminder", "ann"), "ring", &"tea", in_an_hour)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn signal_entity_at<I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
        at: SystemTime,
    ) -> Result<(), serde_json::Error> {
        let input = to_json(input)?;
        let mut state = self.lock();
        if let Err(failure) = critical::check_signal(&state, entity, operation) {
            let at = state.next_id;
            state.rule_violation.get_or_insert((failure, at));
            return Ok(());
        }
        let request_id = state.new_guid();
        let due = format_round_trip(at);
        // `RequestMessage.GetAdjustedDeliveryTime`: beyond the Azure Storage provider's
        // maximum delay (6 days) the message is delivered after one long-timer interval.
        let delivery = if at.duration_since(state.now).unwrap_or_default() <= MAXIMUM_ENTITY_DELAY {
            at
        } else {
            state.now + state.maximum_timer_interval.unwrap_or(DEFAULT_LONG_TIMER_INTERVAL)
        };
        let message = super::entity_message::request_message(
            operation,
            true,
            input.as_deref(),
            &request_id,
            None,
            None,
            Some(&due),
        );
        let name = format!("op@{}", format_round_trip(delivery));
        state.send_event(entity.to_string(), name, Some(message));
        Ok(())
    }

    /// Makes an HTTP request through the Durable extension: it runs the request (its built-in
    /// activity `BuiltIn::HttpActivity`, getting a managed-identity token when asked), and the
    /// task gives the response — any status; only a request that could not be made fails.
    ///
    /// With [`asynchronous_pattern_enabled`](DurableHttpRequest::asynchronous_pattern_enabled)
    /// (the default), a `202 Accepted` with a `Location` header is polled as the extension's
    /// own orchestrations do: a durable timer of `Retry-After` seconds (30 s without one), then
    /// a GET of the location, until the answer is not a 202. Each call and each timer takes a
    /// task id.
    ///
    /// ```
    /// # use azfn::durable::orchestration::{DurableHttpRequest, OrchestrationContext, TokenSource};
    /// async fn orchestrator(ctx: OrchestrationContext) -> Result<u16, azfn::Error> {
    ///     let request = DurableHttpRequest::new("POST", "https://management.azure.com/…/restart?api-version=2024-03-01")
    ///         .token_source(TokenSource::managed_identity("https://management.core.windows.net/.default"));
    ///     let response = ctx.call_http(request).await?;
    ///     Ok(response.status_code)
    /// }
    /// ```
    pub fn call_http(&self, request: DurableHttpRequest) -> DurableTask<DurableHttpResponse> {
        let activity = |request: &DurableHttpRequest| -> Result<Schedule, TaskFailureDetails> {
            let input = request
                .activity_input()
                .map_err(|error| serialization_failure(HTTP_ACTIVITY, &error))?;
            Ok(Schedule::Activity {
                name: HTTP_ACTIVITY.into(),
                input: Some(input),
            })
        };
        let first = match activity(&request) {
            Ok(schedule) => schedule,
            Err(failure) => return DurableTask::failed(HTTP_ACTIVITY, failure),
        };
        // The first call is retried as the request's retry options say (the extension fails
        // it on the listed statuses); polls are not, as in the extension's own context.
        let first: BoxedOutcome = match &request.retry {
            Some(retry) => self.retried(first, retry.policy.clone()),
            None if !request.asynchronous_pattern_enabled => {
                let (id, first) = self.schedule_slot(first);
                return DurableTask::from_source(HTTP_ACTIVITY, Some(id), Source::Slot(first));
            }
            None => Box::pin(self.schedule_slot(first).1),
        };
        if !request.asynchronous_pattern_enabled {
            return DurableTask::from_source(HTTP_ACTIVITY, None, Source::Boxed(first));
        }
        let ctx = self.clone();
        let polled = async move {
            let mut outcome = first.await;
            loop {
                let response = match &outcome {
                    Ok(Some(text)) => serde_json::from_str::<DurableHttpResponse>(text).ok(),
                    _ => None,
                };
                let Some((location, delay)) = response.as_ref().and_then(DurableHttpResponse::next_poll) else {
                    return outcome;
                };
                ctx.create_timer_after(delay).await;
                let poll = activity(&request.location_poll(&location))?;
                outcome = ctx.schedule_slot(poll).1.await;
            }
        };
        DurableTask::from_source(HTTP_ACTIVITY, None, Source::Boxed(Box::pin(polled)))
    }

    fn schedule<O: DeserializeOwned>(&self, schedule: Schedule) -> DurableTask<O> {
        // The task's copy of the name first: the action takes the schedule's own.
        let name = TaskName::new(schedule.name());
        let (id, future) = self.schedule_slot(schedule);
        DurableTask::from_source(name, Some(id), Source::Slot(future))
    }

    /// Records the action of `schedule` and returns the future of its outcome.
    pub(crate) fn schedule_slot(&self, schedule: Schedule) -> (i32, SlotFuture) {
        let action = match schedule {
            Schedule::Activity { name, input } => OrchestratorActionType::ScheduleTask(ScheduleTaskAction {
                name,
                input: input.map(StringValue::from),
                ..Default::default()
            }),
            Schedule::SubOrchestrator {
                name,
                instance_id,
                version,
                input,
            } => OrchestratorActionType::CreateSubOrchestration(CreateSubOrchestrationAction {
                instance_id,
                name,
                version: version.map(StringValue::from),
                input: input.map(StringValue::from),
                ..Default::default()
            }),
        };
        let (id, slot) = self.lock().schedule(action);
        (id, SlotFuture::new(self.inner.clone(), slot))
    }

    fn schedule_with_retry<O: DeserializeOwned>(&self, schedule: Schedule, policy: RetryPolicy) -> DurableTask<O> {
        let name = TaskName::new(schedule.name());
        DurableTask::from_source(name, None, Source::Boxed(self.retried(schedule, policy)))
    }

    /// Schedules the first attempt of `schedule` now and gives the future of the attempts
    /// `policy` allows: the last one's outcome.
    fn retried(&self, schedule: Schedule, policy: RetryPolicy) -> BoxedOutcome {
        let started = self.current_utc_time();
        // The first attempt is scheduled now, so ids follow call order; later timers and
        // attempts are scheduled when the failure is seen, the same way on every replay.
        let (_, first) = self.schedule_slot(schedule.clone());
        let ctx = self.clone();
        Box::pin(async move {
            let mut attempt: u32 = 1;
            let mut current = first;
            loop {
                let failure = match (&mut current).await {
                    Ok(result) => return Ok(result),
                    Err(failure) => failure,
                };
                let Some(delay) = policy.next_delay(attempt, started, ctx.current_utc_time(), &failure) else {
                    return Err(failure);
                };
                ctx.create_timer_after(delay).await;
                attempt += 1;
                current = ctx.schedule_slot(schedule.clone()).1;
            }
        })
    }
}

/// The future of a task made of several durable steps (retries, polls).
type BoxedOutcome = std::pin::Pin<Box<dyn std::future::Future<Output = super::Outcome> + Send>>;

/// The Azure Storage provider's `MaximumDelayTime`: how far ahead a message may be delivered.
const MAXIMUM_ENTITY_DELAY: Duration = Duration::from_secs(6 * 86_400);

/// The Azure Storage provider's `LongRunningTimerIntervalLength`, when the run sets no maximum
/// timer interval.
const DEFAULT_LONG_TIMER_INTERVAL: Duration = Duration::from_secs(3 * 86_400);

/// Logs for an orchestration without repeating lines on replay: each method emits a `tracing`
/// event (target `azfn::durable::orchestration`, with the instance id and orchestrator name as
/// fields) only when the orchestration is not replaying. Get one from
/// [`OrchestrationContext::log`].
///
/// ```
/// # use azfn::durable::orchestration::OrchestrationContext;
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
///     let log = ctx.log();
///     log.debug("starting");
///     log.warn(format_args!("{} items back-ordered", 2));
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ReplaySafeLogger {
    enabled: bool,
    instance_id: String,
    name: String,
}

macro_rules! log_method {
    ($(#[$doc:meta])* $method:ident, $macro:ident) => {
        $(#[$doc])*
        pub fn $method(&self, message: impl fmt::Display) {
            if self.enabled {
                tracing::$macro!(
                    target: "azfn::durable::orchestration",
                    instance_id = %self.instance_id,
                    orchestrator = %self.name,
                    "{message}"
                );
            }
        }
    };
}

impl ReplaySafeLogger {
    /// Whether this logger emits (the orchestration was not replaying when it was made).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    log_method!(
        /// Emits a `TRACE` event.
        trace,
        trace
    );
    log_method!(
        /// Emits a `DEBUG` event.
        debug,
        debug
    );
    log_method!(
        /// Emits an `INFO` event.
        info,
        info
    );
    log_method!(
        /// Emits a `WARN` event.
        warn,
        warn
    );
    log_method!(
        /// Emits an `ERROR` event.
        error,
        error
    );
}
