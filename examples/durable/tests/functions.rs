//! The functions as the host sees them: their generated `function.json`, and invocations in
//! the wire form the Durable extension uses (JSON text for activities; base64 protobuf for
//! orchestrators and entities, which `Trigger::orchestration` and `Trigger::entity_batch` build
//! and `TestOutputs` decodes), through the app's pipeline.

use azfn::durable::EntityId;
use azfn::durable::proto::OrchestrationInstance;
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::operation_result;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::{ExecutionStartedEvent, HistoryEvent, OrchestratorRequest, OrchestratorStartedEvent};
use azfn::testing::{TestApp, Trigger};
use azfn::{InvocationError, OutputValue};
use serde_json::json;

fn app() -> TestApp {
    TestApp::new(durable_example::app())
}

fn function_json(name: &str) -> serde_json::Value {
    let registry = azfn::Registry::global().unwrap();
    azfn::manifest::function_json(registry.get(name).unwrap_or_else(|| panic!("no function {name}")))
}

#[test]
fn the_starter_and_the_triggers_declare_the_right_bindings() {
    let _app = app();
    assert_eq!(
        function_json("start_orchestration"),
        json!({"bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["post"], "route": "orchestrators/{name}"},
            {"type": "durableClient", "direction": "in", "name": "client"},
            {"type": "http", "direction": "out", "name": "$return"}
        ]})
    );
    assert_eq!(
        function_json("manage_instance"),
        json!({"bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["post"], "route": "instances/{id}/{action}"},
            {"type": "durableClient", "direction": "in", "name": "client"},
            {"type": "http", "direction": "out", "name": "$return"}
        ]})
    );
    // Durable triggers declare no `$return` binding: the host hands the return value to the
    // extension as it is.
    for orchestrator in ["process_order", "approval", "tally"] {
        assert_eq!(
            function_json(orchestrator),
            json!({"bindings": [{"type": "orchestrationTrigger", "direction": "in", "name": "context"}]}),
            "{orchestrator}"
        );
    }
    for activity in ["price_line", "send_approval_request"] {
        assert_eq!(
            function_json(activity),
            json!({"bindings": [{"type": "activityTrigger", "direction": "in", "name": "input"}]}),
            "{activity}"
        );
    }
    assert_eq!(
        function_json("counter"),
        json!({"bindings": [{"type": "entityTrigger", "direction": "in", "name": "context"}]})
    );
}

#[tokio::test]
async fn activities_take_the_json_text_the_extension_sends() {
    let app = app();
    let outputs = app
        .invoke("price_line", Trigger::json(&r#"{"sku":"jam","quantity":3}"#))
        .await
        .unwrap();
    assert_eq!(outputs.return_value::<u64>().unwrap().unwrap(), 1575);

    let outputs = app
        .invoke(
            "send_approval_request",
            Trigger::json(&r#"{"subject":"order-7","approver":"ana"}"#),
        )
        .await
        .unwrap();
    assert_eq!(
        outputs.0.return_value,
        Some(OutputValue::Json(json!("asked ana to approve order-7")))
    );

    match app
        .invoke("price_line", Trigger::json(&r#"{"sku":"caviar","quantity":1}"#))
        .await
    {
        Err(InvocationError::Function(e)) => assert_eq!(e.to_string(), "unknown sku `caviar`"),
        other => panic!("expected a failed activity, got {other:?}"),
    }
}

fn event(event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id: -1,
        timestamp: Some(azfn::grpc::wkt::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        event_type: Some(event_type),
    }
}

#[tokio::test]
async fn the_first_episode_of_an_order_schedules_every_line_at_once() {
    let request = OrchestratorRequest {
        instance_id: "order-7".into(),
        new_events: vec![
            event(EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            event(EventType::ExecutionStarted(ExecutionStartedEvent {
                name: "process_order".into(),
                input: Some(
                    r#"{"order_id":"order-7","lines":[{"sku":"tea","quantity":1},{"sku":"jam","quantity":2}]}"#.into(),
                ),
                orchestration_instance: Some(OrchestrationInstance {
                    instance_id: "order-7".into(),
                    execution_id: Some("e-1".into()),
                }),
                ..Default::default()
            })),
        ],
        ..Default::default()
    };
    let outputs = app()
        .invoke("process_order", Trigger::orchestration(&request))
        .await
        .unwrap();
    let response = outputs.orchestrator_response().unwrap();
    let scheduled: Vec<(i32, String, String)> = response
        .actions
        .iter()
        .map(|action| match &action.orchestrator_action_type {
            Some(OrchestratorActionType::ScheduleTask(task)) => (
                action.id,
                task.name.clone(),
                task.input.clone().map(|i| i.value).unwrap_or_default(),
            ),
            other => panic!("unexpected action {other:?}"),
        })
        .collect();
    assert_eq!(
        scheduled,
        [
            (0, "price_line".to_owned(), r#"{"sku":"tea","quantity":1}"#.to_owned()),
            (1, "price_line".to_owned(), r#"{"sku":"jam","quantity":2}"#.to_owned()),
        ]
    );
    assert_eq!(
        response.custom_status.map(|s| s.value).as_deref(),
        Some(r#"{"stage":"pricing","lines":2}"#)
    );
}

#[tokio::test]
async fn the_counter_entity_runs_a_batch_of_operations() {
    let batch = Trigger::entity_operations(
        &EntityId::new("counter", "daily"),
        Some(&10),
        &[
            ("add", json!(5)),
            ("get", json!(null)),
            ("add", json!("five")),
            ("multiply", json!(2)),
            ("reset", json!(null)),
            ("add", json!(1)),
        ],
    );
    let outputs = app().invoke("counter", batch).await.unwrap();
    let result = outputs.entity_batch_result().unwrap();
    let outcomes: Vec<Result<Option<String>, String>> = result
        .results
        .iter()
        .map(|r| match &r.result_type {
            Some(operation_result::ResultType::Success(ok)) => Ok(ok.result.as_ref().map(|v| v.value.clone())),
            Some(operation_result::ResultType::Failure(failed)) => Err(failed
                .failure_details
                .as_ref()
                .map(|d| d.error_type.clone())
                .unwrap_or_default()),
            None => Err("none".into()),
        })
        .collect();
    assert_eq!(outcomes[0], Ok(Some("15".into())));
    assert_eq!(outcomes[1], Ok(Some("15".into())));
    // A bad input and an unknown operation fail alone; the batch goes on.
    assert!(outcomes[2].is_err(), "{:?}", outcomes[2]);
    assert_eq!(outcomes[3], Err("UnknownOperation".into()));
    assert_eq!(outcomes[4], Ok(None));
    // After the reset the state starts again from the default.
    assert_eq!(outcomes[5], Ok(Some("1".into())));
    assert_eq!(result.entity_state.map(|s| s.value).as_deref(), Some("1"));
}

#[tokio::test]
async fn an_orchestration_episode_from_its_history_resumes_where_it_was() {
    use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
    use azfn::durable::proto::{OrchestratorCompletedEvent, TaskCompletedEvent, TaskScheduledEvent};
    let started = event(EventType::ExecutionStarted(ExecutionStartedEvent {
        name: "approval".into(),
        input: Some(r#"{"subject":"order-7","approver":"ana"}"#.into()),
        ..Default::default()
    }));
    let scheduled = HistoryEvent {
        event_id: 0,
        ..event(EventType::TaskScheduled(TaskScheduledEvent {
            name: "send_approval_request".into(),
            ..Default::default()
        }))
    };
    let past = vec![
        event(EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
        started,
        scheduled,
        event(EventType::OrchestratorCompleted(OrchestratorCompletedEvent {})),
    ];
    let new = vec![
        event(EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
        event(EventType::TaskCompleted(TaskCompletedEvent {
            task_scheduled_id: 0,
            result: Some(r#""asked ana to approve order-7""#.into()),
        })),
    ];
    let outputs = app()
        .invoke("approval", Trigger::orchestration_history("approval-1", past, new))
        .await
        .unwrap();
    let response = outputs.orchestrator_response().unwrap();
    // The request went out; now it waits for the event and arms the deadline timer.
    assert_eq!(
        response.custom_status.map(|s| s.value).as_deref(),
        Some(r#""asked ana to approve order-7""#)
    );
    assert!(
        matches!(
            response.actions.as_slice(),
            [action] if matches!(action.orchestrator_action_type, Some(OrchestratorActionType::CreateTimer(_)))
        ),
        "{:?}",
        response.actions
    );
}
