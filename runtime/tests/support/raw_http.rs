//! Raw HTTP/1.1 exchanges for the tests that play the host: a request written byte for byte
//! (the host's exact headers, chunked bodies, odd framing), the answer read until the server
//! closes the connection. One helper for the async tests and one for the blocking ones.

// Each test file uses the part it needs.
#![allow(dead_code)]

use std::time::Duration;

/// How long a test waits for an answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// An answer, as it came.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code (0 if the answer has no status line).
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    /// The body as sent (still chunked if it was).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// An answer read whole by the caller.
    pub fn parse(raw: &[u8]) -> RawResponse {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
        let (head, body) = match split {
            Some(at) => (&raw[..at], &raw[at + 4..]),
            None => (raw, &[][..]),
        };
        let head = String::from_utf8_lossy(head).into_owned();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        RawResponse {
            status,
            head,
            body: body.to_vec(),
        }
    }

    /// A header's value (the first, name compared ignoring case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The body as text, de-chunked when it was sent chunked.
    pub fn text(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let chunked = self
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked { dechunk(&body) } else { body.into_owned() }
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    out
}

/// A request with a `Content-Length` body that closes its connection: `start` is the request
/// line (`POST /x HTTP/1.1`, which may carry headers of its own after a `\r\n`), `headers`
/// go in as given.
pub fn request(start: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{start}\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// Sends `raw` to `address` and reads the answer to the end.
pub async fn exchange(address: impl tokio::net::ToSocketAddrs, raw: &[u8]) -> RawResponse {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("the server listens");
    tcp.write_all(raw).await.expect("the request is sent");
    read_answer(&mut tcp).await
}

/// Reads to the end the answer on a connection whose request the test wrote itself (in
/// pieces, say).
pub async fn read_answer(tcp: &mut tokio::net::TcpStream) -> RawResponse {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    tokio::time::timeout(ANSWER_WITHIN, tcp.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("the answer is read");
    RawResponse::parse(&answer)
}

/// [`exchange`] for tests without a runtime.
pub fn exchange_blocking(address: impl std::net::ToSocketAddrs, raw: &[u8]) -> RawResponse {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(address).expect("the server listens");
    tcp.set_read_timeout(Some(ANSWER_WITHIN)).expect("a timeout");
    tcp.write_all(raw).expect("the request is sent");
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).expect("answered in time");
    RawResponse::parse(&answer)
}
