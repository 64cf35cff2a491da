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
    /// Actions scheduled and not yet acknowledged by a scheduling event, by id.
    pub(crate) pending_actions: CounterTable<OrchestratorAction>,
    /// Every live task future's slot: waiting for its outcome, or holding it.
    pub(crate) slots: CounterTable<Slot>,
    next_slot: u64,
    /// Task id → slot, for activities, sub-orchestrations and timers.
    by_task_id: CounterTable<u64>,
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
    /// By task id: whether the history holds the `taskScheduled` event of that id (see
    /// [`State::history_schedules_next`]).
    scheduled_in_history: Vec<bool>,
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
            pending_actions: CounterTable::default(),
            slots: CounterTable::default(),
            next_slot: 0,
            by_task_id: CounterTable::default(),
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
            scheduled_in_history: Vec::new(),
        }
    }

    /// Notes the ids of the `taskScheduled` events of the whole history, before replay starts.
    /// Ids beyond the number of events are left out: no history of this engine's has them.
    pub(crate) fn note_scheduled_tasks<'e>(&mut self, history: impl Iterator<Item = &'e HistoryEvent>, events: usize) {
        use crate::proto::history_event::EventType;
        let mut scheduled = vec![false; events];
        for event in history {
            if let Some(EventType::TaskScheduled(_)) = event.event_type
                && let Some(noted) = usize::try_from(event.event_id)
                    .ok()
                    .and_then(|id| scheduled.get_mut(id))
            {
                *noted = true;
            }
        }
        self.scheduled_in_history = scheduled;
    }

    /// Whether the history holds a `taskScheduled` event for the next task id. Such an
    /// activity call is replayed: its action is acknowledged by that event, or the history
    /// contradicts the code and the episode fails; either way the action's input is never
    /// sent (a suspended episode sends no action, a terminated one drops them). So the input
    /// need not be kept: serializing it only to drop it at the acknowledgement cost a fan-out's
    /// replay an allocation per task, live until its event (BENCHMARKS.md, "Session 8").
    pub(crate) fn history_schedules_next(&self) -> bool {
        usize::try_from(self.next_id)
            .ok()
            .and_then(|id| self.scheduled_in_history.get(id))
            .is_some_and(|scheduled| *scheduled)
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
        let slot = self.by_task_id.remove(task_id)?;
        self.fill(slot, outcome)
    }

    fn fill(&mut self, slot: u64, outcome: Outcome) -> Option<Waker> {
        let entry = self.slots.get_mut(slot)?;
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
        match self.slots.get_mut(slot)? {
            Slot::Done(_) => match self.slots.remove(slot) {
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
        self.slots.discard(slot);
        self.by_task_id.retain(|s| *s != slot);
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

/// A key of a [`CounterTable`]: a counter the episode hands out (slot numbers, task ids).
pub(crate) trait CounterKey: Copy {
    /// The key as an index from 0; `None` for a key no counter gives (a negative task id read
    /// from the history).
    fn position(self) -> Option<u64>;
}

impl CounterKey for u64 {
    fn position(self) -> Option<u64> {
        Some(self)
    }
}

impl CounterKey for i32 {
    fn position(self) -> Option<u64> {
        u64::try_from(self).ok()
    }
}

/// A table whose keys are counters the episode itself hands out (slot numbers, task ids): a
/// deque of entries from the oldest key still present to the newest.
///
/// Keys are inserted in increasing order and, in a replay, mostly removed in that order too
/// (tasks complete about as they were scheduled), so the deque stays as long as the span of
/// live keys and every operation is an index. It replaced hash maps whose inserts, growth and
/// removals were a tenth of a fan-out's replay (BENCHMARKS.md, "Session 8"). Keys read from the
/// history (a completion's task id) may be anything: one outside the span finds nothing.
pub(crate) struct CounterTable<T> {
    /// The key of `entries[0]`.
    first: u64,
    /// `None` where a key was removed or never inserted.
    entries: VecDeque<Option<T>>,
}

impl<T> Default for CounterTable<T> {
    fn default() -> Self {
        CounterTable {
            first: 0,
            entries: VecDeque::new(),
        }
    }
}

impl<T> CounterTable<T> {
    fn index(&self, key: impl CounterKey) -> Option<usize> {
        let offset = key.position()?.checked_sub(self.first)?;
        usize::try_from(offset).ok().filter(|&index| index < self.entries.len())
    }

    /// Sets the value of `key`.
    pub(crate) fn insert(&mut self, key: impl CounterKey, value: T) {
        let Some(position) = key.position() else {
            return;
        };
        // Only counters insert, so `position` is never far out; the loops only fill gaps.
        while position < self.first {
            self.entries.push_front(None);
            self.first -= 1;
        }
        let index = usize::try_from(position - self.first).expect("a counter fits in memory");
        while self.entries.len() <= index {
            self.entries.push_back(None);
        }
        self.entries[index] = Some(value);
    }

    pub(crate) fn get(&self, key: impl CounterKey) -> Option<&T> {
        self.entries.get(self.index(key)?)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: impl CounterKey) -> Option<&mut T> {
        let index = self.index(key)?;
        self.entries.get_mut(index)?.as_mut()
    }

    /// Takes the value of `key` out, dropping the entries before the oldest key left.
    pub(crate) fn remove(&mut self, key: impl CounterKey) -> Option<T> {
        let index = self.index(key)?;
        let value = self.entries.get_mut(index)?.take();
        self.trim();
        value
    }

    /// Drops the value of `key` where it lies (no copy out, unlike [`remove`](Self::remove)).
    pub(crate) fn discard(&mut self, key: impl CounterKey) {
        if let Some(entry) = self.index(key).and_then(|index| self.entries.get_mut(index)) {
            *entry = None;
            self.trim();
        }
    }

    /// Keeps the values for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        for entry in &mut self.entries {
            if entry.as_ref().is_some_and(|value| !keep(value)) {
                *entry = None;
            }
        }
        self.trim();
    }

    /// The values, borrowed, in key order.
    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().flatten()
    }

    /// The values, in key order.
    pub(crate) fn into_values(self) -> impl Iterator<Item = T> {
        self.entries.into_iter().flatten()
    }

    fn trim(&mut self) {
        while let Some(None) = self.entries.front() {
            self.entries.pop_front();
            self.first += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_table_keeps_the_span_of_its_live_keys() {
        let mut table = CounterTable::default();
        for key in 0..5u64 {
            table.insert(key, key * 10);
        }
        assert_eq!(table.get(3u64), Some(&30));
        assert_eq!(table.get(5u64), None);
        assert_eq!(table.get(-1i32), None, "a negative task id finds nothing");
        assert_eq!(table.remove(1u64), Some(10));
        assert_eq!(table.entries.len(), 5, "a gap behind the oldest key stays");
        assert_eq!(table.remove(0u64), Some(0));
        assert_eq!((table.first, table.entries.len()), (2, 3), "the front is dropped");
        table.discard(2u64);
        table.retain(|value| *value != 40);
        assert_eq!((table.first, table.entries.len()), (3, 2), "only the front is dropped");
        assert_eq!(table.get(4u64), None);
        *table.get_mut(3u64).unwrap() += 1;
        // A key past the end fills the gap; one before the start (no counter gives it) too.
        table.insert(7u64, 70);
        table.insert(1u64, 11);
        assert_eq!(table.get(1u64), Some(&11));
        assert_eq!(table.into_values().collect::<Vec<_>>(), [11, 31, 70]);
    }

    #[test]
    fn a_replayed_activity_keeps_no_input_and_a_failing_input_still_fails_the_call() {
        use crate::orchestration::{OrchestrationContext, join, run_orchestrator};
        use crate::proto::history_event::EventType;
        use crate::proto::{ExecutionStartedEvent, ScheduleTaskAction, TaskScheduledEvent};

        let event = |event_id, event_type| HistoryEvent {
            event_id,
            timestamp: None,
            event_type: Some(event_type),
        };
        let request = crate::proto::OrchestratorRequest {
            instance_id: "replayed-input".into(),
            past_events: vec![
                event(-1, EventType::ExecutionStarted(ExecutionStartedEvent::default())),
                event(
                    0,
                    EventType::TaskScheduled(TaskScheduledEvent {
                        name: "A".into(),
                        input: Some("1".into()),
                        ..Default::default()
                    }),
                ),
            ],
            ..Default::default()
        };
        let response = run_orchestrator(&request, |ctx: OrchestrationContext| async move {
            // JSON has no map keys that are pairs: this call fails and takes no id, as when
            // it was first made, though the history schedules the next id.
            let unserializable = HashMap::from([((1u8, 2u8), 3u8)]);
            let failed = ctx.call_activity::<u32, _>("Bad", &unserializable).await.unwrap_err();
            assert_eq!(failed.error_type(), "SerializationError");
            let a = ctx.call_activity::<u32, _>("A", &1);
            let b = ctx.call_activity::<u32, _>("B", &2);
            assert_eq!((a.task_id(), b.task_id()), (Some(0), Some(1)));
            let _ = join(a, b).await;
            Ok(())
        });
        let actions: Vec<_> = response
            .actions
            .iter()
            .map(|a| (a.id, a.orchestrator_action_type.clone()))
            .collect();
        assert_eq!(
            actions,
            [(
                1,
                Some(OrchestratorActionType::ScheduleTask(ScheduleTaskAction {
                    name: "B".into(),
                    input: Some("2".into()),
                    ..Default::default()
                }))
            )]
        );
    }
}
