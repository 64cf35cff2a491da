//! The `HttpUri` capability: a loopback HTTP server the host forwards HTTP-triggered requests
//! to, as they came from the client.
//!
//! The host (through YARP) forwards the request with an `x-ms-invocation-id` header and sends
//! the `InvocationRequest` over gRPC with an empty `RpcHttp` (route parameters only, with
//! `RequiresRouteParameters`). The two arrive in either order; [`Pairing`] joins them by
//! invocation id, and the invocation runs on the forwarded request's own task (no task of its
//! own, no hand-over of the response): the function's HTTP response is written on that
//! connection, and the gRPC response carries only the status and the other outputs.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
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

/// An invocation whose HTTP trigger's request comes through `HttpUri`, as the pairing holds it
/// until its request is there.
pub(crate) trait Forwarded: Send + 'static {
    /// Runs the invocation with its forwarded request, on that request's task. The function's
    /// HTTP response goes to `exchange.respond`.
    fn run(self, exchange: RawExchange) -> impl Future<Output = ()> + Send;

    /// Answers the invocation, on a task of its own, as one whose request never came (it was
    /// cancelled, the worker is stopping, or it waited past the patience).
    fn abandon(self);
}

#[cfg(test)]
impl RawExchange {
    /// A `GET http://h/api/x` with an empty body, answered through `respond`.
    pub(crate) fn for_test(respond: oneshot::Sender<HttpResponse>) -> Self {
        let request = RawRequest {
            method: Method::GET,
            url: "http://h/api/x".into(),
            headers: HeaderMap::new(),
            query: BTreeMap::new(),
            body: RawBody::Read(Bytes::new()),
        };
        RawExchange { request, respond }
    }
}

/// Whichever half of an invocation arrived first.
#[derive(Debug)]
enum Slot<P> {
    /// The forwarded request's task, waiting for its invocation.
    Request(oneshot::Sender<P>),
    /// The invocation, waiting for its forwarded request.
    Invocation(P),
}

/// A slot and the sweep round it was left in.
#[derive(Debug)]
struct Waiting<P> {
    round: u64,
    slot: Slot<P>,
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
pub(crate) struct Pairing<P> {
    slots: Mutex<Slots<P>>,
    patience: Duration,
}

#[derive(Debug)]
struct Slots<P> {
    waiting: HashMap<String, Waiting<P>>,
    round: u64,
}

impl<P> Slots<P> {
    /// Leaves `slot` waiting under `invocation_id`, in the current round.
    fn keep(&mut self, invocation_id: &str, slot: Slot<P>) {
        let round = self.round;
        self.waiting.insert(invocation_id.to_owned(), Waiting { round, slot });
    }
}

/// What a forwarded request's task does next.
enum Arrival<P> {
    /// Run this invocation, which was waiting.
    Run(P),
    /// Wait for the invocation.
    Wait(oneshot::Receiver<P>),
}

impl<P: Forwarded> Default for Pairing<P> {
    fn default() -> Self {
        Pairing::with_patience(PAIRING_TIMEOUT)
    }
}

impl<P: Forwarded> Pairing<P> {
    /// A pairing whose halves wait for each other at least `patience` (once swept).
    pub(crate) fn with_patience(patience: Duration) -> Self {
        Pairing {
            slots: Mutex::new(Slots {
                waiting: HashMap::new(),
                round: 0,
            }),
            patience,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots<P>> {
        // A panic while holding the lock leaves the map consistent: every operation is one call.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The gRPC half arrived: hand it to its waiting request's task, or keep it.
    pub(crate) fn invocation_arrived(&self, invocation_id: &str, invocation: P) {
        let waiting = {
            let mut slots = self.slots();
            match slots.waiting.remove(invocation_id) {
                Some(Waiting {
                    slot: Slot::Request(waiting),
                    ..
                }) => waiting,
                // The worker refuses a second invocation with a running one's id, so an
                // invocation never finds another here.
                _ => return slots.keep(invocation_id, Slot::Invocation(invocation)),
            }
        };
        // The request's task is gone (its client left): nobody will run it.
        if let Err(invocation) = waiting.send(invocation) {
            invocation.abandon();
        }
    }

    /// The HTTP half arrived: its invocation, or the way to wait for it.
    fn request_arrived(&self, invocation_id: &str) -> Arrival<P> {
        let mut slots = self.slots();
        if let Some(Waiting {
            slot: Slot::Invocation(invocation),
            ..
        }) = slots.waiting.remove(invocation_id)
        {
            return Arrival::Run(invocation);
        }
        // A second request with the same id replaces the first, which is answered `504`.
        let (waiting, arrival) = oneshot::channel();
        slots.keep(invocation_id, Slot::Request(waiting));
        Arrival::Wait(arrival)
    }

    /// The host cancelled the invocation: if it is still waiting for its request, it is
    /// answered now.
    pub(crate) fn cancel(&self, invocation_id: &str) {
        let waiting = {
            let mut slots = self.slots();
            match slots.waiting.get(invocation_id) {
                Some(Waiting {
                    slot: Slot::Invocation(_),
                    ..
                }) => slots.waiting.remove(invocation_id),
                _ => None,
            }
        };
        if let Some(Waiting {
            slot: Slot::Invocation(invocation),
            ..
        }) = waiting
        {
            invocation.abandon();
        }
    }

    /// The worker is stopping: every half still waiting is dropped. An invocation is answered
    /// as one whose request never came, a request `504`.
    pub(crate) fn cancel_all(&self) {
        self.drop_where(|_| true);
    }

    /// One sweep: drops the halves left `ROUNDS_KEPT` rounds ago. A forwarded request is
    /// answered `504`; an invocation learns that none came.
    fn sweep(&self) {
        let round = {
            let mut slots = self.slots();
            slots.round += 1;
            slots.round
        };
        self.drop_where(|waiting| round - waiting.round >= ROUNDS_KEPT);
    }

    fn drop_where(&self, expired: impl Fn(&Waiting<P>) -> bool) {
        let dropped: Vec<Waiting<P>> = self
            .slots()
            .waiting
            .extract_if(|_, waiting| expired(waiting))
            .map(|(_, waiting)| waiting)
            .collect();
        for waiting in dropped {
            // A request's task sees its sender dropped and answers `504`.
            if let Slot::Invocation(invocation) = waiting.slot {
                invocation.abandon();
            }
        }
    }

    /// Sweeps every quarter of the patience, for as long as the pairing is in use.
    pub(crate) async fn sweep_every(pairing: Weak<Pairing<P>>) {
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
pub(crate) struct HttpUriServer<P> {
    address: SocketAddr,
    pairing: Arc<Pairing<P>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl<P: Forwarded> HttpUriServer<P> {
    /// Listens on `127.0.0.1` on a free port; request bodies over `body_limit` bytes get `413`.
    pub(crate) async fn start(body_limit: usize) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let pairing = Arc::new(Pairing::<P>::default());
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
    pub(crate) fn pairing(&self) -> Arc<Pairing<P>> {
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

async fn accept_loop<P: Forwarded>(
    listener: TcpListener,
    pairing: Arc<Pairing<P>>,
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

/// One forwarded request: its invocation runs here, once both are in.
async fn forwarded<P: Forwarded>(
    request: Request<Incoming>,
    pairing: &Pairing<P>,
    body_limit: usize,
) -> Response<ResponseBody> {
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
    let invocation = match pairing.request_arrived(invocation_id) {
        Arrival::Run(invocation) => invocation,
        // No timer here: the sweeper drops a request whose invocation never came.
        Arrival::Wait(arrival) => match arrival.await {
            Ok(invocation) => invocation,
            Err(_) => return plain(StatusCode::GATEWAY_TIMEOUT, "no invocation came for this request"),
        },
    };
    let (respond, mut response) = oneshot::channel();
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
    // Boxed: the invocation's future is kilobytes, and hyper keeps this one in its connection.
    Box::pin(invocation.run(exchange)).await;
    match response.try_recv() {
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
        (RawExchange::for_test(respond), response)
    }

    /// A stand-in invocation that records what became of it.
    #[derive(Debug)]
    struct Probe {
        id: &'static str,
        said: Arc<Mutex<Vec<String>>>,
    }

    impl Forwarded for Probe {
        async fn run(self, exchange: RawExchange) {
            let line = format!("{} ran with {}", self.id, exchange.request.url);
            self.said.lock().unwrap().push(line);
            let _ = exchange.respond.send(HttpResponse::ok());
        }

        fn abandon(self) {
            self.said.lock().unwrap().push(format!("{} abandoned", self.id));
        }
    }

    fn probe(id: &'static str) -> (Probe, Arc<Mutex<Vec<String>>>) {
        let said = Arc::new(Mutex::new(Vec::new()));
        (Probe { id, said: said.clone() }, said)
    }

    #[tokio::test]
    async fn either_half_may_arrive_first_and_the_request_runs_the_invocation() {
        let pairing = Pairing::<Probe>::default();
        // The invocation first: the request's task finds it.
        let (first, said) = probe("a");
        pairing.invocation_arrived("a", first);
        let Arrival::Run(invocation) = pairing.request_arrived("a") else {
            panic!("a waits")
        };
        let (request, response) = exchange();
        invocation.run(request).await;
        assert_eq!(*said.lock().unwrap(), ["a ran with http://h/api/x"]);
        assert_eq!(response.await.expect("answered").status(), StatusCode::OK);

        // The request first: the invocation is handed to its task.
        let Arrival::Wait(arrival) = pairing.request_arrived("b") else {
            panic!("b runs")
        };
        let (second, said) = probe("b");
        pairing.invocation_arrived("b", second);
        arrival.await.expect("handed over").run(exchange().0).await;
        assert_eq!(*said.lock().unwrap(), ["b ran with http://h/api/x"]);
        assert!(pairing.is_empty());
    }

    #[tokio::test]
    async fn an_invocation_whose_request_is_gone_or_cancelled_is_abandoned() {
        let pairing = Pairing::<Probe>::default();
        let Arrival::Wait(arrival) = pairing.request_arrived("left") else {
            panic!()
        };
        drop(arrival);
        let (invocation, said) = probe("left");
        pairing.invocation_arrived("left", invocation);
        assert_eq!(*said.lock().unwrap(), ["left abandoned"]);

        let (invocation, said) = probe("cancelled");
        pairing.invocation_arrived("cancelled", invocation);
        pairing.cancel("unknown");
        assert!(said.lock().unwrap().is_empty());
        pairing.cancel("cancelled");
        assert_eq!(*said.lock().unwrap(), ["cancelled abandoned"]);

        let (invocation, said) = probe("stopping");
        pairing.invocation_arrived("stopping", invocation);
        let Arrival::Wait(_waiting) = pairing.request_arrived("other") else {
            panic!()
        };
        pairing.cancel_all();
        assert_eq!(*said.lock().unwrap(), ["stopping abandoned"]);
        assert!(pairing.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_that_waits_too_long_is_swept() {
        let pairing = Arc::new(Pairing::<Probe>::with_patience(Duration::from_secs(40)));
        tokio::spawn(Pairing::sweep_every(Arc::downgrade(&pairing)));
        let started = tokio::time::Instant::now();
        let Arrival::Wait(arrival) = pairing.request_arrived("orphan") else {
            panic!()
        };
        assert!(arrival.await.is_err(), "its task answers 504");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(40) && waited <= Duration::from_secs(50),
            "{waited:?}"
        );

        let (invocation, said) = probe("late");
        pairing.invocation_arrived("late", invocation);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(*said.lock().unwrap(), ["late abandoned"]);
        assert!(pairing.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_is_kept_for_the_whole_patience() {
        let pairing = Arc::new(Pairing::<Probe>::with_patience(Duration::from_secs(40)));
        tokio::spawn(Pairing::sweep_every(Arc::downgrade(&pairing)));
        // Arriving just before a sweep.
        tokio::time::sleep(Duration::from_millis(9_999)).await;
        let (invocation, said) = probe("slow");
        pairing.invocation_arrived("slow", invocation);
        tokio::time::sleep(Duration::from_millis(39_990)).await;
        assert!(said.lock().unwrap().is_empty(), "still waiting after 39.99 s");
        assert!(matches!(pairing.request_arrived("slow"), Arrival::Run(_)));
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
