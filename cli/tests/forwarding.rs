//! `cargo azfn start` with host.json forwarding or proxying: HTTP-only functions get the
//! client's request raw, its body streamed through as it arrives; functions with other outputs
//! keep the JSON envelope.

mod support;

// The runtime's raw HTTP/1.1 reader, shared rather than written again.
#[path = "../../runtime/tests/support/raw_http.rs"]
mod raw_http;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{LocalHost, fixture_app, path_str, scratch, workspace_root};

const SECOND: Duration = Duration::from_secs(1);

/// The streaming fixture (built with `App::forward_http_requests()`).
fn forwarding_app() -> &'static Path {
    fixture_app("streaming")
}

/// A copy of the streaming app whose host.json asks for proxying instead.
fn proxying_app() -> PathBuf {
    let dir = scratch("streaming-proxying-app");
    support::copy_dir(forwarding_app(), &dir);
    let file = dir.join("host.json");
    let mut host: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read host.json")).expect("host.json is JSON");
    host["customHandler"]["enableForwardingHttpRequest"] = false.into();
    host["customHandler"]["enableProxyingHttpRequest"] = true.into();
    std::fs::write(&file, serde_json::to_vec_pretty(&host).expect("JSON")).expect("write host.json");
    dir
}

/// A chunked request left open: its head and `chunks` are sent, its end is not.
fn open_chunked(port: u16, path: &str, chunks: &[&str]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the host");
    stream.set_read_timeout(Some(10 * SECOND)).expect("set a timeout");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    for chunk in chunks {
        head.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    stream.write_all(head.as_bytes()).expect("send the request");
    stream
}

/// Reads a response to the end; returns its status and body (de-chunked).
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        panic!("no complete response within 10 s ({e}): did something wait for the whole body?");
    }
    let answer = raw_http::RawResponse::parse(&raw);
    (answer.status, answer.text())
}

/// The function answers after the first chunk while the client has not finished its body: the
/// host passed the chunk on as it came, not after the whole body.
fn first_chunk_is_answered_before_the_body_ends(host: &LocalHost) {
    let mut open = open_chunked(host.port, "/api/first", &["hello"]);
    let (status, body) = read_response(&mut open);
    assert_eq!((status, body.as_str()), (200, "first: hello"), "{:?}", host.console());
}

#[test]
fn a_forwarding_app_gets_chunked_bodies_as_they_arrive() {
    let host = LocalHost::start(forwarding_app());
    first_chunk_is_answered_before_the_body_ends(&host);
    let executed = host.wait_for("Executed 'Functions.first'", 5 * SECOND);
    assert!(executed.contains("Succeeded"), "{executed}");

    // A body sent in pieces, with pauses, arrives whole.
    let mut stream = open_chunked(host.port, "/api/count", &["abc"]);
    for piece in ["defg", "hi"] {
        std::thread::sleep(Duration::from_millis(50));
        stream
            .write_all(format!("{:x}\r\n{piece}\r\n", piece.len()).as_bytes())
            .expect("send a chunk");
    }
    stream.write_all(b"0\r\n\r\n").expect("end the body");
    assert_eq!(read_response(&mut stream), (200, "bytes=9".to_owned()));

    // The worker's own 500 is relayed as it is; the host saw an HTTP exchange, not a failure.
    let broken = host.request("GET", "/api/broken", &[], "");
    assert_eq!(broken.status, 500, "{broken:?}");
    let executed = host.wait_for("Executed 'Functions.broken'", 5 * SECOND);
    assert!(executed.contains("Succeeded"), "{executed}");

    // A function with a queue output is not HTTP-only: it keeps the envelope, and the host
    // takes its queue message.
    let noted = host.request("POST", "/api/note", &[], "remember");
    assert_eq!((noted.status, noted.body.as_str()), (202, "noted 8"), "{noted:?}");
    host.wait_for("note → queue 'notes'", 5 * SECOND);

    // Routes that match nothing are still the host's 404, not the worker's.
    assert_eq!(host.request("GET", "/api/nothing", &[], "").status, 404);
    host.wait_for("404: no function matches GET /api/nothing", 5 * SECOND);
}

#[test]
fn a_proxying_app_gets_chunked_bodies_as_they_arrive() {
    let app = proxying_app();
    let host = LocalHost::start_with(&["--no-build", "--dir", path_str(&app)], &workspace_root(), 30 * SECOND);
    first_chunk_is_answered_before_the_body_ends(&host);
    let counted = host.request("POST", "/api/count", &[], "twelve bytes");
    assert_eq!((counted.status, counted.body.as_str()), (200, "bytes=12"));
}
