//! Durable functions as users write them with `#[function]`: their `function.json`, their
//! invocations over the custom-handler protocol exactly as the host sends them (double-encoded
//! values, the implicit return value), and the test driver running an orchestration against
//! the app's own activities.
#![cfg(feature = "durable")]

use std::net::SocketAddr;

use azfn::durable::driver::{AppActivities, MockActivities, OrchestrationDriver};
use azfn::durable::orchestration::{decode_request, encode_response};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::{EntityBatchRequest, EntityBatchResult, OperationRequest, operation_result};
use azfn::durable::proto::{
    ExecutionStartedEvent, HistoryEvent, OrchestratorRequest, OrchestratorResponse, OrchestratorStartedEvent,
};
use azfn::durable::proto::{OrchestrationInstance, OrchestrationStatus};
use azfn::durable::{DurableClient, EntityContext, OrchestrationContext, when_all};
use azfn::prelude::*;
use base64::Engine;
use prost::Message;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[path = "support/raw_http.rs"]
mod raw_http;

/// Fan-out/fan-in over the cities it is given.
#[function(orchestration_trigger)]
async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
    let cities: Vec<String> = ctx.input()?;
    let greetings = when_all(
        cities
            .iter()
            .map(|city| ctx.call_activity::<String, _>("say_hello", city)),
    )
    .await;
    greetings.into_iter().map(|g| g.map_err(azfn::Error::from)).collect()
}

#[function(activity_trigger)]
fn say_hello(city: String) -> String {
    format!("Hello {city}!")
}

/// Fails for the empty word, so the failure reaches the orchestrator.
#[function(activity_trigger)]
fn measure(word: String) -> Result<usize, azfn::Error> {
    if word.is_empty() {
        return Err(azfn::Error::msg("nothing to measure"));
    }
    Ok(word.len())
}

#[function(entity_trigger)]
fn counter(ctx: &mut EntityContext<i64>) -> Result<Option<i64>, azfn::Error> {
    match ctx.operation() {
        "add" => {
            let amount: i64 = ctx.input()?;
            *ctx.state_mut() += amount;
            Ok(None)
        }
        "get" => Ok(Some(*ctx.state())),
        _ => Err(ctx.unknown_operation()),
    }
}

#[function(entity_trigger)]
async fn shelf(ctx: &mut EntityContext<Vec<String>>) -> Result<usize, azfn::Error> {
    let item: String = ctx.input()?;
    ctx.state_mut().push(item);
    Ok(ctx.state().len())
}

/// An HTTP starter: the client as an input binding next to the HTTP trigger.
#[function(http_trigger(route = "start/{name}", methods = "post"))]
async fn start(req: HttpRequest, #[durable_client] client: DurableClient) -> Result<HttpResponse, azfn::Error> {
    // No sidecar runs in this test: show what the client was configured with.
    Ok(HttpResponse::ok().text(format!(
        "{} {}",
        client.task_hub_name(),
        req.param("name").unwrap_or("?")
    )))
}

async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(azfn::custom_handler::serve(
        listener,
        azfn::Registry::global().unwrap(),
        std::future::pending(),
    ));
    address
}

/// Posts an invocation envelope as the host does and reads the JSON answer.
async fn invoke(address: SocketAddr, function: &str, envelope: &Value) -> (u16, Value) {
    let body = envelope.to_string();
    let headers = [("Host", "localhost"), ("Content-Type", "application/json")];
    let raw = raw_http::request(&format!("POST /{function} HTTP/1.1"), &headers, body.as_bytes());
    let answer = raw_http::exchange(address, &raw).await;
    (
        answer.status,
        serde_json::from_str(&answer.text()).unwrap_or(Value::Null),
    )
}

/// A string value as the host puts it in `Data`: JSON-encoded once more.
fn double_encoded(text: &str) -> Value {
    Value::String(Value::String(text.to_owned()).to_string())
}

fn base64_of(message: &impl Message) -> String {
    base64::engine::general_purpose::STANDARD.encode(message.encode_to_vec())
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

#[test]
fn durable_functions_declare_their_bindings_and_no_return_binding() {
    let registry = azfn::Registry::global().unwrap();
    let json = |name: &str| azfn::manifest::function_json(registry.get(name).unwrap());
    assert_eq!(
        json("hello_cities"),
        json!({"bindings": [{"type": "orchestrationTrigger", "direction": "in", "name": "context"}]})
    );
    assert_eq!(
        json("say_hello"),
        json!({"bindings": [{"type": "activityTrigger", "direction": "in", "name": "input"}]})
    );
    assert_eq!(
        json("counter"),
        json!({"bindings": [{"type": "entityTrigger", "direction": "in", "name": "context"}]})
    );
    let starter = json("start");
    assert_eq!(
        starter["bindings"][1],
        json!({"type": "durableClient", "direction": "in", "name": "client"})
    );
}

#[tokio::test]
async fn an_orchestrator_answers_the_host_with_its_base64_actions() {
    let address = serve().await;
    let request = OrchestratorRequest {
        instance_id: "i-1".into(),
        new_events: vec![
            event(EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            event(EventType::ExecutionStarted(ExecutionStartedEvent {
                name: "hello_cities".into(),
                input: Some(r#"["Tokyo","Seattle"]"#.into()),
                orchestration_instance: Some(OrchestrationInstance {
                    instance_id: "i-1".into(),
                    execution_id: Some("e-1".into()),
                }),
                ..Default::default()
            })),
        ],
        ..Default::default()
    };
    let envelope = json!({"Data": {"context": double_encoded(&base64_of(&request))}, "Metadata": {}});
    let (status, answer) = invoke(address, "hello_cities", &envelope).await;
    assert_eq!(status, 200, "{answer}");
    // The return value goes back as the base64 text itself, not base64 of it.
    let text = answer["ReturnValue"].as_str().expect("a string return value");
    let response = OrchestratorResponse::decode(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
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
            (0, "say_hello".to_owned(), "\"Tokyo\"".to_owned()),
            (1, "say_hello".to_owned(), "\"Seattle\"".to_owned())
        ]
    );
    // The same text, read back by the engine's own decoder, is not an OrchestratorRequest
    // but a response: the helpers agree on the encoding.
    assert_eq!(encode_response(&response), text);
    assert!(decode_request(&base64_of(&request)).is_ok());

    // A malformed trigger value fails that invocation only.
    let bad = json!({"Data": {"context": double_encoded("not base64!")}, "Metadata": {}});
    let (status, _) = invoke(address, "hello_cities", &bad).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn activities_read_their_json_input_and_return_plain_json() {
    let address = serve().await;
    let envelope = json!({
        "Data": {"input": double_encoded("\"Tokyo\"")},
        "Metadata": {"instanceId": "\"i-1\"", "sys": {"MethodName": "say_hello"}}
    });
    let (status, answer) = invoke(address, "say_hello", &envelope).await;
    assert_eq!(status, 200, "{answer}");
    // Passed through as it is: no base64, since no `$return` binding is declared.
    assert_eq!(answer["ReturnValue"], "Hello Tokyo!");

    let envelope = json!({"Data": {"input": double_encoded("\"\"")}, "Metadata": {}});
    let (status, _) = invoke(address, "measure", &envelope).await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn entities_run_each_operation_of_the_batch() {
    let address = serve().await;
    let operation = |name: &str, input: Option<&str>| OperationRequest {
        operation: name.into(),
        request_id: format!("r-{name}"),
        input: input.map(Into::into),
        ..Default::default()
    };
    let request = EntityBatchRequest {
        instance_id: "@counter@k".into(),
        entity_state: Some("40".into()),
        operations: vec![
            operation("add", Some("2")),
            operation("get", None),
            operation("explode", None),
        ],
        ..Default::default()
    };
    let envelope = json!({"Data": {"context": double_encoded(&base64_of(&request))}, "Metadata": {}});
    let (status, answer) = invoke(address, "counter", &envelope).await;
    assert_eq!(status, 200, "{answer}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer["ReturnValue"].as_str().unwrap())
        .unwrap();
    let result = EntityBatchResult::decode(bytes.as_slice()).unwrap();
    assert_eq!(result.entity_state.map(|s| s.value).as_deref(), Some("42"));
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
    assert_eq!(
        outcomes,
        [Ok(None), Ok(Some("42".into())), Err("UnknownOperation".into())]
    );

    let request = EntityBatchRequest {
        instance_id: "@shelf@k".into(),
        entity_state: None,
        operations: vec![operation("put", Some("\"tea\"")), operation("put", Some("\"jam\""))],
        ..Default::default()
    };
    let envelope = json!({"Data": {"context": double_encoded(&base64_of(&request))}, "Metadata": {}});
    let (status, answer) = invoke(address, "shelf", &envelope).await;
    assert_eq!(status, 200, "{answer}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer["ReturnValue"].as_str().unwrap())
        .unwrap();
    let result = EntityBatchResult::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        result.entity_state.map(|s| s.value).as_deref(),
        Some(r#"["tea","jam"]"#)
    );
}

#[tokio::test]
async fn http_starters_get_the_durable_client() {
    let address = serve().await;
    let client = json!({
        "taskHubName": "Hub",
        "connectionName": "Storage",
        "rpcBaseUrl": "http://localhost:4001",
        "requiredQueryStringParameters": "",
        "httpBaseUrl": "http://localhost:7071/runtime/webhooks/durabletask"
    });
    let envelope = json!({
        "Data": {
            "req": {"Url": "http://localhost:7071/api/start/hello_cities", "Method": "POST", "Params": {"name": "hello_cities"}},
            "client": double_encoded(&client.to_string())
        },
        "Metadata": {}
    });
    let (status, answer) = invoke(address, "start", &envelope).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ReturnValue"]["body"], "Hub hello_cities");
}

#[tokio::test]
async fn the_driver_runs_an_orchestration_against_the_apps_own_activities() {
    let _app = azfn::testing::TestApp::new(azfn::App::new());
    let result = OrchestrationDriver::new(AppActivities::new())
        .orchestrator("hello_cities", *hello_cities)
        .run("hello_cities", &["Tokyo", "Lima"])
        .await;
    assert_eq!(result.status, OrchestrationStatus::Completed, "{:?}", result.failure);
    assert_eq!(result.output::<Vec<String>>().unwrap(), ["Hello Tokyo!", "Hello Lima!"]);

    // A mock replaces the app's activity of the same name.
    let mocks = MockActivities::new().activity("say_hello", |city: String| Ok::<_, String>(format!("Hi {city}")));
    let result = OrchestrationDriver::new(AppActivities::with_mocks(mocks))
        .orchestrator("hello_cities", *hello_cities)
        .run("hello_cities", &["Oslo"])
        .await;
    assert_eq!(result.output::<Vec<String>>().unwrap(), ["Hi Oslo"]);
}
