//! `#[function]`s served over a real socket: the real-host captures of `captures/` replayed
//! through the macro-generated code, and the exact JSON the host gets back.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::net::TcpListener;

#[path = "support/functions.rs"]
mod functions;

#[path = "support/raw_http.rs"]
mod raw_http;

async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let registry = azfn::Registry::global().unwrap();
    tokio::spawn(azfn::custom_handler::serve(listener, registry, std::future::pending()));
    address
}

/// Posts `body` as the host does (chunked, with its headers) and returns status and JSON.
async fn invoke(address: SocketAddr, function: &str, body: &str) -> (u16, Value) {
    let raw = format!(
        "POST /{function} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json; charset=utf-8\r\n\
         X-Azure-Functions-InvocationId: 7b3f0c1e-0000-4000-8000-000000000001\r\n\
         User-Agent: Azure-Functions-Host/4.1037.0\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let answer = raw_http::exchange(address, raw.as_bytes()).await;
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{}", answer.head);
    let body = answer.text();
    (
        answer.status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

/// A payload recorded from a real host (`captures/README.md`), shared with
/// custom_handler_protocol.rs.
const HTTP_CAPTURE: &str = include_str!("captures/http-with-blob-input.json");

const QUEUE_CAPTURE: &str = include_str!("captures/queue.json");

#[tokio::test]
async fn the_http_capture_with_a_blob_input_answers_exactly() {
    let address = start().await;
    let (status, body) = invoke(address, "post-hello-blobInput", HTTP_CAPTURE).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "Outputs": {},
            "Logs": [],
            "ReturnValue": {
                "statusCode": 200,
                "headers": {"content-type": "text/plain; charset=utf-8"},
                "body": "Jack says hello from byte"
            }
        })
    );
}

#[tokio::test]
async fn the_queue_capture_writes_its_output_message() {
    let address = start().await;
    let (status, body) = invoke(address, "queue", QUEUE_CAPTURE).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "Outputs": {},
            "Logs": [],
            "ReturnValue": {"message": "aaaaa (a0004923-f050-417a-9742-6d7c7b984134)", "attempt": 1}
        })
    );
}

#[tokio::test]
async fn the_timer_capture_runs_and_a_late_run_fails_the_invocation() {
    let address = start().await;
    let on_time = r#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},
        "Metadata":{"sys":{"MethodName":"timer","UtcNow":"2022-07-25T10:26:43.0352723Z","RandGuid":"x"}}}"#;
    assert_eq!(
        invoke(address, "timer", on_time).await,
        (200, json!({"Outputs": {}, "Logs": [], "ReturnValue": null}))
    );
    let late = on_time.replace("\"IsPastDue\":false", "\"IsPastDue\":true");
    let (status, body) = invoke(address, "timer", &late).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"], "the function returned an error: timer ran late");
}

#[tokio::test]
async fn a_function_output_struct_writes_named_outputs() {
    let address = start().await;
    let request = json!({"Data": {"req": {"Url": "http://localhost/api/accept", "Method": "POST", "Query": {},
        "Headers": {}, "Body": r#"[{"message":"a","attempt":1},{"message":"b","attempt":2}]"#}}, "Metadata": {}});
    let (status, body) = invoke(address, "accept", &request.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "Outputs": {
                "response": {"statusCode": 202, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": "queued"},
                "orders": [{"message": "a", "attempt": 1}, {"message": "b", "attempt": 2}]
            },
            "Logs": [],
            "ReturnValue": null
        })
    );
}

#[tokio::test]
async fn bad_input_and_panics_fail_one_invocation_and_the_worker_keeps_serving() {
    let address = start().await;
    let (status, body) = invoke(
        address,
        "strict",
        r#"{"Data":{"message":"\"not json\""},"Metadata":{}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("binding `message`"), "{body}");
    let (status, body) = invoke(address, "panics", r#"{"Data":{"message":"\"x\""},"Metadata":{}}"#).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"], "the function panicked: user code panicked on x");
    let (status, _) = invoke(address, "nope", "{}").await;
    assert_eq!(status, 404);
    let (status, _) = invoke(address, "queue", "{\"Data\": [").await;
    assert_eq!(status, 400);
    assert_eq!(invoke(address, "queue", QUEUE_CAPTURE).await.0, 200);
}
