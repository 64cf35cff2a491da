//! The replay engine: runs an orchestrator over an [`OrchestratorRequest`]'s history and
//! answers with the [`OrchestratorResponse`] the extension expects.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use serde::Serialize;

use super::context::{OrchestrationContext, to_json};
use super::state::{State, recording_durable_wait};
use super::task::TaskFailed;
use crate::proto::{
    CompleteOrchestrationAction, HistoryEvent, OrchestratorAction, OrchestratorRequest, OrchestratorResponse,
    history_event::EventType, orchestrator_action::OrchestratorActionType,
};
use crate::proto::{OrchestrationStatus, TaskFailureDetails};
use azfn_core::dispatch::panic_message;
use azfn_wire::wkt::StringValue;

/// Options of [`run_orchestrator_with`].
///
/// ```
/// use azfn::durable::orchestration::RunOptions;
/// use std::time::Duration;
///
/// let options = RunOptions { maximum_timer_interval: Some(Duration::from_secs(86_400)) };
/// assert_eq!(RunOptions::default().maximum_timer_interval, Some(Duration::from_secs(3 * 86_400)));
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// The longest single durable timer; longer timers are made of several. Default 3 days (as
    /// the .NET SDK, within Azure Storage's 7-day limit); `None` never splits timers.
    pub maximum_timer_interval: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            maximum_timer_interval: Some(Duration::from_secs(3 * 24 * 3600)),
        }
    }
}

/// The error type of failures the engine itself detects.
const NON_DETERMINISTIC: &str = "NonDeterministicOrchestration";
const NOT_DURABLE: &str = "NonDurableAwait";
const PANIC: &str = "Panic";

/// How the orchestration ended in this episode, if it did.
enum Finished {
    Completed(Option<String>),
    Failed(TaskFailureDetails),
    ContinuedAsNew {
        input: Option<String>,
        preserve_events: bool,
        version: Option<String>,
    },
    Terminated(Option<String>),
}

type UserFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, TaskFailureDetails>> + 'a>>;

/// Wakes by setting a flag, so that a future that wakes itself (like a yield) is polled again.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Engine<'a> {
    ctx: OrchestrationContext,
    start: Option<Box<dyn FnOnce(OrchestrationContext) -> UserFuture<'a> + 'a>>,
    future: Option<UserFuture<'a>>,
    finished: Option<Finished>,
    /// A failure of the engine (non-determinism, a broken rule): it replaces every action.
    broken: Option<TaskFailureDetails>,
    suspended: bool,
    held_while_suspended: Vec<(HistoryEvent, bool)>,
    started: bool,
    flag: Arc<Flag>,
}

/// Runs `orchestrator` over the history of `request` (past events replayed, then new events)
/// and returns what the extension expects back: the actions scheduled in this episode (with the
/// ids this engine chose, in id order), the custom status and — once the orchestrator finished —
/// a `completeOrchestration` action:
///
/// - `Ok(value)`: `COMPLETED` with `value` as JSON (`CONTINUED_AS_NEW` with the new input if the
///   orchestrator called [`continue_as_new`](OrchestrationContext::continue_as_new));
/// - `Err(error)`: `FAILED`, with the error's message; if the error came from a failed task
///   (a [`TaskFailed`] turned into `azfn::Error` by `?`), that task's details are kept as the
///   inner failure;
/// - a panic: `FAILED` with the panic message (the process is not taken down);
/// - a history that does not match what the code does now: `FAILED`, error type
///   `NonDeterministicOrchestration`;
/// - a poll that waited on something that is not a durable task: `FAILED`, error type
///   `NonDurableAwait` (see the [module documentation](super)).
///
/// It needs no async runtime: the orchestrator's future is polled in place.
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, run_orchestrator};
/// use azfn::durable::proto::*;
/// use azfn::durable::proto::OrchestrationStatus;
///
/// async fn hello(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
///     let name: String = ctx.input()?;
///     Ok(format!("Hello, {name}!"))
/// }
///
/// let started = HistoryEvent {
///     event_id: -1,
///     timestamp: None,
///     event_type: Some(history_event::EventType::ExecutionStarted(ExecutionStartedEvent {
///         name: "hello".into(),
///         input: Some("\"Tokyo\"".into()),
///         ..Default::default()
///     })),
/// };
/// let request = OrchestratorRequest { instance_id: "i1".into(), new_events: vec![started], ..Default::default() };
/// let response = run_orchestrator(&request, hello);
/// let Some(orchestrator_action::OrchestratorActionType::CompleteOrchestration(done)) =
///     &response.actions[0].orchestrator_action_type else { panic!() };
/// assert_eq!(done.orchestration_status, OrchestrationStatus::Completed as i32);
/// assert_eq!(done.result.as_ref().unwrap().value, "\"Hello, Tokyo!\"");
/// ```
pub fn run_orchestrator<F, Fut, T>(request: &OrchestratorRequest, orchestrator: F) -> OrchestratorResponse
where
    F: FnOnce(OrchestrationContext) -> Fut,
    Fut: Future<Output = Result<T, azfn_core::Error>>,
    T: Serialize,
{
    run_orchestrator_with(request, &RunOptions::default(), orchestrator)
}

/// [`run_orchestrator`] with [`RunOptions`].
pub fn run_orchestrator_with<F, Fut, T>(
    request: &OrchestratorRequest,
    options: &RunOptions,
    orchestrator: F,
) -> OrchestratorResponse
where
    F: FnOnce(OrchestrationContext) -> Fut,
    Fut: Future<Output = Result<T, azfn_core::Error>>,
    T: Serialize,
{
    let mut state = State::new(
        request.instance_id.clone(),
        request.execution_id.as_ref().map(|e| e.value.clone()),
        options.maximum_timer_interval,
    );
    let history = request.past_events.iter().chain(&request.new_events);
    state.note_scheduled_tasks(history, request.past_events.len() + request.new_events.len());
    let ctx = OrchestrationContext::from_state(state);
    let start = move |ctx: OrchestrationContext| -> UserFuture<'_> {
        let future = orchestrator(ctx);
        Box::pin(async move {
            match future.await {
                Ok(value) => to_json(&value).map_err(|error| TaskFailureDetails {
                    error_type: "SerializationError".into(),
                    error_message: format!("the orchestrator's output could not be serialized to JSON: {error}"),
                    ..Default::default()
                }),
                Err(error) => Err(failure_of(&error)),
            }
        })
    };
    let mut engine = Engine {
        ctx,
        start: Some(Box::new(start)),
        future: None,
        finished: None,
        broken: None,
        suspended: false,
        held_while_suspended: Vec::new(),
        started: false,
        flag: Arc::new(Flag(AtomicBool::new(false))),
    };
    let events = request
        .past_events
        .iter()
        .map(|e| (e, true))
        .chain(request.new_events.iter().map(|e| (e, false)));
    for (event, replaying) in events {
        engine.handle(event, replaying);
        if engine.broken.is_some() {
            break;
        }
    }
    if !engine.started && engine.broken.is_none() && engine.finished.is_none() {
        engine.broken = Some(TaskFailureDetails {
            error_type: "InvalidHistory".into(),
            error_message: "the orchestration's history has no executionStarted event".into(),
            ..Default::default()
        });
    }
    // The user's future may hold tasks; drop it before reading the final state. It is still
    // waiting: what it holds (a critical section) must not act as if the code had moved on.
    engine.ctx.lock().ending_episode = true;
    engine.future = None;
    engine.response(&request.instance_id)
}

/// The failure details of an orchestrator's error.
fn failure_of(error: &azfn_core::Error) -> TaskFailureDetails {
    let task = error.source().and_then(|source| source.downcast_ref::<TaskFailed>());
    TaskFailureDetails {
        error_type: if task.is_some() { "TaskFailed" } else { "Error" }.into(),
        error_message: error.to_string(),
        inner_failure: task.map(|t| Box::new(t.details().clone())),
        ..Default::default()
    }
}

fn non_deterministic(message: String) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: NON_DETERMINISTIC.into(),
        error_message: format!(
            "Non-deterministic orchestration: {message}. The orchestrator's code must make the same calls, in the \
             same order, on every replay; changing the code of running instances (or branching on time, random \
             numbers or I/O) breaks this."
        ),
        is_non_retriable: true,
        ..Default::default()
    }
}

/// What a scheduling action is, for messages.
fn describe(action: &OrchestratorActionType) -> String {
    match action {
        OrchestratorActionType::ScheduleTask(a) => format!("activity `{}`", a.name),
        OrchestratorActionType::CreateSubOrchestration(a) => format!("sub-orchestration `{}`", a.name),
        OrchestratorActionType::CreateTimer(_) => "a timer".into(),
        OrchestratorActionType::SendEvent(a) => {
            let target = a.instance.as_ref().map(|i| i.instance_id.as_str()).unwrap_or_default();
            format!("event `{}` to `{target}`", a.name)
        }
        OrchestratorActionType::CompleteOrchestration(_) => "the completion".into(),
        OrchestratorActionType::TerminateOrchestration(_) => "a termination".into(),
        OrchestratorActionType::SendEntityMessage(_) => "an entity message".into(),
        OrchestratorActionType::RewindOrchestration(_) => "a rewind".into(),
    }
}

impl<'a> Engine<'a> {
    fn handle(&mut self, event: &HistoryEvent, replaying: bool) {
        let Some(event_type) = &event.event_type else {
            return;
        };
        if self.suspended
            && !matches!(
                event_type,
                EventType::ExecutionResumed(_) | EventType::ExecutionTerminated(_)
            )
        {
            self.held_while_suspended.push((event.clone(), replaying));
            return;
        }
        self.ctx.lock().is_replaying = replaying;
        match event_type {
            EventType::OrchestratorStarted(_) => {
                if let Some(timestamp) = &event.timestamp {
                    let mut state = self.ctx.lock();
                    state.now = state.now.max(timestamp.to_system_time());
                }
            }
            EventType::ExecutionStarted(started) => {
                if self.started {
                    return;
                }
                self.started = true;
                {
                    let mut state = self.ctx.lock();
                    state.name = started.name.clone();
                    state.version = started
                        .version
                        .as_ref()
                        .map(|v| v.value.clone())
                        .filter(|v| !v.is_empty());
                    state.input = started.input.as_ref().map(|v| v.value.clone());
                    state.parent = started.parent_instance.clone();
                    if let Some(instance) = &started.orchestration_instance {
                        if state.instance_id.is_empty() {
                            state.instance_id = instance.instance_id.clone();
                        }
                        if state.execution_id.is_none() {
                            state.execution_id = instance.execution_id.as_ref().map(|e| e.value.clone());
                        }
                    }
                    if state.now == std::time::UNIX_EPOCH
                        && let Some(timestamp) = &event.timestamp
                    {
                        state.now = timestamp.to_system_time();
                    }
                }
                self.begin();
            }
            EventType::TaskScheduled(e) => self.acknowledge(
                event.event_id,
                "activity",
                &e.name,
                |a| matches!(a, OrchestratorActionType::ScheduleTask(s) if s.name == e.name),
            ),
            EventType::SubOrchestrationInstanceCreated(e) => self.acknowledge(
                event.event_id,
                "sub-orchestration",
                &e.name,
                |a| matches!(a, OrchestratorActionType::CreateSubOrchestration(s) if s.name == e.name),
            ),
            EventType::TimerCreated(_) => self.acknowledge(event.event_id, "timer", "", |a| {
                matches!(a, OrchestratorActionType::CreateTimer(_))
            }),
            EventType::EventSent(e) => self.acknowledge(event.event_id, "event", &e.name, |a| {
                matches!(a, OrchestratorActionType::SendEvent(s)
                    if s.name == e.name && s.instance.as_ref().is_some_and(|i| i.instance_id == e.instance_id))
            }),
            EventType::TaskCompleted(e) => self.complete(e.task_scheduled_id, Ok(e.result.clone().map(|v| v.value))),
            EventType::TaskFailed(e) => {
                self.complete(e.task_scheduled_id, Err(e.failure_details.clone().unwrap_or_default()))
            }
            EventType::SubOrchestrationInstanceCompleted(e) => {
                self.complete(e.task_scheduled_id, Ok(e.result.clone().map(|v| v.value)))
            }
            EventType::SubOrchestrationInstanceFailed(e) => {
                self.complete(e.task_scheduled_id, Err(e.failure_details.clone().unwrap_or_default()))
            }
            EventType::TimerFired(e) => self.complete(e.timer_id, Ok(None)),
            EventType::EventRaised(e) => {
                let waker = self
                    .ctx
                    .lock()
                    .raise_event(event, &e.name, e.input.as_ref().map(|v| v.value.clone()));
                self.wake_and_poll(waker);
            }
            EventType::ExecutionTerminated(e) if self.finished.is_none() => {
                self.finished = Some(Finished::Terminated(e.input.as_ref().map(|v| v.value.clone())));
                self.future = None;
            }
            EventType::ExecutionSuspended(_) => self.suspended = true,
            EventType::ExecutionResumed(_) => {
                self.suspended = false;
                for (held, replaying) in std::mem::take(&mut self.held_while_suspended) {
                    self.handle(&held, replaying);
                    if self.broken.is_some() {
                        return;
                    }
                }
            }
            // Episode ends, snapshots and the events of other kinds of instances change nothing
            // an orchestrator can observe.
            _ => {}
        }
    }

    /// A scheduling event: the action with this id must exist and be of the same kind.
    fn acknowledge(&mut self, id: i32, kind: &str, name: &str, matches: impl Fn(&OrchestratorActionType) -> bool) {
        let mut state = self.ctx.lock();
        let recorded = || {
            if name.is_empty() {
                format!("a {kind}")
            } else {
                format!("{kind} `{name}`")
            }
        };
        let error = match state
            .pending_actions
            .get(id)
            .and_then(|a| a.orchestrator_action_type.as_ref())
        {
            Some(action) if matches(action) => None,
            Some(action) => Some(format!(
                "the history records {} with id {id}, but the orchestrator now schedules {} with that id",
                recorded(),
                describe(action)
            )),
            None => Some(format!(
                "the history records {} with id {id}, but the orchestrator did not schedule anything with that id",
                recorded()
            )),
        };
        match error {
            Some(message) => {
                drop(state);
                self.broken = Some(non_deterministic(message));
            }
            None => {
                state.pending_actions.discard(id);
            }
        }
    }

    fn complete(&mut self, task_id: i32, outcome: Result<Option<String>, TaskFailureDetails>) {
        let waker = self.ctx.lock().complete_task(task_id, outcome);
        self.wake_and_poll(waker);
    }

    /// Wakes the future waiting on the task an event completed (the lock released), then polls
    /// the orchestrator if the event completed anything.
    fn wake_and_poll(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            waker.wake();
        }
        self.poll_if_progressed();
    }

    /// Starts the orchestrator and runs it until it waits.
    fn begin(&mut self) {
        let Some(start) = self.start.take() else {
            return;
        };
        let ctx = self.ctx.clone();
        match catch_unwind(AssertUnwindSafe(move || start(ctx))) {
            Ok(future) => {
                self.future = Some(future);
                self.poll();
            }
            Err(payload) => self.panicked(payload.as_ref()),
        }
    }

    fn poll_if_progressed(&mut self) {
        let progressed = std::mem::take(&mut self.ctx.lock().progressed);
        if progressed && self.future.is_some() {
            self.poll();
        }
    }

    fn panicked(&mut self, payload: &(dyn Any + Send)) {
        self.future = None;
        self.finished = Some(Finished::Failed(TaskFailureDetails {
            error_type: PANIC.into(),
            error_message: format!("the orchestrator panicked: {}", panic_message(payload)),
            ..Default::default()
        }));
    }

    /// Polls the orchestrator until it waits on durable tasks or finishes.
    fn poll(&mut self) {
        let waker = Waker::from(self.flag.clone());
        let mut cx = Context::from_waker(&waker);
        // A future that wakes itself (a yield) is polled again, a bounded number of times.
        for _ in 0..1000 {
            let Some(future) = self.future.as_mut() else {
                return;
            };
            self.ctx.lock().progressed = false;
            self.flag.0.store(false, Ordering::SeqCst);
            let (polled, durable_pending) =
                recording_durable_wait(|| catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))));
            // A rule broken by a call that has no error to return (a signal in a critical
            // section) fails the orchestration, as the exception .NET throws does.
            let violation = self.ctx.lock().rule_violation.take();
            if let Some((details, at)) = violation {
                {
                    let mut state = self.ctx.lock();
                    state.pending_actions.retain(|action| action.id < at);
                    state.next_id = at;
                }
                self.future = None;
                self.finished = Some(Finished::Failed(details));
                return;
            }
            match polled {
                Err(payload) => return self.panicked(payload.as_ref()),
                Ok(Poll::Ready(result)) => {
                    self.future = None;
                    let continued = self.ctx.lock().continue_as_new.take();
                    self.finished = Some(match (result, continued) {
                        (Err(details), _) => Finished::Failed(details),
                        (Ok(_), Some(next)) => Finished::ContinuedAsNew {
                            input: next.input,
                            preserve_events: next.preserve_events,
                            version: next.version,
                        },
                        (Ok(output), None) => Finished::Completed(output),
                    });
                    return;
                }
                Ok(Poll::Pending) => {
                    let progressed = self.ctx.lock().progressed;
                    if durable_pending || progressed {
                        if progressed {
                            continue;
                        }
                        return;
                    }
                    if !self.flag.0.load(Ordering::SeqCst) {
                        self.broken = Some(TaskFailureDetails {
                            error_type: NOT_DURABLE.into(),
                            error_message: "the orchestrator is waiting on a future that is not a durable task \
                                            (for example tokio::time::sleep, a channel, a lock or I/O). An \
                                            orchestrator may only await the tasks its OrchestrationContext \
                                            creates (activities, timers, external events, sub-orchestrations, \
                                            entity calls) and combinations of them: sleep with \
                                            ctx.create_timer_after, and do I/O in activities."
                                .into(),
                            is_non_retriable: true,
                            ..Default::default()
                        });
                        self.future = None;
                        return;
                    }
                }
            }
        }
        self.broken = Some(TaskFailureDetails {
            error_type: NOT_DURABLE.into(),
            error_message: "the orchestrator kept waking itself without waiting on a durable task".into(),
            ..Default::default()
        });
        self.future = None;
    }

    fn response(self, instance_id: &str) -> OrchestratorResponse {
        let mut state = self.ctx.lock();
        let custom_status = state.custom_status.clone().map(StringValue::from);
        let complete = |state: &mut State, action: CompleteOrchestrationAction| {
            let id = state.next_id();
            OrchestratorAction {
                id,
                orchestrator_action_type: Some(OrchestratorActionType::CompleteOrchestration(action)),
            }
        };
        let actions = if let Some(details) = self.broken {
            vec![complete(
                &mut state,
                CompleteOrchestrationAction {
                    orchestration_status: OrchestrationStatus::Failed as i32,
                    failure_details: Some(details),
                    ..Default::default()
                },
            )]
        } else if self.suspended {
            Vec::new()
        } else {
            // Locks still held when the orchestrator ends are released, as .NET's shim does
            // whatever way the orchestrator ended.
            if matches!(
                self.finished,
                Some(Finished::Completed(_) | Finished::Failed(_) | Finished::ContinuedAsNew { .. })
            ) {
                super::critical::release(&mut state, None);
            }
            // In the order the orchestrator scheduled them (id order), as DTFx sends them.
            let mut actions: Vec<OrchestratorAction> =
                std::mem::take(&mut state.pending_actions).into_values().collect();
            let completion = match self.finished {
                None => None,
                Some(Finished::Completed(output)) => Some(CompleteOrchestrationAction {
                    orchestration_status: OrchestrationStatus::Completed as i32,
                    result: output.map(StringValue::from),
                    ..Default::default()
                }),
                Some(Finished::Failed(details)) => Some(CompleteOrchestrationAction {
                    orchestration_status: OrchestrationStatus::Failed as i32,
                    failure_details: Some(details),
                    ..Default::default()
                }),
                Some(Finished::ContinuedAsNew {
                    input,
                    preserve_events,
                    version,
                }) => Some(CompleteOrchestrationAction {
                    orchestration_status: OrchestrationStatus::ContinuedAsNew as i32,
                    result: input.map(StringValue::from),
                    new_version: version.map(StringValue::from),
                    carryover_events: if preserve_events {
                        std::mem::take(&mut state.buffered_events)
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                }),
                Some(Finished::Terminated(reason)) => {
                    actions.clear();
                    Some(CompleteOrchestrationAction {
                        orchestration_status: OrchestrationStatus::Terminated as i32,
                        result: reason.map(StringValue::from),
                        ..Default::default()
                    })
                }
            };
            if let Some(completion) = completion {
                actions.push(complete(&mut state, completion));
            }
            actions
        };
        OrchestratorResponse {
            instance_id: instance_id.to_owned(),
            actions,
            custom_status,
            ..Default::default()
        }
    }
}
