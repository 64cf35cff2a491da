//! The test driver with the app's real entity functions (`AppEntities`): state kept between
//! batches, signals (now and scheduled) and orchestration starts delivered; the custom-status
//! history; and the `TestApp` triggers of orchestrators and entities, bytes in, exact bytes
//! out.
#![cfg(feature = "durable")]

use std::time::{Duration, UNIX_EPOCH};

use azfn::durable::driver::{AppEntities, MockActivities, OrchestrationDriver};
use azfn::durable::entity::EntityContext;
use azfn::durable::orchestration::{EntityId, OrchestrationContext};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::{
    ExecutionStartedEvent, HistoryEvent, OrchestrationStatus, OrchestratorStartedEvent, operation_result::ResultType,
};
use azfn::grpc::wkt::Timestamp;
use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use serde_json::json;

/// Keeps notes; forwards each to the `audit` entity, can schedule a late note there, and can
/// start the `Notified` orchestration.
#[function(entity_trigger)]
fn relay(ctx: &mut EntityContext<Vec<String>>) -> Result<usize, azfn::Error> {
    let audit_id = EntityId::of(audit, "all");
    match ctx.operation() {
        "note" => {
            let text: String = ctx.input()?;
            ctx.signal_entity(&audit_id, "record", &text)?;
            ctx.state_mut().push(text);
        }
        "later" => {
            let at: u64 = ctx.input()?;
            ctx.signal_entity_at(&audit_id, "record", "late", UNIX_EPOCH + Duration::from_secs(at))?;
        }
        "start" => {
            let count = ctx.state().len();
            ctx.start_new_orchestration("Notified", count, Some("notified-1"))?;
        }
        _ => return Err(ctx.unknown_operation()),
    }
    Ok(ctx.state().len())
}

/// Records what it is sent; `list` returns it.
#[function(entity_trigger)]
fn audit(ctx: &mut EntityContext<Vec<String>>) -> Result<Vec<String>, azfn::Error> {
    match ctx.operation() {
        "record" => {
            let text: String = ctx.input()?;
            ctx.state_mut().push(text);
        }
        "list" => {}
        _ => return Err(ctx.unknown_operation()),
    }
    Ok(ctx.state().clone())
}

/// What [`notes`] saw.
type Seen = (usize, Vec<String>, Vec<String>);

async fn notes(ctx: OrchestrationContext) -> Result<Seen, azfn::Error> {
    let relay_id = EntityId::of(relay, "r");
    let audit_id = EntityId::of(audit, "all");
    ctx.signal_entity(&relay_id, "note", &"a")?;
    let count: usize = ctx.call_entity(&relay_id, "note", &"b").await?;
    let half_hour = ctx.current_utc_time() + Duration::from_secs(1800);
    let at = half_hour.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    ctx.call_entity::<usize, _>(&relay_id, "later", &at).await?;
    ctx.call_entity::<usize, _>(&relay_id, "start", &()).await?;
    let before: Vec<String> = ctx.call_entity(&audit_id, "list", &()).await?;
    ctx.create_timer_after(Duration::from_secs(3600)).await;
    let after: Vec<String> = ctx.call_entity(&audit_id, "list", &()).await?;
    Ok((count, before, after))
}

async fn notified(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let count: usize = ctx.input()?;
    Ok(format!("notified of {count} notes"))
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn real_entities_keep_their_state_and_deliver_signals_and_starts() {
    let driver = OrchestrationDriver::new(MockActivities::new())
        .entities(AppEntities::new())
        .orchestrator("Notes", notes)
        .orchestrator("Notified", notified);
    let result = block_on(driver.run("Notes", &()));
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    let (count, before, after) = result.output::<Seen>().unwrap();
    // The signal came first, the call second: the relay kept both notes between batches.
    assert_eq!(count, 2);
    // The relay's own signals reached the audit entity before the orchestration's next call;
    // the scheduled one only once the virtual clock passed its time.
    assert_eq!(before, ["a", "b"]);
    assert_eq!(after, ["a", "b", "late"]);
    // The states the entities were left in.
    let state = |name: &str, key: &str| result.entity_state::<Vec<String>>(&EntityId::new(name, key));
    assert_eq!(state("relay", "r").unwrap().unwrap(), ["a", "b"]);
    assert_eq!(state("audit", "all").unwrap().unwrap(), ["a", "b", "late"]);
    assert!(state("audit", "other").is_none());
    // The orchestration the relay started ran as an instance of its own.
    let started: Vec<_> = result
        .started_orchestrations
        .iter()
        .map(|r| (r.instance_id.as_str(), r.status, r.output::<String>().unwrap()))
        .collect();
    assert_eq!(
        started,
        [(
            "notified-1",
            OrchestrationStatus::Completed,
            "notified of 2 notes".to_owned()
        )]
    );
}

#[test]
fn closures_take_the_place_of_the_apps_entities_of_their_name() {
    async fn one_note(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
        ctx.signal_entity(&EntityId::new("relay", "r"), "note", &"x")?;
        Ok(ctx.call_entity(&EntityId::new("audit", "all"), "list", &()).await?)
    }
    let driver = OrchestrationDriver::new(MockActivities::new())
        .entities(AppEntities::new())
        .entity("audit", |_, _, _| Ok(Some("[\"mocked\"]".into())))
        .orchestrator("OneNote", one_note);
    let result = block_on(driver.run("OneNote", &()));
    assert_eq!(result.output::<Vec<String>>().unwrap(), ["mocked"]);
}

#[test]
fn calls_to_missing_or_failing_entities_fail_with_the_reason() {
    async fn ask(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
        let entity: String = ctx.input()?;
        let (name, operation) = entity.split_once('/').unwrap_or_default();
        match ctx
            .call_entity::<serde_json::Value, _>(&EntityId::new(name, "k"), operation, &())
            .await
        {
            Ok(value) => Ok(format!("ok {value}")),
            Err(failed) => Ok(failed.to_string()),
        }
    }
    let driver = OrchestrationDriver::new(MockActivities::new())
        .entities(AppEntities::new())
        .orchestrator("Ask", ask);
    let missing = block_on(driver.run("Ask", &"nobody/get")).output::<String>().unwrap();
    assert!(
        missing.contains("the app has no entity function named `nobody`"),
        "{missing}"
    );
    let unknown = block_on(driver.run("Ask", &"audit/shred")).output::<String>().unwrap();
    assert!(
        unknown.contains("entity `@audit@k` has no operation `shred`"),
        "{unknown}"
    );
    // Without a runner, an entity is missing from the driver itself.
    let bare = OrchestrationDriver::new(MockActivities::new()).orchestrator("Ask", ask);
    let missing = block_on(bare.run("Ask", &"audit/list")).output::<String>().unwrap();
    assert!(
        missing.contains("no entity named `audit` is registered with the driver"),
        "{missing}"
    );
}

#[test]
fn every_custom_status_change_is_kept_across_executions() {
    async fn rounds(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
        let round: u32 = ctx.input()?;
        ctx.set_custom_status(&format!("round {round}"))?;
        ctx.create_timer_after(Duration::from_secs(60)).await;
        // The same status again is no change.
        ctx.set_custom_status(&format!("round {round}"))?;
        if round < 2 {
            ctx.continue_as_new(&(round + 1))?;
        }
        Ok(())
    }
    let driver = OrchestrationDriver::new(MockActivities::new()).orchestrator("Rounds", rounds);
    let result = block_on(driver.run("Rounds", &0));
    assert_eq!(result.status, OrchestrationStatus::Completed);
    let changes: Vec<(String, u64, usize, usize)> = result
        .custom_status_history()
        .iter()
        .map(|c| {
            let after = c.at.duration_since(driver.start()).unwrap().as_secs();
            (c.decode().unwrap(), after, c.episode, c.execution)
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("round 0".to_owned(), 0, 1, 1),
            ("round 1".to_owned(), 60, 3, 2),
            ("round 2".to_owned(), 120, 5, 3),
        ]
    );
    assert_eq!(result.custom_status::<String>().unwrap(), "round 2");
}

/// Seconds of virtual time since the driver's default start (2024-01-01T00:00:00Z).
fn seconds_since_start(ctx: &OrchestrationContext) -> u64 {
    let start = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
    ctx.current_utc_time()
        .duration_since(start)
        .unwrap_or_default()
        .as_secs()
}

/// Locks the ledger, keeps it an hour, appends to it inside the section, releases it.
async fn holder(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let ledger = EntityId::new("ledger", "main");
    let section = ctx.lock_entities(std::slice::from_ref(&ledger)).await?;
    ctx.create_timer_after(Duration::from_secs(3600)).await;
    ctx.call_entity::<usize, _>(&ledger, "append", &"holder").await?;
    section.release();
    Ok(seconds_since_start(&ctx))
}

/// Signals then calls the ledger, without a lock; returns when the call was answered.
async fn caller(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let ledger = EntityId::new("ledger", "main");
    ctx.signal_entity(&ledger, "append", &"signal")?;
    ctx.call_entity::<usize, _>(&ledger, "append", &"caller").await?;
    Ok(seconds_since_start(&ctx))
}

/// Locks the ledger too; returns when the lock was granted.
async fn locker(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
    let ledger = EntityId::new("ledger", "main");
    let section = ctx.lock_entities(std::slice::from_ref(&ledger)).await?;
    let granted = seconds_since_start(&ctx);
    ctx.call_entity::<usize, _>(&ledger, "append", &"locker").await?;
    drop(section);
    Ok(granted)
}

/// Runs the three at once, as sub-orchestrations created in one episode.
async fn contend(ctx: OrchestrationContext) -> Result<Vec<u64>, azfn::Error> {
    let names: Vec<String> = ctx.input()?;
    let tasks = names.iter().map(|name| ctx.call_sub_orchestrator::<u64, _>(name, &()));
    let mut times = Vec::new();
    for done in azfn::durable::when_all(tasks).await {
        times.push(done?);
    }
    Ok(times)
}

/// The `ledger` entity, a closure's body: `append` a line, get the number of lines.
fn ledger(op: &str, input: Option<&str>, state: &mut Option<String>) -> Result<Option<String>, String> {
    let mut lines: Vec<String> = serde_json::from_str(state.as_deref().unwrap_or("[]")).map_err(|e| e.to_string())?;
    match op {
        "append" => lines.push(serde_json::from_str(input.unwrap_or("null")).map_err(|e| e.to_string())?),
        other => return Err(format!("no operation {other}")),
    }
    *state = Some(serde_json::to_string(&lines).map_err(|e| e.to_string())?);
    Ok(Some(lines.len().to_string()))
}

#[test]
fn a_locked_entity_runs_other_orchestrations_operations_after_the_release() {
    let driver = OrchestrationDriver::new(MockActivities::new())
        .entity("ledger", ledger)
        .orchestrator("Holder", holder)
        .orchestrator("Caller", caller)
        .orchestrator("Locker", locker)
        .orchestrator("Contend", contend);
    let result = block_on(driver.run("Contend", &["Holder", "Caller", "Locker"]));
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    // The holder released after its hour; the caller's call was answered and the locker's lock
    // granted only then, though both were sent at the start.
    assert_eq!(result.output::<Vec<u64>>().unwrap(), [3600, 3600, 3600]);
    assert_eq!(
        result.finished_at.duration_since(driver.start()).unwrap(),
        Duration::from_secs(3600)
    );
    // The holder's own call ran while the others waited; then what waited ran in the order it
    // came: the caller's signal and call, then the locker's request, whose section appended last.
    let ledger = result
        .entity_state::<Vec<String>>(&EntityId::new("ledger", "main"))
        .unwrap()
        .unwrap();
    assert_eq!(ledger, ["holder", "signal", "caller", "locker"]);

    // Without the holder, nothing waits.
    async fn free(ctx: OrchestrationContext) -> Result<(u64, u64), azfn::Error> {
        let caller = ctx.call_sub_orchestrator::<u64, _>("Caller", &());
        let locker = ctx.call_sub_orchestrator::<u64, _>("Locker", &());
        let (caller, locker) = azfn::durable::orchestration::join(caller, locker).await;
        Ok((caller?, locker?))
    }
    let result = block_on(driver.orchestrator("Free", free).run("Free", &()));
    assert_eq!(result.output::<(u64, u64)>().unwrap(), (0, 0));
}

#[test]
fn a_lock_set_keeps_the_entities_it_locked_while_it_waits_for_the_next() {
    /// Holds `ledger@y` for an hour.
    async fn hold_y(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
        let y = EntityId::new("ledger", "y");
        let section = ctx.lock_entities(std::slice::from_ref(&y)).await?;
        ctx.create_timer_after(Duration::from_secs(3600)).await;
        ctx.call_entity::<usize, _>(&y, "append", &"hold-y").await?;
        drop(section);
        Ok(seconds_since_start(&ctx))
    }
    /// Locks `ledger@x` and `ledger@y`; returns when granted.
    async fn lock_both(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
        let (x, y) = (EntityId::new("ledger", "x"), EntityId::new("ledger", "y"));
        let _section = ctx.lock_entities(&[y.clone(), x.clone()]).await?;
        let granted = seconds_since_start(&ctx);
        ctx.call_entity::<usize, _>(&x, "append", &"both").await?;
        ctx.call_entity::<usize, _>(&y, "append", &"both").await?;
        Ok(granted)
    }
    /// Calls `ledger@x`; returns when answered.
    async fn call_x(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
        ctx.call_entity::<usize, _>(&EntityId::new("ledger", "x"), "append", &"call-x")
            .await?;
        Ok(seconds_since_start(&ctx))
    }
    let driver = OrchestrationDriver::new(MockActivities::new())
        .entity("ledger", ledger)
        .orchestrator("HoldY", hold_y)
        .orchestrator("LockBoth", lock_both)
        .orchestrator("CallX", call_x)
        .orchestrator("Contend", contend);
    let result = block_on(driver.run("Contend", &["HoldY", "LockBoth", "CallX"]));
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    // `x` was locked for LockBoth at once (the set is sorted: x, then y) and stayed locked while
    // the request waited at `y`: the call to `x` was answered only after LockBoth released.
    assert_eq!(result.output::<Vec<u64>>().unwrap(), [3600, 3600, 3600]);
    let lines = |key: &str| {
        result
            .entity_state::<Vec<String>>(&EntityId::new("ledger", key))
            .unwrap()
            .unwrap()
    };
    assert_eq!(lines("x"), ["both", "call-x"]);
    assert_eq!(lines("y"), ["hold-y", "both"]);
}

// ---------------------------------------------------------------------------------------------
// The TestApp triggers
// ---------------------------------------------------------------------------------------------

#[function(orchestration_trigger)]
async fn say_hello(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let name: String = ctx.input()?;
    Ok(ctx.call_activity("hello", &name).await?)
}

fn at(seconds: i64, event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id: -1,
        timestamp: Some(Timestamp { seconds, nanos: 0 }),
        event_type: Some(event_type),
    }
}

#[tokio::test]
async fn an_orchestration_trigger_carries_the_request_and_the_answer_is_exact() {
    let app = TestApp::new(azfn::App::new());
    let new_events = vec![
        at(
            1_700_000_000,
            EventType::OrchestratorStarted(OrchestratorStartedEvent {}),
        ),
        at(
            1_700_000_000,
            EventType::ExecutionStarted(ExecutionStartedEvent {
                name: "say_hello".into(),
                input: Some("\"Ann\"".into()),
                ..Default::default()
            }),
        ),
    ];
    let outputs = app
        .invoke("say_hello", Trigger::orchestration_history("i1", vec![], new_events))
        .await
        .unwrap();
    // OrchestratorResponse { instanceId (1) "i1", actions (2) [{ id 0, scheduleTask (2) { name
    // (1) "hello", input (3) StringValue "\"Ann\"" } }] }.
    assert_eq!(
        outputs.0.return_value,
        Some(azfn::OutputValue::Text("CgJpMRISEhAKBWhlbGxvGgcKBSJBbm4i".into()))
    );
    let response = outputs.orchestrator_response().unwrap();
    assert_eq!(response.instance_id, "i1");
    assert_eq!(response.actions.len(), 1);
}

#[tokio::test]
async fn an_entity_trigger_carries_the_batch_and_the_answer_decodes() {
    let app = TestApp::new(azfn::App::new());
    let batch = Trigger::entity_operations(
        &EntityId::new("audit", "all"),
        Some(&["old"]),
        &[("record", json!("new")), ("shred", json!(null)), ("list", json!(null))],
    );
    let result = app.invoke("audit", batch).await.unwrap().entity_batch_result().unwrap();
    assert_eq!(result.entity_state.unwrap().value, r#"["old","new"]"#);
    let results: Vec<Result<Option<String>, String>> = result
        .results
        .into_iter()
        .map(|r| match r.result_type {
            Some(ResultType::Success(ok)) => Ok(ok.result.map(|v| v.value)),
            Some(ResultType::Failure(failed)) => Err(failed.failure_details.unwrap_or_default().error_type),
            None => Err("none".into()),
        })
        .collect();
    assert_eq!(
        results,
        [
            Ok(Some(r#"["old","new"]"#.to_owned())),
            Err("UnknownOperation".to_owned()),
            Ok(Some(r#"["old","new"]"#.to_owned())),
        ]
    );
}

/// Signals itself on every `ping`, forever.
#[function(entity_trigger)]
fn echo_forever(ctx: &mut EntityContext<u64>) -> Result<u64, azfn::Error> {
    *ctx.state_mut() += 1;
    let me = ctx.entity_id().clone();
    ctx.signal_entity(&me, "ping", ())?;
    Ok(*ctx.state())
}

#[test]
fn entities_that_signal_each_other_forever_are_stopped() {
    async fn ping(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
        let echo = EntityId::new("echo_forever", "e");
        Ok(ctx.call_entity(&echo, "ping", &()).await?)
    }
    let driver = OrchestrationDriver::new(MockActivities::new())
        .entities(AppEntities::new())
        .max_episodes(50)
        .orchestrator("Ping", ping);
    let result = block_on(driver.run("Ping", &()));
    // The call was answered by the first operation; the chain of signals stopped at the limit:
    // 50 operations in all.
    assert_eq!(result.output::<u64>().unwrap(), 1);
    let echo = EntityId::new("echo_forever", "e");
    assert_eq!(result.entity_state::<u64>(&echo).unwrap().unwrap(), 50);
}
