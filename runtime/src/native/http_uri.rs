//! The `HttpUri` capability: a loopback HTTP server the host forwards HTTP-triggered requests
//! to, as they came from the client.
//!
//! The host (through YARP) forwards the request with an `x-ms-invocation-id` header and sends
//! the `InvocationRequest` over gRPC with an empty `RpcHttp` (route parameters only, with
//! `RequiresRouteParameters`). The two arrive in either order; [`Pairing`] joins them by
//! invocation id, and the invocation runs on the forwarded request's own task (no task of its
//! own, no hand-over of the response): the function's HTTP response is written on that
//! connection, and the gRPC response carries only the status and the other outputs.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use foldhash::HashMap;
use http::header::HOST;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::{Body as _, Incoming};
use tokio::net::TcpListener;
use tokio::sync::watch;
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
    /// Where the query string starts in `url`.
    query_start: Option<usize>,
    headers: HeaderMap,
    body: RawBody,
}

/// A forwarded request's body: left unread until the invocation says whether its function
/// streams it.
#[derive(Debug)]
enum RawBody {
    Read(Bytes),
    Unread { body: Incoming, limit: usize },
}

impl RawRequest {
    /// Whether the body is still to be read before the request is built: a function that takes
    /// it whole needs it read, unless there is none.
    pub(crate) fn must_read_body(&self, streams_body: bool) -> bool {
        match &self.body {
            RawBody::Unread { body, .. } => !streams_body && !body.is_end_stream(),
            RawBody::Read(_) => false,
        }
    }

    /// Reads the body whole.
    ///
    /// # Errors
    ///
    /// When it cannot be read, or is larger than the limit.
    pub(crate) async fn read_body(&mut self) -> Result<(), InvocationError> {
        if let RawBody::Unread { body, limit } = std::mem::replace(&mut self.body, RawBody::Read(Bytes::new())) {
            self.body = RawBody::Read(loopback::read_body(body, limit).await?);
        }
        Ok(())
    }

    /// The request a function sees, with the route parameters of the gRPC half, and for a
    /// function that streams its body, that body unread. The parts are moved in as they are,
    /// not parsed again.
    pub(crate) fn into_http_request(
        self,
        params: BTreeMap<String, String>,
        streams_body: bool,
    ) -> (HttpRequest, Option<RequestBody>) {
        let (body, streamed) = match self.body {
            RawBody::Read(bytes) => (bytes, None),
            RawBody::Unread { body, limit } if streams_body => {
                (Bytes::new(), Some(RequestBody::from_body(body).limited(limit)))
            }
            // Not read, so empty (`must_read_body`).
            RawBody::Unread { .. } => (Bytes::new(), None),
        };
        let request = HttpRequest::from_forwarded_parts(
            self.method,
            self.url,
            self.query_start,
            self.headers,
            params,
            IdentityList::default(),
            body,
        );
        (request, streamed)
    }

    /// A `GET http://h/api/x` with an empty body.
    #[cfg(test)]
    pub(crate) fn for_test() -> Self {
        RawRequest {
            method: Method::GET,
            url: "http://h/api/x".into(),
            query_start: None,
            headers: HeaderMap::new(),
            body: RawBody::Read(Bytes::new()),
        }
    }
}

/// An invocation whose HTTP trigger's request comes through `HttpUri`, as the pairing holds it
/// until its request is there.
pub(crate) trait Forwarded: Send + 'static {
    /// Runs the invocation with its forwarded request, on that request's task: the function's
    /// HTTP response, `None` if it gave none.
    fn run(self, request: RawRequest) -> impl Future<Output = Option<HttpResponse>> + Send;

    /// Answers the invocation, on a task of its own, as one whose request never came (it was
    /// cancelled, the worker is stopping, or it waited past the patience).
    fn abandon(self);
}

/// An invocation id, shared with where it came from (the forwarded request's header, or the
/// invocation's registration), not copied.
#[derive(Debug, Clone)]
pub(crate) enum InvocationId {
    Header(HeaderValue),
    Registered(Arc<str>),
}

impl Borrow<[u8]> for InvocationId {
    fn borrow(&self) -> &[u8] {
        match self {
            InvocationId::Header(value) => value.as_bytes(),
            InvocationId::Registered(id) => id.as_bytes(),
        }
    }
}

// Hashed and compared as the bytes it borrows as, so the table is searched by `&[u8]`.
impl Hash for InvocationId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        <Self as Borrow<[u8]>>::borrow(self).hash(state);
    }
}

impl PartialEq for InvocationId {
    fn eq(&self, other: &Self) -> bool {
        <Self as Borrow<[u8]>>::borrow(self) == <Self as Borrow<[u8]>>::borrow(other)
    }
}

impl Eq for InvocationId {}

/// Whichever half of an invocation arrived first.
#[derive(Debug)]
enum Slot<P> {
    /// A forwarded request's task, waiting for its invocation; the ticket tells it from a later
    /// request with the same id.
    Request { waker: Waker, ticket: u64 },
    /// The invocation, waiting for its forwarded request.
    Invocation(P),
    /// The invocation, handed to the waiting request `ticket`, whose task is woken to take it.
    Handed { invocation: P, ticket: u64 },
    /// The forwarded request's task went away while it waited: its invocation, when it comes,
    /// is answered at once.
    Left,
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
/// invocation and per request: on the hot path a slot only records the current round. A request
/// waits with its task's waker in the table, not on a channel of its own.
#[derive(Debug)]
pub(crate) struct Pairing<P> {
    slots: Mutex<Slots<P>>,
    patience: Duration,
}

#[derive(Debug)]
struct Slots<P> {
    waiting: HashMap<InvocationId, Waiting<P>>,
    round: u64,
    /// The last request's ticket.
    tickets: u64,
}

impl<P> Slots<P> {
    /// Leaves `slot` waiting under `invocation_id`, in the current round; the slot it replaces.
    fn keep(&mut self, invocation_id: InvocationId, slot: Slot<P>) -> Option<Waiting<P>> {
        let round = self.round;
        self.waiting.insert(invocation_id, Waiting { round, slot })
    }
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
                waiting: HashMap::default(),
                round: 0,
                tickets: 0,
            }),
            patience,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots<P>> {
        // A panic while holding the lock leaves the map consistent: every operation is one call.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The gRPC half arrived: hand it to its waiting request's task, or keep it.
    pub(crate) fn invocation_arrived(&self, invocation_id: Arc<str>, invocation: P) {
        let mut slots = self.slots();
        let key: &[u8] = invocation_id.as_bytes();
        match slots.waiting.get_mut(key).map(|waiting| &mut waiting.slot) {
            Some(slot @ Slot::Request { .. }) => {
                if let Slot::Request { waker, ticket } = std::mem::replace(slot, Slot::Left) {
                    *slot = Slot::Handed { invocation, ticket };
                    drop(slots);
                    waker.wake();
                }
            }
            Some(Slot::Left) => {
                slots.waiting.remove(key);
                drop(slots);
                invocation.abandon();
            }
            // The worker refuses a second invocation with a running one's id, so an invocation
            // never finds another here.
            _ => drop(slots.keep(InvocationId::Registered(invocation_id), Slot::Invocation(invocation))),
        }
    }

    /// The HTTP half arrived: its invocation, once there; `None` if none will come for it (it
    /// waited past the patience, the worker is stopping, or a later request with the same id
    /// took its place).
    pub(crate) fn request_arrived(&self, invocation_id: InvocationId) -> Arrival<'_, P> {
        Arrival {
            pairing: self,
            invocation_id,
            ticket: None,
        }
    }

    /// The host cancelled the invocation: if it is still waiting for its request, it is
    /// answered now.
    pub(crate) fn cancel(&self, invocation_id: &str) {
        let key = invocation_id.as_bytes();
        let waiting = {
            let mut slots = self.slots();
            match slots.waiting.get(key) {
                Some(Waiting {
                    slot: Slot::Invocation(_),
                    ..
                }) => slots.waiting.remove(key),
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
            match waiting.slot {
                // The request's task finds nothing for it, and answers `504`.
                Slot::Request { waker, .. } => waker.wake(),
                Slot::Invocation(invocation) | Slot::Handed { invocation, .. } => invocation.abandon(),
                Slot::Left => {}
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

/// A forwarded request waiting for its invocation (see [`Pairing::request_arrived`]).
pub(crate) struct Arrival<'a, P: Forwarded> {
    pairing: &'a Pairing<P>,
    invocation_id: InvocationId,
    /// The request's ticket while it waits in the table.
    ticket: Option<u64>,
}

/// What a request's poll found in the table.
enum Found {
    /// Its invocation: take it.
    Invocation,
    /// Its own slot: still waiting.
    Own,
    /// Nothing, and it never waited: wait now.
    Nothing,
    /// Another request waiting with the same id, and this one never waited: take its place.
    Another,
    /// Nothing for it any more (swept, stopping, replaced).
    Gone,
}

impl<P: Forwarded> Future for Arrival<'_, P> {
    type Output = Option<P>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<P>> {
        let this = self.get_mut();
        let key: &[u8] = this.invocation_id.borrow();
        let mut slots = this.pairing.slots();
        let found = match (slots.waiting.get(key).map(|waiting| &waiting.slot), this.ticket) {
            (Some(Slot::Invocation(_)), _) => Found::Invocation,
            (Some(Slot::Handed { ticket, .. }), Some(mine)) if *ticket == mine => Found::Invocation,
            (Some(Slot::Request { ticket, .. }), Some(mine)) if *ticket == mine => Found::Own,
            (Some(Slot::Request { .. }), None) => Found::Another,
            (None | Some(Slot::Left), None) => Found::Nothing,
            _ => Found::Gone,
        };
        match found {
            Found::Invocation => {
                this.ticket = None;
                match slots.waiting.remove(key).map(|waiting| waiting.slot) {
                    Some(Slot::Invocation(invocation) | Slot::Handed { invocation, .. }) => {
                        Poll::Ready(Some(invocation))
                    }
                    _ => Poll::Ready(None),
                }
            }
            Found::Own => {
                if let Some(Waiting {
                    slot: Slot::Request { waker, .. },
                    ..
                }) = slots.waiting.get_mut(key)
                {
                    waker.clone_from(cx.waker());
                }
                Poll::Pending
            }
            Found::Nothing | Found::Another => {
                slots.tickets += 1;
                let ticket = slots.tickets;
                this.ticket = Some(ticket);
                let slot = Slot::Request {
                    waker: cx.waker().clone(),
                    ticket,
                };
                let replaced = slots.keep(this.invocation_id.clone(), slot);
                drop(slots);
                // The request it replaces finds another's ticket, and answers `504`.
                if let Some(Waiting {
                    slot: Slot::Request { waker, .. },
                    ..
                }) = replaced
                {
                    waker.wake();
                }
                Poll::Pending
            }
            Found::Gone => {
                this.ticket = None;
                Poll::Ready(None)
            }
        }
    }
}

impl<P: Forwarded> Drop for Arrival<'_, P> {
    /// A request dropped while it waits (its client left) leaves word for its invocation; one
    /// handed to it already is answered now.
    fn drop(&mut self) {
        let Some(mine) = self.ticket.take() else { return };
        let key: &[u8] = self.invocation_id.borrow();
        let mut slots = self.pairing.slots();
        let Some(waiting) = slots.waiting.get_mut(key) else {
            return;
        };
        let left = match &waiting.slot {
            Slot::Request { ticket, .. } | Slot::Handed { ticket, .. } if *ticket == mine => {
                std::mem::replace(&mut waiting.slot, Slot::Left)
            }
            _ => return,
        };
        drop(slots);
        if let Slot::Handed { invocation, .. } = left {
            invocation.abandon();
        }
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
    // The request's future itself, in no wrapper: it is moved whole when hyper takes it.
    let handler = move |request| forwarded(request, Arc::clone(&pairing), body_limit);
    let stop = async move { loopback::stop_requested(&mut stopping).await };
    loopback::serve(listener, handler, stop, "the host (HttpUri)").await;
}

/// One forwarded request: its invocation runs here, once both are in.
async fn forwarded<P: Forwarded>(
    request: Request<Incoming>,
    pairing: Arc<Pairing<P>>,
    body_limit: usize,
) -> Response<ResponseBody> {
    // The header's value is shared with the request, not copied, also as the table's key.
    let Some(invocation_id) = request
        .headers()
        .get(INVOCATION_ID_HEADER)
        .filter(|v| v.to_str().is_ok())
        .cloned()
    else {
        return plain(StatusCode::BAD_REQUEST, "missing the x-ms-invocation-id header");
    };
    let (parts, body) = request.into_parts();
    // A body declared too large is refused at once; any other is read by the invocation, whole
    // or as a stream, as its function asks.
    if body.size_hint().lower() > body_limit as u64 {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &InvocationError::TooLarge { limit: body_limit }.to_string(),
        );
    }
    // No timer here: the sweeper drops a request whose invocation never came.
    let Some(invocation) = pairing.request_arrived(InvocationId::Header(invocation_id)).await else {
        return plain(StatusCode::GATEWAY_TIMEOUT, "no invocation came for this request");
    };
    let request = raw_request(
        parts,
        RawBody::Unread {
            body,
            limit: body_limit,
        },
    );
    // Boxed: the invocation's future is most of a kilobyte, and hyper moves this one whole.
    match Box::pin(invocation.run(request)).await {
        // A streamed body goes out chunk by chunk while the function sends it.
        Some(response) => response.into_hyper(),
        None => plain(StatusCode::INTERNAL_SERVER_ERROR, "the invocation failed"),
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
    // The query is the URL's end.
    let query_start = parts.uri.query().map(|query| url.len() - query.len());
    RawRequest {
        url,
        query_start,
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

    /// A stand-in invocation that records what became of it.
    #[derive(Debug)]
    struct Probe {
        id: &'static str,
        said: Arc<Mutex<Vec<String>>>,
    }

    impl Forwarded for Probe {
        async fn run(self, request: RawRequest) -> Option<HttpResponse> {
            let line = format!("{} ran with {}", self.id, request.url);
            self.said.lock().unwrap().push(line);
            Some(HttpResponse::ok())
        }

        fn abandon(self) {
            self.said.lock().unwrap().push(format!("{} abandoned", self.id));
        }
    }

    fn probe(id: &'static str) -> (Probe, Arc<Mutex<Vec<String>>>) {
        let said = Arc::new(Mutex::new(Vec::new()));
        (Probe { id, said: said.clone() }, said)
    }

    fn id(id: &str) -> InvocationId {
        InvocationId::Header(HeaderValue::from_str(id).expect("a header value"))
    }

    /// Polls a request's wait once.
    fn poll_once<P: Forwarded>(arrival: &mut Pin<&mut Arrival<'_, P>>) -> Poll<Option<P>> {
        arrival.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[tokio::test]
    async fn either_half_may_arrive_first_and_the_request_runs_the_invocation() {
        let pairing = Pairing::<Probe>::default();
        // The invocation first: the request's task finds it.
        let (first, said) = probe("a");
        pairing.invocation_arrived("a".into(), first);
        let invocation = pairing.request_arrived(id("a")).await.expect("it was there");
        let response = invocation.run(RawRequest::for_test()).await;
        assert_eq!(*said.lock().unwrap(), ["a ran with http://h/api/x"]);
        assert_eq!(response.expect("answered").status(), StatusCode::OK);

        // The request first: the invocation is handed to its task.
        let mut arrival = std::pin::pin!(pairing.request_arrived(id("b")));
        assert!(poll_once(&mut arrival).is_pending());
        assert!(poll_once(&mut arrival).is_pending(), "still waiting");
        let (second, said) = probe("b");
        pairing.invocation_arrived("b".into(), second);
        arrival.await.expect("handed over").run(RawRequest::for_test()).await;
        assert_eq!(*said.lock().unwrap(), ["b ran with http://h/api/x"]);
        assert!(pairing.is_empty());
    }

    #[tokio::test]
    async fn an_invocation_whose_request_is_gone_or_cancelled_is_abandoned() {
        let pairing = Pairing::<Probe>::default();
        // Its request waited, then went away (its client left): the invocation is answered as
        // soon as it comes.
        let mut arrival = Box::pin(pairing.request_arrived(id("left")));
        assert!(poll_once(&mut arrival.as_mut()).is_pending());
        drop(arrival);
        let (invocation, said) = probe("left");
        pairing.invocation_arrived("left".into(), invocation);
        assert_eq!(*said.lock().unwrap(), ["left abandoned"]);
        assert!(pairing.is_empty());

        // Handed to its request, whose task then went away.
        let mut arrival = Box::pin(pairing.request_arrived(id("handed")));
        assert!(poll_once(&mut arrival.as_mut()).is_pending());
        let (invocation, said) = probe("handed");
        pairing.invocation_arrived("handed".into(), invocation);
        assert!(said.lock().unwrap().is_empty());
        drop(arrival);
        assert_eq!(*said.lock().unwrap(), ["handed abandoned"]);

        let (invocation, said) = probe("cancelled");
        pairing.invocation_arrived("cancelled".into(), invocation);
        pairing.cancel("unknown");
        assert!(said.lock().unwrap().is_empty());
        pairing.cancel("cancelled");
        assert_eq!(*said.lock().unwrap(), ["cancelled abandoned"]);

        let (invocation, said) = probe("stopping");
        pairing.invocation_arrived("stopping".into(), invocation);
        let mut waiting = std::pin::pin!(pairing.request_arrived(id("other")));
        assert!(poll_once(&mut waiting).is_pending());
        pairing.cancel_all();
        assert_eq!(*said.lock().unwrap(), ["stopping abandoned"]);
        assert!(
            matches!(poll_once(&mut waiting), Poll::Ready(None)),
            "its task answers 504"
        );
        assert!(pairing.is_empty());
    }

    #[tokio::test]
    async fn a_second_request_with_the_same_id_takes_the_place_of_the_first() {
        let pairing = Pairing::<Probe>::default();
        let mut first = Box::pin(pairing.request_arrived(id("twice")));
        assert!(poll_once(&mut first.as_mut()).is_pending());
        let mut second = Box::pin(pairing.request_arrived(id("twice")));
        assert!(poll_once(&mut second.as_mut()).is_pending());
        assert!(
            matches!(poll_once(&mut first.as_mut()), Poll::Ready(None)),
            "the first gets 504"
        );
        drop(first);
        let (invocation, said) = probe("twice");
        pairing.invocation_arrived("twice".into(), invocation);
        second
            .await
            .expect("the second runs it")
            .run(RawRequest::for_test())
            .await;
        assert_eq!(*said.lock().unwrap(), ["twice ran with http://h/api/x"]);
        assert!(pairing.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_that_waits_too_long_is_swept() {
        let pairing = Arc::new(Pairing::<Probe>::with_patience(Duration::from_secs(40)));
        tokio::spawn(Pairing::sweep_every(Arc::downgrade(&pairing)));
        let started = tokio::time::Instant::now();
        assert!(
            pairing.request_arrived(id("orphan")).await.is_none(),
            "its task answers 504"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(40) && waited <= Duration::from_secs(50),
            "{waited:?}"
        );

        let (invocation, said) = probe("late");
        pairing.invocation_arrived("late".into(), invocation);
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
        pairing.invocation_arrived("slow".into(), invocation);
        tokio::time::sleep(Duration::from_millis(39_990)).await;
        assert!(said.lock().unwrap().is_empty(), "still waiting after 39.99 s");
        let mut arrival = std::pin::pin!(pairing.request_arrived(id("slow")));
        assert!(matches!(poll_once(&mut arrival), Poll::Ready(Some(_))));
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
        assert!(!raw.must_read_body(false));
        let (http, streamed) = raw.into_http_request([("id".to_owned(), "7".to_owned())].into(), false);
        assert!(streamed.is_none());
        assert_eq!(http.query("name"), Some("x"));
        assert_eq!(http.param("id"), Some("7"));
        assert_eq!(http.body(), b"hi");
        assert_eq!(http.header("host"), Some("127.0.0.1:5555"));
    }
}
