//! The functions as the host sees them: their generated `function.json`, and invocations in
//! the wire form the Durable extension uses (JSON text for activities, base64 protobuf for
//! orchestrators and entities), through the app's pipeline.

use azfn::durable::proto::OrchestrationInstance;
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::{EntityBatchRequest, EntityBatchResult, OperationRequest, operation_result};
use azfn::durable::proto::{
    ExecutionStartedEvent, HistoryEvent, OrchestratorRequest, OrchestratorResponse, OrchestratorStartedEvent,
};
use azfn::testing::{TestApp, TestOutputs, Trigger};
use azfn::{InvocationError, OutputValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message;
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

/// The function's return value: the base64 text of a protobuf message.
fn decode_return<M: Message + Default>(outputs: &TestOutputs) -> M {
    let Some(OutputValue::Text(text)) = &outputs.0.return_value else {
        panic!("expected base64 text, got {:?}", outputs.0.return_value);
    };
    M::decode(STANDARD.decode(text).unwrap().as_slice()).unwrap()
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
    let trigger = Trigger::json(&STANDARD.encode(request.encode_to_vec()));
    let outputs = app().invoke("process_order", trigger).await.unwrap();
    let response: OrchestratorResponse = decode_return(&outputs);
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
    let operation = |name: &str, input: Option<&str>| OperationRequest {
        operation: name.into(),
        request_id: format!("r-{name}"),
        input: input.map(Into::into),
        ..Default::default()
    };
    let request = EntityBatchRequest {
        instance_id: "@counter@daily".into(),
        entity_state: Some("10".into()),
        operations: vec![
            operation("add", Some("5")),
            operation("get", None),
            operation("add", Some("\"five\"")),
            operation("multiply", Some("2")),
            operation("reset", None),
            operation("add", Some("1")),
        ],
        ..Default::default()
    };
    let trigger = Trigger::json(&STANDARD.encode(request.encode_to_vec()));
    let outputs = app().invoke("counter", trigger).await.unwrap();
    let result: EntityBatchResult = decode_return(&outputs);
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
