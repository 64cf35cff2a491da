//! The shop's async start-up and its per-invocation unit of work, in process with `TestApp`.

use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use shop::startup::{Order, PriceList, Receipt};

fn order(lines: &[(u32, u32)]) -> Trigger {
    let body = serde_json::to_vec(&Order { lines: lines.to_vec() }).unwrap();
    Trigger::http(
        HttpRequest::builder()
            .url("http://localhost/api/orders")
            .header("content-type", "application/json")
            .body(body)
            .build(),
    )
}

#[tokio::test]
async fn an_order_is_priced_from_the_list_built_at_start_up_and_keeps_its_stock() {
    let app = TestApp::start(shop::app()).await.expect("the shop starts");
    let outputs = app.invoke("place_order", order(&[(1, 2)])).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let receipt: Receipt = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(receipt, Receipt { total_cents: 900 });

    // The committed reservation kept the two teas: eight are left.
    let outputs = app
        .invoke("restock", Trigger::queue(&shop::Restock { id: 1, quantity: 0 }))
        .await
        .unwrap();
    let tea: shop::Item = outputs.return_value().unwrap().unwrap();
    assert_eq!(tea.stock, 8);
}

#[tokio::test]
async fn a_failed_order_rolls_its_reservation_back() {
    azfn::logging::init_default();
    let app = TestApp::start(shop::app()).await.unwrap();
    // Three teas are taken, then the scones are short: the teas go back.
    let outputs = app.invoke("place_order", order(&[(1, 3), (2, 1)])).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.body(), b"item 2: only 0 in stock");
    assert!(
        outputs.logs().iter().any(|l| l.contains("order rolled back lines=1")),
        "{:?}",
        outputs.logs()
    );

    let outputs = app
        .invoke("restock", Trigger::queue(&shop::Restock { id: 1, quantity: 0 }))
        .await
        .unwrap();
    let tea: shop::Item = outputs.return_value().unwrap().unwrap();
    assert_eq!(tea.stock, 10);
}

#[tokio::test]
async fn a_bad_price_file_stops_start_up_with_its_line() {
    // The factory reads the setting as it would in Azure; `PriceList::parse` is what it checks.
    assert_eq!(
        PriceList::parse("1=450\ntwo=300\n").unwrap_err(),
        "line 2: expected `id=cents`, found `two=300`"
    );
    let failing = azfn::App::new().state_async(|| async { PriceList::parse("1=") });
    let error = TestApp::start(failing).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "start-up failed: shop::startup::PriceList: line 1: expected `id=cents`, found `1=`"
    );
}

#[test]
fn the_shop_binary_stops_when_its_price_file_is_missing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_shop"))
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("SHOP_PRICE_FILE", "/nonexistent/prices.txt")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with(
            "azfn: start-up failed: shop::startup::PriceList: cannot read the price file /nonexistent/prices.txt: "
        )),
        "{stderr}"
    );
}
