//! The `transfer` critical section, episode by episode, as the host invokes the orchestrator
//! (base64 protobuf in and out, through the app's pipeline): the lock request, the calls
//! inside the section once the grant came, the releases. The histories are the ones the Durable
//! extension records: the entities answer with events named by the requests' GUIDs.
//!
//! Then the same end to end through the in-process driver, which grants the locks as the
//! extension does, with the real `account` entity: transfers that contend for the same accounts
//! run one after the other.

use azfn::durable::Orchestration;
use azfn::durable::driver::{AppEntities, MockActivities, OrchestrationDriver};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::{
    EventRaisedEvent, EventSentEvent, ExecutionStartedEvent, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
    OrchestratorCompletedEvent, OrchestratorRequest, OrchestratorResponse, OrchestratorStartedEvent, operation_result,
};
use azfn::durable::{EntityId, OrchestrationContext, when_all};
use azfn::testing::{TestApp, Trigger};
use durable_example::{Account, Transfer, TransferOutcome};
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000;
const INSTANCE: &str = "transfer-1";

fn app() -> TestApp {
    TestApp::new(durable_example::app())
}

fn event(event_id: i32, at: i64, event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id,
        timestamp: Some(azfn::grpc::wkt::Timestamp { seconds: at, nanos: 0 }),
        event_type: Some(event_type),
    }
}

fn started(at: i64) -> HistoryEvent {
    event(-1, at, EventType::OrchestratorStarted(OrchestratorStartedEvent {}))
}

fn completed(at: i64) -> HistoryEvent {
    event(-1, at, EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}))
}

fn execution_started(input: &str) -> HistoryEvent {
    event(
        -1,
        T0,
        EventType::ExecutionStarted(ExecutionStartedEvent {
            name: "transfer".into(),
            input: Some(input.into()),
            orchestration_instance: Some(OrchestrationInstance {
                instance_id: INSTANCE.into(),
                execution_id: Some("e-1".into()),
            }),
            ..Default::default()
        }),
    )
}

fn sent(id: i32, at: i64, (target, name, data): &(String, String, String)) -> HistoryEvent {
    event(
        id,
        at,
        EventType::EventSent(EventSentEvent {
            instance_id: target.clone(),
            name: name.clone(),
            input: Some(data.as_str().into()),
        }),
    )
}

fn raised(at: i64, name: &str, input: &str) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::EventRaised(EventRaisedEvent {
            name: name.into(),
            input: Some(input.into()),
        }),
    )
}

/// Invokes `transfer` over this history as the host does and decodes its answer.
async fn episode(past: &[HistoryEvent], new: &[HistoryEvent]) -> OrchestratorResponse {
    let request = OrchestratorRequest {
        instance_id: INSTANCE.into(),
        past_events: past.to_vec(),
        new_events: new.to_vec(),
        ..Default::default()
    };
    let outputs = app()
        .invoke("transfer", Trigger::orchestration(&request))
        .await
        .unwrap();
    outputs.orchestrator_response().unwrap()
}

/// The events the answer sends: (id, (target, name, data)).
fn events(response: &OrchestratorResponse) -> Vec<(i32, (String, String, String))> {
    response
        .actions
        .iter()
        .filter_map(|action| match &action.orchestrator_action_type {
            Some(OrchestratorActionType::SendEvent(e)) => Some((
                action.id,
                (
                    e.instance.as_ref().unwrap().instance_id.clone(),
                    e.name.clone(),
                    e.data.as_ref().unwrap().value.clone(),
                ),
            )),
            _ => None,
        })
        .collect()
}

fn message(target: &str, name: &str, data: &str) -> (String, String, String) {
    (target.into(), name.into(), data.into())
}

fn call(operation: &str, input: Option<&str>, id: &str) -> String {
    let input = input.map(|i| format!(r#","input":"{i}""#)).unwrap_or_default();
    format!(r#"{{"op":"{operation}"{input},"id":"{id}","parent":"transfer-1","parentExecution":"e-1"}}"#)
}

/// The deterministic GUIDs of the episodes below: the lock request (episode 1), then one call
/// per episode.
const LOCK: &str = "8f58b0d2-5ba9-532f-81bd-4b475cbc6029";
const BALANCE: &str = "4200d189-86b2-5dce-83c8-a05759ae9173";
const WITHDRAW: &str = "1ace9750-d5c0-557f-ad2b-caba770590ba";
const DEPOSIT: &str = "012c4ab2-8468-5e8f-9513-3dab82debae5";
const GRANT: &str = r#"{"result":"Lock Acquisition Completed"}"#;

#[tokio::test]
async fn a_transfer_runs_in_a_critical_section_on_both_accounts() {
    let mut history = vec![
        started(T0),
        execution_started(r#"{"from":"zoe","to":"adam","amount":300}"#),
    ];

    // 1: one lock request, to the first account in lock order (adam < zoe), naming both.
    let answer = episode(&[], &history).await;
    let lock = message(
        "@account@adam",
        "op",
        &format!(
            r#"{{"id":"{LOCK}","parent":"transfer-1","parentExecution":"e-1","lockset":[{{"name":"account","key":"adam"}},{{"name":"account","key":"zoe"}}]}}"#
        ),
    );
    assert_eq!(events(&answer), [(0, lock.clone())]);
    history.extend([sent(0, T0, &lock), completed(T0)]);

    // 2: zoe, the last of the set, grants: the section is open, the balance is asked.
    let new = [started(T0 + 1), raised(T0 + 1, LOCK, GRANT)];
    let answer = episode(&history, &new).await;
    let balance = message("@account@zoe", "op", &call("balance", None, BALANCE));
    assert_eq!(events(&answer), [(1, balance.clone())]);
    history.extend(new);
    history.extend([sent(1, T0 + 1, &balance), completed(T0 + 1)]);

    // 3: 500 is enough: withdraw 300.
    let new = [started(T0 + 2), raised(T0 + 2, BALANCE, r#"{"result":"500"}"#)];
    let answer = episode(&history, &new).await;
    let withdraw = message("@account@zoe", "op", &call("withdraw", Some("300"), WITHDRAW));
    assert_eq!(events(&answer), [(2, withdraw.clone())]);
    history.extend(new);
    history.extend([sent(2, T0 + 2, &withdraw), completed(T0 + 2)]);

    // 4: deposit 300.
    let new = [started(T0 + 3), raised(T0 + 3, WITHDRAW, r#"{"result":"200"}"#)];
    let answer = episode(&history, &new).await;
    let deposit = message("@account@adam", "op", &call("deposit", Some("300"), DEPOSIT));
    assert_eq!(events(&answer), [(3, deposit.clone())]);
    history.extend(new);
    history.extend([sent(3, T0 + 3, &deposit), completed(T0 + 3)]);

    // 5: both locks released, in lock order, then the completion.
    let new = [started(T0 + 4), raised(T0 + 4, DEPOSIT, r#"{"result":"1300"}"#)];
    let answer = episode(&history, &new).await;
    let release = format!(r#"{{"parent":"transfer-1","id":"{LOCK}"}}"#);
    assert_eq!(
        events(&answer),
        [
            (4, message("@account@adam", "release", &release)),
            (5, message("@account@zoe", "release", &release)),
        ]
    );
    let Some(OrchestratorActionType::CompleteOrchestration(done)) = &answer.actions[2].orchestrator_action_type else {
        panic!("{answer:?}")
    };
    assert_eq!(
        (answer.actions[2].id, done.orchestration_status),
        (6, OrchestrationStatus::Completed as i32)
    );
    assert_eq!(
        done.result.as_ref().unwrap().value,
        r#"{"outcome":"done","from_balance":200,"to_balance":1300}"#
    );
}

#[tokio::test]
async fn a_short_balance_refuses_the_transfer_and_still_releases_the_locks() {
    let mut history = vec![
        started(T0),
        execution_started(r#"{"from":"zoe","to":"adam","amount":300}"#),
    ];
    let lock = episode(&[], &history).await.actions[0].clone();
    let Some(OrchestratorActionType::SendEvent(lock)) = lock.orchestrator_action_type else {
        panic!()
    };
    let lock = message("@account@adam", "op", &lock.data.unwrap().value);
    history.extend([
        sent(0, T0, &lock),
        completed(T0),
        started(T0 + 1),
        raised(T0 + 1, LOCK, GRANT),
    ]);
    let balance = message("@account@zoe", "op", &call("balance", None, BALANCE));
    history.extend([sent(1, T0 + 1, &balance), completed(T0 + 1)]);

    let answer = episode(
        &history,
        &[started(T0 + 2), raised(T0 + 2, BALANCE, r#"{"result":"120"}"#)],
    )
    .await;
    let release = format!(r#"{{"parent":"transfer-1","id":"{LOCK}"}}"#);
    assert_eq!(
        events(&answer),
        [
            (2, message("@account@adam", "release", &release)),
            (3, message("@account@zoe", "release", &release)),
        ]
    );
    let Some(OrchestratorActionType::CompleteOrchestration(done)) = &answer.actions[2].orchestrator_action_type else {
        panic!("{answer:?}")
    };
    assert_eq!(
        done.result.as_ref().unwrap().value,
        r#"{"outcome":"refused","balance":120}"#
    );
}

#[tokio::test]
async fn the_account_entity_refuses_an_overdraft() {
    let batch = Trigger::entity_operations(
        &EntityId::of_type::<Account>("zoe"),
        Some(&500),
        &[
            ("withdraw", json!(300)),
            ("withdraw", json!(300)),
            ("deposit", json!(50)),
            ("balance", Value::Null),
        ],
    );
    let outputs = app().invoke("account", batch).await.unwrap();
    let result = outputs.entity_batch_result().unwrap();
    let outcomes: Vec<Result<String, String>> = result
        .results
        .iter()
        .map(|r| match &r.result_type {
            Some(operation_result::ResultType::Success(ok)) => Ok(ok.result.as_ref().unwrap().value.clone()),
            Some(operation_result::ResultType::Failure(failed)) => {
                Err(failed.failure_details.as_ref().unwrap().error_message.clone())
            }
            None => Err("none".into()),
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            Ok("200".to_owned()),
            Err("cannot withdraw 300 from a balance of 200".to_owned()),
            Ok("250".to_owned()),
            Ok("250".to_owned()),
        ]
    );
    assert_eq!(result.entity_state.unwrap().value, "250");
}

#[test]
fn the_transfer_and_the_account_declare_their_triggers() {
    let _app = app();
    let registry = azfn::Registry::global().unwrap();
    let bindings = |name: &str| azfn::manifest::function_json(registry.get(name).unwrap())["bindings"].clone();
    assert_eq!(
        bindings("transfer"),
        serde_json::json!([{"type": "orchestrationTrigger", "direction": "in", "name": "context"}])
    );
    assert_eq!(
        bindings("account"),
        serde_json::json!([{"type": "entityTrigger", "direction": "in", "name": "context"}])
    );
}

/// Opens `alice` with 100, then runs three transfers between `alice` and `bob` at once.
async fn bank(ctx: OrchestrationContext) -> Result<Vec<TransferOutcome>, azfn::Error> {
    ctx.call_entity::<Option<i64>, _>(&EntityId::new("account", "alice"), "deposit", &100)
        .await?;
    let transfer = |from: &str, to: &str, amount: i64| {
        let input = Transfer {
            from: from.into(),
            to: to.into(),
            amount,
        };
        ctx.call_sub_orchestrator::<TransferOutcome, _>("transfer", &input)
    };
    let transfers = [
        transfer("alice", "bob", 30),
        transfer("bob", "alice", 50),
        transfer("alice", "bob", 70),
    ];
    when_all(transfers).await.into_iter().map(|done| Ok(done?)).collect()
}

#[tokio::test]
async fn transfers_through_the_driver_lock_the_real_accounts_one_after_the_other() {
    let result = OrchestrationDriver::new(MockActivities::new())
        .entities(AppEntities::new())
        .orchestrator("transfer", |ctx| durable_example::transfer.run(ctx))
        .orchestrator("bank", bank)
        .run("bank", &())
        .await;
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    // All three asked for both locks at once; each ran alone, in the order they were created,
    // and saw the balances the one before left.
    assert_eq!(
        result.output::<Vec<TransferOutcome>>().unwrap(),
        [
            TransferOutcome::Done {
                from_balance: 70,
                to_balance: 30
            },
            TransferOutcome::Refused { balance: 30 },
            TransferOutcome::Done {
                from_balance: 0,
                to_balance: 100
            },
        ]
    );
    let balance = |key: &str| {
        result
            .entity_state::<i64>(&EntityId::new("account", key))
            .unwrap()
            .unwrap()
    };
    assert_eq!((balance("alice"), balance("bob")), (0, 100));
}
