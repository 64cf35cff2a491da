//! The `HttpUri` capability: a loopback HTTP server the host forwards HTTP-triggered requests
//! to, as they came from the client.
//!
//! The host (through YARP) forwards the request with an `x-ms-invocation-id` header and sends
//! the `InvocationRequest` over gRPC with an empty `RpcHttp` (route parameters only, with
//! `RequiresRouteParameters`). The two arrive in either order; [`Pairing`] joins them by
//! invocation id. The function's HTTP response is written on the forwarded request's connection,
//! and the gRPC response carries only the status and the other outputs.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use azfn_bindings::percent::decode_query_joined;
use bytes::Bytes;
use http::header::HOST;
use http::request::Parts;
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use hyper::body::{Body as _, Incoming};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::error::InvocationError;
use crate::http::{HttpRequest, HttpResponse, IdentityList, ResponseBody};
use crate::{RequestBody, loopback};

/// The header carrying the invocation id on forwarded requests.
pub(crate) const INVOCATION_ID_HEADER: &str = "x-ms-invocation-id";

/// How long either half waits for the other (the host's proxy gives up after 240 s too).
pub(crate) const PAIRING_TIMEOUT: Duration = Duration::from_secs(240);

/// A forwarded request, as it arrived (route parameters come from the gRPC half).
#[derive(Debug)]
pub(crate) struct RawRequest {
    method: Method,
    url: String,
    headers: HeaderMap,
    query: BTreeMap<String, String>,
    body: RawBody,
}

/// A forwarded request's body: left unread until the invocation says whether its function
/// streams it.
#[derive(Debug)]
enum RawBody {
    #[cfg(test)]
    Read(Bytes),
    Unread {
        body: Incoming,
        limit: usize,
    },
}

impl RawRequest {
    /// The request a function sees, with the route parameters of the gRPC half, and for a
    /// function that streams its body, that body unread. The parts are moved in as they are,
    /// not parsed again.
    ///
    /// # Errors
    ///
    /// When a body read whole cannot be read, or is larger than the limit.
    pub(crate) async fn into_http_request(
        self,
        params: BTreeMap<String, String>,
        streams_body: bool,
    ) -> Result<(HttpRequest, Option<RequestBody>), InvocationError> {
        let (body, streamed) = match self.body {
            #[cfg(test)]
            RawBody::Read(bytes) => (bytes, None),
            RawBody::Unread { body, limit } if streams_body => {
                (Bytes::new(), Some(RequestBody::from_body(body).limited(limit)))
            }
            RawBody::Unread { body, limit } => (loopback::read_body(body, limit).await?, None),
        };
        let request = HttpRequest::from_parts(
            self.method,
            self.url,
            self.headers,
            self.query,
            params,
            IdentityList::default(),
            body,
        );
        Ok((request, streamed))
    }
}

/// A forwarded request and the way to answer it.
#[derive(Debug)]
pub(crate) struct RawExchange {
    /// The request.
    pub(crate) request: RawRequest,
    /// Where the response goes; dropping it answers `500`.
    pub(crate) respond: oneshot::Sender<HttpResponse>,
}

/// Whichever half of an invocation arrived first.
// Unboxed: a slot lives only until its other half arrives, and a box would cost an allocation
// per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Slot {
    /// The forwarded request, waiting for its invocation.
    Request(RawExchange),
    /// The invocation, waiting for its forwarded request.
    Invocation(oneshot::Sender<RawExchange>),
}

/// A slot and the sweep round it was left in.
#[derive(Debug)]
struct Waiting {
    round: u64,
    slot: Slot,
}

/// How many sweeps a half survives: sweeping every quarter of the patience, a half is dropped
/// after waiting between the patience and 1.25 times it.
const ROUNDS_KEPT: u64 = 5;

/// Joins forwarded requests and invocations by invocation id.
///
/// A half waits for the other as long as the pairing's patience. One sweeper (see
/// [`Pairing::sweep_every`]) drops the halves that waited too long, instead of a timer per
/// invocation and per request: on the hot path a slot only records the current round.
#[derive(Debug)]
pub(crate) struct Pairing {
    slots: Mutex<Slots>,
    patience: Duration,
}

#[derive(Debug, Default)]
struct Slots {
    waiting: HashMap<String, Waiting>,
    round: u64,
}

impl Default for Pairing {
    fn default() -> Self {
        Pairing::with_patience(PAIRING_TIMEOUT)
    }
}

impl Pairing {
    /// A pairing whose halves wait for each other at least `patience` (once swept).
    pub(crate) fn with_patience(patience: Duration) -> Self {
        Pairing {
            slots: Mutex::new(Slots::default()),
            patience,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves the map consistent: every operation is one call.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The HTTP half arrived: hand it to its waiting invocation or keep it.
    pub(crate) fn request_arrived(&self, invocation_id: &str, exchange: RawExchange) {
        let mut slots = self.slots();
        match slots.waiting.remove(invocation_id) {
            Some(Waiting {
                slot: Slot::Invocation(waiting),
                ..
            }) => {
                // If the invocation gave up meanwhile, the exchange is dropped: `500`.
                let _ = waiting.send(exchange);
            }
            // A second request with the same id replaces the first, which is answered `500`.
            Some(Waiting {
                slot: Slot::Request(_), ..
            })
            | None => {
                let round = slots.round;
                slots.waiting.insert(
                    invocation_id.to_owned(),
                    Waiting {
                        round,
                        slot: Slot::Request(exchange),
                    },
                );
            }
        }
    }

    /// The gRPC half arrived: the forwarded request, once it is there, or `None` when none
    /// came within the patience.
    pub(crate) async fn take_request(&self, invocation_id: &str) -> Option<RawExchange> {
        let arrival = {
            let mut slots = self.slots();
            if let Some(Waiting {
                slot: Slot::Request(exchange),
                ..
            }) = slots.waiting.remove(invocation_id)
            {
                return Some(exchange);
            }
            let (waiting, arrival) = oneshot::channel();
            let round = slots.round;
            slots.waiting.insert(
                invocation_id.to_owned(),
                Waiting {
                    round,
                    slot: Slot::Invocation(waiting),
                },
            );
            arrival
        };
        // Swept: the sender is dropped.
        arrival.await.ok()
    }

    /// One sweep: drops the halves left `ROUNDS_KEPT` rounds ago. A forwarded request is
    /// answered `504`; an invocation learns that none came.
    fn sweep(&self) {
        let expired: Vec<Waiting> = {
            let mut slots = self.slots();
            slots.round += 1;
            let round = slots.round;
            slots
                .waiting
                .extract_if(|_, waiting| round - waiting.round >= ROUNDS_KEPT)
                .map(|(_, waiting)| waiting)
                .collect()
        };
        for waiting in expired {
            if let Slot::Request(exchange) = waiting.slot {
                let timeout =
                    HttpResponse::new(StatusCode::GATEWAY_TIMEOUT).text("no invocation came for this request\n");
                let _ = exchange.respond.send(timeout);
            }
        }
    }

    /// Sweeps every quarter of the patience, for as long as the pairing is in use.
    pub(crate) async fn sweep_every(pairing: Weak<Pairing>) {
        let Some(period) = pairing.upgrade().map(|p| p.patience / (ROUNDS_KEPT as u32 - 1)) else {
            return;
        };
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            ticks.tick().await;
            match pairing.upgrade() {
                Some(pairing) => pairing.sweep(),
                None => return,
            }
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.slots().waiting.is_empty()
    }
}

/// The loopback server.
#[derive(Debug)]
pub(crate) struct HttpUriServer {
    address: SocketAddr,
    pairing: Arc<Pairing>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl HttpUriServer {
    /// Listens on `127.0.0.1` on a free port; request bodies over `body_limit` bytes get `413`.
    pub(crate) async fn start(body_limit: usize) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let pairing = Arc::new(Pairing::default());
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, pairing.clone(), body_limit, stopping));
        let sweeper = tokio::spawn(Pairing::sweep_every(Arc::downgrade(&pairing)));
        Ok(HttpUriServer {
            address,
            pairing,
            stop,
            task,
            sweeper,
        })
    }

    /// The value of the `HttpUri` capability.
    pub(crate) fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Where invocations find their forwarded requests.
    pub(crate) fn pairing(&self) -> Arc<Pairing> {
        self.pairing.clone()
    }

    /// Stops accepting; connections get a moment to finish the request they serve (one still
    /// waiting for its invocation would otherwise hold the worker for minutes).
    pub(crate) async fn stop(mut self) {
        self.sweeper.abort();
        self.stop.send_replace(true);
        if tokio::time::timeout(Duration::from_secs(1), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    pairing: Arc<Pairing>,
    body_limit: usize,
    mut stopping: watch::Receiver<bool>,
) {
    let handler = move |request| {
        let pairing = pairing.clone();
        async move { forwarded(request, &pairing, body_limit).await }
    };
    let stop = async move { loopback::stop_requested(&mut stopping).await };
    loopback::serve(listener, handler, stop, "the host (HttpUri)").await;
}

/// One forwarded request: wait for its invocation's response.
async fn forwarded(request: Request<Incoming>, pairing: &Pairing, body_limit: usize) -> Response<ResponseBody> {
    // The header's value is shared with the request, not copied: the pairing's table makes the
    // one owned copy of the id.
    let Some(invocation_id) = request
        .headers()
        .get(INVOCATION_ID_HEADER)
        .filter(|v| v.to_str().is_ok())
        .cloned()
    else {
        return plain(StatusCode::BAD_REQUEST, "missing the x-ms-invocation-id header");
    };
    let invocation_id = invocation_id.to_str().unwrap_or_default();
    let (parts, body) = request.into_parts();
    // A body declared too large is refused at once; any other is read by the invocation, whole
    // or as a stream, as its function asks.
    if body.size_hint().lower() > body_limit as u64 {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &InvocationError::TooLarge { limit: body_limit }.to_string(),
        );
    }
    let (respond, response) = oneshot::channel();
    let exchange = RawExchange {
        request: raw_request(
            parts,
            RawBody::Unread {
                body,
                limit: body_limit,
            },
        ),
        respond,
    };
    pairing.request_arrived(invocation_id, exchange);
    // No timer here: the sweeper answers `504` for a request whose invocation never came, and
    // once the invocation has it, the function's own time is the host's to limit.
    match response.await {
        // A streamed body goes out chunk by chunk while the function sends it.
        Ok(response) => response.into_hyper(),
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "the invocation failed"),
    }
}

/// The request as the client sent it: the URL rebuilt from the forwarding headers.
fn raw_request(parts: Parts, body: RawBody) -> RawRequest {
    // Names checked at compile time, not parsed for each request.
    const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
    let header = |name: &HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or_default().trim())
    };
    let scheme = header(&X_FORWARDED_PROTO).unwrap_or("http");
    let host = header(&X_FORWARDED_HOST).or_else(|| header(&HOST)).unwrap_or_default();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + path_and_query.len());
    for piece in [scheme, "://", host, path_and_query] {
        url.push_str(piece);
    }
    RawRequest {
        url,
        query: parts.uri.query().map(decode_query_joined).unwrap_or_default(),
        method: parts.method,
        headers: parts.headers,
        body,
    }
}

fn plain(status: StatusCode, message: &str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::whole(format!("{message}\n")));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> (RawExchange, oneshot::Receiver<HttpResponse>) {
        let (respond, response) = oneshot::channel();
        let request = RawRequest {
            method: Method::GET,
            url: "http://h/api/x".into(),
            headers: HeaderMap::new(),
            query: BTreeMap::new(),
            body: RawBody::Read(Bytes::new()),
        };
        (RawExchange { request, respond }, response)
    }

    #[tokio::test]
    async fn either_half_may_arrive_first() {
        let pairing = Arc::new(Pairing::default());
        let (first, _) = exchange();
        pairing.request_arrived("a", first);
        let taken = pairing.take_request("a").await;
        assert_eq!(taken.map(|e| e.request.url), Some("http://h/api/x".to_owned()));

        let waiter = {
            let pairing = pairing.clone();
            tokio::spawn(async move { pairing.take_request("b").await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (second, _) = exchange();
        pairing.request_arrived("b", second);
        assert!(waiter.await.expect("joins"));
        assert!(pairing.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_that_waits_too_long_is_swept() {
        let pairing = Arc::new(Pairing::with_patience(Duration::from_secs(40)));
        tokio::spawn(Pairing::sweep_every(Arc::downgrade(&pairing)));
        let started = tokio::time::Instant::now();
        assert!(pairing.take_request("late").await.is_none());
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(40) && waited <= Duration::from_secs(50),
            "{waited:?}"
        );
        assert!(pairing.is_empty());

        // A forwarded request whose invocation never came is answered `504`.
        let (request, response) = exchange();
        pairing.request_arrived("orphan", request);
        let answer = response.await.expect("answered");
        assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(pairing.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_is_kept_for_the_whole_patience() {
        let pairing = Arc::new(Pairing::with_patience(Duration::from_secs(40)));
        tokio::spawn(Pairing::sweep_every(Arc::downgrade(&pairing)));
        // Arriving just before a sweep.
        tokio::time::sleep(Duration::from_millis(9_999)).await;
        let (request, _response) = exchange();
        pairing.request_arrived("slow", request);
        tokio::time::sleep(Duration::from_millis(39_990)).await;
        assert!(
            pairing.take_request("slow").await.is_some(),
            "still there after 39.99 s"
        );
    }

    #[tokio::test]
    async fn the_url_is_rebuilt_from_the_forwarding_headers() {
        let request = Request::get("/api/hello?name=x")
            .header("host", "127.0.0.1:5555")
            .header("x-forwarded-host", "app.azurewebsites.net")
            .header("x-forwarded-proto", "https")
            .body(())
            .expect("request");
        let (parts, ()) = request.into_parts();
        let raw = raw_request(parts, RawBody::Read(Bytes::from_static(b"hi")));
        assert_eq!(raw.url, "https://app.azurewebsites.net/api/hello?name=x");
        let (http, streamed) = raw
            .into_http_request([("id".to_owned(), "7".to_owned())].into(), false)
            .await
            .expect("a request");
        assert!(streamed.is_none());
        assert_eq!(http.query("name"), Some("x"));
        assert_eq!(http.param("id"), Some("7"));
        assert_eq!(http.body(), b"hi");
        assert_eq!(http.header("host"), Some("127.0.0.1:5555"));
    }
}
