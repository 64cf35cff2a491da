//! The replay state of one episode ([`State`]: ids, pending actions, the slot table the task
//! futures wait on, buffered events), the handle that shares it ([`SharedState`]) and the
//! future of one slot ([`SlotFuture`]). The context and the task futures both build on it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Outcome;
use super::guid::deterministic_guid;
use crate::proto::orchestrator_action::OrchestratorActionType;
use crate::proto::{CreateTimerAction, HistoryEvent, OrchestratorAction, ParentInstanceInfo};
use azfn_wire::wkt::Timestamp;

/// What `continue_as_new` asked for.
#[derive(Clone, Debug)]
pub(crate) struct ContinueAsNew {
    pub(crate) input: Option<String>,
    pub(crate) preserve_events: bool,
}

/// The replay state of one orchestration episode. Only the engine and the task futures touch it.
pub(crate) struct State {
    pub(crate) instance_id: String,
    pub(crate) execution_id: Option<String>,
    pub(crate) name: String,
    pub(crate) input: Option<String>,
    pub(crate) parent: Option<ParentInstanceInfo>,
    pub(crate) now: SystemTime,
    pub(crate) is_replaying: bool,
    pub(crate) next_id: i32,
    guid_counter: u64,
    /// Actions scheduled and not yet acknowledged by a scheduling event, by id.
    pub(crate) pending_actions: BTreeMap<i32, OrchestratorAction>,
    /// The outcome of every live task future, by slot (`None` while it runs).
    pub(crate) slots: HashMap<u64, Option<Outcome>>,
    next_slot: u64,
    /// Task id → slot, for activities, sub-orchestrations and timers.
    by_task_id: HashMap<i32, u64>,
    /// Lower-cased event name → waiting slots, oldest first.
    pub(crate) event_waiters: HashMap<String, VecDeque<u64>>,
    /// Lower-cased entity request id → the slot of the call.
    pub(crate) entity_waiters: HashMap<String, u64>,
    /// `eventRaised` events nobody waited for yet, in arrival order.
    pub(crate) buffered_events: Vec<HistoryEvent>,
    pub(crate) custom_status: Option<String>,
    pub(crate) continue_as_new: Option<ContinueAsNew>,
    /// Set by a durable task future that returned `Pending` during the current poll.
    pub(crate) durable_pending: bool,
    /// Set when a live task got its outcome since the last poll.
    pub(crate) progressed: bool,
    pub(crate) maximum_timer_interval: Option<Duration>,
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
            input: None,
            parent: None,
            now: UNIX_EPOCH,
            is_replaying: false,
            next_id: 0,
            guid_counter: 0,
            pending_actions: BTreeMap::new(),
            slots: HashMap::new(),
            next_slot: 0,
            by_task_id: HashMap::new(),
            event_waiters: HashMap::new(),
            entity_waiters: HashMap::new(),
            buffered_events: Vec::new(),
            custom_status: None,
            continue_as_new: None,
            durable_pending: false,
            progressed: false,
            maximum_timer_interval,
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
        self.slots.insert(slot, None);
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

    /// Stores the outcome of the task with this id, if its future is still alive.
    pub(crate) fn complete_task(&mut self, task_id: i32, outcome: Outcome) {
        if let Some(slot) = self.by_task_id.remove(&task_id) {
            self.fill(slot, outcome);
        }
    }

    fn fill(&mut self, slot: u64, outcome: Outcome) {
        if let Some(entry @ None) = self.slots.get_mut(&slot) {
            *entry = Some(outcome);
            self.progressed = true;
        }
    }

    /// Delivers an `eventRaised`: to the entity call it answers, else to the oldest waiter of
    /// its name, else into the buffer.
    pub(crate) fn raise_event(&mut self, event: &HistoryEvent, name: &str, input: Option<String>) {
        let key = name.to_lowercase();
        if let Some(slot) = self.entity_waiters.remove(&key) {
            self.fill(slot, super::entity_message::decode_response(input.as_deref()));
            return;
        }
        if let Some(waiters) = self.event_waiters.get_mut(&key)
            && let Some(slot) = waiters.pop_front()
        {
            if waiters.is_empty() {
                self.event_waiters.remove(&key);
            }
            self.fill(slot, Ok(input));
            return;
        }
        self.buffered_events.push(event.clone());
    }

    /// Takes a finished outcome out of `slot`, or notes that a durable task is still pending.
    pub(crate) fn poll_slot(&mut self, slot: u64) -> Option<Outcome> {
        match self.slots.get(&slot) {
            Some(Some(_)) => self.slots.remove(&slot).flatten(),
            Some(None) => {
                self.durable_pending = true;
                None
            }
            None => None,
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

    pub(crate) fn new_guid(&mut self) -> String {
        let guid = deterministic_guid(&self.instance_id, self.now, self.guid_counter);
        self.guid_counter += 1;
        guid
    }
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

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Outcome> {
        assert!(!self.done, "a durable task was polled after it completed");
        let outcome = self.state.lock().poll_slot(self.slot);
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
