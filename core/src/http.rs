//! The HTTP request a function receives and the response it returns.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body::{Body, Frame, SizeHint};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::decode::{DecodeError, Repr};

/// An HTTP request, as the HTTP trigger delivers it.
///
/// ```
/// use azfn::HttpRequest;
/// let req = HttpRequest::builder()
///     .method(http::Method::POST)
///     .url("https://app.azurewebsites.net/api/orders/7?verbose=1")
///     .query("verbose", "1")
///     .param("id", "7")
///     .body(r#"{"item":"tea"}"#)
///     .build();
/// assert_eq!(req.param("id"), Some("7"));
/// assert_eq!(req.query("verbose"), Some("1"));
/// assert_eq!(req.json::<serde_json::Value>().unwrap()["item"], "tea");
/// ```
#[derive(Clone, PartialEq, Default)]
pub struct HttpRequest {
    /// Shared, so that handing the request to a function (which extracts it from a borrowed
    /// invocation) is a reference count, not a copy of every header and parameter.
    inner: Arc<RequestParts>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// What an [`HttpRequest`] holds.
#[derive(Clone, Default)]
struct RequestParts {
    method: Method,
    url: String,
    headers: HeaderMap,
    query: QueryParameters,
    params: BTreeMap<String, String>,
    identities: IdentityList,
    body: Bytes,
}

/// A request's query parameters: given decoded, or read from the URL's query string when asked
/// for. Most functions read a value or two, or none: a value that needs no decoding is read as
/// written, and the map is decoded only when something needs it.
#[derive(Clone, Default)]
struct QueryParameters {
    /// Decoded: given so, or once something needed them all.
    decoded: OnceLock<BTreeMap<String, String>>,
    /// Where the query string starts in the URL, when it is their source.
    in_url: Option<usize>,
}

impl RequestParts {
    fn query_string(&self) -> Option<&str> {
        self.query.in_url.and_then(|start| self.url.get(start..))
    }

    fn query_pairs(&self) -> &BTreeMap<String, String> {
        self.query.decoded.get_or_init(|| {
            self.query_string()
                .map(azfn_bindings::percent::decode_query_joined)
                .unwrap_or_default()
        })
    }

    fn query(&self, name: &str) -> Option<&str> {
        if self.query.decoded.get().is_none()
            && let Some(query) = self.query_string()
            && let Some(found) = azfn_bindings::percent::query_value_as_written(query, name)
        {
            return found;
        }
        self.query_pairs().get(name).map(String::as_str)
    }
}

impl PartialEq for RequestParts {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.url == other.url
            && self.headers == other.headers
            && self.query_pairs() == other.query_pairs()
            && self.params == other.params
            && self.identities == other.identities
            && self.body == other.body
    }
}

/// A request's identities: its own, or a list many requests share (the one every anonymous
/// caller carries, say), which is then not rebuilt for each of them.
#[derive(Clone)]
pub enum IdentityList {
    Owned(Vec<ClaimsIdentity>),
    Shared(&'static [ClaimsIdentity]),
}

impl IdentityList {
    fn as_slice(&self) -> &[ClaimsIdentity] {
        match self {
            IdentityList::Owned(list) => list,
            IdentityList::Shared(list) => list,
        }
    }

    fn push(&mut self, identity: ClaimsIdentity) {
        match self {
            IdentityList::Owned(list) => list.push(identity),
            IdentityList::Shared(list) => {
                let mut owned = list.to_vec();
                owned.push(identity);
                *self = IdentityList::Owned(owned);
            }
        }
    }
}

impl Default for IdentityList {
    fn default() -> Self {
        IdentityList::Owned(Vec::new())
    }
}

impl PartialEq for IdentityList {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for RequestParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("query", self.query_pairs())
            .field("params", &self.params)
            .field("identities", &self.identities.as_slice())
            .field("body", &self.body)
            .finish()
    }
}

/// One identity of the caller, as App Service authentication reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClaimsIdentity {
    /// How the caller authenticated (`aad`, `WebJobsAuthLevel`, …), if they did.
    pub authentication_type: Option<String>,
    /// Whether the identity is authenticated.
    pub is_authenticated: bool,
    /// The identity's name, if any.
    pub name: Option<String>,
    /// The claim type holding the name.
    pub name_claim_type: Option<String>,
    /// The claim type holding roles.
    pub role_claim_type: Option<String>,
    /// The identity's claims.
    pub claims: Vec<Claim>,
}

/// One claim of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Claim {
    /// The claim type (a URI or a short name).
    #[serde(rename = "Type")]
    pub claim_type: String,
    /// The claim's value.
    pub value: String,
}

impl HttpRequest {
    /// A builder, for tests and for transports.
    pub fn builder() -> HttpRequestBuilder {
        HttpRequestBuilder::default()
    }

    /// A request from parts a transport already holds, moved in without re-parsing.
    pub fn from_parts(
        method: Method,
        url: String,
        headers: HeaderMap,
        query: BTreeMap<String, String>,
        params: BTreeMap<String, String>,
        identities: IdentityList,
        body: Bytes,
    ) -> Self {
        let query = QueryParameters {
            decoded: OnceLock::from(query),
            in_url: None,
        };
        HttpRequest::with_query(method, url, headers, query, params, identities, body)
    }

    /// A request forwarded as the client sent it, from parts a transport already holds: its
    /// query parameters are those of the URL's query string, which starts at byte `query_start`
    /// of `url` (after the `?`), decoded as the host decodes them when asked for.
    pub fn from_forwarded_parts(
        method: Method,
        url: String,
        query_start: Option<usize>,
        headers: HeaderMap,
        params: BTreeMap<String, String>,
        identities: IdentityList,
        body: Bytes,
    ) -> Self {
        let query = QueryParameters {
            decoded: OnceLock::new(),
            in_url: query_start,
        };
        HttpRequest::with_query(method, url, headers, query, params, identities, body)
    }

    fn with_query(
        method: Method,
        url: String,
        headers: HeaderMap,
        query: QueryParameters,
        params: BTreeMap<String, String>,
        identities: IdentityList,
        body: Bytes,
    ) -> Self {
        HttpRequest {
            inner: Arc::new(RequestParts {
                method,
                url,
                headers,
                query,
                params,
                identities,
                body,
            }),
        }
    }

    /// The method (`GET`, `POST`, …).
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// The full URL the client called, route prefix and query included.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// One header's value as text, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter (repeated parameters are joined with `,`, as the host does).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.inner.query(name)
    }

    /// All query parameters.
    pub fn query_pairs(&self) -> &BTreeMap<String, String> {
        self.inner.query_pairs()
    }

    /// A route parameter (`{id}` in the route template).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner.params.get(name).map(String::as_str)
    }

    /// All route parameters.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.inner.params
    }

    /// The caller's identities.
    pub fn identities(&self) -> &[ClaimsIdentity] {
        self.inner.identities.as_slice()
    }

    /// The body, as bytes.
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body, shared (a reference count, not a copy).
    pub(crate) fn body_bytes(&self) -> Bytes {
        self.inner.body.clone()
    }

    /// The body, as text.
    pub fn text(&self) -> Result<&str, DecodeError> {
        std::str::from_utf8(&self.inner.body)
            .map_err(|e| DecodeError::new(format!("the request body is not UTF-8 text ({e})")))
    }

    /// The body, parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_slice(&self.inner.body)
            .map_err(|e| DecodeError::new(format!("the request body is not the expected JSON ({e})")))
    }
}

/// Builds an [`HttpRequest`].
#[derive(Debug, Default)]
pub struct HttpRequestBuilder {
    request: RequestParts,
    query: BTreeMap<String, String>,
}

impl HttpRequestBuilder {
    /// Sets the method.
    pub fn method(mut self, method: Method) -> Self {
        self.request.method = method;
        self
    }

    /// Sets the URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.request.url = url.into();
        self
    }

    /// Adds a header; names or values that HTTP does not allow are skipped.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            self.request.headers.append(n, v);
        }
        self
    }

    /// Sets a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }

    /// Sets a route parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.params.insert(name.into(), value.into());
        self
    }

    /// Adds an identity.
    pub fn identity(mut self, identity: ClaimsIdentity) -> Self {
        self.request.identities.push(identity);
        self
    }

    /// Appends a header whose value is any bytes a header may hold (UTF-8 too, which
    /// [`header`](Self::header), visible ASCII only, skips); an invalid value is skipped.
    pub(crate) fn header_bytes(mut self, name: &'static str, value: &[u8]) -> Self {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            self.request.headers.append(HeaderName::from_static(name), value);
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.request.body = body.into();
        self
    }

    /// The request.
    pub fn build(mut self) -> HttpRequest {
        self.request.query.decoded = OnceLock::from(self.query);
        HttpRequest {
            inner: Arc::new(self.request),
        }
    }
}

// Checked once, at compile time (`from_static` checks every byte when run).
const TEXT_PLAIN_UTF8: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// An HTTP response.
///
/// ```
/// use azfn::HttpResponse;
/// use http::StatusCode;
/// let res = HttpResponse::new(StatusCode::CREATED)
///     .header("Location", "/api/orders/7")
///     .json(&serde_json::json!({"id": 7}));
/// assert_eq!(res.status(), StatusCode::CREATED);
/// assert_eq!(res.header_value("content-type"), Some("application/json"));
/// assert_eq!(res.body(), br#"{"id":7}"#);
/// ```
///
/// A body may also be streamed: see [`HttpResponse::streaming`].
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    stream: Option<BodyStream>,
}

/// How many chunks of a streamed body may wait for the client before [`BodySender::send`]
/// waits too.
const STREAM_CHUNKS_IN_FLIGHT: usize = 16;

/// The receiving end of a streamed body, shared by the response's clones: the first to send the
/// response takes it.
#[derive(Clone)]
struct BodyStream(Arc<Mutex<Option<mpsc::Receiver<Bytes>>>>);

impl BodyStream {
    fn take(&self) -> Option<mpsc::Receiver<Bytes>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodyStream")
    }
}

/// Two streamed bodies are equal when they are the same stream.
impl PartialEq for BodyStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The sending end of a streamed response body, from [`HttpResponse::streaming`]. Each
/// [`send`](BodySender::send) is one chunk; the body ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct BodySender(mpsc::Sender<Bytes>);

impl BodySender {
    /// Sends one chunk, waiting while the client is slower than the function.
    ///
    /// # Errors
    /// [`BodyClosed`] when nobody will read the body any more (the client went away).
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), BodyClosed> {
        self.0.send(chunk.into()).await.map_err(|_| BodyClosed)
    }
}

/// The reader of a streamed body is gone: the client disconnected, or the response was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyClosed;

impl fmt::Display for BodyClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response body is no longer read (the client went away)")
    }
}

impl std::error::Error for BodyClosed {}

/// A response body as the loopback servers write it: whole (with its length) or streamed
/// (chunked, each chunk written as it comes).
#[derive(Debug)]
pub enum ResponseBody {
    Whole(Option<Bytes>),
    Streamed(mpsc::Receiver<Bytes>),
}

impl ResponseBody {
    pub fn whole(bytes: impl Into<Bytes>) -> Self {
        ResponseBody::Whole(Some(bytes.into()))
    }
}

impl From<&'static str> for ResponseBody {
    fn from(text: &'static str) -> Self {
        ResponseBody::whole(text)
    }
}

impl From<Vec<u8>> for ResponseBody {
    fn from(bytes: Vec<u8>) -> Self {
        ResponseBody::whole(bytes)
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Whole(bytes) => {
                Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b))))
            }
            ResponseBody::Streamed(chunks) => chunks.poll_recv(cx).map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Whole(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            ResponseBody::Streamed(_) => SizeHint::default(),
        }
    }
}

impl Default for HttpResponse {
    fn default() -> Self {
        HttpResponse::ok()
    }
}

impl HttpResponse {
    /// An empty response with this status.
    pub fn new(status: StatusCode) -> Self {
        HttpResponse {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            stream: None,
        }
    }

    /// An empty `200 OK`.
    pub fn ok() -> Self {
        HttpResponse::new(StatusCode::OK)
    }

    /// An empty `404 Not Found`.
    pub fn not_found() -> Self {
        HttpResponse::new(StatusCode::NOT_FOUND)
    }

    /// An empty `400 Bad Request`.
    pub fn bad_request() -> Self {
        HttpResponse::new(StatusCode::BAD_REQUEST)
    }

    /// Replaces the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets a header, replacing earlier values; names or values HTTP does not allow are skipped.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            self.headers.insert(n, v);
        }
        self
    }

    /// Adds a header value, keeping earlier ones (several `Set-Cookie`s, say).
    pub fn append_header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            self.headers.append(n, v);
        }
        self
    }

    /// Sets a text body and `Content-Type: text/plain; charset=utf-8` unless one is set.
    pub fn text(self, body: impl Into<String>) -> Self {
        self.default_content_type(TEXT_PLAIN_UTF8).bytes(body.into())
    }

    /// Sets a JSON body and `Content-Type: application/json` unless one is set.
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        // Serializing into memory fails only for maps with non-string keys; say so in the body.
        let bytes = serde_json::to_vec(body).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
        self.default_content_type(APPLICATION_JSON).bytes(bytes)
    }

    /// Sets a raw body.
    pub fn bytes(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self.stream = None;
        self
    }

    /// Turns the response into one whose body is streamed: each chunk sent through the
    /// returned [`BodySender`] goes to the client as it is sent (server-sent events, long
    /// downloads), and the body ends when the sender is dropped. The function returns the
    /// response at once and produces the body from a task of its own.
    ///
    /// Chunks reach the client as they are sent where the transport carries raw HTTP (the native
    /// runtime's `HttpUri`, the custom handler's forwarding mode); the other transports carry a
    /// whole body, so they wait for the end of the stream and send it in one piece.
    ///
    /// ```
    /// use azfn::HttpResponse;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (response, body) = HttpResponse::ok().header("content-type", "text/event-stream").streaming();
    /// tokio::spawn(async move {
    ///     for n in 1..=3 {
    ///         if body.send(format!("data: {n}\n\n")).await.is_err() {
    ///             break; // the client went away
    ///         }
    ///     }
    /// });
    /// assert!(response.is_streaming());
    /// let whole = response.collect_body().await;
    /// assert_eq!(whole.body(), b"data: 1\n\ndata: 2\n\ndata: 3\n\n");
    /// # });
    /// ```
    pub fn streaming(mut self) -> (HttpResponse, BodySender) {
        let (sender, receiver) = mpsc::channel(STREAM_CHUNKS_IN_FLIGHT);
        self.body = Bytes::new();
        self.stream = Some(BodyStream(Arc::new(Mutex::new(Some(receiver)))));
        (self, BodySender(sender))
    }

    /// Whether the body is streamed (and [`body`](HttpResponse::body) empty until
    /// [`collect_body`](HttpResponse::collect_body)).
    pub fn is_streaming(&self) -> bool {
        self.stream.is_some()
    }

    /// The response with its streamed body read to the end and made whole; a whole body as it
    /// is. A stream another clone of this response already took reads as empty.
    pub async fn collect_body(mut self) -> HttpResponse {
        if let Some(mut chunks) = self.stream.take().and_then(|stream| stream.take()) {
            let mut body = BytesMut::from(&self.body[..]);
            while let Some(chunk) = chunks.recv().await {
                body.extend_from_slice(&chunk);
            }
            self.body = body.freeze();
        }
        self
    }

    /// The status, the headers and the body as a loopback server writes them.
    pub fn into_hyper(self) -> http::Response<ResponseBody> {
        let body = match self.stream.and_then(|stream| stream.take()) {
            Some(chunks) => ResponseBody::Streamed(chunks),
            None => ResponseBody::whole(self.body),
        };
        let mut out = http::Response::new(body);
        *out.status_mut() = self.status;
        *out.headers_mut() = self.headers;
        out
    }

    fn default_content_type(mut self, value: HeaderValue) -> Self {
        self.headers.entry(http::header::CONTENT_TYPE).or_insert(value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header's value as text.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body (empty for a streamed body until [`collect_body`](HttpResponse::collect_body)).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The status, the headers and the body (as [`body`](HttpResponse::body) has it), taken
    /// apart without copying.
    ///
    /// ```
    /// use azfn::HttpResponse;
    /// let (status, headers, body) = HttpResponse::ok().text("hi").into_parts();
    /// assert_eq!((status.as_u16(), &body[..]), (200, &b"hi"[..]));
    /// assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    /// ```
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Bytes) {
        (self.status, self.headers, self.body)
    }
}

/// A JSON body or payload: `Json<T>` reads or writes `T` as JSON.
///
/// As a parameter of an HTTP function it parses the request body; as a return value it writes a
/// `200` JSON response; anywhere else it reads or writes the binding's value as JSON.
///
/// ```
/// use azfn::Json;
/// #[derive(serde::Deserialize)]
/// struct Order { id: u32 }
/// let Json(order): Json<Order> = serde_json::from_str(r#"{"id":3}"#).unwrap();
/// assert_eq!(order.id, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Json<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Json)
    }
}

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Types an HTTP-triggered function can return as its response.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as an HTTP response",
    label = "not an HTTP response",
    note = "return `azfn::HttpResponse`, `Json<T>`, `String`, `&'static str` or `()`, or a `#[derive(FunctionOutput)]` struct with an `#[http_output]` field"
)]
pub trait IntoHttpResponse {
    /// The response.
    fn into_http_response(self) -> HttpResponse;
}

impl IntoHttpResponse for HttpResponse {
    fn into_http_response(self) -> HttpResponse {
        self
    }
}

impl IntoHttpResponse for () {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok()
    }
}

impl IntoHttpResponse for String {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok().text(self)
    }
}

impl IntoHttpResponse for &'static str {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok().text(self)
    }
}

impl<T: Serialize> IntoHttpResponse for Json<T> {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok().json(&self.0)
    }
}

impl IntoHttpResponse for StatusCode {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::new(self)
    }
}

impl<T: IntoHttpResponse> IntoHttpResponse for (StatusCode, T) {
    fn into_http_response(self) -> HttpResponse {
        self.1.into_http_response().with_status(self.0)
    }
}

/// Query parameters read into `T`: `Query(params): Query<Search>` in an HTTP function.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Search { q: String, page: Option<u32> }
/// let req = azfn::HttpRequest::builder().query("q", "tea").query("page", "2").build();
/// let azfn::Query(search) = azfn::Query::<Search>::from_request(&req).unwrap();
/// assert_eq!((search.q.as_str(), search.page), ("tea", Some(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query<T>(pub T);

/// Route parameters read into `T` (a struct with their names, or a single value for one
/// parameter): `Path(id): Path<u32>` for the route `orders/{id:int}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Path<T>(pub T);

/// The request headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(pub HeaderMap);

/// The caller's identities (App Service authentication), as the host reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identities(pub Vec<ClaimsIdentity>);

/// Reads string pairs into `T`, numbers and booleans parsed from their text.
fn from_pairs<T: DeserializeOwned>(pairs: &BTreeMap<String, String>) -> Result<T, DecodeError> {
    let object: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::from_str::<serde_json::Value>(v)
                    .ok()
                    .filter(|j| !j.is_object() && !j.is_array())
                    .unwrap_or_else(|| v.clone().into()),
            )
        })
        .collect();
    let value = serde_json::Value::Object(object);
    match T::deserialize(&value) {
        Ok(t) => Ok(t),
        // A single parameter may be asked for as a plain value: `Path<u32>`. Not when `T` is a
        // struct or a map (`Query<Search>`): then the map's own error says what is wrong
        // ("missing field `q`").
        Err(e) if pairs.len() == 1 && !reads_a_map::<T>() => pairs
            .values()
            .next()
            .map(|only| T::deserialize(Repr::Text(only)))
            .unwrap_or_else(|| Err(DecodeError::new(e.to_string()))),
        Err(e) => Err(DecodeError::new(e.to_string())),
    }
}

/// Whether `T` reads a map or a struct (`Query<Search>`) rather than one value (`Path<u32>`),
/// from the first thing its `Deserialize` asks for; `false` when it asks for anything at all
/// (`deserialize_any`: an untagged enum, `serde_json::Value`).
fn reads_a_map<T: DeserializeOwned>() -> bool {
    matches!(T::deserialize(ShapeProbe), Err(Asked::Map))
}

/// What a type's `Deserialize` asked [`ShapeProbe`] for.
#[derive(Debug)]
enum Asked {
    Map,
    Other,
}

impl fmt::Display for Asked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the shape of a type, probed")
    }
}

impl std::error::Error for Asked {}

impl serde::de::Error for Asked {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Asked::Other
    }
}

/// A deserializer that holds no value: it answers the first request with what was asked,
/// looking through `Option` and newtype wrappers.
struct ShapeProbe;

impl<'de> serde::Deserializer<'de> for ShapeProbe {
    type Error = Asked;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Asked> {
        Err(Asked::Other)
    }

    fn deserialize_map<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Asked> {
        Err(Asked::Map)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Asked> {
        Err(Asked::Map)
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Asked> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Asked> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

impl<T: DeserializeOwned> Query<T> {
    /// Reads the query of `request`.
    pub fn from_request(request: &HttpRequest) -> Result<Self, DecodeError> {
        from_pairs(request.inner.query_pairs())
            .map(Query)
            .map_err(|e| DecodeError::new(format!("query: {e}")))
    }
}

impl<T: DeserializeOwned> Path<T> {
    /// Reads the route parameters of `request`.
    pub fn from_request(request: &HttpRequest) -> Result<Self, DecodeError> {
        from_pairs(&request.inner.params)
            .map(Path)
            .map_err(|e| DecodeError::new(format!("route parameters: {e}")))
    }
}

impl HttpRequest {
    /// The request as an `http::Request`, with `path_and_query` as its URI (the part of the
    /// URL a mounted router routes on).
    pub fn to_http(&self, path_and_query: &str) -> http::Request<Bytes> {
        let mut request = http::Request::new(self.inner.body.clone());
        *request.method_mut() = self.inner.method.clone();
        *request.headers_mut() = self.inner.headers.clone();
        if let Ok(uri) = path_and_query.parse() {
            *request.uri_mut() = uri;
        }
        request
    }

    /// The query string of the URL (without `?`), as the client sent it.
    pub fn raw_query(&self) -> Option<&str> {
        self.inner
            .url
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(q))
    }
}

impl<B: Into<Bytes>> From<http::Request<B>> for HttpRequest {
    fn from(request: http::Request<B>) -> Self {
        let (parts, body) = request.into_parts();
        let query = parts
            .uri
            .query()
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (k.to_owned(), v.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        HttpRequest::from_parts(
            parts.method,
            parts.uri.to_string(),
            parts.headers,
            query,
            BTreeMap::new(),
            IdentityList::default(),
            body.into(),
        )
    }
}

impl<B: Into<Bytes>> From<http::Response<B>> for HttpResponse {
    fn from(response: http::Response<B>) -> Self {
        let (parts, body) = response.into_parts();
        HttpResponse {
            status: parts.status,
            headers: parts.headers,
            body: body.into(),
            stream: None,
        }
    }
}

/// The response with a whole body; a streamed body must be
/// [collected](HttpResponse::collect_body) first (what has not been read is not in it).
impl From<HttpResponse> for http::Response<Bytes> {
    fn from(response: HttpResponse) -> Self {
        let mut out = http::Response::new(response.body);
        *out.status_mut() = response.status;
        *out.headers_mut() = response.headers;
        out
    }
}

impl<B: Into<Bytes>> IntoHttpResponse for http::Response<B> {
    fn into_http_response(self) -> HttpResponse {
        self.into()
    }
}

impl IntoHttpResponse for serde_json::Value {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok().json(&self)
    }
}

impl IntoHttpResponse for Vec<u8> {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok()
            .header("content-type", "application/octet-stream")
            .bytes(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(url: &str) -> HttpRequest {
        let query_start = url.find('?').map(|at| at + 1);
        HttpRequest::from_forwarded_parts(
            Method::GET,
            url.to_owned(),
            query_start,
            HeaderMap::new(),
            BTreeMap::new(),
            IdentityList::default(),
            Bytes::new(),
        )
    }

    #[test]
    fn a_forwarded_requests_query_is_read_from_its_url_as_the_host_decodes_it() {
        let request = forwarded("http://h/api/x?name=x&tag=a&tag=b&q=green+tea&caf%C3%A9=1");
        // Read as written, then from the decoded map.
        assert_eq!(request.query("name"), Some("x"));
        assert_eq!(request.query("tag"), Some("a,b"));
        assert_eq!(request.query("q"), Some("green tea"));
        assert_eq!(request.query("café"), Some("1"));
        assert_eq!(request.query("none"), None);
        assert_eq!(request.query_pairs().len(), 4);
        assert_eq!(request.query("name"), Some("x"));

        let given = HttpRequest::from_parts(
            Method::GET,
            request.url().to_owned(),
            HeaderMap::new(),
            azfn_bindings::percent::decode_query_joined(request.raw_query().unwrap_or_default()),
            BTreeMap::new(),
            IdentityList::default(),
            Bytes::new(),
        );
        assert_eq!(
            given,
            forwarded(request.url()),
            "the same request, however its query came"
        );
        assert_eq!(format!("{given:?}"), format!("{:?}", forwarded(request.url())));

        let without = forwarded("http://h/api/x");
        assert_eq!(without.query("name"), None);
        assert!(without.query_pairs().is_empty());
        assert_eq!(forwarded("http://h/api/x?").query(""), None);
    }
}
