//! A minimal HTTP/1.1 client over one TCP connection per request, as the host uses to talk to
//! the worker and as `cargo azfn invoke` uses to talk to the local host. Plain HTTP on the
//! loopback interface only.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why a request failed.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing accepted the connection: the worker is not listening (yet).
    Connect(std::io::Error),
    /// The connection was made but the exchange failed.
    Exchange(String),
    /// No answer within the time limit.
    Timeout,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "cannot connect: {e}"),
            ClientError::Exchange(e) => f.write_str(e),
            ClientError::Timeout => f.write_str("no answer in time"),
        }
    }
}

/// A body sent with `Transfer-Encoding: chunked`, as the host's `ObjectContent` is: its size is
/// deliberately not announced.
#[derive(Debug)]
pub struct ChunkedBody {
    data: Option<Bytes>,
}

impl ChunkedBody {
    /// A body of `data`, sent as one chunk.
    pub fn new(data: impl Into<Bytes>) -> ChunkedBody {
        ChunkedBody {
            data: Some(data.into()),
        }
    }
}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|data| Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown on purpose, so that hyper sends the body chunked.
        SizeHint::default()
    }
}

/// A response with its whole body read.
#[derive(Debug)]
pub struct FullResponse {
    /// Status, version and headers.
    pub head: http::response::Parts,
    /// The body.
    pub body: Bytes,
}

impl FullResponse {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status.as_u16()
    }

    /// A header's value as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` to `127.0.0.1:port` and reads the whole response, within `timeout` if given.
pub async fn send<B>(port: u16, request: Request<B>, timeout: Option<Duration>) -> Result<FullResponse, ClientError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let exchange = exchange(port, request);
    match timeout {
        Some(limit) => tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or(Err(ClientError::Timeout)),
        None => exchange.await,
    }
}

async fn exchange<B>(port: u16, request: Request<B>) -> Result<FullResponse, ClientError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(ClientError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ClientError::Exchange(format!("HTTP handshake failed: {e}")))?;
    let driver = tokio::spawn(connection);
    let response: Response<hyper::body::Incoming> = sender
        .send_request(request)
        .await
        .map_err(|e| ClientError::Exchange(format!("the request failed: {e}")))?;
    let (head, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| ClientError::Exchange(format!("reading the response body failed: {e}")))?
        .to_bytes();
    driver.abort();
    Ok(FullResponse { head, body })
}

/// A request with an empty body.
pub fn empty() -> http_body_util::Empty<Bytes> {
    http_body_util::Empty::new()
}

/// A request body with a known length.
pub fn full(data: impl Into<Bytes>) -> http_body_util::Full<Bytes> {
    http_body_util::Full::new(data.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The host sends invocations chunked, without Content-Length.
    #[tokio::test]
    async fn chunked_bodies_have_no_length() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut raw = Vec::new();
            let mut buffer = [0u8; 1024];
            while !raw.ends_with(b"0\r\n\r\n") {
                let n = stream.read(&mut buffer).await.unwrap();
                assert!(n > 0, "the request ended early");
                raw.extend_from_slice(&buffer[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            String::from_utf8(raw).unwrap().to_ascii_lowercase()
        });
        let request = Request::post("/f").body(ChunkedBody::new("{}")).unwrap();
        let response = send(port, request, Some(Duration::from_secs(5))).await.unwrap();
        assert_eq!((response.status(), &response.body[..]), (200, &b"ok"[..]));
        let raw = server.await.unwrap();
        assert!(raw.contains("transfer-encoding: chunked"), "{raw}");
        assert!(!raw.contains("content-length"), "{raw}");
    }

    #[tokio::test]
    async fn refused_connections_are_told_apart() {
        let port = crate::host::process::free_port().unwrap();
        let request = Request::get("/").body(empty()).unwrap();
        let error = send(port, request, Some(Duration::from_secs(5))).await.unwrap_err();
        assert!(matches!(error, ClientError::Connect(_)), "{error}");
    }
}
