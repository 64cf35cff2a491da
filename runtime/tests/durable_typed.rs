//! Golden tests of the typed durable calls: an orchestrator that names its activity,
//! sub-orchestrator and entity by their function items answers with exactly the bytes of one
//! that names them by strings, and a typed-input orchestrator reads its input from the
//! instance's. The request goes in as the host sends it (base64 of the protobuf), through the
//! registered function, and the whole answer is compared.
#![cfg(feature = "durable")]

use std::time::Duration;

use azfn::durable::orchestration::{EntityId, OrchestrationContext, RetryPolicy};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::*;
use azfn::durable::{EntityContext, Orchestration};
use azfn::grpc::wkt::Timestamp;
use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use azfn::{App, OutputValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message;

/// 2024-01-02T03:04:05Z.
const T0: i64 = 1_704_164_645;
const INSTANCE: &str = "inst";

// ----- the app: its functions named by items, and the same calls by strings -----

#[function(activity_trigger, name = "SayHello")]
fn say_hello(city: String) -> String {
    format!("Hello {city}")
}

#[function(orchestration_trigger(orchestration = "Ship"))]
async fn ship(ctx: OrchestrationContext, parcel: u32) -> Result<bool, azfn::Error> {
    let _ = ctx;
    Ok(parcel > 0)
}

#[function(entity_trigger(entity_name = "Counter"))]
fn counter(ctx: &mut EntityContext<i64>) -> i64 {
    *ctx.state()
}

fn policy() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_secs(5))
}

/// Everything by its item: the input is the instance's, read into the parameter.
#[function(orchestration_trigger)]
async fn typed_calls(ctx: OrchestrationContext, city: String) -> Result<bool, azfn::Error> {
    let hello = ctx.call(say_hello, &city);
    let again = ctx.call_with_retry(say_hello, &"Seattle".to_owned(), policy());
    let shipped = ctx.call_orchestration(ship, &7);
    ctx.signal_entity(&EntityId::of(counter, "daily"), "add", &1)?;
    let (_, _, shipped) = (hello.await?, again.await?, shipped.await?);
    Ok(shipped)
}

/// The same calls by strings, the input read by hand.
#[function(orchestration_trigger)]
async fn string_calls(ctx: OrchestrationContext) -> Result<bool, azfn::Error> {
    let city: String = ctx.input()?;
    let hello = ctx.call_activity::<String, _>("SayHello", &city);
    let again = ctx.call_activity_with_retry::<String, _>("SayHello", &"Seattle", policy());
    let shipped = ctx.call_sub_orchestrator::<bool, _>("Ship", &7);
    ctx.signal_entity(&EntityId::new("Counter", "daily"), "add", &1)?;
    let (_, _, shipped) = (hello.await?, again.await?, shipped.await?);
    Ok(shipped)
}

/// Two activity calls in a row, by item: the second takes the first's output.
#[function(orchestration_trigger)]
async fn typed_chain(ctx: OrchestrationContext, city: String) -> Result<String, azfn::Error> {
    let first = ctx.call(say_hello, &city).await?;
    Ok(ctx.call(say_hello, &first).await?)
}

/// The same by strings.
#[function(orchestration_trigger)]
async fn string_chain(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
    let city: String = ctx.input()?;
    let first: String = ctx.call_activity("SayHello", &city).await?;
    Ok(ctx.call_activity("SayHello", &first).await?)
}

// ----- the wire -----

fn event(event_id: i32, event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id,
        timestamp: Some(Timestamp { seconds: T0, nanos: 0 }),
        event_type: Some(event_type),
    }
}

/// The base64 request of an instance of `name` just started with `input`.
fn started(name: &str, input: &str) -> String {
    let request = OrchestratorRequest {
        instance_id: INSTANCE.into(),
        execution_id: Some("exec-1".into()),
        new_events: vec![
            event(-1, EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            event(
                -1,
                EventType::ExecutionStarted(ExecutionStartedEvent {
                    name: name.into(),
                    input: Some(input.into()),
                    orchestration_instance: Some(OrchestrationInstance {
                        instance_id: INSTANCE.into(),
                        execution_id: Some("exec-1".into()),
                    }),
                    ..Default::default()
                }),
            ),
        ],
        ..Default::default()
    };
    STANDARD.encode(request.encode_to_vec())
}

/// The function's answer: base64 text, as the host hands it to the extension.
async fn episode(function: &str, request: &str) -> String {
    let app = TestApp::new(App::new());
    let outputs = app.invoke(function, Trigger::json(&request)).await.unwrap();
    match outputs.0.return_value {
        Some(OutputValue::Text(text)) => text,
        other => panic!("expected base64 text, got {other:?}"),
    }
}

fn decode(text: &str) -> OrchestratorResponse {
    OrchestratorResponse::decode(STANDARD.decode(text).unwrap().as_slice()).unwrap()
}

fn action(id: i32, action: OrchestratorActionType) -> OrchestratorAction {
    OrchestratorAction {
        id,
        orchestrator_action_type: Some(action),
    }
}

fn schedule(id: i32, name: &str, input: &str) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::ScheduleTask(ScheduleTaskAction {
            name: name.into(),
            input: Some(input.into()),
            ..Default::default()
        }),
    )
}

#[tokio::test]
async fn typed_calls_schedule_exactly_what_string_calls_do() {
    let typed = episode("typed_calls", &started("typed_calls", "\"Tokyo\"")).await;
    let strings = episode("string_calls", &started("string_calls", "\"Tokyo\"")).await;
    assert_eq!(typed, strings, "the same bytes out");

    let response = decode(&typed);
    assert_eq!(response.instance_id, INSTANCE);
    assert_eq!(response.actions.len(), 4, "{:?}", response.actions);
    assert_eq!(response.actions[0], schedule(0, "SayHello", "\"Tokyo\""));
    assert_eq!(response.actions[1], schedule(1, "SayHello", "\"Seattle\""));
    assert_eq!(
        response.actions[2],
        action(
            2,
            OrchestratorActionType::CreateSubOrchestration(CreateSubOrchestrationAction {
                instance_id: format!("{INSTANCE}:0002"),
                name: "Ship".into(),
                input: Some("7".into()),
                ..Default::default()
            }),
        )
    );
    // The entity signal: an event to `@counter@daily` (entity names are lower-cased).
    match &response.actions[3].orchestrator_action_type {
        Some(OrchestratorActionType::SendEvent(sent)) => {
            assert_eq!(sent.instance.as_ref().unwrap().instance_id, "@counter@daily");
            assert_eq!(sent.name, "op");
        }
        other => panic!("expected the entity signal, got {other:?}"),
    }
}

/// The second episode of `name`: the first call (task 0) was scheduled and has completed.
fn first_call_completed(name: &str) -> String {
    let started = event(
        -1,
        EventType::ExecutionStarted(ExecutionStartedEvent {
            name: name.into(),
            input: Some("\"Tokyo\"".into()),
            orchestration_instance: Some(OrchestrationInstance {
                instance_id: INSTANCE.into(),
                execution_id: Some("exec-1".into()),
            }),
            ..Default::default()
        }),
    );
    let scheduled = event(
        0,
        EventType::TaskScheduled(TaskScheduledEvent {
            name: "SayHello".into(),
            input: Some("\"Tokyo\"".into()),
            ..Default::default()
        }),
    );
    let completed = event(
        -1,
        EventType::TaskCompleted(TaskCompletedEvent {
            task_scheduled_id: 0,
            result: Some("\"Hello Tokyo\"".into()),
        }),
    );
    let request = OrchestratorRequest {
        instance_id: INSTANCE.into(),
        execution_id: Some("exec-1".into()),
        past_events: vec![
            event(-1, EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            started,
            scheduled,
        ],
        new_events: vec![
            event(-1, EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            completed,
        ],
        ..Default::default()
    };
    STANDARD.encode(request.encode_to_vec())
}

#[tokio::test]
async fn a_replayed_typed_call_answers_as_a_replayed_string_call() {
    let typed = episode("typed_chain", &first_call_completed("typed_chain")).await;
    let strings = episode("string_chain", &first_call_completed("string_chain")).await;
    assert_eq!(typed, strings, "the same bytes out");
    // The replayed call is acknowledged by the history; only the next one is scheduled.
    let response = decode(&typed);
    assert_eq!(response.actions, [schedule(1, "SayHello", "\"Hello Tokyo\"")]);
}

#[tokio::test]
async fn a_typed_input_that_does_not_fit_fails_the_orchestration() {
    let response = decode(&episode("typed_calls", &started("typed_calls", "42")).await);
    let Some(OrchestratorActionType::CompleteOrchestration(done)) = &response.actions[0].orchestrator_action_type
    else {
        panic!("expected a completion, got {:?}", response.actions);
    };
    assert_eq!(done.orchestration_status, OrchestrationStatus::Failed as i32);
    let message = &done.failure_details.as_ref().unwrap().error_message;
    assert!(
        message.contains("the orchestration's input does not fit the parameter's type `alloc::string::String`"),
        "{message}"
    );
}

#[tokio::test]
async fn the_items_still_run_as_the_functions_they_stand_for() {
    assert_eq!(say_hello("Oslo".to_owned()), "Hello Oslo");
    // `Orchestration::run` reads the typed input, as the host's invocation does.
    let request = decode_request(&started("Ship", "3"));
    let response = azfn::durable::orchestration::run_orchestrator(&request, |ctx| ship.run(ctx));
    let Some(OrchestratorActionType::CompleteOrchestration(done)) = &response.actions[0].orchestrator_action_type
    else {
        panic!("expected a completion, got {:?}", response.actions);
    };
    assert_eq!(done.result.as_ref().map(|r| r.value.as_str()), Some("true"));
}

fn decode_request(text: &str) -> OrchestratorRequest {
    azfn::durable::orchestration::decode_request(text).unwrap()
}
