//! Golden tests of the orchestration engine: each builds the `OrchestratorRequest` the Durable
//! extension would send (real-shaped history, base64 as the host carries it), runs an
//! orchestrator over it, and compares the whole `OrchestratorResponse` with the expected one.
#![cfg(feature = "durable")]

use std::time::Duration;

use azfn::durable::orchestration::{
    DurableHttpRequest, Either, EntityId, OrchestrationContext, RetryPolicy, SubOrchestratorOptions, TaskFailed,
    TokenSource, select, when_all, when_any,
};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::*;
use azfn::durable::proto::{OrchestrationStatus, TaskFailureDetails};

#[path = "support/orchestration.rs"]
mod support;
use support::*;

// ----- orchestrators -----

async fn hello_sequence(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
    let mut out = Vec::new();
    for city in ["Tokyo", "Seattle", "London"] {
        out.push(ctx.call_activity::<String, _>("SayHello", city).await?);
    }
    Ok(out)
}

#[test]
fn sequential_activities_across_episodes() {
    // Episode 1: just started.
    let first = run(
        vec![],
        vec![orchestrator_started(T0), execution_started("Hello", None)],
        hello_sequence,
    );
    assert_eq!(first, response(vec![schedule(0, "SayHello", Some("\"Tokyo\""))], None));

    // Episode 2: the first activity completed.
    let past = vec![
        orchestrator_started(T0),
        execution_started("Hello", None),
        task_scheduled(0, T0, "SayHello", Some("\"Tokyo\"")),
        orchestrator_completed(T0),
    ];
    let new = vec![
        orchestrator_started(T0 + 1),
        task_completed(0, T0 + 1, Some("\"Hello Tokyo\"")),
    ];
    let second = run(past.clone(), new.clone(), hello_sequence);
    assert_eq!(
        second,
        response(vec![schedule(1, "SayHello", Some("\"Seattle\""))], None)
    );

    // Episode 4: everything in the history; only the completion is new.
    let mut past = [past, new].concat();
    past.extend([
        task_scheduled(1, T0 + 1, "SayHello", Some("\"Seattle\"")),
        orchestrator_completed(T0 + 1),
        orchestrator_started(T0 + 2),
        task_completed(1, T0 + 2, Some("\"Hello Seattle\"")),
        task_scheduled(2, T0 + 2, "SayHello", Some("\"London\"")),
        orchestrator_completed(T0 + 2),
    ]);
    let new = vec![
        orchestrator_started(T0 + 3),
        task_completed(2, T0 + 3, Some("\"Hello London\"")),
    ];
    let last = run(past, new, hello_sequence);
    assert_eq!(
        last,
        response(
            vec![completed(3, Some(r#"["Hello Tokyo","Hello Seattle","Hello London"]"#))],
            None
        )
    );
}

async fn fan_out(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let files: Vec<String> = ctx.input()?;
    let sizes = when_all(files.iter().map(|f| ctx.call_activity::<u64, _>("Size", f))).await;
    let mut total = 0;
    for size in sizes {
        total += size?;
    }
    Ok(total)
}

#[test]
fn fan_out_fan_in() {
    let start = vec![
        orchestrator_started(T0),
        execution_started("FanOut", Some(r#"["a","b","c"]"#)),
    ];
    let first = run(vec![], start.clone(), fan_out);
    assert_eq!(
        first,
        response(
            vec![
                schedule(0, "Size", Some("\"a\"")),
                schedule(1, "Size", Some("\"b\"")),
                schedule(2, "Size", Some("\"c\"")),
            ],
            None
        )
    );

    let mut past = start;
    past.extend([
        task_scheduled(0, T0, "Size", Some("\"a\"")),
        task_scheduled(1, T0, "Size", Some("\"b\"")),
        task_scheduled(2, T0, "Size", Some("\"c\"")),
        orchestrator_completed(T0),
    ]);
    // Two of three done, out of order: still waiting, nothing new.
    let partial = vec![
        orchestrator_started(T0 + 5),
        task_completed(2, T0 + 5, Some("30")),
        task_completed(0, T0 + 5, Some("10")),
    ];
    assert_eq!(run(past.clone(), partial.clone(), fan_out), response(vec![], None));

    past.extend(partial);
    past.push(orchestrator_completed(T0 + 5));
    let last = run(
        past,
        vec![orchestrator_started(T0 + 6), task_completed(1, T0 + 6, Some("20"))],
        fan_out,
    );
    assert_eq!(last, response(vec![completed(3, Some("60"))], None));
}

async fn flaky(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let policy = RetryPolicy::new(2, Duration::from_secs(5));
    Ok(ctx.call_activity_with_retry("Flaky", &(), policy).await?)
}

#[test]
fn activity_retry_fail_timer_retry_succeed() {
    let boom = failure("IOError", "disk on fire");
    let mut history = vec![
        orchestrator_started(T0),
        execution_started("Flaky", None),
        task_scheduled(0, T0, "Flaky", None),
        orchestrator_completed(T0),
    ];
    assert_eq!(
        run(vec![], history[..2].to_vec(), flaky),
        response(vec![schedule(0, "Flaky", None)], None)
    );

    // Attempt 1 fails at T0+10: a 5 s back-off timer from the orchestration's now.
    let fail = vec![orchestrator_started(T0 + 10), task_failed(0, T0 + 10, boom.clone())];
    assert_eq!(
        run(history.clone(), fail.clone(), flaky),
        response(vec![create_timer(1, T0 + 15)], None)
    );
    history.extend(fail);
    history.extend([timer_created(1, T0 + 10, T0 + 15), orchestrator_completed(T0 + 10)]);

    // The timer fires: attempt 2 gets a new id.
    let fire = vec![orchestrator_started(T0 + 15), timer_fired(1, T0 + 15)];
    assert_eq!(
        run(history.clone(), fire.clone(), flaky),
        response(vec![schedule(2, "Flaky", None)], None)
    );
    history.extend(fire);
    history.extend([
        task_scheduled(2, T0 + 15, "Flaky", None),
        orchestrator_completed(T0 + 15),
    ]);

    // Attempt 2 succeeds.
    let ok = vec![
        orchestrator_started(T0 + 16),
        task_completed(2, T0 + 16, Some("\"done\"")),
    ];
    assert_eq!(
        run(history.clone(), ok, flaky),
        response(vec![completed(3, Some("\"done\""))], None)
    );

    // Attempt 2 fails too: attempts are exhausted, the orchestration fails with its details.
    let again = vec![orchestrator_started(T0 + 16), task_failed(2, T0 + 16, boom.clone())];
    let out = run(history, again, flaky);
    assert_eq!(out.actions.len(), 1);
    let done = completion(&out);
    assert_eq!(out.actions[0].id, 3);
    assert_eq!(done.orchestration_status, OrchestrationStatus::Failed as i32);
    let details = done.failure_details.as_ref().unwrap();
    assert_eq!(details.error_type, "TaskFailed");
    assert_eq!(details.error_message, "task `Flaky` failed: IOError: disk on fire");
    assert_eq!(details.inner_failure.as_deref(), Some(&boom));
}

#[test]
fn non_retriable_failures_are_not_retried() {
    let fatal = TaskFailureDetails {
        is_non_retriable: true,
        ..failure("Fatal", "no")
    };
    let past = vec![
        orchestrator_started(T0),
        execution_started("Flaky", None),
        task_scheduled(0, T0, "Flaky", None),
        orchestrator_completed(T0),
    ];
    let out = run(
        past,
        vec![orchestrator_started(T0 + 1), task_failed(0, T0 + 1, fatal)],
        flaky,
    );
    assert_eq!(
        completion(&out).orchestration_status,
        OrchestrationStatus::Failed as i32
    );
    assert_eq!(out.actions.len(), 1);
}

async fn parent(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let a: String = ctx.call_sub_orchestrator("Child", &1).await?;
    let options = SubOrchestratorOptions::new().instance_id("custom-child");
    let b: String = ctx.call_sub_orchestrator_with_options("Child", &2, options).await?;
    Ok(format!("{a}+{b}"))
}

#[test]
fn sub_orchestrations_with_default_and_explicit_ids() {
    let mut history = vec![orchestrator_started(T0), execution_started("Parent", None)];
    assert_eq!(
        run(vec![], history.clone(), parent),
        response(vec![create_sub(0, "Child", "inst:0000", Some("1"))], None)
    );
    history.extend([sub_created(0, T0, "Child", "inst:0000"), orchestrator_completed(T0)]);
    let done = vec![orchestrator_started(T0 + 1), sub_completed(0, T0 + 1, "\"one\"")];
    assert_eq!(
        run(history.clone(), done.clone(), parent),
        response(vec![create_sub(1, "Child", "custom-child", Some("2"))], None)
    );
    history.extend(done);
    history.extend([
        sub_created(1, T0 + 1, "Child", "custom-child"),
        orchestrator_completed(T0 + 1),
    ]);
    let ok = run(
        history.clone(),
        vec![orchestrator_started(T0 + 2), sub_completed(1, T0 + 2, "\"two\"")],
        parent,
    );
    assert_eq!(ok, response(vec![completed(2, Some("\"one+two\""))], None));

    let child_failure = failure("TaskFailed", "child broke");
    let out = run(
        history,
        vec![
            orchestrator_started(T0 + 2),
            sub_failed(1, T0 + 2, child_failure.clone()),
        ],
        parent,
    );
    let details = completion(&out).failure_details.clone().unwrap();
    assert_eq!(details.inner_failure.as_deref(), Some(&child_failure));
}

#[test]
fn sub_orchestration_with_retry_keeps_its_instance_id() {
    async fn retried(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
        let options = SubOrchestratorOptions::new().retry(RetryPolicy::new(3, Duration::from_secs(60)));
        Ok(ctx.call_sub_orchestrator_with_options("Child", &(), options).await?)
    }
    let mut history = vec![
        orchestrator_started(T0),
        execution_started("Parent", None),
        sub_created(0, T0, "Child", "inst:0000"),
        orchestrator_completed(T0),
        orchestrator_started(T0 + 1),
        sub_failed(0, T0 + 1, failure("E", "first")),
        timer_created(1, T0 + 1, T0 + 61),
        orchestrator_completed(T0 + 1),
    ];
    let fire = vec![orchestrator_started(T0 + 61), timer_fired(1, T0 + 61)];
    assert_eq!(
        run(history.clone(), fire.clone(), retried),
        response(vec![create_sub(2, "Child", "inst:0000", None)], None)
    );
    history.extend(fire);
    history.extend([
        sub_created(2, T0 + 61, "Child", "inst:0000"),
        orchestrator_completed(T0 + 61),
    ]);
    let out = run(
        history,
        vec![orchestrator_started(T0 + 62), sub_completed(2, T0 + 62, "7")],
        retried,
    );
    assert_eq!(out, response(vec![completed(3, Some("7"))], None));
}

async fn sleepy(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let before = ctx.current_utc_time();
    ctx.create_timer_after(Duration::from_secs(3600)).await;
    let slept = ctx.current_utc_time().duration_since(before).unwrap();
    Ok(slept.as_secs())
}

#[test]
fn timers_fire_and_time_moves_with_the_episodes() {
    let start = vec![orchestrator_started(T0), execution_started("Sleepy", None)];
    assert_eq!(
        run(vec![], start.clone(), sleepy),
        response(vec![create_timer(0, T0 + 3600)], None)
    );
    let mut past = start;
    past.extend([timer_created(0, T0, T0 + 3600), orchestrator_completed(T0)]);
    let out = run(
        past,
        vec![orchestrator_started(T0 + 3601), timer_fired(0, T0 + 3600)],
        sleepy,
    );
    assert_eq!(out, response(vec![completed(1, Some("3601"))], None));
}

#[test]
fn long_timers_are_split_into_three_day_timers() {
    async fn week(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        ctx.create_timer_after(Duration::from_secs(7 * 86_400)).await;
        Ok(())
    }
    let day = 86_400;
    let mut history = vec![orchestrator_started(T0), execution_started("Week", None)];
    assert_eq!(
        run(vec![], history.clone(), week),
        response(vec![create_timer(0, T0 + 3 * day)], None)
    );
    history.extend([timer_created(0, T0, T0 + 3 * day), orchestrator_completed(T0)]);
    let fire = vec![orchestrator_started(T0 + 3 * day), timer_fired(0, T0 + 3 * day)];
    assert_eq!(
        run(history.clone(), fire.clone(), week),
        response(vec![create_timer(1, T0 + 6 * day)], None)
    );
    history.extend(fire);
    history.extend([
        timer_created(1, T0 + 3 * day, T0 + 6 * day),
        orchestrator_completed(T0 + 3 * day),
    ]);
    let fire = vec![orchestrator_started(T0 + 6 * day), timer_fired(1, T0 + 6 * day)];
    assert_eq!(
        run(history.clone(), fire.clone(), week),
        response(vec![create_timer(2, T0 + 7 * day)], None)
    );
    history.extend(fire);
    history.extend([
        timer_created(2, T0 + 6 * day, T0 + 7 * day),
        orchestrator_completed(T0 + 6 * day),
    ]);
    let out = run(
        history,
        vec![orchestrator_started(T0 + 7 * day), timer_fired(2, T0 + 7 * day)],
        week,
    );
    assert_eq!(out, response(vec![completed(3, None)], None));
}

async fn approval(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let order: String = ctx.call_activity("Prepare", &()).await?;
    let approved: bool = ctx.wait_for_external_event("Approval").await?;
    Ok(format!("{order}:{approved}"))
}

#[test]
fn external_events_waited_for_and_raised_before_the_wait() {
    let past = vec![
        orchestrator_started(T0),
        execution_started("Approval", None),
        task_scheduled(0, T0, "Prepare", None),
        orchestrator_completed(T0),
    ];
    // Waiting for the event: no new actions.
    let prepared = vec![orchestrator_started(T0 + 1), task_completed(0, T0 + 1, Some("\"o1\""))];
    assert_eq!(run(past.clone(), prepared.clone(), approval), response(vec![], None));
    let mut waiting = [past.clone(), prepared].concat();
    waiting.push(orchestrator_completed(T0 + 1));
    let out = run(
        waiting,
        vec![
            orchestrator_started(T0 + 2),
            event_raised(T0 + 2, "approval", Some("true")),
        ],
        approval,
    );
    assert_eq!(out, response(vec![completed(1, Some("\"o1:true\""))], None));

    // The event arrives while the activity still runs: it is kept for the wait.
    let early = vec![
        orchestrator_started(T0 + 1),
        event_raised(T0 + 1, "Approval", Some("false")),
    ];
    assert_eq!(run(past.clone(), early.clone(), approval), response(vec![], None));
    let mut history = [past, early].concat();
    history.push(orchestrator_completed(T0 + 1));
    let out = run(
        history,
        vec![orchestrator_started(T0 + 2), task_completed(0, T0 + 2, Some("\"o2\""))],
        approval,
    );
    assert_eq!(out, response(vec![completed(1, Some("\"o2:false\""))], None));
}

#[test]
fn several_waiters_on_one_name_are_served_in_order() {
    async fn two(ctx: OrchestrationContext) -> Result<(i32, i32), azfn::Error> {
        let first = ctx.wait_for_external_event::<i32>("n");
        let second = ctx.wait_for_external_event::<i32>("n");
        let (b, a) = azfn::durable::orchestration::join(second, first).await;
        Ok((a?, b?))
    }
    let out = run(
        vec![],
        vec![
            orchestrator_started(T0),
            execution_started("Two", None),
            event_raised(T0, "n", Some("1")),
            event_raised(T0, "n", Some("2")),
        ],
        two,
    );
    assert_eq!(out, response(vec![completed(0, Some("[1,2]"))], None));
}

async fn race(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let event = ctx.wait_for_external_event::<String>("Go");
    let timeout = ctx.create_timer_after(Duration::from_secs(60));
    let first = match select(event, timeout).await {
        Either::Left(value) => value?,
        Either::Right(()) => "timeout".to_owned(),
    };
    let second: String = ctx.call_activity("After", &first).await?;
    Ok(second)
}

#[test]
fn event_races_a_timer() {
    let past = vec![
        orchestrator_started(T0),
        execution_started("Race", None),
        timer_created(0, T0, T0 + 60),
        orchestrator_completed(T0),
    ];
    assert_eq!(
        run(vec![], past[..2].to_vec(), race),
        response(vec![create_timer(0, T0 + 60)], None)
    );

    // The event wins; the dropped timer is left to fire.
    let go = vec![
        orchestrator_started(T0 + 5),
        event_raised(T0 + 5, "Go", Some("\"now\"")),
    ];
    assert_eq!(
        run(past.clone(), go.clone(), race),
        response(vec![schedule(1, "After", Some("\"now\""))], None)
    );

    // The cancelled timer fires while the activity runs: nothing happens.
    let mut history = [past.clone(), go].concat();
    history.extend([
        task_scheduled(1, T0 + 5, "After", Some("\"now\"")),
        orchestrator_completed(T0 + 5),
    ]);
    let late_timer = vec![orchestrator_started(T0 + 60), timer_fired(0, T0 + 60)];
    assert_eq!(run(history.clone(), late_timer.clone(), race), response(vec![], None));
    history.extend(late_timer);
    history.push(orchestrator_completed(T0 + 60));
    let out = run(
        history,
        vec![
            orchestrator_started(T0 + 61),
            task_completed(1, T0 + 61, Some("\"ok\"")),
        ],
        race,
    );
    assert_eq!(out, response(vec![completed(2, Some("\"ok\""))], None));

    // The timer wins; an event arriving later goes nowhere (the waiter was dropped).
    let timeout = vec![
        orchestrator_started(T0 + 60),
        timer_fired(0, T0 + 60),
        event_raised(T0 + 60, "Go", Some("\"late\"")),
    ];
    assert_eq!(
        run(past, timeout, race),
        response(vec![schedule(1, "After", Some("\"timeout\""))], None)
    );
}

#[test]
fn when_any_gives_the_first_finished_index() {
    async fn first_mirror(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
        let tasks = ["eu", "us"].map(|m| ctx.call_activity::<String, _>("Download", m));
        let (index, content) = when_any(tasks).await;
        Ok(format!("{index}:{}", content?))
    }
    let past = vec![
        orchestrator_started(T0),
        execution_started("Mirror", None),
        task_scheduled(0, T0, "Download", Some("\"eu\"")),
        task_scheduled(1, T0, "Download", Some("\"us\"")),
        orchestrator_completed(T0),
    ];
    let out = run(
        past,
        vec![orchestrator_started(T0 + 1), task_completed(1, T0 + 1, Some("\"US\""))],
        first_mirror,
    );
    assert_eq!(out, response(vec![completed(2, Some("\"1:US\""))], None));
}

async fn eternal(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
    let n: u32 = ctx.input()?;
    ctx.call_activity::<(), _>("Work", &n).await?;
    ctx.continue_as_new(&(n + 1))?;
    Ok(())
}

#[test]
fn continue_as_new_carries_unprocessed_events_over() {
    let past = vec![
        orchestrator_started(T0),
        execution_started("Eternal", Some("1")),
        task_scheduled(0, T0, "Work", Some("1")),
        orchestrator_completed(T0),
    ];
    let new = vec![
        orchestrator_started(T0 + 1),
        event_raised(T0 + 1, "Poke", Some("\"hi\"")),
        task_completed(0, T0 + 1, None),
    ];
    let out = run(past.clone(), new, eternal);
    let expected = action(
        1,
        OrchestratorActionType::CompleteOrchestration(CompleteOrchestrationAction {
            orchestration_status: OrchestrationStatus::ContinuedAsNew as i32,
            result: Some("2".into()),
            carryover_events: vec![event_raised(T0 + 1, "Poke", Some("\"hi\""))],
            ..Default::default()
        }),
    );
    assert_eq!(out, response(vec![expected], None));

    async fn discarding(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        ctx.continue_as_new_discarding_events(&0)?;
        Ok(())
    }
    let out = run(
        vec![],
        vec![
            orchestrator_started(T0),
            execution_started("D", None),
            event_raised(T0, "Poke", None),
        ],
        discarding,
    );
    assert!(completion(&out).carryover_events.is_empty());
    assert_eq!(
        completion(&out).orchestration_status,
        OrchestrationStatus::ContinuedAsNew as i32
    );
}

#[test]
fn custom_status_goes_with_every_answer() {
    async fn staged(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        ctx.set_custom_status(&serde_json::json!({"stage": 1}))?;
        ctx.call_activity::<(), _>("Step", &()).await?;
        ctx.set_custom_status("done")?;
        Ok(())
    }
    let start = vec![orchestrator_started(T0), execution_started("Staged", None)];
    assert_eq!(
        run(vec![], start.clone(), staged),
        response(vec![schedule(0, "Step", None)], Some(r#"{"stage":1}"#))
    );
    let mut past = start;
    past.extend([task_scheduled(0, T0, "Step", None), orchestrator_completed(T0)]);
    let out = run(
        past,
        vec![orchestrator_started(T0 + 1), task_completed(0, T0 + 1, None)],
        staged,
    );
    assert_eq!(out, response(vec![completed(1, None)], Some("\"done\"")));
}

async fn charge(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let handle: bool = ctx.input()?;
    match ctx.call_activity::<String, _>("Charge", &100).await {
        Ok(receipt) => Ok(receipt),
        Err(failed) if handle => {
            ctx.call_activity::<(), _>("Refund", failed.message()).await?;
            Ok("refunded".into())
        }
        Err(failed) => Err(failed.into()),
    }
}

#[test]
fn task_failures_handled_and_unhandled() {
    let declined = failure("CardDeclined", "insufficient funds");
    let history = |handle: &str| {
        vec![
            orchestrator_started(T0),
            execution_started("Charge", Some(handle)),
            task_scheduled(0, T0, "Charge", Some("100")),
            orchestrator_completed(T0),
        ]
    };
    let fail = vec![orchestrator_started(T0 + 1), task_failed(0, T0 + 1, declined.clone())];
    let handled = run(history("true"), fail.clone(), charge);
    assert_eq!(
        handled,
        response(vec![schedule(1, "Refund", Some("\"insufficient funds\""))], None)
    );

    let unhandled = run(history("false"), fail, charge);
    let expected = TaskFailureDetails {
        error_type: "TaskFailed".into(),
        error_message: "task `Charge` (#0) failed: CardDeclined: insufficient funds".into(),
        inner_failure: Some(Box::new(declined)),
        ..Default::default()
    };
    assert_eq!(unhandled, response(vec![failed(1, expected)], None));
}

#[test]
fn plain_errors_and_panics_fail_the_instance() {
    async fn refuses(_: OrchestrationContext) -> Result<(), azfn::Error> {
        Err(azfn::Error::msg("not today"))
    }
    let start = vec![orchestrator_started(T0), execution_started("X", None)];
    assert_eq!(
        run(vec![], start.clone(), refuses),
        response(vec![failed(0, failure("Error", "not today"))], None)
    );

    async fn panics(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        drop(ctx.call_activity::<(), _>("Before", &()));
        panic!("index out of bounds")
    }
    let out = run(vec![], start, panics);
    // The activity scheduled before the panic still goes out, then the failure.
    assert_eq!(
        out,
        response(
            vec![
                schedule(0, "Before", None),
                failed(1, failure("Panic", "the orchestrator panicked: index out of bounds"))
            ],
            None
        )
    );
}

#[test]
fn non_determinism_is_detected() {
    async fn calls_b(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        ctx.call_activity::<(), _>("B", &()).await?;
        Ok(())
    }
    let past = vec![
        orchestrator_started(T0),
        execution_started("N", None),
        task_scheduled(0, T0, "A", None),
        orchestrator_completed(T0),
    ];
    let new = vec![orchestrator_started(T0 + 1), task_completed(0, T0 + 1, None)];
    let out = run(past, new.clone(), calls_b);
    assert_eq!(out.actions.len(), 1);
    let details = completion(&out).failure_details.clone().unwrap();
    assert_eq!(details.error_type, "NonDeterministicOrchestration");
    assert!(
        details.error_message.starts_with(
            "Non-deterministic orchestration: the history records activity `A` with id 0, but the orchestrator now \
             schedules activity `B` with that id"
        ),
        "{}",
        details.error_message
    );

    // A timer where the history has an activity.
    async fn sleeps(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        ctx.create_timer_after(Duration::from_secs(1)).await;
        Ok(())
    }
    let past = vec![
        orchestrator_started(T0),
        execution_started("N", None),
        task_scheduled(0, T0, "A", None),
        orchestrator_completed(T0),
    ];
    let out = run(past, new, sleeps);
    let details = completion(&out).failure_details.clone().unwrap();
    assert!(
        details.error_message.contains("now schedules a timer"),
        "{}",
        details.error_message
    );

    // The history holds a timer the code no longer creates.
    async fn nothing(_: OrchestrationContext) -> Result<(), azfn::Error> {
        Ok(())
    }
    let past = vec![
        orchestrator_started(T0),
        execution_started("N", None),
        timer_created(0, T0, T0 + 1),
        orchestrator_completed(T0),
    ];
    let out = run(
        past,
        vec![orchestrator_started(T0 + 1), timer_fired(0, T0 + 1)],
        nothing,
    );
    let details = completion(&out).failure_details.clone().unwrap();
    assert!(
        details.error_message.contains("did not schedule anything with that id"),
        "{}",
        details.error_message
    );
}

#[test]
fn awaiting_a_non_durable_future_fails_clearly() {
    async fn sleeps_wrongly(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        std::future::pending::<()>().await;
        ctx.call_activity::<(), _>("Never", &()).await?;
        Ok(())
    }
    let out = run(
        vec![],
        vec![orchestrator_started(T0), execution_started("W", None)],
        sleeps_wrongly,
    );
    let details = completion(&out).failure_details.clone().unwrap();
    assert_eq!(details.error_type, "NonDurableAwait");
    assert!(details.error_message.contains("not a durable task"));

    // A future that wakes itself (a yield) is fine.
    async fn yields(ctx: OrchestrationContext) -> Result<u8, azfn::Error> {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        let _ = ctx.instance_id();
        Ok(1)
    }
    let out = run(
        vec![],
        vec![orchestrator_started(T0), execution_started("Y", None)],
        yields,
    );
    assert_eq!(out, response(vec![completed(0, Some("1"))], None));
}

#[test]
fn entity_calls_and_signals_use_the_legacy_message_format() {
    async fn counts(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
        let counter = EntityId::new("Counter", "k1");
        ctx.signal_entity(&counter, "add", &5)?;
        let value: i64 = ctx.call_entity(&counter, "get", &()).await?;
        Ok(value)
    }
    let guid0 = "64c9f67f-1aa1-5514-98a0-a51b2822a4ec";
    let guid1 = "c9ecdf90-7ce1-536c-a3c9-810794069829";
    let signal = format!(r#"{{"op":"add","signal":true,"input":"5","id":"{guid0}"}}"#);
    let call = format!(r#"{{"op":"get","id":"{guid1}","parent":"inst","parentExecution":"exec-1"}}"#);
    let start = vec![orchestrator_started(T0), execution_started("Counts", None)];
    assert_eq!(
        run(vec![], start.clone(), counts),
        response(
            vec![
                send_event(0, "@counter@k1", "op", &signal),
                send_event(1, "@counter@k1", "op", &call)
            ],
            None
        )
    );

    let mut past = start;
    past.extend([
        event_sent(0, T0, "@counter@k1", "op", &signal),
        event_sent(1, T0, "@counter@k1", "op", &call),
        orchestrator_completed(T0),
    ]);
    let answer = vec![
        orchestrator_started(T0 + 1),
        event_raised(T0 + 1, guid1, Some(r#"{"result":"5"}"#)),
    ];
    assert_eq!(
        run(past.clone(), answer, counts),
        response(vec![completed(2, Some("5"))], None)
    );

    let error = vec![
        orchestrator_started(T0 + 1),
        event_raised(
            T0 + 1,
            guid1,
            Some(r#"{"result":"no such op","exceptionType":"InvalidOperationException"}"#),
        ),
    ];
    let out = run(past, error, counts);
    let inner = completion(&out).failure_details.clone().unwrap().inner_failure.unwrap();
    assert_eq!(
        (inner.error_type.as_str(), inner.error_message.as_str()),
        ("InvalidOperationException", "no such op")
    );
}

#[test]
fn guids_are_deterministic_across_replays() {
    async fn guids(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
        let a = ctx.new_guid();
        let b = ctx.new_guid();
        ctx.create_timer_after(Duration::from_secs(10)).await;
        let c = ctx.new_guid();
        Ok(vec![a, b, c])
    }
    let past = vec![
        orchestrator_started(T0),
        execution_started("G", None),
        timer_created(0, T0, T0 + 10),
        orchestrator_completed(T0),
    ];
    let out = run(
        past,
        vec![orchestrator_started(T0 + 10), timer_fired(0, T0 + 10)],
        guids,
    );
    let expected = r#"["64c9f67f-1aa1-5514-98a0-a51b2822a4ec","c9ecdf90-7ce1-536c-a3c9-810794069829","4d6588ba-2c45-5cf9-a7df-1eb98d9fb31c"]"#;
    assert_eq!(out, response(vec![completed(1, Some(expected))], None));
}

#[test]
fn replaying_is_reported_and_logs_are_quiet_on_replay() {
    async fn observes(ctx: OrchestrationContext) -> Result<Vec<bool>, azfn::Error> {
        let mut seen = vec![ctx.is_replaying(), ctx.log().is_enabled()];
        ctx.call_activity::<(), _>("A", &()).await?;
        seen.extend([ctx.is_replaying(), ctx.log().is_enabled()]);
        Ok(seen)
    }
    let past = vec![
        orchestrator_started(T0),
        execution_started("R", None),
        task_scheduled(0, T0, "A", None),
        orchestrator_completed(T0),
    ];
    let out = run(
        past,
        vec![orchestrator_started(T0 + 1), task_completed(0, T0 + 1, None)],
        observes,
    );
    assert_eq!(out, response(vec![completed(1, Some("[true,false,false,true]"))], None));
}

#[test]
fn suspended_instances_answer_nothing_until_resumed() {
    let suspended = event(
        -1,
        T0,
        EventType::ExecutionSuspended(ExecutionSuspendedEvent { input: None }),
    );
    let resumed = event(
        -1,
        T0,
        EventType::ExecutionResumed(ExecutionResumedEvent { input: None }),
    );
    let history = vec![
        orchestrator_started(T0),
        execution_started("Approval", None),
        task_scheduled(0, T0, "Prepare", None),
        orchestrator_completed(T0),
    ];
    let new = vec![
        orchestrator_started(T0 + 1),
        suspended,
        task_completed(0, T0 + 1, Some("\"o\"")),
    ];
    assert_eq!(run(history.clone(), new.clone(), approval), response(vec![], None));
    let mut with_resume = new;
    with_resume.extend([resumed, event_raised(T0 + 1, "Approval", Some("true"))]);
    assert_eq!(
        run(history, with_resume, approval),
        response(vec![completed(1, Some("\"o:true\""))], None)
    );
}

#[test]
fn task_failed_converts_into_the_error_and_back() {
    let failed = TaskFailed::new("X", failure("T", "m"));
    let error: azfn::Error = failed.clone().into();
    assert_eq!(error.to_string(), "task `X` failed: T: m");
    let back = error.source().and_then(|s| s.downcast_ref::<TaskFailed>()).unwrap();
    assert_eq!(back, &failed);
}

// ----- the test driver -----

mod driver {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use azfn::durable::driver::{MockActivities, OrchestrationDriver};
    use azfn::durable::orchestration::{Either, EntityId, OrchestrationContext, RetryPolicy, select, try_when_all};
    use azfn::durable::proto::OrchestrationStatus;
    use azfn::durable::proto::history_event::EventType;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    async fn pipeline(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
        let n: i64 = ctx.input()?;
        let doubled: i64 = ctx.call_activity("Double", &n).await?;
        let parts = try_when_all((0..3).map(|i| ctx.call_activity::<i64, _>("Add", &(doubled, i)))).await?;
        let policy = RetryPolicy::new(3, Duration::from_secs(5)).backoff_coefficient(2.0);
        let checked: i64 = ctx
            .call_activity_with_retry("Check", &parts.iter().sum::<i64>(), policy)
            .await?;
        Ok(checked)
    }

    /// Counts with a scheduled signal: the entity sees the signal only once the virtual clock
    /// has reached its due time.
    async fn delayed_count(ctx: OrchestrationContext) -> Result<(i64, i64), azfn::Error> {
        let counter = EntityId::new("Counter", "c");
        ctx.signal_entity_at(&counter, "add", &5, ctx.current_utc_time() + Duration::from_secs(3600))?;
        ctx.create_timer_after(Duration::from_secs(1800)).await;
        let before: i64 = ctx.call_entity(&counter, "get", &()).await?;
        ctx.create_timer_after(Duration::from_secs(3600)).await;
        let after: i64 = ctx.call_entity(&counter, "get", &()).await?;
        Ok((before, after))
    }

    #[test]
    fn scheduled_signals_reach_the_entity_at_their_due_time() {
        let driver = OrchestrationDriver::new(MockActivities::new())
            .orchestrator("DelayedCount", delayed_count)
            .entity("Counter", |op, input, state| {
                let current: i64 = state
                    .as_deref()
                    .map_or(Ok(0), str::parse::<i64>)
                    .map_err(|e| e.to_string())?;
                let next = match op {
                    "add" => current + input.unwrap_or("0").parse::<i64>().map_err(|e| e.to_string())?,
                    _ => current,
                };
                *state = Some(next.to_string());
                Ok(Some(next.to_string()))
            });
        let result = block_on(driver.run("DelayedCount", &()));
        assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
        assert_eq!(result.output::<(i64, i64)>().unwrap(), (0, 5));
    }

    #[test]
    fn the_version_reaches_the_orchestration_and_its_children() {
        async fn parent(ctx: OrchestrationContext) -> Result<(Option<String>, Option<String>), azfn::Error> {
            let options = azfn::durable::orchestration::SubOrchestratorOptions::new().version("child-v2");
            let child: Option<String> = ctx.call_sub_orchestrator_with_options("Child", &(), options).await?;
            Ok((ctx.version(), child))
        }
        async fn child(ctx: OrchestrationContext) -> Result<Option<String>, azfn::Error> {
            Ok(ctx.version())
        }
        let driver = OrchestrationDriver::new(MockActivities::new())
            .orchestrator("Parent", parent)
            .orchestrator("Child", child);
        let result = block_on(driver.run_versioned("p", "Parent", Some("1.0"), &()));
        assert_eq!(
            result.output::<(Option<String>, Option<String>)>().unwrap(),
            (Some("1.0".into()), Some("child-v2".into()))
        );
        let unversioned = block_on(driver.run("Parent", &()));
        assert_eq!(
            unversioned.output::<(Option<String>, Option<String>)>().unwrap(),
            (None, Some("child-v2".into()))
        );
    }

    #[test]
    fn call_http_polls_in_virtual_time_through_the_driver() {
        async fn check(ctx: OrchestrationContext) -> Result<u16, azfn::Error> {
            let request = azfn::durable::orchestration::DurableHttpRequest::new("GET", "https://example.net/job");
            Ok(ctx.call_http(request).await?.status_code)
        }
        let polls = Arc::new(AtomicUsize::new(0));
        let seen = polls.clone();
        // The extension's HTTP activity, played by a mock: two 202s (the second without
        // Retry-After), then 200.
        let activities = MockActivities::new().activity("BuiltIn::HttpActivity", move |requests: serde_json::Value| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let uri = requests[0]["uri"].as_str().unwrap_or_default().to_owned();
            Ok::<_, String>(match n {
                0 => serde_json::json!({"statusCode": 202, "headers": {"Location": "https://example.net/s", "Retry-After": "5"}}),
                1 if uri == "https://example.net/s" => serde_json::json!({"statusCode": 202, "headers": {"Location": "https://example.net/s"}}),
                _ => serde_json::json!({"statusCode": 200, "headers": {}, "content": uri}),
            })
        });
        let driver = OrchestrationDriver::new(activities).orchestrator("Check", check);
        let result = block_on(driver.run("Check", &()));
        assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
        assert_eq!(result.output::<u16>().unwrap(), 200);
        assert_eq!(polls.load(Ordering::SeqCst), 3);
        assert_eq!(
            result.finished_at.duration_since(driver.start()).unwrap(),
            Duration::from_secs(35)
        );
    }

    #[test]
    fn call_http_retries_the_first_call_but_not_the_polls() {
        async fn check(ctx: OrchestrationContext) -> Result<u16, azfn::Error> {
            let request = azfn::durable::orchestration::DurableHttpRequest::new("GET", "https://example.net/job")
                .retry(RetryPolicy::new(3, Duration::from_secs(10)), [503]);
            Ok(ctx.call_http(request).await?.status_code)
        }
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        // The extension fails a call answered with a listed status; the mock plays that part.
        let activities = MockActivities::new().activity("BuiltIn::HttpActivity", move |input: serde_json::Value| {
            let mut seen = seen.lock().unwrap();
            seen.push(input[0].clone());
            match seen.len() {
                1 => Err("Status code ServiceUnavailable received, retry requested.".to_owned()),
                2 => Ok(serde_json::json!({"statusCode": 202, "headers": {"Location": "https://example.net/s", "Retry-After": "5"}})),
                _ => Ok(serde_json::json!({"statusCode": 200, "headers": {}})),
            }
        });
        let driver = OrchestrationDriver::new(activities).orchestrator("Check", check);
        let result = block_on(driver.run("Check", &()));
        assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
        assert_eq!(result.output::<u16>().unwrap(), 200);
        // 10 s before the second attempt, 5 s before the poll.
        assert_eq!(
            result.finished_at.duration_since(driver.start()).unwrap(),
            Duration::from_secs(15)
        );
        let requests = requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3);
        assert_eq!(
            requests[0]["retryOptions"]["StatusCodesToRetry"],
            serde_json::json!([503])
        );
        assert_eq!(requests[1], requests[0], "the retry sends the same request");
        assert!(requests[2].get("retryOptions").is_none(), "polls are not retried");
    }

    #[test]
    fn continue_as_new_with_a_version_starts_the_next_execution_at_it() {
        async fn eternal(ctx: OrchestrationContext) -> Result<Option<String>, azfn::Error> {
            let round: u32 = ctx.input()?;
            match (round, ctx.version().as_deref()) {
                (0, None) => ctx.continue_as_new_with_version(&1, "2")?,
                (1, Some("2")) => ctx.continue_as_new(&2)?,
                _ => {}
            }
            Ok(ctx.version())
        }
        let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("Eternal", eternal);
        let result = block_on(driver.run("Eternal", &0));
        assert_eq!(result.executions, 3);
        // The plain continue-as-new kept version 2.
        assert_eq!(result.output::<Option<String>>().unwrap().as_deref(), Some("2"));
    }

    #[test]
    fn runs_activities_fan_out_and_retries_with_virtual_time() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let activities = MockActivities::new()
            .activity("Double", |n: i64| Ok::<_, String>(n * 2))
            .activity("Add", |(a, b): (i64, i64)| Ok::<_, String>(a + b))
            .activity("Check", move |n: i64| {
                if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err("not yet".to_owned())
                } else {
                    Ok(n)
                }
            });
        let driver = OrchestrationDriver::new(activities).orchestrator("Pipeline", pipeline);
        let result = block_on(driver.run("Pipeline", &5));
        assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
        assert_eq!(result.output::<i64>().unwrap(), 33);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Back-off 5 s then 10 s of virtual time.
        assert_eq!(
            result.finished_at.duration_since(driver.start()).unwrap(),
            Duration::from_secs(15)
        );
        let timers = result
            .history
            .iter()
            .filter(|e| matches!(e.event_type, Some(EventType::TimerCreated(_))))
            .count();
        assert_eq!(timers, 2);
        // Start; Double done; fan-out done; attempt 1 fails; timer; attempt 2 fails; timer;
        // attempt 3 succeeds: eight episodes.
        assert_eq!(result.episodes, 8);
    }

    #[test]
    fn exhausted_retries_and_unknown_activities_fail_the_instance() {
        async fn unknown(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
            ctx.call_activity::<(), _>("Missing", &()).await?;
            Ok(())
        }
        let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("Unknown", unknown);
        let result = block_on(driver.run("Unknown", &()));
        assert_eq!(result.status, OrchestrationStatus::Failed);
        let failure = result.failure.unwrap();
        assert_eq!(failure.inner_failure.unwrap().error_type, "ActivityNotFound");
    }

    #[test]
    fn sub_orchestrations_and_timers() {
        async fn child(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
            let name: String = ctx.input()?;
            ctx.create_timer_after(Duration::from_secs(60)).await;
            Ok(format!("{name} from {}", ctx.instance_id()))
        }
        async fn parent(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
            let a = ctx.call_sub_orchestrator::<String, _>("Child", "a");
            let b = ctx.call_sub_orchestrator::<String, _>("Child", "b");
            Ok(try_when_all([a, b]).await?)
        }
        let driver = OrchestrationDriver::new(MockActivities::new())
            .orchestrator("Parent", parent)
            .orchestrator("Child", child);
        let result = block_on(driver.run_instance("p", "Parent", &()));
        assert_eq!(
            result.output::<Vec<String>>().unwrap(),
            ["a from p:0000", "b from p:0001"]
        );
        assert_eq!(
            result.finished_at.duration_since(driver.start()).unwrap(),
            Duration::from_secs(60)
        );
    }

    async fn approval(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
        let event = ctx.wait_for_external_event::<String>("Approval");
        let timeout = ctx.create_timer_after(Duration::from_secs(60));
        Ok(match select(event, timeout).await {
            Either::Left(who) => format!("approved by {}", who?),
            Either::Right(()) => "timed out".to_owned(),
        })
    }

    #[test]
    fn external_events_at_a_time_or_when_waiting() {
        let driver = || OrchestrationDriver::new(MockActivities::new()).orchestrator("Approval", approval);
        let early = block_on(
            driver()
                .raise_event_at(Duration::from_secs(10), "Approval", "ann")
                .run("Approval", &()),
        );
        assert_eq!(early.output::<String>().unwrap(), "approved by ann");
        let late = block_on(
            driver()
                .raise_event_at(Duration::from_secs(120), "Approval", "bob")
                .run("Approval", &()),
        );
        assert_eq!(late.output::<String>().unwrap(), "timed out");
        let waiting = block_on(driver().raise_event_when_waiting("approval", "cy").run("Approval", &()));
        assert_eq!(waiting.output::<String>().unwrap(), "approved by cy");
        assert_eq!(waiting.finished_at, driver().start());
    }

    #[test]
    fn an_orchestration_waiting_forever_stops_as_running() {
        async fn waits(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
            ctx.set_custom_status("waiting")?;
            ctx.wait_for_external_event::<()>("Never").await?;
            Ok(())
        }
        let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("Waits", waits);
        let result = block_on(driver.run("Waits", &()));
        assert_eq!(result.status, OrchestrationStatus::Running);
        assert_eq!(result.custom_status::<String>().unwrap(), "waiting");
    }

    #[test]
    fn continue_as_new_restarts_with_carried_over_events() {
        async fn counter(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
            let n: u32 = ctx.input()?;
            if n == 3 {
                let bonus: u32 = ctx.wait_for_external_event("Bonus").await?;
                return Ok(n + bonus);
            }
            ctx.create_timer_after(Duration::from_secs(1)).await;
            ctx.continue_as_new(&(n + 1))?;
            Ok(0)
        }
        // The event arrives in the first execution, before anyone waits, and is carried over.
        let driver = OrchestrationDriver::new(MockActivities::new())
            .orchestrator("Counter", counter)
            .raise_event_when_waiting("Bonus", &100);
        let result = block_on(driver.run("Counter", &1));
        assert_eq!(result.output::<u32>().unwrap(), 103);
        assert_eq!(result.executions, 3);
    }

    #[test]
    fn entities_answer_calls_and_take_signals() {
        async fn counts(ctx: OrchestrationContext) -> Result<(i64, String), azfn::Error> {
            let counter = EntityId::new("Counter", "c");
            ctx.signal_entity(&counter, "add", &2)?;
            ctx.signal_entity(&counter, "add", &3)?;
            let value: i64 = ctx.call_entity(&counter, "get", &()).await?;
            let error = ctx.call_entity::<i64, _>(&counter, "explode", &()).await.unwrap_err();
            Ok((value, error.message().to_owned()))
        }
        let driver = OrchestrationDriver::new(MockActivities::new())
            .orchestrator("Counts", counts)
            .entity("Counter", |op, input, state| {
                let current: i64 = state.as_deref().map_or(0, |s| s.parse().unwrap());
                let next = match op {
                    "add" => current + input.unwrap_or("0").parse::<i64>().map_err(|e| e.to_string())?,
                    "get" => current,
                    other => return Err(format!("no operation {other}")),
                };
                *state = Some(next.to_string());
                Ok(Some(next.to_string()))
            });
        let result = block_on(driver.run("Counts", &()));
        assert_eq!(
            result.output::<(i64, String)>().unwrap(),
            (5, "no operation explode".to_owned())
        );
    }

    #[test]
    fn events_to_other_instances_are_reported() {
        async fn notifies(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
            ctx.send_event("other", "Ping", &1)?;
            Ok(())
        }
        let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("N", notifies);
        let result = block_on(driver.run("N", &()));
        assert_eq!(
            result.sent_events,
            [("other".to_owned(), "Ping".to_owned(), Some("1".to_owned()))]
        );
    }
}

#[test]
fn context_and_tasks_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<OrchestrationContext>();
    send::<azfn::durable::orchestration::DurableTask<String>>();
    send::<azfn::durable::orchestration::TimerTask>();
    send_sync::<TaskFailed>();
    send_sync::<EntityId>();
}

#[test]
fn the_version_is_read_from_execution_started_and_sent_with_sub_orchestrations() {
    async fn versioned(ctx: OrchestrationContext) -> Result<Option<String>, azfn::Error> {
        let options = SubOrchestratorOptions::new().instance_id("child").version("3.1");
        let _: () = ctx.call_sub_orchestrator_with_options("Ship", &(), options).await?;
        Ok(ctx.version())
    }
    let mut started = execution_started("Versioned", None);
    if let Some(EventType::ExecutionStarted(e)) = &mut started.event_type {
        e.version = Some("2.0".into());
    }
    let start = vec![orchestrator_started(T0), started];
    let child = action(
        0,
        OrchestratorActionType::CreateSubOrchestration(CreateSubOrchestrationAction {
            instance_id: "child".into(),
            name: "Ship".into(),
            version: Some("3.1".into()),
            ..Default::default()
        }),
    );
    assert_eq!(run(vec![], start.clone(), versioned), response(vec![child], None));

    let mut past = start;
    past.extend([sub_created(0, T0, "Ship", "child"), orchestrator_completed(T0)]);
    let done = vec![orchestrator_started(T0 + 1), sub_completed(0, T0 + 1, "null")];
    assert_eq!(
        run(past, done, versioned),
        response(vec![completed(1, Some(r#""2.0""#))], None)
    );

    // Without a version in the history, the context has none.
    let unversioned = vec![orchestrator_started(T0), execution_started("Versioned", None)];
    let out = run(vec![], unversioned, |ctx: OrchestrationContext| async move {
        Ok(ctx.version())
    });
    assert_eq!(out, response(vec![completed(0, None)], None));
}

#[test]
fn scheduled_entity_signals_carry_the_delivery_time_in_the_event_name() {
    async fn remind(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let reminder = EntityId::new("Reminder", "ann");
        let now = ctx.current_utc_time();
        ctx.signal_entity_at(&reminder, "ring", &"tea", now + Duration::from_secs(3600))?;
        // Beyond the six days Azure Storage can hold a message back: delivered after three
        // days, `due` still says when it is meant for.
        ctx.signal_entity_at(&reminder, "ring", &(), now + Duration::from_secs(10 * 86_400))?;
        Ok(())
    }
    let guid0 = "64c9f67f-1aa1-5514-98a0-a51b2822a4ec";
    let guid1 = "c9ecdf90-7ce1-536c-a3c9-810794069829";
    let soon = format!(
        r#"{{"op":"ring","signal":true,"input":"\"tea\"","id":"{guid0}","due":"2024-01-02T04:04:05.0000000Z"}}"#
    );
    let far = format!(r#"{{"op":"ring","signal":true,"id":"{guid1}","due":"2024-01-12T03:04:05.0000000Z"}}"#);
    let start = vec![orchestrator_started(T0), execution_started("Remind", None)];
    assert_eq!(
        run(vec![], start.clone(), remind),
        response(
            vec![
                send_event(0, "@reminder@ann", "op@2024-01-02T04:04:05.0000000Z", &soon),
                send_event(1, "@reminder@ann", "op@2024-01-05T03:04:05.0000000Z", &far),
                completed(2, None),
            ],
            None
        )
    );

    // Replayed over the extension's eventSent records, the same names are expected.
    let mut past = start;
    past.extend([
        event_sent(0, T0, "@reminder@ann", "op@2024-01-02T04:04:05.0000000Z", &soon),
        event_sent(1, T0, "@reminder@ann", "op@2024-01-05T03:04:05.0000000Z", &far),
    ]);
    let out = run(past, vec![orchestrator_started(T0 + 5)], remind);
    assert_eq!(out, response(vec![completed(2, None)], None));
}

#[test]
fn call_http_runs_the_built_in_activity_and_polls_202_answers() {
    async fn restart(ctx: OrchestrationContext) -> Result<(u16, Option<String>), azfn::Error> {
        let request = DurableHttpRequest::new("POST", "https://example.net/restart")
            .header("x-functions-key", "secret")
            .token_source(TokenSource::managed_identity(
                "https://management.core.windows.net/.default",
            ));
        let response = ctx.call_http(request).await?;
        Ok((response.status_code, response.content))
    }
    let first_input = r#"[{"method":"POST","uri":"https://example.net/restart","headers":{"x-functions-key":"secret"},"tokenSource":{"kind":"AzureManagedIdentity","resource":"https://management.core.windows.net/.default"},"asynchronousPatternEnabled":true}]"#;
    let poll_input = r#"[{"method":"GET","uri":"https://example.net/status/1","headers":{},"tokenSource":{"kind":"AzureManagedIdentity","resource":"https://management.core.windows.net/.default"},"asynchronousPatternEnabled":true}]"#;
    let accepted =
        r#"{"statusCode":202,"headers":{"Location":"https://example.net/status/1","Retry-After":"10"},"content":""}"#;
    let done = r#"{"statusCode":200,"headers":{"Content-Type":"text/plain"},"content":"restarted"}"#;

    let start = vec![orchestrator_started(T0), execution_started("Restart", None)];
    assert_eq!(
        run(vec![], start.clone(), restart),
        response(vec![schedule(0, "BuiltIn::HttpActivity", Some(first_input))], None)
    );

    // 202 with a location: a durable timer of Retry-After seconds.
    let mut past = start;
    past.extend([
        task_scheduled(0, T0, "BuiltIn::HttpActivity", Some(first_input)),
        orchestrator_completed(T0),
    ]);
    let answer = vec![orchestrator_started(T0 + 1), task_completed(0, T0 + 1, Some(accepted))];
    assert_eq!(
        run(past.clone(), answer.clone(), restart),
        response(vec![create_timer(1, T0 + 11)], None)
    );

    // The timer fires: a GET of the location, without the function key.
    past.extend(answer);
    past.extend([timer_created(1, T0 + 1, T0 + 11), orchestrator_completed(T0 + 1)]);
    let fired = vec![orchestrator_started(T0 + 11), timer_fired(1, T0 + 11)];
    assert_eq!(
        run(past.clone(), fired.clone(), restart),
        response(vec![schedule(2, "BuiltIn::HttpActivity", Some(poll_input))], None)
    );

    // The poll answers 200: the orchestration gets that response.
    past.extend(fired);
    past.extend([
        task_scheduled(2, T0 + 11, "BuiltIn::HttpActivity", Some(poll_input)),
        orchestrator_completed(T0 + 11),
    ]);
    let ok = vec![orchestrator_started(T0 + 12), task_completed(2, T0 + 12, Some(done))];
    assert_eq!(
        run(past.clone(), ok, restart),
        response(vec![completed(3, Some(r#"[200,"restarted"]"#))], None)
    );

    // A request the extension could not make fails the task.
    let failed_call = vec![
        orchestrator_started(T0 + 12),
        task_failed(2, T0 + 12, failure("System.Net.Http.HttpRequestException", "no route")),
    ];
    let out = run(past, failed_call, restart);
    let inner = completion(&out).failure_details.clone().unwrap().inner_failure.unwrap();
    assert_eq!(inner.error_message, "no route");
}

#[test]
fn continue_as_new_may_change_the_version() {
    async fn upgrade(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        ctx.continue_as_new_with_version(&7, "2")?;
        Ok(())
    }
    let start = vec![orchestrator_started(T0), execution_started("Upgrade", None)];
    let expected = action(
        0,
        OrchestratorActionType::CompleteOrchestration(CompleteOrchestrationAction {
            orchestration_status: OrchestrationStatus::ContinuedAsNew as i32,
            result: Some("7".into()),
            new_version: Some("2".into()),
            ..Default::default()
        }),
    );
    assert_eq!(run(vec![], start, upgrade), response(vec![expected], None));
}
