//! Forwarding mode: the host sends HTTP-only functions' requests as they came from the client,
//! at `/api/<route>`, and relays the raw response. The worker routes them by route template and
//! method, serves any body (binary included), and still takes JSON invocations beside them.

use std::net::SocketAddr;

use azfn::prelude::*;
use tokio::net::TcpListener;

#[path = "support/raw_http.rs"]
mod raw_http;

#[function(http_trigger(route = "hello/{name:alpha}", methods = "get", auth_level = "anonymous"))]
async fn hello(req: HttpRequest) -> HttpResponse {
    let greeting = req.query("greeting").unwrap_or("Hello");
    HttpResponse::ok()
        .header("x-route", "hello")
        .text(format!("{greeting}, {}!", req.param("name").unwrap_or("?")))
}

#[function(http_trigger(route = "echo", methods = "post"))]
async fn echo(req: HttpRequest) -> HttpResponse {
    HttpResponse::ok()
        .header("content-type", "application/octet-stream")
        .bytes(req.body().to_vec())
}

/// Streams its body in three chunks.
#[function(http_trigger(route = "letters", methods = "get"))]
async fn letters() -> HttpResponse {
    let (response, body) = HttpResponse::ok().header("content-type", "text/plain").streaming();
    tokio::spawn(async move {
        for letter in ["a", "b", "c"] {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let _ = body.send(letter).await;
        }
    });
    response
}

/// Fails in every way a function can, by its route value.
#[function(http_trigger(route = "brew/{mode}", methods = "get"))]
async fn brew(req: HttpRequest) -> azfn::Result<String> {
    match req.param("mode") {
        Some("panic") => panic!("the kettle exploded"),
        Some("fail") => Err(azfn::Error::msg("no water (the tank's password is hunter2)")),
        Some("missing") => Err(azfn::Error::not_found("no such tea")),
        _ => Ok("tea".to_owned()),
    }
}

/// Has a blob input, so the host never forwards it: it keeps the JSON envelope.
#[function(http_trigger(route = "doc", methods = "get"))]
async fn doc(#[blob_input(path = "docs/readme.txt")] text: Option<String>) -> String {
    text.unwrap_or_default()
}

async fn item(axum::extract::Path(id): axum::extract::Path<u32>) -> String {
    format!("item {id}")
}

async fn start() -> SocketAddr {
    let router = axum::Router::new().route("/items/{id}", axum::routing::get(item));
    // Mounted services join the registry when the app starts; TestApp does the same here, once
    // for all the tests of this file.
    static MOUNTED: std::sync::Once = std::sync::Once::new();
    MOUNTED.call_once(|| {
        let _app = azfn::testing::TestApp::new(azfn::App::new().http_service("shop-api", "shop", router));
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(azfn::custom_handler::serve(
        listener,
        azfn::Registry::global().unwrap(),
        std::future::pending(),
    ));
    address
}

async fn send(address: SocketAddr, head: &str, body: &[u8]) -> (String, Vec<u8>) {
    let raw = raw_http::request(head, &[("Host", "myapp.azurewebsites.net")], body);
    let answer = raw_http::exchange(address, &raw).await;
    (answer.head, answer.body)
}

#[tokio::test]
async fn forwarded_requests_reach_their_function_and_answer_raw() {
    let address = start().await;

    let (head, body) = send(address, "GET /api/hello/Ferris?greeting=Hi HTTP/1.1", b"").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("x-route: hello"), "{head}");
    assert_eq!(body, b"Hi, Ferris!");

    // Bodies of any kind pass both ways untouched, which the JSON protocol cannot do.
    let binary = [0u8, 159, 146, 150, 255];
    let (head, body) = send(
        address,
        "POST /api/echo HTTP/1.1\r\nContent-Type: application/octet-stream",
        &binary,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, binary);

    // A mounted router gets paths without the prefixes.
    let (_, body) = send(address, "GET /api/shop/items/3 HTTP/1.1", b"").await;
    assert_eq!(body, b"item 3");

    // Route constraints, methods and unknown paths: no function claims them.
    assert!(
        send(address, "GET /api/hello/123 HTTP/1.1", b"")
            .await
            .0
            .starts_with("HTTP/1.1 404")
    );
    assert!(
        send(address, "POST /api/hello/Ferris HTTP/1.1", b"")
            .await
            .0
            .starts_with("HTTP/1.1 404")
    );
    assert!(
        send(address, "GET /api/nowhere HTTP/1.1", b"")
            .await
            .0
            .starts_with("HTTP/1.1 404")
    );
    // A function with other bindings is not forwarded by the host, so its route is not served.
    assert!(
        send(address, "GET /api/doc HTTP/1.1", b"")
            .await
            .0
            .starts_with("HTTP/1.1 404")
    );

    // JSON invocations keep working beside forwarded requests.
    let envelope = br#"{"Data":{"req":{"Url":"http://x/api/doc","Method":"GET"},"text":"\"read me\""},"Metadata":{}}"#;
    let (head, body) = send(
        address,
        "POST /doc HTTP/1.1\r\nContent-Type: application/json",
        envelope,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["ReturnValue"]["body"], "read me");
}

#[tokio::test]
async fn a_failed_forwarded_request_answers_a_bare_500_and_a_status_error_its_status() {
    let address = start().await;
    // The host relays the worker's answer as it is: a failure is told to the caller here, with
    // no details (they go to stderr, which the host logs at Error).
    for mode in ["fail", "panic"] {
        let (head, body) = send(address, &format!("GET /api/brew/{mode} HTTP/1.1"), b"").await;
        assert!(head.starts_with("HTTP/1.1 500"), "{mode}: {head}");
        assert_eq!(body, b"internal server error", "{mode}");
    }
    let (head, body) = send(address, "GET /api/brew/missing HTTP/1.1", b"").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(body, b"no such tea");
    let (head, body) = send(address, "GET /api/brew/green HTTP/1.1", b"").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"tea");
}

#[tokio::test]
async fn streamed_bodies_go_out_chunked_when_forwarded_and_whole_in_the_envelope() {
    let address = start().await;
    let (head, body) = send(address, "GET /api/letters HTTP/1.1", b"").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
        "{head}"
    );
    assert_eq!(body, b"1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n");

    let envelope = br#"{"Data":{"req":{"Url":"http://x/api/letters","Method":"GET"}},"Metadata":{}}"#;
    let (head, body) = send(
        address,
        "POST /letters HTTP/1.1\r\nContent-Type: application/json",
        envelope,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["ReturnValue"]["body"], "abc");
}

#[test]
fn the_host_json_asks_for_forwarding_or_proxying_when_the_app_does() {
    let forwarding = azfn::manifest::HostOptions {
        forward_http_requests: true,
        ..Default::default()
    };
    let host = azfn::manifest::host_json("app", forwarding);
    assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], true);
    assert_eq!(host["customHandler"]["enableProxyingHttpRequest"], false);
    let proxying = azfn::manifest::HostOptions {
        proxy_http_requests: true,
        ..Default::default()
    };
    let host = azfn::manifest::host_json("app", proxying);
    assert_eq!(host["customHandler"]["enableProxyingHttpRequest"], true);
    let default = azfn::manifest::host_json("app", Default::default());
    assert_eq!(default["customHandler"]["enableForwardingHttpRequest"], false);
    assert_eq!(default["customHandler"]["enableProxyingHttpRequest"], false);
}
