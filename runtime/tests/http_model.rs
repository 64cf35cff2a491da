//! The HTTP model: extractors for the query, route parameters and headers, `http` crate
//! interop, and an `axum::Router` mounted as a function.

use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use serde::Deserialize;

#[derive(Deserialize)]
struct Search {
    q: String,
    page: Option<u32>,
}

#[function(http_trigger(route = "search", methods = "get"))]
async fn search(Query(search): Query<Search>, Headers(headers): Headers) -> String {
    let agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("?");
    format!("{} page {} for {agent}", search.q, search.page.unwrap_or(1))
}

#[derive(Deserialize)]
struct Key {
    shelf: String,
    slot: u32,
}

#[function(http_trigger(route = "shelves/{shelf:alpha}/{slot:int}", methods = "get"))]
async fn slot(Path(key): Path<Key>) -> http::Response<String> {
    http::Response::builder()
        .status(StatusCode::OK)
        .header("x-shelf", key.shelf.clone())
        .body(format!("{}#{}", key.shelf, key.slot))
        .unwrap_or_default()
}

#[function(http_trigger(route = "one/{id:int}", methods = "get"))]
async fn one(Path(id): Path<u32>) -> String {
    format!("id {id}")
}

async fn list_items(axum::extract::Query(search): axum::extract::Query<Search>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"q": search.q, "items": ["tea", "scones"]}))
}

async fn item(axum::extract::Path(id): axum::extract::Path<u32>) -> Result<String, StatusCode> {
    if id == 0 {
        Err(StatusCode::NOT_FOUND)
    } else {
        Ok(format!("item {id}"))
    }
}

fn request(url: &str) -> HttpRequest {
    HttpRequest::builder().url(url).header("user-agent", "curl/8").build()
}

#[tokio::test]
async fn extractors_interop_and_a_mounted_router() {
    let router = axum::Router::new()
        .route("/items", axum::routing::get(list_items))
        .route("/items/{id}", axum::routing::get(item));
    // The TestApp is made first: mounted services join the registry before it is read.
    let app = TestApp::new(azfn::App::new().http_service("shop-api", "shop", router));

    let registry = azfn::Registry::global().unwrap();
    let mounted = azfn::manifest::function_json(registry.get("shop-api").unwrap());
    assert_eq!(mounted["bindings"][0]["route"], "shop/{*path}");
    assert_eq!(
        mounted["bindings"][1],
        serde_json::json!({"type": "http", "direction": "out", "name": "$return"})
    );

    let search_request = HttpRequest::builder()
        .query("q", "tea")
        .query("page", "2")
        .header("user-agent", "curl/8")
        .build();
    let outputs = app.invoke("search", Trigger::http(search_request)).await.unwrap();
    assert_eq!(outputs.http_response().unwrap().body(), b"tea page 2 for curl/8");
    // A query without a required field is the caller's mistake, which the answer names.
    let without_q = HttpRequest::builder().query("page", "2").build();
    let outputs = app.invoke("search", Trigger::http(without_q)).await.unwrap();
    let response = outputs.http_response().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.body(), b"bad request: query: missing field `q`");

    let slot_request = HttpRequest::builder().param("shelf", "teas").param("slot", "4").build();
    let response = app
        .invoke("slot", Trigger::http(slot_request))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.body(), b"teas#4");
    assert_eq!(response.header_value("x-shelf"), Some("teas"));

    let outputs = app
        .invoke("one", Trigger::http(HttpRequest::builder().param("id", "12").build()))
        .await
        .unwrap();
    assert_eq!(outputs.http_response().unwrap().body(), b"id 12");

    // The router sees paths without the route prefix and the mount prefix.
    let list = request("https://app.azurewebsites.net/api/shop/items?q=green");
    let list = HttpRequest::builder().url(list.url()).param("path", "items").build();
    let response = app
        .invoke("shop-api", Trigger::http(list))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body, serde_json::json!({"q": "green", "items": ["tea", "scones"]}));

    let missing = HttpRequest::builder()
        .url("https://x/api/shop/items/0")
        .param("path", "items/0")
        .build();
    let response = app
        .invoke("shop-api", Trigger::http(missing))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let found = HttpRequest::builder()
        .url("https://x/api/shop/items/3")
        .param("path", "items/3")
        .build();
    let response = app
        .invoke("shop-api", Trigger::http(found))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.body(), b"item 3");
    let unknown = HttpRequest::builder()
        .url("https://x/api/shop/nope")
        .param("path", "nope")
        .build();
    let response = app
        .invoke("shop-api", Trigger::http(unknown))
        .await
        .unwrap()
        .http_response()
        .unwrap()
        .clone();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // http crate types convert both ways.
    let converted: HttpRequest = http::Request::builder()
        .uri("/x?a=1&b=2")
        .body(bytes::Bytes::from("hi"))
        .unwrap()
        .into();
    assert_eq!(
        (converted.query("a"), converted.query("b"), converted.body()),
        (Some("1"), Some("2"), &b"hi"[..])
    );
    let back: http::Response<bytes::Bytes> = HttpResponse::new(StatusCode::CREATED).text("made").into();
    assert_eq!(back.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_query_missing_a_required_field_says_which_one() {
    // Exactly one query pair, not the one asked for: the caller learns which field is missing,
    // not that "the value is not valid JSON".
    let one_pair = HttpRequest::builder().query("page", "2").build();
    let error = Query::<Search>::from_request(&one_pair).err().expect("no `q`");
    assert_eq!(error.to_string(), "query: missing field `q`");
    // (The function answers it as a 400: see `extractors_interop_and_a_mounted_router`, which
    // owns this binary's TestApp.)

    // Several pairs, or none: the same message.
    let two_pairs = HttpRequest::builder().query("page", "2").query("sort", "asc").build();
    let error = Query::<Search>::from_request(&two_pairs).err().expect("no `q`");
    assert_eq!(error.to_string(), "query: missing field `q`");
    let error = Query::<Search>::from_request(&HttpRequest::builder().build())
        .err()
        .expect("no `q`");
    assert_eq!(error.to_string(), "query: missing field `q`");

    // A single value is still read as one, and a struct of one field from one pair.
    let one = HttpRequest::builder().param("id", "12").build();
    assert_eq!(Path::<u32>::from_request(&one).unwrap().0, 12);
    assert_eq!(Path::<Option<u32>>::from_request(&one).unwrap().0, Some(12));
    let q = HttpRequest::builder().query("q", "tea").build();
    let Query(search) = Query::<Search>::from_request(&q).unwrap();
    assert_eq!((search.q.as_str(), search.page), ("tea", None));
}
