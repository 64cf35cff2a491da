//! The isolated-worker programming model: context, middleware, state, logging, errors, and the
//! in-process testing API that drives them all.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use azfn::{App, Invocation, InvocationError, Next, RetryContext};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Order {
    id: u32,
    quantity: u32,
}

struct Tenant(&'static str);

struct Inventory {
    stock: u32,
}

#[function(http_trigger(route = "orders/{id:int}", methods = "get"))]
async fn get_order(req: HttpRequest, ctx: FunctionContext, inventory: State<Inventory>) -> azfn::Result<Json<Order>> {
    let id: u32 = req
        .param("id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| azfn::Error::bad_request("no id"))?;
    if id == 404 {
        return Err(azfn::Error::not_found(format!("no order {id}")));
    }
    if id == 500 {
        return Err(azfn::Error::msg("database password is hunter2"));
    }
    tracing::info!(id, tenant = ctx.extension::<Tenant>().map(|t| t.0), "order read");
    Ok(Json(Order {
        id,
        quantity: inventory.stock,
    }))
}

#[function(http_trigger(methods = "post"))]
async fn create_order(Json(order): Json<Order>) -> (StatusCode, Json<Order>) {
    (StatusCode::CREATED, Json(order))
}

#[derive(Deserialize)]
struct QueueMeta {
    #[serde(rename = "DequeueCount")]
    dequeue_count: u64,
}

#[function(queue_trigger(queue_name = "orders"), queue_output(queue_name = "shipping"))]
async fn ship(order: Order, ctx: FunctionContext) -> azfn::Result<Vec<Order>> {
    let meta: QueueMeta = ctx.trigger_metadata_as()?;
    let retry = ctx.retry().map_or(0, |r| r.retry_count);
    tracing::warn!(retry, dequeue = meta.dequeue_count, "shipping");
    if order.quantity == 0 {
        return Err(azfn::Error::msg("empty order"));
    }
    Ok(vec![order.clone(), order])
}

#[function(http_trigger(route = "explode", methods = "get"))]
async fn explode() -> String {
    panic!("kaboom")
}

#[function(queue_trigger(queue_name = "nostate"))]
async fn needs_missing_state(_message: String, _missing: State<String>) {}

fn app() -> TestApp {
    azfn::logging::init_default();
    TestApp::new(App::new().state(Inventory { stock: 3 }))
}

#[tokio::test]
async fn functions_reach_shared_state_and_log_into_their_response() {
    let request = HttpRequest::builder().param("id", "7").build();
    let outputs = app().invoke("get_order", Trigger::http(request)).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), br#"{"id":7,"quantity":3}"#);
    assert_eq!(outputs.logs(), [" INFO programming_model: order read id=7"]);
}

#[tokio::test]
async fn http_errors_with_a_status_answer_and_other_errors_fail_the_invocation() {
    let app = app();
    let not_found = app
        .invoke(
            "get_order",
            Trigger::http(HttpRequest::builder().param("id", "404").build()),
        )
        .await;
    let response = not_found.unwrap().http_response().unwrap().clone();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.body(), b"no order 404");

    // An error without a status is a failed invocation, not a response: the host records the
    // failure and answers the caller its own 500, so the message never reaches the caller.
    match app
        .invoke(
            "get_order",
            Trigger::http(HttpRequest::builder().param("id", "500").build()),
        )
        .await
    {
        Err(InvocationError::Function(error)) => assert_eq!(error.to_string(), "database password is hunter2"),
        other => panic!("expected a failed invocation, got {other:?}"),
    }

    // A body that is not the expected JSON is the caller's mistake: 400, saying why.
    let bad_body = HttpRequest::builder()
        .method(http::Method::POST)
        .body("{\"id\": \"seven\"}")
        .build();
    let response = app
        .invoke("create_order", Trigger::http(bad_body))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        String::from_utf8_lossy(response.body()).starts_with("bad request: "),
        "{response:?}"
    );

    let good = HttpRequest::builder()
        .method(http::Method::POST)
        .body(r#"{"id":1,"quantity":2}"#)
        .build();
    let response = app
        .invoke("create_order", Trigger::http(good))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn non_http_errors_fail_the_invocation_and_typed_outputs_can_be_read() {
    let app = app();
    let order = Order { id: 1, quantity: 2 };
    let trigger = Trigger::queue(&order)
        .with_metadata("DequeueCount", 2)
        .with_retry(RetryContext {
            retry_count: 1,
            max_retry_count: 5,
            exception: None,
        });
    let outputs = app.invoke("ship", trigger).await.unwrap();
    assert_eq!(
        outputs.return_value::<Vec<Order>>().unwrap().unwrap(),
        vec![order.clone(), order]
    );
    assert_eq!(outputs.logs(), [" WARN programming_model: shipping retry=1 dequeue=2"]);

    let empty = Trigger::queue(&Order { id: 2, quantity: 0 }).with_metadata("DequeueCount", 1);
    match app.invoke("ship", empty).await {
        Err(InvocationError::Function(error)) => assert_eq!(error.to_string(), "empty order"),
        other => panic!("expected a failed invocation, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_state_is_a_clear_error() {
    match app().invoke("needs_missing_state", Trigger::queue(&"x")).await {
        Err(InvocationError::Binding { message, .. }) => {
            assert!(
                message.contains("no state of type `alloc::string::String`"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn middleware_runs_in_order_around_the_function_and_can_change_the_response() {
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (first, second) = (Arc::clone(&order), Arc::clone(&order));
    let app = TestApp::new(
        App::new()
            .state(Inventory { stock: 9 })
            .middleware(move |mut invocation: Invocation, next: Next| {
                let log = Arc::clone(&first);
                async move {
                    log.lock().unwrap().push("outer before");
                    invocation.extensions.insert(Tenant("contoso"));
                    let result = next.run(invocation).await;
                    log.lock().unwrap().push("outer after");
                    result
                }
            })
            .middleware_for(
                |f| f.trigger().kind.is_http_trigger(),
                move |invocation: Invocation, next: Next| {
                    let log = Arc::clone(&second);
                    async move {
                        log.lock().unwrap().push("http only");
                        let mut result = next.run(invocation).await;
                        if let Some(response) = result.as_mut().ok().and_then(|o| o.http_response_mut()) {
                            *response = response.clone().header("x-tenant", "contoso");
                        }
                        result
                    }
                },
            ),
    );
    let outputs = app
        .invoke(
            "get_order",
            Trigger::http(HttpRequest::builder().param("id", "1").build()),
        )
        .await
        .unwrap();
    assert_eq!(
        outputs.http_response().unwrap().header_value("x-tenant"),
        Some("contoso")
    );
    assert_eq!(
        outputs.logs(),
        [" INFO programming_model: order read id=1 tenant=\"contoso\""]
    );
    assert_eq!(*order.lock().unwrap(), ["outer before", "http only", "outer after"]);

    // The HTTP-only middleware skips queue functions.
    order.lock().unwrap().clear();
    let trigger = Trigger::queue(&Order { id: 3, quantity: 1 }).with_metadata("DequeueCount", 1);
    app.invoke("ship", trigger).await.unwrap();
    assert_eq!(*order.lock().unwrap(), ["outer before", "outer after"]);
}

#[tokio::test]
async fn middleware_can_short_circuit() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = TestApp::new(App::new().middleware(move |invocation: Invocation, next: Next| {
        let calls = Arc::clone(&counted);
        async move {
            if invocation.function.name == "get_order" {
                let denied = HttpResponse::new(StatusCode::UNAUTHORIZED);
                return Ok(azfn::Outputs::http_response_for(invocation.function, denied));
            }
            calls.fetch_add(1, Ordering::SeqCst);
            next.run(invocation).await
        }
    }));
    let outputs = app
        .invoke(
            "get_order",
            Trigger::http(HttpRequest::builder().param("id", "1").build()),
        )
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// What a middleware saw come back from the rest of the chain.
fn seen(result: &Result<azfn::Outputs, InvocationError>) -> String {
    match result {
        Ok(outputs) => format!(
            "response {}",
            outputs.http_response().map_or(0, |r| r.status().as_u16())
        ),
        Err(InvocationError::Function(error)) => format!("error: {error}"),
        Err(InvocationError::Panic(message)) => format!("panic: {message}"),
        Err(other) => format!("other: {other}"),
    }
}

fn order(id: &str) -> Trigger {
    Trigger::http(HttpRequest::builder().param("id", id).build())
}

#[tokio::test]
async fn middleware_sees_failures_and_a_failure_passed_through_fails_the_invocation() {
    let saw = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&saw);
    let app = TestApp::new(App::new().state(Inventory { stock: 1 }).middleware(
        move |invocation: Invocation, next: Next| {
            let log = Arc::clone(&log);
            async move {
                let result = next.run(invocation).await;
                log.lock().unwrap().push(seen(&result));
                result
            }
        },
    ));
    assert!(matches!(
        app.invoke("get_order", order("500")).await,
        Err(InvocationError::Function(_))
    ));
    assert!(matches!(
        app.invoke("explode", Trigger::http(HttpRequest::builder().build())).await,
        Err(InvocationError::Panic(message)) if message == "kaboom"
    ));
    // An error with a status is already the response when the middleware sees it.
    let not_found = app.invoke("get_order", order("404")).await.unwrap();
    assert_eq!(not_found.http_response().unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(
        *saw.lock().unwrap(),
        ["error: database password is hunter2", "panic: kaboom", "response 404"]
    );
}

#[tokio::test]
async fn middleware_may_turn_a_failure_into_a_response_on_purpose() {
    let app = TestApp::new(App::new().state(Inventory { stock: 1 }).middleware(
        |invocation: Invocation, next: Next| async move {
            let function = invocation.function;
            match next.run(invocation).await {
                Err(error @ (InvocationError::Function(_) | InvocationError::Panic(_))) => {
                    let response = HttpResponse::new(StatusCode::SERVICE_UNAVAILABLE).text(format!("rescued: {error}"));
                    Ok(azfn::Outputs::http_response_for(function, response))
                }
                other => other,
            }
        },
    ));
    for (function, trigger, said) in [
        (
            "get_order",
            order("500"),
            "rescued: the function returned an error: database password is hunter2",
        ),
        (
            "explode",
            Trigger::http(HttpRequest::builder().build()),
            "rescued: the function panicked: kaboom",
        ),
    ] {
        let outputs = app.invoke(function, trigger).await.expect("a handled response");
        let response = outputs.http_response().unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.body(), said.as_bytes());
        // What the host gets for it: the ordinary envelope, with that response.
        let description = azfn::Registry::global().unwrap().get(function).unwrap();
        let envelope = azfn::custom_handler::protocol::encode_response(description, &outputs.0).unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(&envelope).unwrap();
        assert_eq!(envelope["ReturnValue"]["statusCode"], 503);
        assert_eq!(envelope["ReturnValue"]["body"], said);
    }
}
