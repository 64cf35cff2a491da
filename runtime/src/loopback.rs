//! The loopback HTTP/1.1 server loop both transports use: the custom-handler server the host
//! posts invocations to, and the native transport's `HttpUri` server the host forwards raw
//! requests to. One connection per task, keep-alive, and on shutdown: stop accepting, let every
//! connection finish the request it is serving, then return. Both read request bodies the same
//! way too ([`read_body`]).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::InvocationError;

/// Serves `handler` on `listener` until `shutdown` resolves. `peer` names the client in
/// messages ("the host").
pub(crate) async fn serve<H, F, B>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
    peer: &'static str,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static,
{
    let mut stops = ConnectionStops::default();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, handler.clone(), stops.add(), peer));
                }
                Err(error) => pause_after_accept_error(error, peer).await,
            },
            // Reaps finished connections so the set only holds live ones.
            Some(finished) = connections.join_next(), if !connections.is_empty() => report_panic(finished),
        }
    }
    drop(listener);
    stops.stop_all();
    while let Some(finished) = connections.join_next().await {
        report_panic(finished);
    }
}

/// Keeps the accept loop from spinning on errors that persist (too many open files); a client
/// that gave up before being accepted needs no pause.
async fn pause_after_accept_error(error: io::Error, peer: &str) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    eprintln!("azfn: could not accept a connection from {peer}: {error}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn report_panic(finished: Result<(), tokio::task::JoinError>) {
    if let Err(error) = finished {
        eprintln!("azfn: a connection task panicked: {error}");
    }
}

/// The server's word to each connection that it is stopping.
#[derive(Default)]
struct ConnectionStops {
    connections: Vec<Weak<ConnectionStop>>,
}

impl ConnectionStops {
    /// The stop of a new connection.
    fn add(&mut self) -> Arc<ConnectionStop> {
        // Connections that ended are dropped from the list as it doubles.
        if self.connections.len().is_power_of_two() {
            self.connections.retain(|connection| connection.strong_count() > 0);
        }
        let stop = Arc::new(ConnectionStop::default());
        self.connections.push(Arc::downgrade(&stop));
        stop
    }

    fn stop_all(&self) {
        for stop in self.connections.iter().filter_map(Weak::upgrade) {
            stop.stop();
        }
    }
}

/// One connection's stop: a flag, and the connection task's waker. Polled with each request
/// the connection serves, so it costs an atomic load and an uncontended lock, not the poll of
/// a channel's future.
#[derive(Default)]
struct ConnectionStop {
    stopping: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl ConnectionStop {
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ready once the server is stopping; else the task is woken when it does.
    fn poll_stopping(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.stopping.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        match &mut *self.waker.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        // Read again after the waker is in place: a `stop` in between found no waker to wake.
        if self.stopping.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Serves one connection until the client closes it, or until the server stops; then the
/// request in flight, if any, is answered before the connection closes.
async fn serve_connection<H, F, B>(stream: TcpStream, handler: H, stop: Arc<ConnectionStop>, peer: &'static str)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static,
{
    // Responses are written in one go; waiting to coalesce packets only adds latency.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| Infallibly {
        response: handler(request),
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        // The only client is the host, on loopback. A header timeout would also close idle
        // keep-alive connections, racing the host's connection pool into failed invocations.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let served = std::future::poll_fn(|cx| match connection.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(Some(result)),
        Poll::Pending => stop.poll_stopping(cx).map(|()| None),
    })
    .await;
    let result = match served {
        Some(result) => result,
        None => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        eprintln!("azfn: a connection from {peer} ended with an error: {error}");
    }
}

pin_project_lite::pin_project! {
    /// A handler's response as hyper's service wants it, a `Result`, with no async block around
    /// the handler's future: it would be copied into the block whole.
    struct Infallibly<F> {
        #[pin]
        response: F,
    }
}

impl<F: Future> Future for Infallibly<F> {
    type Output = Result<F::Output, Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().response.poll(cx).map(Ok)
    }
}

/// Resolves once the server is shutting down (or gone, which is a reason to stop too).
pub(crate) async fn stop_requested(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|&stop| stop).await;
}

/// Reads a whole body (sized or chunked), refusing more than the limit without reading it all.
///
/// A body that arrives in one piece (an invocation's usually does) is handed on as it is.
pub(crate) async fn read_body(mut body: Incoming, limit: usize) -> Result<Bytes, InvocationError> {
    let too_large = || InvocationError::TooLarge { limit };
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut read = 0;
    let mut first = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|error| InvocationError::MalformedRequest(format!("could not read the request body: {error}")))?;
        // Trailers carry nothing an invocation reads.
        let Ok(data) = frame.into_data() else { continue };
        read += data.len();
        if read > limit {
            return Err(too_large());
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut both = BytesMut::with_capacity(read);
                both.extend_from_slice(&std::mem::take(&mut first));
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}
