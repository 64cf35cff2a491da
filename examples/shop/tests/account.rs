//! The account functions in-process: the caller set as App Service authentication would send
//! it, the app settings set on the `TestApp`, not in the process environment.

use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use azfn::{ClientPrincipal, InvocationError};
use shop::account::Account;

async fn started() -> TestApp {
    TestApp::start(shop::app()).await.expect("the shop starts")
}

async fn app() -> TestApp {
    started()
        .await
        .with_setting("Shop__Currency", "EUR")
        .with_setting("shop:basketlimit", "20")
        .with_setting("Shop__VipRoles__0", "Gold")
}

fn request(caller: Option<&ClientPrincipal>) -> Trigger {
    let builder = HttpRequest::builder().url("http://localhost/api/account");
    Trigger::http(match caller {
        Some(principal) => builder.client_principal(principal).build(),
        None => builder.build(),
    })
}

fn alice() -> ClientPrincipal {
    ClientPrincipal::new("aad", "0d2b9f1e").with_name("alice@contoso.com")
}

async fn account_of(app: &TestApp, caller: &ClientPrincipal) -> Account {
    let outputs = app.invoke("account", request(Some(caller))).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    serde_json::from_slice(response.body()).unwrap()
}

#[tokio::test]
async fn a_signed_in_customer_sees_the_configured_account() {
    let app = app().await;
    assert_eq!(
        account_of(&app, &alice()).await,
        Account {
            customer: "alice@contoso.com".into(),
            signed_in_with: "aad".into(),
            currency: "EUR".into(),
            basket_limit: 20,
        }
    );
    // A role from the settings' list doubles the limit.
    assert_eq!(account_of(&app, &alice().with_role("Gold")).await.basket_limit, 40);
    // No name: the id.
    let bob = ClientPrincipal::new("github", "b0b");
    assert_eq!(account_of(&app, &bob).await.customer, "b0b");
}

#[tokio::test]
async fn anonymous_callers_get_401_and_a_guest_welcome() {
    let app = app().await;
    let outputs = app.invoke("account", request(None)).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        std::str::from_utf8(response.body())
            .unwrap()
            .contains("no `x-ms-client-principal` header"),
        "{:?}",
        response.body()
    );

    let guest = app.invoke("welcome", request(None)).await.unwrap();
    assert_eq!(
        guest.http_response().unwrap().body(),
        b"Welcome! Sign in at /.auth/login/aad to see your account."
    );
    let customer = app.invoke("welcome", request(Some(&alice()))).await.unwrap();
    assert_eq!(
        customer.http_response().unwrap().body(),
        b"Welcome back, alice@contoso.com!"
    );
}

#[tokio::test]
async fn a_forged_principal_header_is_a_400() {
    let forged = Trigger::http(
        HttpRequest::builder()
            .header("x-ms-client-principal", "not base64!")
            .build(),
    );
    let outputs = app().await.invoke("welcome", forged).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        std::str::from_utf8(response.body())
            .unwrap()
            .contains("the `x-ms-client-principal` header is not base64"),
        "{:?}",
        response.body()
    );
}

#[tokio::test]
async fn a_missing_setting_fails_the_invocation_naming_it() {
    let app = started().await.with_setting("Shop__Currency", "EUR");
    match app.invoke("account", request(Some(&alice()))).await {
        Err(InvocationError::Function(error)) => assert_eq!(
            error.to_string(),
            "configuration: the setting `Shop__BasketLimit` is missing: set it in the app settings (locally, \
             under `Values` in local.settings.json)"
        ),
        other => panic!("expected a failed invocation, got {other:?}"),
    }
    let app = started()
        .await
        .with_setting("Shop__Currency", "EUR")
        .with_setting("Shop__BasketLimit", "lots");
    match app.invoke("account", request(Some(&alice()))).await {
        Err(InvocationError::Function(error)) => assert!(
            error
                .to_string()
                .starts_with("configuration: the setting `Shop__BasketLimit` is not a 32-bit unsigned integer"),
            "{error}"
        ),
        other => panic!("expected a failed invocation, got {other:?}"),
    }
}
