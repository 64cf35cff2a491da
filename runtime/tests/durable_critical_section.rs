//! Golden tests of critical sections (`lock_entities`): each builds the `OrchestratorRequest`
//! the Durable extension would send — the lock request acknowledged as an `eventSent`, the
//! grant and the entities' answers as `eventRaised` — runs an orchestrator over it and compares
//! the whole `OrchestratorResponse` (lock request, calls, releases, completion) with the
//! expected one; then the locking rules the .NET SDK enforces.
#![cfg(feature = "durable")]

use azfn::durable::orchestration::{CriticalSection, EntityId, OrchestrationContext, encode_response};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::*;
use azfn::durable::proto::{OrchestrationStatus, TaskFailureDetails};
use azfn::grpc::wkt::Timestamp;

#[path = "support/orchestration.rs"]
mod support;
use support::*;

const GRANT: &str = r#"{"result":"Lock Acquisition Completed"}"#;
/// The first deterministic GUID of `inst` at T0: the first lock request's id in each test.
const G0: &str = "64c9f67f-1aa1-5514-98a0-a51b2822a4ec";

fn account(key: &str) -> EntityId {
    EntityId::new("account", key)
}

fn lock_request(id: &str, keys: &[&str]) -> String {
    let lockset: Vec<String> = keys
        .iter()
        .map(|k| format!(r#"{{"name":"account","key":"{k}"}}"#))
        .collect();
    format!(
        r#"{{"id":"{id}","parent":"inst","parentExecution":"exec-1","lockset":[{}]}}"#,
        lockset.join(",")
    )
}

fn call(operation: &str, input: Option<&str>, id: &str) -> String {
    let input = input
        .map(|i| format!(r#","input":{}"#, serde_json::to_string(i).unwrap()))
        .unwrap_or_default();
    format!(r#"{{"op":"{operation}"{input},"id":"{id}","parent":"inst","parentExecution":"exec-1"}}"#)
}

fn release(id: &str) -> String {
    format!(r#"{{"parent":"inst","id":"{id}"}}"#)
}

fn locking_failure(details: &TaskFailureDetails) -> &str {
    assert_eq!(details.error_type, "LockingRulesViolation", "{details:?}");
    &details.error_message
}

/// The first episode's history (the lock request of `keys` acknowledged) and the second
/// episode's events (the grant): the orchestrator then runs in its critical section.
fn granted(name: &str, keys: &[&str]) -> (Vec<HistoryEvent>, Vec<HistoryEvent>) {
    let past = vec![
        orchestrator_started(T0),
        execution_started(name, None),
        event_sent(0, T0, &format!("@account@{}", keys[0]), "op", &lock_request(G0, keys)),
        orchestrator_completed(T0),
    ];
    let new = vec![orchestrator_started(T0 + 1), event_raised(T0 + 1, G0, Some(GRANT))];
    (past, new)
}

// ----- a transfer, episode by episode -----

/// Moves `amount` from one account to another under a lock on both, refusing when the
/// balance is short. The locks are asked in the order (to, from); they go out sorted.
async fn transfer(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let (from, to, amount): (String, String, i64) = ctx.input()?;
    let (from, to) = (account(&from), account(&to));
    let section = ctx.lock_entities(&[to.clone(), from.clone()]).await?;
    assert!(section.is_locked(&from) && section.is_locked(&to) && ctx.in_critical_section());
    let balance: i64 = ctx.call_entity(&from, "get", &()).await?;
    if balance < amount {
        return Ok("refused".into());
    }
    ctx.call_entity::<i64, _>(&from, "add", &-amount).await?;
    ctx.call_entity::<i64, _>(&to, "add", &amount).await?;
    section.release();
    assert!(!ctx.in_critical_section());
    Ok("done".into())
}

#[test]
fn a_transfer_locks_both_accounts_calls_them_and_releases_them() {
    const INPUT: &str = r#"["bob","alice",10]"#;
    // The GUIDs of the calls: counters 1, 2, 3 at the time of the episode that made them.
    const G1: &str = "a5748dda-2ba0-5212-b5c6-85e02c0411f1";
    const G2: &str = "1e963b1e-8a3c-577a-839b-ae4f0b7e6e7a";
    const G3: &str = "5c49a1f6-fd48-5672-90aa-92a506179a5b";
    let mut history = vec![orchestrator_started(T0), execution_started("transfer", Some(INPUT))];

    // Episode 1: the lock request goes to the first entity in sorted order, alice.
    let answer = run(vec![], history.clone(), transfer);
    let lock = lock_request(G0, &["alice", "bob"]);
    assert_eq!(
        answer,
        response(vec![send_event(0, "@account@alice", "op", &lock)], None)
    );
    assert_eq!(
        lock,
        r#"{"id":"64c9f67f-1aa1-5514-98a0-a51b2822a4ec","parent":"inst","parentExecution":"exec-1","lockset":[{"name":"account","key":"alice"},{"name":"account","key":"bob"}]}"#
    );
    history.extend([
        event_sent(0, T0, "@account@alice", "op", &lock),
        orchestrator_completed(T0),
    ]);

    // Episode 2: the grant (from bob, the last of the set) opens the section; the first call
    // goes out. The orchestrator waits inside the section: nothing is released.
    let new = vec![orchestrator_started(T0 + 1), event_raised(T0 + 1, G0, Some(GRANT))];
    let answer = run(history.clone(), new.clone(), transfer);
    let get = call("get", None, G1);
    assert_eq!(answer, response(vec![send_event(1, "@account@bob", "op", &get)], None));
    history.extend(new);
    history.extend([
        event_sent(1, T0 + 1, "@account@bob", "op", &get),
        orchestrator_completed(T0 + 1),
    ]);

    // Episode 3: the balance is enough; bob is debited.
    let new = vec![
        orchestrator_started(T0 + 2),
        event_raised(T0 + 2, G1, Some(r#"{"result":"25"}"#)),
    ];
    let answer = run(history.clone(), new.clone(), transfer);
    let debit = call("add", Some("-10"), G2);
    assert_eq!(
        answer,
        response(vec![send_event(2, "@account@bob", "op", &debit)], None)
    );
    history.extend(new);
    history.extend([
        event_sent(2, T0 + 2, "@account@bob", "op", &debit),
        orchestrator_completed(T0 + 2),
    ]);

    // Episode 4: alice is credited.
    let new = vec![
        orchestrator_started(T0 + 3),
        event_raised(T0 + 3, G2, Some(r#"{"result":"15"}"#)),
    ];
    let answer = run(history.clone(), new.clone(), transfer);
    let credit = call("add", Some("10"), G3);
    assert_eq!(
        answer,
        response(vec![send_event(3, "@account@alice", "op", &credit)], None)
    );
    history.extend(new);
    history.extend([
        event_sent(3, T0 + 3, "@account@alice", "op", &credit),
        orchestrator_completed(T0 + 3),
    ]);

    // Episode 5: the section is released — one `release` per entity, in lock order — and the
    // orchestration completes.
    let new = vec![
        orchestrator_started(T0 + 4),
        event_raised(T0 + 4, G3, Some(r#"{"result":"35"}"#)),
    ];
    let answer = run(history.clone(), new.clone(), transfer);
    let expected = response(
        vec![
            send_event(4, "@account@alice", "release", &release(G0)),
            send_event(5, "@account@bob", "release", &release(G0)),
            completed(6, Some("\"done\"")),
        ],
        None,
    );
    assert_eq!(answer, expected);
    assert_eq!(
        encode_response(&answer),
        "CgRpbnN0EmAIBCpcChAKDkBhY2NvdW50QGFsaWNlEgdyZWxlYXNlGj8KPXsicGFyZW50IjoiaW5zdCIsImlkIjoiNjRjOWY2N2YtMWFhMS01NTE0LTk4YTAtYTUxYjI4MjJhNGVjIn0SXggFKloKDgoMQGFjY291bnRAYm9iEgdyZWxlYXNlGj8KPXsicGFyZW50IjoiaW5zdCIsImlkIjoiNjRjOWY2N2YtMWFhMS01NTE0LTk4YTAtYTUxYjI4MjJhNGVjIn0SEAgGMgwIARIICgYiZG9uZSI="
    );
    history.extend(new);

    // The releases acknowledged: the same history replays to the same end.
    history.extend([
        event_sent(4, T0 + 4, "@account@alice", "release", &release(G0)),
        event_sent(5, T0 + 4, "@account@bob", "release", &release(G0)),
    ]);
    let answer = run(history, vec![], transfer);
    assert_eq!(answer, response(vec![completed(6, Some("\"done\""))], None));
}

#[test]
fn a_history_that_locked_other_entities_is_non_deterministic() {
    let past = vec![
        orchestrator_started(T0),
        execution_started("transfer", Some(r#"["bob","alice",10]"#)),
        event_sent(0, T0, "@account@carol", "op", &lock_request(G0, &["carol"])),
    ];
    let answer = run(past, vec![], transfer);
    let done = completion(&answer);
    assert_eq!(done.orchestration_status, OrchestrationStatus::Failed as i32);
    let details = done.failure_details.as_ref().unwrap();
    assert_eq!(details.error_type, "NonDeterministicOrchestration");
    assert!(
        details.error_message.contains("@account@alice"),
        "{}",
        details.error_message
    );
}

#[test]
fn lock_sets_are_sorted_and_without_repeats() {
    async fn locker(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
        let section = ctx
            .lock_entities(&[
                account("b"),
                EntityId::new("Account", "a"),
                account("b"),
                EntityId::new("audit", "a"),
            ])
            .await?;
        Ok(section.entities().iter().map(ToString::to_string).collect())
    }
    let answer = run(
        vec![orchestrator_started(T0), execution_started("locker", None)],
        vec![],
        locker,
    );
    let lockset = r#"{"id":"64c9f67f-1aa1-5514-98a0-a51b2822a4ec","parent":"inst","parentExecution":"exec-1","lockset":[{"name":"account","key":"a"},{"name":"account","key":"b"},{"name":"audit","key":"a"}]}"#;
    assert_eq!(answer, response(vec![send_event(0, "@account@a", "op", lockset)], None));
}

// ----- the locking rules -----

#[test]
fn a_second_lock_inside_a_section_fails_and_a_new_section_may_follow_the_release() {
    async fn nested(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let section = ctx.lock_entities(&[account("a")]).await?;
        let error = ctx.lock_entities(&[account("b")]).await.unwrap_err();
        ctx.set_custom_status(&locking_failure(error.details()))?;
        drop(section);
        let again: CriticalSection = ctx.lock_entities(&[account("b")]).await?;
        again.release();
        Ok(())
    }
    let (past, new) = granted("nested", &["a"]);
    let answer = run(past, new, nested);
    let status = "cannot lock `@account@b` while the critical section on `@account@a` is open: critical sections \
                  do not nest; release the first (drop its CriticalSection) before locking again";
    assert_eq!(
        answer,
        response(
            vec![
                send_event(1, "@account@a", "release", &release(G0)),
                send_event(
                    2,
                    "@account@b",
                    "op",
                    &lock_request("a5748dda-2ba0-5212-b5c6-85e02c0411f1", &["b"])
                ),
            ],
            Some(&serde_json::to_string(status).unwrap())
        )
    );
}

#[test]
fn calls_in_a_section_go_only_to_locked_entities_one_at_a_time() {
    async fn picky(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let _section = ctx.lock_entities(&[account("a"), account("b")]).await?;
        let stranger = ctx.call_entity::<i64, _>(&account("c"), "get", &()).await.unwrap_err();
        let first = ctx.call_entity::<i64, _>(&account("a"), "get", &());
        let second = ctx.call_entity::<i64, _>(&account("a"), "get", &()).await.unwrap_err();
        let other = ctx.call_entity::<i64, _>(&account("b"), "get", &());
        let messages = [stranger.details(), second.details()].map(|d| locking_failure(d).to_owned());
        ctx.set_custom_status(&messages)?;
        first.await?;
        other.await?;
        Ok(())
    }
    let (past, new) = granted("picky", &["a", "b"]);
    let answer = run(past, new, picky);
    // The refused calls send nothing and take no id.
    let ids: Vec<(i32, String)> = answer
        .actions
        .iter()
        .map(|a| match &a.orchestrator_action_type {
            Some(OrchestratorActionType::SendEvent(e)) => (a.id, e.instance.as_ref().unwrap().instance_id.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [(1, "@account@a".to_owned()), (2, "@account@b".to_owned())]);
    let status: Vec<String> = serde_json::from_str(&answer.custom_status.unwrap().value).unwrap();
    assert_eq!(
        status,
        [
            "cannot call `get` on `@account@c` in a critical section: it is not one of the locked entities \
             (`@account@a`, `@account@b`)",
            "cannot call `get` on `@account@a` in a critical section while an earlier call to it is still pending: \
             await that call first",
        ]
    );
}

#[test]
fn an_entity_is_available_again_once_its_call_answered() {
    async fn twice(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
        let _section = ctx.lock_entities(&[account("a")]).await?;
        let first = ctx.call_entity::<i64, _>(&account("a"), "get", &());
        // The task is dropped unawaited: the answer still frees the entity, as in .NET.
        drop(first);
        ctx.create_timer_after(std::time::Duration::from_secs(60)).await;
        Ok(ctx.call_entity(&account("a"), "get", &()).await?)
    }
    let (mut past, new) = granted("twice", &["a"]);
    past.extend(new);
    let g1 = "a5748dda-2ba0-5212-b5c6-85e02c0411f1";
    past.extend([
        event_sent(1, T0 + 1, "@account@a", "op", &call("get", None, g1)),
        event(
            2,
            T0 + 1,
            EventType::TimerCreated(TimerCreatedEvent {
                fire_at: Some(Timestamp {
                    seconds: T0 + 61,
                    nanos: 0,
                }),
            }),
        ),
        orchestrator_completed(T0 + 1),
    ]);
    let new = vec![
        orchestrator_started(T0 + 61),
        event_raised(T0 + 61, g1, Some(r#"{"result":"1"}"#)),
        event(
            -1,
            T0 + 61,
            EventType::TimerFired(TimerFiredEvent {
                fire_at: Some(Timestamp {
                    seconds: T0 + 61,
                    nanos: 0,
                }),
                timer_id: 2,
            }),
        ),
    ];
    let answer = run(past, new, twice);
    assert_eq!(answer.actions.len(), 1, "{answer:?}");
    let Some(OrchestratorActionType::SendEvent(sent)) = &answer.actions[0].orchestrator_action_type else {
        panic!("{answer:?}")
    };
    assert_eq!((answer.actions[0].id, sent.name.as_str()), (3, "op"));
}

#[test]
fn calls_before_the_grant_fail_and_a_section_left_open_is_released_at_the_end() {
    async fn hasty(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
        // The lock task is dropped before the grant: the request stands, the section is open.
        drop(ctx.lock_entities(&[account("b"), account("a")]));
        assert!(ctx.in_critical_section());
        let early = ctx.call_entity::<i64, _>(&account("a"), "get", &()).await.unwrap_err();
        Ok(locking_failure(early.details()).to_owned())
    }
    let answer = run(
        vec![orchestrator_started(T0), execution_started("hasty", None)],
        vec![],
        hasty,
    );
    assert_eq!(
        answer,
        response(
            vec![
                send_event(0, "@account@a", "op", &lock_request(G0, &["a", "b"])),
                send_event(1, "@account@a", "release", &release(G0)),
                send_event(2, "@account@b", "release", &release(G0)),
                completed(
                    3,
                    Some(
                        r#""cannot call `get` on `@account@a` before the lock on `@account@a`, `@account@b` is granted: await lock_entities first""#
                    )
                ),
            ],
            None
        )
    );
}

#[test]
fn signaling_a_locked_entity_fails_the_orchestration_after_releasing_the_locks() {
    async fn signaler(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let _section = ctx.lock_entities(&[account("a")]).await?;
        // Other entities may be signaled in a section; locked ones may not.
        ctx.signal_entity(&account("z"), "add", &1)?;
        ctx.signal_entity(&account("a"), "add", &1)?;
        ctx.call_activity::<(), _>("NeverScheduled", &()).await?;
        Ok(())
    }
    let (past, new) = granted("signaler", &["a"]);
    let answer = run(past, new, signaler);
    let g1 = "a5748dda-2ba0-5212-b5c6-85e02c0411f1";
    let signal = format!(r#"{{"op":"add","signal":true,"input":"1","id":"{g1}"}}"#);
    assert_eq!(
        answer,
        response(
            vec![
                send_event(1, "@account@z", "op", &signal),
                send_event(2, "@account@a", "release", &release(G0)),
                failed(
                    3,
                    TaskFailureDetails {
                        error_type: "LockingRulesViolation".into(),
                        error_message: "cannot signal `add` to `@account@a` in a critical section: it is locked by \
                                        this orchestration; call it instead, or signal it after the section"
                            .into(),
                        is_non_retriable: true,
                        ..Default::default()
                    }
                ),
            ],
            None
        )
    );
}

#[test]
fn sub_orchestrations_are_refused_in_a_section_and_activities_allowed() {
    async fn mixed(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let _section = ctx.lock_entities(&[account("a")]).await?;
        let refused = ctx.call_sub_orchestrator::<(), _>("Child", &()).await.unwrap_err();
        ctx.set_custom_status(&locking_failure(refused.details()))?;
        ctx.call_activity::<(), _>("Audit", &()).await?;
        Ok(())
    }
    let (past, new) = granted("mixed", &["a"]);
    let answer = run(past, new, mixed);
    let status =
        r#""cannot start sub-orchestration `Child` while holding the locks on `@account@a`: release them first""#;
    assert_eq!(answer, response(vec![schedule(1, "Audit", None)], Some(status)));

    // The activity finishes, the orchestrator returns inside the section: the lock is released
    // before the completion.
    let (mut past, new) = granted("mixed", &["a"]);
    past.extend(new);
    past.extend([task_scheduled(1, T0 + 1, "Audit", None), orchestrator_completed(T0 + 1)]);
    let answer = run(
        past,
        vec![orchestrator_started(T0 + 2), task_completed(1, T0 + 2, None)],
        mixed,
    );
    assert_eq!(
        answer,
        response(
            vec![send_event(2, "@account@a", "release", &release(G0)), completed(3, None)],
            Some(status)
        )
    );
}

#[test]
fn a_panic_in_a_section_releases_the_locks() {
    async fn crash(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let _section = ctx.lock_entities(&[account("a")]).await?;
        panic!("out of cheese");
    }
    let (past, new) = granted("crash", &["a"]);
    let answer = run(past, new, crash);
    assert_eq!(answer.actions[0], send_event(1, "@account@a", "release", &release(G0)));
    let done = completion(&answer);
    assert_eq!(answer.actions.len(), 2);
    assert_eq!(done.failure_details.as_ref().unwrap().error_type, "Panic");
}

#[test]
fn an_empty_lock_set_is_refused() {
    async fn empty(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let error = ctx.lock_entities(&[]).await.unwrap_err();
        assert_eq!(
            locking_failure(error.details()),
            "lock_entities needs at least one entity to lock"
        );
        assert!(!ctx.in_critical_section());
        Ok(())
    }
    let answer = run(
        vec![orchestrator_started(T0), execution_started("empty", None)],
        vec![],
        empty,
    );
    assert_eq!(answer, response(vec![completed(0, None)], None));
}

#[test]
fn continuing_as_new_inside_a_section_releases_the_locks_first() {
    async fn restart(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let _section = ctx.lock_entities(&[account("a")]).await?;
        ctx.continue_as_new(&1)?;
        Ok(())
    }
    let (past, new) = granted("restart", &["a"]);
    let answer = run(past, new, restart);
    assert_eq!(answer.actions[0], send_event(1, "@account@a", "release", &release(G0)));
    assert_eq!(answer.actions.len(), 2);
    assert_eq!(
        completion(&answer).orchestration_status,
        OrchestrationStatus::ContinuedAsNew as i32
    );
}
