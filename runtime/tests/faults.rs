//! Faults: functions that hang past the deadline, clients that hang up mid-request, oversized
//! bodies. The worker answers each case correctly and keeps serving.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use azfn::InvocationError;
use azfn::custom_handler::{ServerOptions, serve_with};
use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[function(queue_trigger(queue_name = "stuck"))]
async fn hangs(_message: String, ctx: FunctionContext) {
    // Ignores cancellation on purpose: the deadline must stop it anyway.
    let _ = ctx.invocation_id();
    std::future::pending::<()>().await;
}

#[function(http_trigger(route = "slow", methods = "get"))]
async fn slow_http() -> String {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    "never".into()
}

#[function(queue_trigger(queue_name = "echo"), queue_output(queue_name = "echoed"))]
async fn echo(message: String) -> String {
    message
}

#[tokio::test]
async fn a_hung_function_fails_at_the_deadline_and_the_app_goes_on() {
    let app = TestApp::new(azfn::App::new().invocation_deadline(Duration::from_millis(200)));
    let started = Instant::now();
    match app.invoke("hangs", Trigger::queue(&"x")).await {
        Err(InvocationError::Timeout(deadline)) => assert_eq!(deadline, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // An HTTP function that times out fails too: the host records the failure (and answers
    // its caller); it is not a response of the function's.
    match app
        .invoke("slow_http", Trigger::http(HttpRequest::builder().build()))
        .await
    {
        Err(InvocationError::Timeout(deadline)) => assert_eq!(deadline, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let echoed = app.invoke("echo", Trigger::queue(&"still here")).await.unwrap();
    assert_eq!(echoed.return_value::<String>().unwrap().unwrap(), "still here");
}

async fn start(limit: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let registry = azfn::Registry::global().unwrap();
    let options = ServerOptions { max_body_bytes: limit };
    tokio::spawn(serve_with(listener, registry, options, std::future::pending()));
    address
}

async fn exchange(address: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

fn echo_request(message: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"Data":{{"message":{}}},"Metadata":{{}}}}"#,
        serde_json::to_string(&format!("\"{message}\"")).unwrap()
    );
    format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn oversized_bodies_get_413_whether_sized_or_chunked() {
    let address = start(1024).await;
    let big = "x".repeat(2000);
    let sized = exchange(address, &echo_request(&big)).await;
    assert!(sized.starts_with("HTTP/1.1 413"), "{sized}");
    assert!(sized.contains("larger than 1024 bytes"), "{sized}");

    let chunk = "y".repeat(700);
    let chunked = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len(),
        chunk.len()
    );
    let response = exchange(address, chunked.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");

    let small = exchange(address, &echo_request("fits")).await;
    assert!(small.starts_with("HTTP/1.1 200"), "{small}");
}

#[tokio::test]
async fn clients_that_hang_up_mid_request_do_not_hurt_the_worker() {
    let address = start(1 << 20).await;
    for _ in 0..20 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        // Headers promise a body that never comes; then the client goes away.
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"Data\":")
            .await
            .unwrap();
        drop(stream);
        let mut half = TcpStream::connect(address).await.unwrap();
        half.write_all(b"GET / HT").await.unwrap();
        drop(half);
    }
    let response = exchange(address, &echo_request("after the hang-ups")).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("YWZ0ZXIgdGhlIGhhbmctdXBz"), "{response}");
}
