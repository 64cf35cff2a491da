//! The loopback HTTP/1.1 server loop both transports use: the custom-handler server the host
//! posts invocations to, and the native transport's `HttpUri` server the host forwards raw
//! requests to. One connection per task, keep-alive, and on shutdown: stop accepting, let every
//! connection finish the request it is serving, then return. Both read request bodies the same
//! way too ([`read_body`]).

use std::convert::Infallible;
use std::future::Future;
use std::io;
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
    let (stop_connections, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, handler.clone(), stopping.clone(), peer));
                }
                Err(error) => pause_after_accept_error(error, peer).await,
            },
            // Reaps finished connections so the set only holds live ones.
            Some(finished) = connections.join_next(), if !connections.is_empty() => report_panic(finished),
        }
    }
    drop(listener);
    stop_connections.send_replace(true);
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

/// Serves one connection until the client closes it, or until `stopping` turns true; then the
/// request in flight, if any, is answered before the connection closes.
async fn serve_connection<H, F, B>(
    stream: TcpStream,
    handler: H,
    mut stopping: watch::Receiver<bool>,
    peer: &'static str,
) where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static,
{
    // Responses are written in one go; waiting to coalesce packets only adds latency.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let response = handler(request);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        // The only client is the host, on loopback. A header timeout would also close idle
        // keep-alive connections, racing the host's connection pool into failed invocations.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop_requested(&mut stopping) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        eprintln!("azfn: a connection from {peer} ended with an error: {error}");
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
