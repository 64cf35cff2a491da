//! The shop's functions tested in-process with `azfn::testing`: no server, no host.

use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use azfn::{InvocationError, RetryContext};
use shop::{Item, Restock};

async fn app() -> TestApp {
    azfn::logging::init_default();
    TestApp::start(shop::app()).await.expect("the shop starts")
}

fn get(id: &str) -> Trigger {
    Trigger::http(
        HttpRequest::builder()
            .url(format!("http://localhost/api/items/{id}"))
            .param("id", id)
            .build(),
    )
}

#[tokio::test]
async fn items_are_served_from_shared_state_with_a_request_id() {
    let outputs = app().await.invoke("get_item", get("1")).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let item: Item = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        item,
        Item {
            id: 1,
            name: "tea".into(),
            stock: 10
        }
    );
    assert_eq!(response.header_value("x-request-id"), Some("req-test-get_item"));
    assert_eq!(
        outputs.logs(),
        [" INFO shop: looking up item id=1 request_id=\"req-test-get_item\""]
    );
}

#[tokio::test]
async fn an_unknown_item_is_a_404_with_its_message() {
    let outputs = app().await.invoke("get_item", get("9")).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.body(), b"no item 9");
    // Middleware still stamps a response the function did not produce.
    assert!(response.header_value("x-request-id").is_some());
}

#[tokio::test]
async fn restock_updates_the_catalog_and_reports_the_change() {
    let app = app().await;
    let trigger = Trigger::queue(&Restock { id: 2, quantity: 5 }).with_retry(RetryContext {
        retry_count: 1,
        max_retry_count: 5,
        exception: None,
    });
    let outputs = app.invoke("restock", trigger).await.unwrap();
    let item: Item = outputs.return_value().unwrap().unwrap();
    assert_eq!(item.stock, 5);
    assert_eq!(outputs.logs(), [" INFO shop: restocking id=2 attempt=1"]);

    match app
        .invoke("restock", Trigger::queue(&Restock { id: 42, quantity: 1 }))
        .await
    {
        Err(InvocationError::Function(e)) => assert_eq!(e.to_string(), "restock for unknown item 42"),
        other => panic!("expected a failed invocation, got {other:?}"),
    }
}

#[tokio::test]
async fn the_api_key_middleware_guards_http_functions_only() {
    let guarded = TestApp::start(shop::app().state(shop::ApiKey("secret".into())))
        .await
        .unwrap();
    let denied = guarded.invoke("get_item", get("1")).await.unwrap();
    assert_eq!(denied.http_response().unwrap().status(), StatusCode::UNAUTHORIZED);

    let request = HttpRequest::builder()
        .param("id", "1")
        .header("x-api-key", "secret")
        .build();
    let allowed = guarded.invoke("get_item", Trigger::http(request)).await.unwrap();
    assert_eq!(allowed.http_response().unwrap().status(), StatusCode::OK);

    let queue = guarded
        .invoke("restock", Trigger::queue(&Restock { id: 1, quantity: 1 }))
        .await;
    assert!(queue.is_ok());
}

#[tokio::test]
async fn a_stock_import_is_applied_line_by_line_as_its_body_arrives() {
    use azfn::RequestBody;
    use shop::ImportReport;

    let app = app().await;
    let request = HttpRequest::builder().build();
    // Lines split across chunks, as a network delivers them.
    let body = RequestBody::from_chunks([
        "{\"id\":1,\"quan",
        "tity\":5}\n{\"id\":9,\"quantity\":1}\n",
        "{\"id\":2,\"quantity\":3}",
    ]);
    let outputs = app
        .invoke("import_stock", Trigger::http_streamed(request, body))
        .await
        .unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: ImportReport = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        report,
        ImportReport {
            applied: 2,
            unknown: vec![9]
        }
    );

    // A malformed line is the caller's mistake.
    let request = HttpRequest::builder().build();
    let body = RequestBody::from_chunks(["{\"id\":1,\"quantity\":1}\nnot json\n"]);
    let outputs = app
        .invoke("import_stock", Trigger::http_streamed(request, body))
        .await
        .unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
