//! Streamed request bodies in forwarding mode: a function that takes a `RequestBody` is invoked
//! when the request's head has arrived and reads the body chunk by chunk as the client sends
//! it; the worker's size limit applies to what arrives, and a body past it is answered `413`
//! while the worker keeps serving. (`HttpUri` over gRPC is covered in native_mock_host.rs.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use azfn::RequestBody;
use azfn::custom_handler::{ServerOptions, serve_with};
use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Tells each test when the function of its request (by `?id=`) has received the first chunk.
static FIRST_CHUNK_SEEN: Mutex<Option<HashMap<String, oneshot::Sender<usize>>>> = Mutex::new(None);

fn expect_first_chunk(id: &str) -> oneshot::Receiver<usize> {
    let (sender, receiver) = oneshot::channel();
    FIRST_CHUNK_SEEN
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(id.to_owned(), sender);
    receiver
}

/// Counts an upload's bytes and chunks, holding one chunk at a time.
#[function(http_trigger(route = "upload", methods = "post"))]
async fn upload(req: HttpRequest, mut body: RequestBody) -> Result<String, azfn::Error> {
    let id = req.query("id").unwrap_or_default().to_owned();
    let (mut bytes, mut chunks) = (0, 0);
    while let Some(chunk) = body.chunk().await {
        let chunk = chunk?;
        if chunks == 0 {
            let waiting = FIRST_CHUNK_SEEN.lock().unwrap().as_mut().and_then(|m| m.remove(&id));
            if let Some(waiting) = waiting {
                let _ = waiting.send(chunk.len());
            }
        }
        bytes += chunk.len();
        chunks += 1;
    }
    // The request itself holds no buffered body when the body was streamed.
    Ok(format!("{bytes} bytes, {} buffered", req.body().len()))
}

/// Reads its body whole, for comparison: the limit is applied before it runs.
#[function(http_trigger(route = "whole", methods = "post"))]
async fn whole(req: HttpRequest) -> String {
    format!("{} bytes", req.body().len())
}

const LIMIT: usize = 64;

async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let options = ServerOptions { max_body_bytes: LIMIT };
    tokio::spawn(serve_with(
        listener,
        azfn::Registry::global().unwrap(),
        options,
        std::future::pending(),
    ));
    address
}

/// Sends a chunked request's head; the caller writes the chunks.
async fn chunked_request(address: SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: myapp.azurewebsites.net\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

async fn write_chunk(stream: &mut TcpStream, chunk: &[u8]) {
    // A write may fail once the worker has answered and closed: that is the point of some tests.
    let _ = stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await;
    let _ = stream.write_all(chunk).await;
    let _ = stream.write_all(b"\r\n").await;
}

async fn response(mut stream: TcpStream) -> (String, String) {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("the worker answers")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn the_function_reads_the_first_chunk_before_the_client_has_sent_the_rest() {
    let address = start().await;
    let first_chunk = expect_first_chunk("early");
    let mut stream = chunked_request(address, "/api/upload?id=early").await;
    write_chunk(&mut stream, b"hello ").await;
    // The rest is sent only once the function has seen the first chunk: a worker that buffered
    // the body whole would wait here forever (the timeout fails the test instead).
    let seen = tokio::time::timeout(Duration::from_secs(30), first_chunk)
        .await
        .expect("the function got the first chunk while the body was still arriving")
        .unwrap();
    assert_eq!(seen, 6);
    write_chunk(&mut stream, b"world").await;
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let (head, body) = response(stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "11 bytes, 0 buffered");
}

#[tokio::test]
async fn a_streamed_body_past_the_limit_is_answered_413_and_the_worker_keeps_serving() {
    let address = start().await;

    // Chunked: the limit trips on the chunk that passes it, while the function reads.
    let mut stream = chunked_request(address, "/api/upload?id=large").await;
    for _ in 0..3 {
        write_chunk(&mut stream, &[b'x'; 30]).await;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let (head, body) = response(stream).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(body, format!("the request body is larger than {LIMIT} bytes"));

    // A declared length past the limit fails at the first read.
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = "POST /api/upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(&[b'y'; 100]).await;
    let (head, _) = response(stream).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // A buffered body past the limit: 413 too, without invoking.
    let mut stream = chunked_request(address, "/api/whole").await;
    for _ in 0..3 {
        write_chunk(&mut stream, &[b'x'; 30]).await;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let (head, _) = response(stream).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // At the limit exactly, and afterwards, all is well.
    let mut stream = chunked_request(address, "/api/upload?id=fits").await;
    write_chunk(&mut stream, &[b'z'; 40]).await;
    write_chunk(&mut stream, &[b'z'; 24]).await;
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let (head, body) = response(stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "64 bytes, 0 buffered");
}

#[tokio::test]
async fn in_test_app_a_body_is_streamed_or_whole_as_the_trigger_says() {
    let app = TestApp::new(azfn::App::new());
    let request = || HttpRequest::builder().method(http::Method::POST).build();
    let streamed = Trigger::http_streamed(request(), RequestBody::from_chunks(["ab", "cd", "e"]));
    let outputs = app.invoke("upload", streamed).await.unwrap();
    assert_eq!(outputs.http_response().unwrap().body(), b"5 bytes, 0 buffered");

    // A whole body (the JSON envelope's, a plain test request) arrives as one chunk.
    let whole = HttpRequest::builder().method(http::Method::POST).body("abc").build();
    let outputs = app.invoke("upload", Trigger::http(whole)).await.unwrap();
    assert_eq!(outputs.http_response().unwrap().body(), b"3 bytes, 3 buffered");

    // The limit applies in tests as in the worker.
    let limited = RequestBody::from_chunks(["abc", "def"]).limited(4);
    let error = app
        .invoke("upload", Trigger::http_streamed(request(), limited))
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "the request body is larger than 4 bytes");
}
