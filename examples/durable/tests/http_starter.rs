//! The HTTP starter invoked in-process, its `durableClient` binding pointing at the mock
//! `TaskHubSidecarService` azfn exports for such tests (`azfn::durable::testing::MockSidecar`),
//! which records each call and answers `StartInstance`.

use azfn::durable::proto::{CreateInstanceRequest, CreateInstanceResponse, method};
use azfn::durable::testing::{MockSidecar, SidecarReply};
use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use serde_json::{Value, json};

/// The mock sidecar: answers `StartInstance` with the instance id, or `ALREADY_EXISTS` for the
/// id `taken`.
async fn sidecar() -> MockSidecar {
    MockSidecar::builder()
        .on(method::START_INSTANCE, |start: CreateInstanceRequest| {
            if start.instance_id == "taken" {
                SidecarReply::status(6, "An Orchestration instance with the ID taken already exists.")
            } else {
                SidecarReply::message(&CreateInstanceResponse {
                    instance_id: start.instance_id,
                })
            }
        })
        .start()
        .await
}

/// The `StartInstance` requests the sidecar got.
fn starts(sidecar: &MockSidecar) -> Vec<CreateInstanceRequest> {
    sidecar.requests(method::START_INSTANCE)
}

fn post(sidecar: &MockSidecar, name: &str, query: Option<&str>, body: &str) -> Trigger {
    let mut request = HttpRequest::builder()
        .method(http::Method::POST)
        .url(format!("https://shop.example.com/api/orchestrators/{name}"))
        .param("name", name)
        .body(body.to_owned());
    if let Some(id) = query {
        request = request.query("instanceId", id);
    }
    Trigger::http(request.build()).with_input("client", &sidecar.binding())
}

#[tokio::test]
async fn the_starter_starts_the_named_orchestration_and_answers_with_its_links() {
    let sidecar = sidecar().await;
    let app = TestApp::new(durable_example::app());
    let order = r#"{"order_id":"order-7","lines":[{"sku":"tea","quantity":2}]}"#;
    let outputs = app
        .invoke("start_orchestration", post(&sidecar, "process_order", None, order))
        .await
        .unwrap();

    assert_eq!(sidecar.only_call().path, method::START_INSTANCE);
    let start = &starts(&sidecar)[0];
    assert_eq!(start.name, "process_order");
    let input: Value = serde_json::from_str(&start.input.as_ref().unwrap().value).unwrap();
    assert_eq!(input, serde_json::from_str::<Value>(order).unwrap());
    // A new random instance id: 32 hex digits.
    let id = &start.instance_id;
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");

    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let links: Value = serde_json::from_slice(response.body()).unwrap();
    let status_uri = format!(
        "https://shop.example.com/runtime/webhooks/durabletask/instances/{id}?taskHub=TestHub&connection=Storage&code=sys-key"
    );
    assert_eq!(links["id"], json!(id));
    assert_eq!(links["statusQueryGetUri"], json!(status_uri));
    assert_eq!(response.header_value("location"), Some(status_uri.as_str()));
    assert_eq!(response.header_value("retry-after"), Some("10"));
    assert_eq!(
        links["sendEventPostUri"],
        json!(format!(
            "https://shop.example.com/runtime/webhooks/durabletask/instances/{id}/raiseEvent/{{eventName}}?taskHub=TestHub&connection=Storage&code=sys-key"
        ))
    );
}

#[tokio::test]
async fn the_caller_may_choose_the_instance_id_and_send_no_input() {
    let sidecar = sidecar().await;
    let app = TestApp::new(durable_example::app());
    let outputs = app
        .invoke(
            "start_orchestration",
            post(&sidecar, "approval", Some("approval-42"), ""),
        )
        .await
        .unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let links: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(links["id"], "approval-42");
    let starts = starts(&sidecar);
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].instance_id, "approval-42");
    assert_eq!(starts[0].name, "approval");
    assert_eq!(starts[0].input, None);

    // An id in use is a conflict.
    let outputs = app
        .invoke("start_orchestration", post(&sidecar, "approval", Some("taken"), ""))
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn unknown_orchestrators_and_bad_bodies_are_refused_without_starting_anything() {
    let sidecar = sidecar().await;
    let app = TestApp::new(durable_example::app());
    // Activities and entities are functions too, but not orchestrators.
    for name in ["no_such_thing", "price_line", "counter", "start_orchestration"] {
        let outputs = app
            .invoke("start_orchestration", post(&sidecar, name, None, "{}"))
            .await
            .unwrap();
        let response = outputs.http_response().unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name}");
        assert_eq!(response.body(), format!("no orchestrator named `{name}`").as_bytes());
    }
    let outputs = app
        .invoke(
            "start_orchestration",
            post(&sidecar, "process_order", None, "{not json"),
        )
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::BAD_REQUEST);
    assert!(sidecar.calls().is_empty(), "{:?}", sidecar.calls());
}

#[tokio::test]
async fn without_the_durable_extension_the_starter_fails_with_a_hint() {
    azfn::logging::init_default();
    let app = TestApp::new(durable_example::app());
    // No `client` binding value: what the host sends when the Durable extension is missing.
    let request = HttpRequest::builder().param("name", "approval").build();
    // A failed invocation (the host answers the caller a bare 500), whose reason, logged by the
    // host, says what to install.
    match app.invoke("start_orchestration", Trigger::http(request)).await {
        Err(azfn::InvocationError::Binding { binding, message }) => {
            assert_eq!(binding, "client");
            assert!(message.contains("extension bundle v4"), "{message}");
        }
        other => panic!("expected a failed invocation, got {other:?}"),
    }
}

fn manage(sidecar: &MockSidecar, id: &str, action: &str, body: &str) -> Trigger {
    let request = HttpRequest::builder()
        .method(http::Method::POST)
        .url(format!("https://shop.example.com/api/instances/{id}/{action}"))
        .param("id", id)
        .param("action", action)
        .body(body.to_owned());
    Trigger::http(request.build()).with_input("client", &sidecar.binding())
}

#[tokio::test]
async fn an_instance_is_terminated_and_purged_with_its_sub_orchestrations() {
    use azfn::durable::proto::purge_instances_request::Request;
    use azfn::durable::proto::{PurgeInstancesRequest, PurgeInstancesResponse, TerminateResponse};
    let sidecar = MockSidecar::builder()
        .answer(method::TERMINATE_INSTANCE, SidecarReply::message(&TerminateResponse {}))
        .on(method::PURGE_INSTANCES, |purge: PurgeInstancesRequest| {
            if purge.request == Some(Request::InstanceId("gone".into())) {
                SidecarReply::status(5, "no instance gone")
            } else {
                SidecarReply::message(&PurgeInstancesResponse {
                    deleted_instance_count: 3,
                    is_complete: None,
                })
            }
        })
        .start()
        .await;
    let app = TestApp::new(durable_example::app());

    let outputs = app
        .invoke("manage_instance", manage(&sidecar, "order-7", "terminate", "cancelled"))
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::ACCEPTED);
    let outputs = app
        .invoke("manage_instance", manage(&sidecar, "order-7", "purge", ""))
        .await
        .unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), br#"{"purged":3}"#);

    // The exact requests: TerminateRequest { instanceId "order-7", output "\"cancelled\"",
    // recursive true } and PurgeInstancesRequest { instanceId "order-7", recursive true,
    // isOrchestration true }.
    let calls = sidecar.calls();
    assert_eq!(calls[0].path, method::TERMINATE_INSTANCE);
    assert_eq!(
        calls[0].message.as_ref(),
        b"\x0a\x07order-7\x12\x0d\x0a\x0b\"cancelled\"\x18\x01".as_slice()
    );
    assert_eq!(calls[1].path, method::PURGE_INSTANCES);
    assert_eq!(calls[1].message.as_ref(), b"\x0a\x07order-7\x18\x01\x28\x01".as_slice());

    // An unknown instance and an unknown action are `404`s.
    let outputs = app
        .invoke("manage_instance", manage(&sidecar, "gone", "purge", ""))
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::NOT_FOUND);
    let outputs = app
        .invoke("manage_instance", manage(&sidecar, "order-7", "rewind", ""))
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(sidecar.calls().len(), 3, "the unknown action calls nothing");
}
