//! The responses the local host's HTTP server builds itself.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// The response type of the server.
pub type Reply = Response<Full<Bytes>>;

/// A response with no body.
pub fn empty_reply(status: StatusCode) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// A plain-text response.
pub fn status_reply(status: StatusCode, text: &str) -> Reply {
    json_or_text(status, Bytes::from(text.to_owned()), "text/plain; charset=utf-8")
}

/// A response with a body and content type.
pub fn json_or_text(status: StatusCode, body: Bytes, content_type: &'static str) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
