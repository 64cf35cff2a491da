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

// ----- an entity written as a type: its methods are its operations -----

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Tally {
    total: i64,
    notes: Vec<String>,
}

#[entity(name = "Tally")]
impl Tally {
    /// A write, with an input and a result.
    pub fn add(&mut self, amount: i64) -> i64 {
        self.total += amount;
        self.total
    }

    /// A read: the entity does not come to exist by it.
    pub fn get(&self) -> i64 {
        self.total
    }

    /// An async write that may fail.
    pub async fn note(&mut self, line: String) -> Result<usize, azfn::Error> {
        if line.is_empty() {
            return Err(azfn::Error::msg("an empty note"));
        }
        self.notes.push(line);
        Ok(self.notes.len())
    }

    /// The whole context, renamed on the wire: moves `amount` to another tally.
    #[operation(name = "Forward")]
    pub fn forward_to_other(ctx: &mut EntityContext<Self>, amount: i64) -> Result<(), azfn::Error> {
        ctx.state_mut().total -= amount;
        ctx.signal_operation(Tally::ADD, "other", &amount)
    }

    /// Not public: a helper, not an operation.
    #[allow(dead_code)]
    fn helper(&self) -> usize {
        self.notes.len()
    }
}

/// The same entity by hand: a function matching on the operation's name.
#[function(entity_trigger(entity_name = "HandTally"))]
async fn hand_tally(ctx: &mut EntityContext<Tally>) -> Result<serde_json::Value, azfn::Error> {
    let operation = ctx.operation().to_ascii_lowercase();
    Ok(match operation.as_str() {
        "add" => {
            let amount: i64 = ctx.input()?;
            ctx.state_mut().total += amount;
            serde_json::json!(ctx.state().total)
        }
        "get" => serde_json::json!(ctx.state().total),
        "note" => {
            let line: String = ctx.input()?;
            if line.is_empty() {
                return Err(azfn::Error::msg("an empty note"));
            }
            ctx.state_mut().notes.push(line);
            serde_json::json!(ctx.state().notes.len())
        }
        "forward" => {
            let amount: i64 = ctx.input()?;
            ctx.state_mut().total -= amount;
            ctx.signal_entity(&EntityId::new("Tally", "other"), "add", amount)?;
            serde_json::Value::Null
        }
        _ => return Err(ctx.unknown_operation()),
    })
}

/// Entity calls by the type's operations.
#[function(orchestration_trigger)]
async fn typed_entity_calls(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
    let later = ctx.current_utc_time() + Duration::from_secs(3600);
    ctx.signal_operation(Tally::ADD, "daily", &1)?;
    ctx.signal_operation_at(Tally::NOTE, "daily", &"later".to_owned(), later)?;
    Ok(ctx.call_operation(Tally::GET, "daily", &()).await?)
}

/// The same by strings.
#[function(orchestration_trigger)]
async fn string_entity_calls(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
    let later = ctx.current_utc_time() + Duration::from_secs(3600);
    let daily = EntityId::new("Tally", "daily");
    ctx.signal_entity(&daily, "add", &1)?;
    ctx.signal_entity_at(&daily, "note", &"later", later)?;
    Ok(ctx.call_entity(&daily, "get", &()).await?)
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

#[tokio::test]
async fn typed_entity_calls_send_exactly_what_string_calls_do() {
    let typed = episode("typed_entity_calls", &started("typed_entity_calls", "null")).await;
    let strings = episode("string_entity_calls", &started("string_entity_calls", "null")).await;
    assert_eq!(typed, strings, "the same bytes out");
    let response = decode(&typed);
    let targets: Vec<(&str, &str)> = response
        .actions
        .iter()
        .map(|action| match &action.orchestrator_action_type {
            Some(OrchestratorActionType::SendEvent(sent)) => {
                (sent.instance.as_ref().unwrap().instance_id.as_str(), sent.name.as_str())
            }
            other => panic!("expected entity messages, got {other:?}"),
        })
        .collect();
    assert_eq!(targets.len(), 3, "{:?}", response.actions);
    assert!(targets.iter().all(|(to, _)| *to == "@tally@daily"), "{targets:?}");
    assert!(targets[1].1.starts_with("op@"), "the scheduled signal: {targets:?}");
}

/// A batch through the registered function, as the host delivers it; the results and the state
/// with the times (which differ between runs) cleared.
async fn tally_batch(function: &str, operations: &[(&str, serde_json::Value)]) -> EntityBatchResult {
    let app = TestApp::new(App::new());
    let id = EntityId::new("Tally", "t");
    let state = serde_json::json!({"total": 10, "notes": []});
    let outputs = app
        .invoke(function, Trigger::entity_operations(&id, Some(&state), operations))
        .await
        .unwrap();
    let mut result = outputs.entity_batch_result().unwrap();
    for r in &mut result.results {
        match r.result_type.as_mut().unwrap() {
            operation_result::ResultType::Success(s) => (s.start_time_utc, s.end_time_utc) = (None, None),
            operation_result::ResultType::Failure(f) => (f.start_time_utc, f.end_time_utc) = (None, None),
        }
    }
    for action in &mut result.actions {
        if let Some(operation_action::OperationActionType::SendSignal(signal)) = &mut action.operation_action_type {
            signal.request_time = None;
        }
    }
    result
}

#[tokio::test]
async fn an_entity_type_answers_a_batch_as_the_same_entity_written_by_hand() {
    use serde_json::{Value, json};
    let operations = [
        ("add", json!(5)),
        ("GET", Value::Null),
        ("note", json!("tea")),
        ("note", json!("")),
        ("forward", json!(2)),
        ("add", json!("five")),
        ("bogus", Value::Null),
        ("Get", Value::Null),
    ];
    let typed = tally_batch("Tally", &operations).await;
    let by_hand = tally_batch("hand_tally", &operations).await;
    assert_eq!(typed, by_hand);

    let outcomes: Vec<Result<Option<String>, String>> = typed
        .results
        .iter()
        .map(|r| match r.result_type.as_ref().unwrap() {
            operation_result::ResultType::Success(s) => Ok(s.result.as_ref().map(|v| v.value.clone())),
            operation_result::ResultType::Failure(f) => Err(f.failure_details.as_ref().unwrap().error_message.clone()),
        })
        .collect();
    let ok = |text: &str| Ok(Some(text.to_owned()));
    assert_eq!(outcomes[0], ok("15"));
    assert_eq!(outcomes[1], ok("15"), "names are matched ignoring case");
    assert_eq!(outcomes[2], ok("1"));
    assert_eq!(outcomes[3], Err("an empty note".to_owned()));
    assert_eq!(outcomes[4], Ok(None));
    let bad_input = outcomes[5].as_ref().unwrap_err();
    assert!(
        bad_input.contains("operation `add` of entity `@tally@t`") && bad_input.contains("as i64"),
        "{bad_input}"
    );
    assert_eq!(
        outcomes[6],
        Err("entity `@tally@t` has no operation `bogus`".to_owned())
    );
    assert_eq!(outcomes[7], ok("13"));
    assert_eq!(typed.entity_state.unwrap().value, r#"{"total":13,"notes":["tea"]}"#);
    let [action] = typed.actions.as_slice() else {
        panic!("{:?}", typed.actions)
    };
    let Some(operation_action::OperationActionType::SendSignal(signal)) = &action.operation_action_type else {
        panic!("{action:?}")
    };
    assert_eq!(
        (signal.instance_id.as_str(), signal.name.as_str()),
        ("@tally@other", "add")
    );
    assert_eq!(signal.input.as_ref().unwrap().value, "2");
}

#[tokio::test]
async fn an_entity_type_without_a_delete_operation_is_deleted_and_a_read_creates_nothing() {
    let typed = tally_batch("Tally", &[("delete", serde_json::Value::Null)]).await;
    assert_eq!(typed.entity_state, None);
    assert_eq!(
        typed,
        tally_batch("hand_tally", &[("delete", serde_json::Value::Null)]).await
    );

    let app = TestApp::new(App::new());
    let read = Trigger::entity_operations::<Tally>(
        &EntityId::of_type::<Tally>("new"),
        None,
        &[("get", serde_json::Value::Null)],
    );
    let result = app.invoke("Tally", read).await.unwrap().entity_batch_result().unwrap();
    assert_eq!(
        result.entity_state, None,
        "a read of an entity with no state leaves none"
    );
}

#[test]
fn an_entity_type_names_itself_and_its_operations() {
    assert_eq!(EntityId::of_type::<Tally>("a").to_string(), "@tally@a");
    assert_eq!(Tally::ADD.name(), "add");
    assert_eq!(Tally::FORWARD_TO_OTHER.name(), "Forward");
    assert_eq!(Tally::NOTE.entity_id("x"), EntityId::new("Tally", "x"));
    // Its methods still call as methods.
    let mut tally = Tally::default();
    assert_eq!(tally.add(2), 2);
    assert_eq!(tally.get(), 2);
    // The registered function is the entity's, with the entity trigger.
    let _app = TestApp::new(App::new());
    let registry = azfn::Registry::global().unwrap();
    assert_eq!(
        azfn::manifest::function_json(registry.get("Tally").unwrap())["bindings"],
        serde_json::json!([{"type": "entityTrigger", "direction": "in", "name": "context"}])
    );
}
