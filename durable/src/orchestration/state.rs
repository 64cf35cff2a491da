//! The replay state of one episode ([`State`]: ids, pending actions, the slot table the task
//! futures wait on, buffered events), the handle that shares it ([`SharedState`]) and the
//! future of one slot ([`SlotFuture`]). The context and the task futures both build on it.
//!
//! A pending [`SlotFuture`] leaves its waker in its slot; completing the slot hands that waker
//! back to the engine, which wakes it, so that combinators poll again only the children that
//! can have progressed (see [`record_durable_wait`] for how the engine still tells a wait on the
//! history from a wait on something else).

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Outcome;
use super::entity_id::EntityId;
use super::guid::deterministic_guid;
use crate::proto::orchestrator_action::OrchestratorActionType;
use crate::proto::{
    CreateTimerAction, HistoryEvent, OrchestrationInstance, OrchestratorAction, ParentInstanceInfo, SendEventAction,
    TaskFailureDetails,
};
use azfn_wire::wkt::Timestamp;

/// What `continue_as_new` asked for.
#[derive(Clone, Debug)]
pub(crate) struct ContinueAsNew {
    pub(crate) input: Option<String>,
    pub(crate) preserve_events: bool,
    /// The next execution's version; `None` keeps the current one.
    pub(crate) version: Option<String>,
}

/// The open critical section of an orchestration (`critical` implements the rules).
pub(crate) struct SectionState {
    /// The lock request's GUID (lower-case), which names the section and the grant event.
    pub(crate) id: String,
    /// The locked entities, sorted, without repeats.
    pub(crate) locks: Vec<EntityId>,
    /// The grant has not arrived yet.
    pub(crate) acquiring: bool,
    /// Calls in flight to locked entities: request id (lower-case) and entity.
    pub(crate) calls: Vec<(String, EntityId)>,
}

impl SectionState {
    /// An `eventRaised` named `key` (lower-case) arrived: the grant, or the answer of a call,
    /// which makes its entity available again (whether or not the call's task is still alive,
    /// as in .NET, where the SDK's own continuation does it).
    pub(crate) fn response_arrived(&mut self, key: &str) {
        if key == self.id {
            self.acquiring = false;
        } else {
            self.calls.retain(|(request, _)| request != key);
        }
    }
}

/// The replay state of one orchestration episode. Only the engine and the task futures touch it.
pub(crate) struct State {
    pub(crate) instance_id: String,
    pub(crate) execution_id: Option<String>,
    pub(crate) name: String,
    /// The orchestration's version, from `executionStarted`.
    pub(crate) version: Option<String>,
    pub(crate) input: Option<String>,
    pub(crate) parent: Option<ParentInstanceInfo>,
    pub(crate) now: SystemTime,
    pub(crate) is_replaying: bool,
    pub(crate) next_id: i32,
    guid_counter: u64,
    /// Actions scheduled and not yet acknowledged by a scheduling event, by id (unordered: the
    /// response sorts the few left).
    pub(crate) pending_actions: HashMap<i32, OrchestratorAction, IdHash>,
    /// Every live task future's slot: waiting for its outcome, or holding it.
    pub(crate) slots: HashMap<u64, Slot, IdHash>,
    next_slot: u64,
    /// Task id → slot, for activities, sub-orchestrations and timers.
    by_task_id: HashMap<i32, u64, IdHash>,
    /// Lower-cased event name → waiting slots, oldest first.
    pub(crate) event_waiters: HashMap<String, VecDeque<u64>>,
    /// Lower-cased entity request id → the slot of the call.
    pub(crate) entity_waiters: HashMap<String, u64>,
    /// `eventRaised` events nobody waited for yet, in arrival order.
    pub(crate) buffered_events: Vec<HistoryEvent>,
    pub(crate) custom_status: Option<String>,
    pub(crate) continue_as_new: Option<ContinueAsNew>,
    /// Set when a live task got its outcome since the last poll.
    pub(crate) progressed: bool,
    pub(crate) maximum_timer_interval: Option<Duration>,
    /// The open critical section (lock requested or held), if any.
    pub(crate) critical_section: Option<SectionState>,
    /// A broken rule that fails the orchestration once the poll under way ends (the methods
    /// that break it have no error to return it through), with the next task id when it was
    /// broken: what the orchestrator schedules after it is dropped, as after a .NET throw.
    pub(crate) rule_violation: Option<(TaskFailureDetails, i32)>,
    /// Set when the engine drops a still-waiting orchestrator at the end of the episode: the
    /// drop is not the orchestrator's doing and must schedule nothing.
    pub(crate) ending_episode: bool,
}

impl State {
    pub(crate) fn new(
        instance_id: String,
        execution_id: Option<String>,
        maximum_timer_interval: Option<Duration>,
    ) -> Self {
        State {
            instance_id,
            execution_id,
            name: String::new(),
            version: None,
            input: None,
            parent: None,
            now: UNIX_EPOCH,
            is_replaying: false,
            next_id: 0,
            guid_counter: 0,
            pending_actions: HashMap::default(),
            slots: HashMap::default(),
            next_slot: 0,
            by_task_id: HashMap::default(),
            event_waiters: HashMap::new(),
            entity_waiters: HashMap::new(),
            buffered_events: Vec::new(),
            custom_status: None,
            continue_as_new: None,
            progressed: false,
            maximum_timer_interval,
            critical_section: None,
            rule_violation: None,
            ending_episode: false,
        }
    }

    /// The next task id (ids start at 0 in each execution, as DTFx numbers them).
    pub(crate) fn next_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn new_slot(&mut self) -> u64 {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.slots.insert(slot, Slot::Waiting(None));
        slot
    }

    /// Records `action` under a new id and returns the slot its completion goes to.
    pub(crate) fn schedule(&mut self, action: OrchestratorActionType) -> (i32, u64) {
        let id = self.next_id();
        self.pending_actions.insert(
            id,
            OrchestratorAction {
                id,
                orchestrator_action_type: Some(action),
            },
        );
        let slot = self.new_slot();
        self.by_task_id.insert(id, slot);
        (id, slot)
    }

    /// Stores the outcome of the task with this id, if its future is still alive, and gives
    /// the waker to wake (after the lock is released) for it.
    #[must_use = "the future waiting on the task must be woken"]
    pub(crate) fn complete_task(&mut self, task_id: i32, outcome: Outcome) -> Option<Waker> {
        let slot = self.by_task_id.remove(&task_id)?;
        self.fill(slot, outcome)
    }

    fn fill(&mut self, slot: u64, outcome: Outcome) -> Option<Waker> {
        let entry = self.slots.get_mut(&slot)?;
        let Slot::Waiting(waker) = entry else {
            return None;
        };
        let waker = waker.take();
        *entry = Slot::Done(outcome);
        self.progressed = true;
        waker
    }

    /// Delivers an `eventRaised`: to the entity call it answers, else to the oldest waiter of
    /// its name, else into the buffer. Gives the waker to wake for the task it completed.
    #[must_use = "the future waiting on the event must be woken"]
    pub(crate) fn raise_event(&mut self, event: &HistoryEvent, name: &str, input: Option<String>) -> Option<Waker> {
        let key = name.to_lowercase();
        if let Some(section) = &mut self.critical_section {
            section.response_arrived(&key);
        }
        if let Some(slot) = self.entity_waiters.remove(&key) {
            return self.fill(slot, super::entity_message::decode_response(input.as_deref()));
        }
        if let Some(waiters) = self.event_waiters.get_mut(&key)
            && let Some(slot) = waiters.pop_front()
        {
            if waiters.is_empty() {
                self.event_waiters.remove(&key);
            }
            return self.fill(slot, Ok(input));
        }
        self.buffered_events.push(event.clone());
        None
    }

    /// Takes a finished outcome out of `slot`; else keeps `waker` to wake when the outcome
    /// comes and records that the poll under way leaves a durable task waiting.
    pub(crate) fn poll_slot(&mut self, slot: u64, waker: &Waker) -> Option<Outcome> {
        match self.slots.get_mut(&slot)? {
            Slot::Done(_) => match self.slots.remove(&slot) {
                Some(Slot::Done(outcome)) => Some(outcome),
                _ => None,
            },
            Slot::Waiting(registered) => {
                if !registered.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    *registered = Some(waker.clone());
                }
                record_durable_wait();
                None
            }
        }
    }

    /// Forgets `slot` (its future was dropped): a later completion is ignored and an event
    /// waiter stops taking events.
    pub(crate) fn release_slot(&mut self, slot: u64) {
        self.slots.remove(&slot);
        self.by_task_id.retain(|_, s| *s != slot);
        self.entity_waiters.retain(|_, s| *s != slot);
        self.event_waiters.retain(|_, waiters| {
            waiters.retain(|s| *s != slot);
            !waiters.is_empty()
        });
    }

    /// Records a `sendEvent` action of the event `name` with `data` (JSON text, `None` for
    /// `null`) to `instance_id` under a new id (no outcome comes back), and gives the id.
    pub(crate) fn send_event(&mut self, instance_id: String, name: String, data: Option<String>) -> i32 {
        let id = self.next_id();
        let action = OrchestratorActionType::SendEvent(SendEventAction {
            instance: Some(OrchestrationInstance {
                instance_id,
                execution_id: None,
            }),
            name,
            data: data.map(Into::into),
        });
        self.pending_actions.insert(
            id,
            OrchestratorAction {
                id,
                orchestrator_action_type: Some(action),
            },
        );
        id
    }

    pub(crate) fn new_guid(&mut self) -> String {
        let guid = deterministic_guid(&self.instance_id, self.now, self.guid_counter);
        self.guid_counter += 1;
        guid
    }
}

/// The hasher of the slot and task-id tables. Their keys are counters the episode itself hands
/// out, never input, so there is nothing to defend against with SipHash, which cost a tenth of
/// a long replay: a multiplication spreads consecutive ids over the table (Fibonacci hashing;
/// the table reads the top bits).
pub(crate) type IdHash = BuildHasherDefault<IdHasher>;

/// See [`IdHash`].
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only the integer writes below are used; this keeps any other key correct.
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0.rotate_left(5) ^ id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i32(&mut self, id: i32) {
        self.write_u64(u64::from(id as u32));
    }
}

/// One task future's slot in the replay state.
pub(crate) enum Slot {
    /// No outcome yet; the waker of the last poll, if the future was polled.
    Waiting(Option<Waker>),
    /// The outcome, until the future takes it.
    Done(Outcome),
}

thread_local! {
    /// Whether the poll under way leaves a durable task waiting (see [`record_durable_wait`]).
    static DURABLE_WAIT: Cell<bool> = const { Cell::new(false) };
}

/// Records that the poll under way leaves a durable task waiting: a [`SlotFuture`] returned
/// `Pending`, or a combinator did not poll again a child that would have returned `Pending`
/// on one (it was not woken since it did).
///
/// The engine asks, through [`recording_durable_wait`], whether a poll that ended `Pending`
/// did so: if not, and nothing woke the orchestrator, it waits on something that no history
/// event will ever wake.
pub(crate) fn record_durable_wait() {
    DURABLE_WAIT.set(true);
}

/// Runs `poll` and tells whether it left a durable task waiting (see [`record_durable_wait`]);
/// an enclosing call learns it too.
pub(crate) fn recording_durable_wait<T>(poll: impl FnOnce() -> T) -> (T, bool) {
    let outer = DURABLE_WAIT.replace(false);
    let output = poll();
    let waiting = DURABLE_WAIT.get();
    DURABLE_WAIT.set(outer || waiting);
    (output, waiting)
}

/// The replay state as the context, its clones and the task futures share it.
#[derive(Clone)]
pub(crate) struct SharedState(Arc<Mutex<State>>);

impl SharedState {
    pub(crate) fn new(state: State) -> Self {
        SharedState(Arc::new(Mutex::new(state)))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a single durable timer and returns the future of its firing.
    pub(crate) fn timer_slot(&self, fire_at: SystemTime) -> (i32, SlotFuture) {
        let action = OrchestratorActionType::CreateTimer(CreateTimerAction {
            fire_at: Some(Timestamp::from_system_time(fire_at)),
        });
        let (id, slot) = self.lock().schedule(action);
        (id, SlotFuture::new(self.clone(), slot))
    }
}

/// The future of one slot of the replay state: ready once the history holds the outcome.
pub(crate) struct SlotFuture {
    state: SharedState,
    slot: u64,
    done: bool,
}

impl SlotFuture {
    pub(crate) fn new(state: SharedState, slot: u64) -> Self {
        SlotFuture {
            state,
            slot,
            done: false,
        }
    }
}

impl Future for SlotFuture {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        assert!(!self.done, "a durable task was polled after it completed");
        let outcome = self.state.lock().poll_slot(self.slot, cx.waker());
        match outcome {
            Some(outcome) => {
                self.done = true;
                Poll::Ready(outcome)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for SlotFuture {
    fn drop(&mut self) {
        if !self.done {
            self.state.lock().release_slot(self.slot);
        }
    }
}
