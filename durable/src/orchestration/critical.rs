//! Critical sections: an orchestration locks a set of entities
//! ([`OrchestrationContext::lock_entities`](super::OrchestrationContext::lock_entities)), calls
//! them while no one else can, and releases them.
//!
//! The protocol and the rules, as the Durable Task SDKs implement them (sources read:
//! Azure/durabletask `DurableTask.Core/Entities/OrchestrationEntityContext.cs`,
//! `Entities/EventFormat/{RequestMessage,ReleaseMessage,ResponseMessage,EntityMessageEventNames}.cs`,
//! `TaskEntityDispatcher.cs`; microsoft/durabletask-dotnet
//! `src/Worker/Core/Shims/TaskOrchestrationEntityContext.cs`, `TaskOrchestrationShim.cs`,
//! `TaskOrchestrationContextWrapper.cs`; Azure/azure-functions-durable-extension
//! `DurableOrchestrationContext.cs` for the in-process rules):
//!
//! - **Lock request**: the entities are sorted and repeats removed (a fixed global order, so
//!   two orchestrations never wait on each other), a deterministic GUID names the request and
//!   the section, and one `op` event goes to the *first* entity with a `RequestMessage` that has
//!   no `op` and a `lockset`. Each entity locks itself for the orchestration and forwards the
//!   request to the next (`pos` + 1); the last answers the orchestration.
//! - **Grant**: an event named by the request GUID carrying `{"result":"Lock Acquisition
//!   Completed"}` (the SDKs ignore the content).
//! - **Release**: one `release` event per locked entity, in lock order, with
//!   `{"parent": <instance id>, "id": <section GUID>}`; an entity unlocks when `parent` holds
//!   its lock. The .NET SDK also releases whatever is still held when the orchestrator ends,
//!   however it ends.
//! - **Rules** (.NET isolated throws `InvalidOperationException`, in-process
//!   `LockingRulesViolationException`): no lock request while a section is open (requested
//!   or granted); in a section, calls only to locked entities, one at a time per entity, and
//!   only once the grant arrived; no signal to a locked entity (signals to other entities are
//!   allowed); no sub-orchestration. Activities, timers and external events are allowed — no
//!   SDK checks them.
//! - The entity-format history events of the newer protocol (`entityLockRequested`,
//!   `entityLockGranted`, `entityUnlockSent`) are what the .NET worker converts the same legacy
//!   messages to and from when the extension asks for it; extension 2.13 sends and expects the
//!   legacy `eventSent` / `eventRaised` form this module uses, as for entity calls.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::entity_id::EntityId;
use super::entity_message::{lock_request_message, release_message};
use super::state::{SectionState, SharedState, SlotFuture, State};
use super::task::TaskFailed;
use crate::proto::TaskFailureDetails;

/// The error type of a broken locking rule.
pub(crate) const LOCKING_RULES_VIOLATION: &str = "LockingRulesViolation";

fn violation(message: String) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: LOCKING_RULES_VIOLATION.into(),
        error_message: message,
        is_non_retriable: true,
        ..Default::default()
    }
}

fn list(entities: &[EntityId]) -> String {
    entities.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
}

/// Checks that a lock request may be made now.
pub(crate) fn check_lock(state: &State, entities: &[EntityId]) -> Result<(), TaskFailureDetails> {
    if entities.is_empty() {
        return Err(violation("lock_entities needs at least one entity to lock".into()));
    }
    match &state.critical_section {
        Some(section) => Err(violation(format!(
            "cannot lock {} while the critical section on {} is open{}: critical sections do not nest; \
             release the first (drop its CriticalSection) before locking again",
            list(entities),
            list(&section.locks),
            if section.acquiring {
                " (its lock request is still pending)"
            } else {
                ""
            }
        ))),
        None => Ok(()),
    }
}

/// Checks that `entity` may be called now.
pub(crate) fn check_call(state: &State, entity: &EntityId, operation: &str) -> Result<(), TaskFailureDetails> {
    let Some(section) = &state.critical_section else {
        return Ok(());
    };
    if section.acquiring {
        return Err(violation(format!(
            "cannot call `{operation}` on `{entity}` before the lock on {} is granted: await lock_entities first",
            list(&section.locks)
        )));
    }
    if !section.locks.contains(entity) {
        return Err(violation(format!(
            "cannot call `{operation}` on `{entity}` in a critical section: it is not one of the locked entities \
             ({})",
            list(&section.locks)
        )));
    }
    if section.calls.iter().any(|(_, busy)| busy == entity) {
        return Err(violation(format!(
            "cannot call `{operation}` on `{entity}` in a critical section while an earlier call to it is still \
             pending: await that call first"
        )));
    }
    Ok(())
}

/// Checks that `entity` may be signaled now.
pub(crate) fn check_signal(state: &State, entity: &EntityId, operation: &str) -> Result<(), TaskFailureDetails> {
    match &state.critical_section {
        Some(section) if section.locks.contains(entity) => Err(violation(format!(
            "cannot signal `{operation}` to `{entity}` in a critical section: it is locked by this orchestration; \
             call it instead, or signal it after the section"
        ))),
        _ => Ok(()),
    }
}

/// Checks that the sub-orchestration `name` may be started now.
pub(crate) fn check_sub_orchestration(state: &State, name: &str) -> Result<(), TaskFailureDetails> {
    match &state.critical_section {
        Some(section) => Err(violation(format!(
            "cannot start sub-orchestration `{name}` while holding the locks on {}: release them first",
            list(&section.locks)
        ))),
        None => Ok(()),
    }
}

/// Records that the call `request_id` to `entity` is in flight (it is locked: [`check_call`]
/// passed).
pub(crate) fn call_started(state: &mut State, request_id: &str, entity: &EntityId) {
    if let Some(section) = &mut state.critical_section {
        section.calls.push((request_id.to_lowercase(), entity.clone()));
    }
}

/// Sends the lock request for `entities` and opens the section; gives the section's id and
/// locks, and the slot the grant goes to.
pub(crate) fn request_locks(state: &mut State, entities: &[EntityId]) -> (String, Vec<EntityId>, u64) {
    let mut locks = entities.to_vec();
    locks.sort();
    locks.dedup();
    let id = state.new_guid().to_lowercase();
    let parent = state.instance_id.clone();
    let message = lock_request_message(&id, &parent, state.execution_id.as_deref(), &locks);
    state.send_event(locks[0].to_string(), "op".into(), Some(message));
    let slot = state.new_slot();
    state.entity_waiters.insert(id.clone(), slot);
    state.critical_section = Some(SectionState {
        id: id.clone(),
        locks: locks.clone(),
        acquiring: true,
        calls: Vec::new(),
    });
    (id, locks, slot)
}

/// Closes the open section, if it is `id` (any open section for `None`), sending a release to
/// each locked entity.
pub(crate) fn release(state: &mut State, id: Option<&str>) {
    if state
        .critical_section
        .as_ref()
        .is_none_or(|s| id.is_some_and(|id| id != s.id))
    {
        return;
    }
    let Some(section) = state.critical_section.take() else {
        return;
    };
    let message = release_message(&state.instance_id, &section.id);
    for entity in &section.locks {
        state.send_event(entity.to_string(), "release".into(), Some(message.clone()));
    }
}

/// The task of a lock request: gives the [`CriticalSection`] once every entity is locked.
///
/// Dropping it before the grant leaves the request standing: the section stays open (no
/// other lock, no entity calls) and is released when the orchestration ends, as in .NET.
#[must_use = "the lock request is sent either way; await it to enter the critical section"]
pub struct LockTask {
    state: SharedState,
    /// The section's id and locks, or why the request was refused.
    request: Result<(String, Vec<EntityId>), Option<TaskFailureDetails>>,
    grant: Option<SlotFuture>,
}

impl fmt::Debug for LockTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("LockTask");
        match &self.request {
            Ok((id, locks)) => debug.field("id", id).field("entities", locks),
            Err(failure) => debug.field("refused", failure),
        };
        debug.finish_non_exhaustive()
    }
}

impl LockTask {
    pub(crate) fn requested(state: SharedState, id: String, locks: Vec<EntityId>, slot: u64) -> Self {
        LockTask {
            grant: Some(SlotFuture::new(state.clone(), slot)),
            state,
            request: Ok((id, locks)),
        }
    }

    pub(crate) fn refused(state: SharedState, failure: TaskFailureDetails) -> Self {
        LockTask {
            state,
            request: Err(Some(failure)),
            grant: None,
        }
    }
}

impl Future for LockTask {
    type Output = Result<CriticalSection, TaskFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (id, locks) = match &mut this.request {
            Ok(request) => request,
            Err(failure) => {
                let failure = failure.take().expect("a lock task was polled after it completed");
                return Poll::Ready(Err(TaskFailed::new("lock_entities", failure)));
            }
        };
        let grant = this.grant.as_mut().expect("a lock task was polled after it completed");
        let outcome = match Pin::new(grant).poll(cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => return Poll::Pending,
        };
        this.grant = None;
        Poll::Ready(match outcome {
            // The grant's content carries nothing (the SDKs ignore it).
            Ok(_) => Ok(CriticalSection {
                state: this.state.clone(),
                id: std::mem::take(id),
                locks: std::mem::take(locks),
                released: false,
            }),
            Err(failure) => Err(TaskFailed::new("lock_entities", failure)),
        })
    }
}

/// Locks held on a set of entities: while it lives, no other orchestration or client can run
/// operations on them, and this orchestration may call them (one call at a time per entity).
///
/// Dropping it releases every lock (a `release` message to each entity, in lock order, at the
/// same point on every replay); so does [`release`](Self::release), which says so in the code.
/// Locks still held when the orchestrator returns, fails or panics are released too. An episode
/// that ends while the orchestrator waits inside the section keeps the locks.
///
/// ```
/// use azfn::durable::orchestration::{EntityId, OrchestrationContext};
///
/// async fn transfer(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
///     let (from, to) = (EntityId::new("account", "alice"), EntityId::new("account", "bob"));
///     let section = ctx.lock_entities(&[from.clone(), to.clone()]).await?;
///     assert!(section.is_locked(&from));
///     let balance: i64 = ctx.call_entity(&from, "get", &()).await?;
///     if balance >= 10 {
///         ctx.call_entity::<(), _>(&from, "add", &-10).await?;
///         ctx.call_entity::<(), _>(&to, "add", &10).await?;
///     }
///     section.release();
///     Ok(())
/// }
/// ```
pub struct CriticalSection {
    state: SharedState,
    id: String,
    locks: Vec<EntityId>,
    released: bool,
}

impl fmt::Debug for CriticalSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CriticalSection")
            .field("id", &self.id)
            .field("entities", &self.locks)
            .finish_non_exhaustive()
    }
}

impl CriticalSection {
    /// The section's id: the GUID of its lock request, which the entities record as the lock's.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The locked entities, in lock order (sorted by name, then key; each once).
    pub fn entities(&self) -> &[EntityId] {
        &self.locks
    }

    /// Whether `entity` is one of the locked entities.
    pub fn is_locked(&self, entity: &EntityId) -> bool {
        self.locks.contains(entity)
    }

    /// Releases the locks now (what dropping the section does).
    pub fn release(mut self) {
        self.release_locks();
    }

    fn release_locks(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let mut state = self.state.lock();
        // The engine dropping a waiting orchestrator at the end of an episode is not the
        // orchestrator leaving the section.
        if !state.ending_episode {
            release(&mut state, Some(&self.id));
        }
    }
}

impl Drop for CriticalSection {
    fn drop(&mut self) {
        self.release_locks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::orchestrator_action::OrchestratorActionType;

    fn account(key: &str) -> EntityId {
        EntityId::new("account", key)
    }

    fn sent(state: &State) -> Vec<(i32, String, String)> {
        let mut sent: Vec<_> = state
            .pending_actions
            .values()
            .map(|action| match &action.orchestrator_action_type {
                Some(OrchestratorActionType::SendEvent(e)) => (
                    action.id,
                    e.instance.as_ref().unwrap().instance_id.clone(),
                    e.name.clone(),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        sent.sort();
        sent
    }

    #[test]
    fn a_request_sorts_the_set_and_opens_the_section_until_the_release() {
        let mut state = State::new("inst".into(), None, None);
        let (id, locks, _) = request_locks(&mut state, &[account("b"), account("a"), account("b")]);
        assert_eq!(locks, [account("a"), account("b")]);
        assert_eq!(sent(&state), [(0, "@account@a".into(), "op".into())]);
        assert!(check_lock(&state, &[account("c")]).is_err());
        // Before the grant no call goes through, even to a locked entity.
        assert!(check_call(&state, &account("a"), "get").is_err());
        state.critical_section.as_mut().unwrap().response_arrived(&id);
        assert!(check_call(&state, &account("a"), "get").is_ok());
        // A release for another section changes nothing; the section's own closes it.
        release(&mut state, Some("another"));
        assert!(state.critical_section.is_some());
        release(&mut state, Some(&id));
        assert!(state.critical_section.is_none());
        assert_eq!(
            sent(&state),
            [
                (0, "@account@a".into(), "op".into()),
                (1, "@account@a".into(), "release".into()),
                (2, "@account@b".into(), "release".into()),
            ]
        );
        assert!(check_lock(&state, &[account("c")]).is_ok());
    }

    #[test]
    fn a_call_holds_its_entity_until_the_answer() {
        let mut state = State::new("inst".into(), None, None);
        let (id, _, _) = request_locks(&mut state, &[account("a")]);
        state.critical_section.as_mut().unwrap().response_arrived(&id);
        call_started(&mut state, "R1", &account("a"));
        let busy = check_call(&state, &account("a"), "get").unwrap_err();
        assert_eq!(busy.error_type, LOCKING_RULES_VIOLATION);
        assert!(busy.error_message.contains("still pending"), "{}", busy.error_message);
        state.critical_section.as_mut().unwrap().response_arrived("r1");
        assert!(check_call(&state, &account("a"), "get").is_ok());
    }

    #[test]
    fn outside_a_section_everything_is_allowed() {
        let state = State::new("inst".into(), None, None);
        assert!(check_call(&state, &account("a"), "get").is_ok());
        assert!(check_signal(&state, &account("a"), "add").is_ok());
        assert!(check_sub_orchestration(&state, "Child").is_ok());
        assert!(check_lock(&state, &[]).is_err());
    }
}
