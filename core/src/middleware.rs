//! Middleware: code that runs around every function (or a chosen subset), in order.
//!
//! A middleware receives the invocation and a [`Next`] that runs the rest of the chain (the
//! later middleware, then the function). It can act before, after, or instead of calling it,
//! and it sees and may change the result: the outputs, including the HTTP response.
//!
//! A function that fails (returns a plain `Err`, or panics) reaches the middleware as `Err`:
//! left so, the invocation fails (the host records a failure and answers an HTTP caller `500`);
//! a middleware may turn it into a response on purpose. An HTTP function's error that carries a
//! status (`azfn::Error::not_found`, a request body that does not convert) is already a
//! response when the middleware sees it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::{InvocationError, panic_message};
use crate::function::{FunctionDescription, InvokeFuture};
use crate::http::HttpResponse;
use crate::invocation::{Invocation, Outputs};

/// The future a middleware returns.
pub type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<Outputs, InvocationError>> + Send>>;

/// Code that runs around functions. Any `Fn(Invocation, Next) -> impl Future` is one.
///
/// ```
/// use azfn::{App, Invocation, Next};
///
/// let app = App::new().middleware(|invocation: Invocation, next: Next| async move {
///     let started = std::time::Instant::now();
///     let name = invocation.function.name;
///     let result = next.run(invocation).await;
///     tracing::info!("{name} took {:?}", started.elapsed());
///     result
/// });
/// # let _ = app;
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Handles one invocation; call `next.run(invocation)` to go on.
    fn handle(&self, invocation: Invocation, next: Next) -> MiddlewareFuture;
}

impl<F, Fut> Middleware for F
where
    F: Fn(Invocation, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outputs, InvocationError>> + Send + 'static,
{
    fn handle(&self, invocation: Invocation, next: Next) -> MiddlewareFuture {
        Box::pin(self(invocation, next))
    }
}

/// Which functions a middleware applies to.
pub type Predicate = Arc<dyn Fn(&FunctionDescription) -> bool + Send + Sync>;

/// One registered middleware.
#[derive(Clone)]
pub struct Layer {
    pub applies_to: Option<Predicate>,
    pub middleware: Arc<dyn Middleware>,
}

/// The rest of the chain: the later middleware, then the function.
#[derive(Clone)]
pub struct Next {
    chain: Arc<[Layer]>,
    index: usize,
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &(self.chain.len() - self.index))
            .finish()
    }
}

impl Next {
    /// Runs the whole chain on `invocation`. The chain is shared only with a middleware that
    /// runs: without one, no reference count (which every invocation would touch) changes.
    pub(crate) fn run_chain(chain: &Arc<[Layer]>, invocation: Invocation) -> NextFuture {
        Next::run_from(chain, 0, invocation)
    }

    /// Runs the rest of the chain on `invocation`.
    pub fn run(self, invocation: Invocation) -> NextFuture {
        Next::run_from(&self.chain, self.index, invocation)
    }

    fn run_from(chain: &Arc<[Layer]>, index: usize, invocation: Invocation) -> NextFuture {
        let function = invocation.function;
        let next = chain[index..]
            .iter()
            .position(|layer| layer.applies_to.as_ref().is_none_or(|applies| applies(function)));
        // Both paths hand out the future they already have (boxed by whoever made it): the
        // invocation is moved once, not copied into a wrapper of our own.
        let running = match next {
            Some(offset) => {
                let index = index + offset;
                let middleware = Arc::clone(&chain[index].middleware);
                let rest = Next {
                    chain: Arc::clone(chain),
                    index: index + 1,
                };
                Running::Middleware(middleware.handle(invocation, rest))
            }
            None => Running::Function(function, (function.invoke)(invocation)),
        };
        NextFuture(running)
    }
}

/// The rest of the chain, running: what [`Next::run`] returns.
#[must_use = "futures do nothing unless awaited"]
pub struct NextFuture(Running);

enum Running {
    Middleware(MiddlewareFuture),
    Function(&'static FunctionDescription, InvokeFuture),
}

impl Future for NextFuture {
    type Output = Result<Outputs, InvocationError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Running::Middleware(future) => future.as_mut().poll(cx),
            Running::Function(function, future) => {
                // A panic in the function is its failure, which the middleware sees like an
                // `Err`; the dispatcher catches what panics outside it.
                let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
                let result = match polled {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => result,
                    Err(payload) => Err(InvocationError::Panic(panic_message(&*payload))),
                };
                Poll::Ready(answer_with_status(function, result))
            }
        }
    }
}

impl std::fmt::Debug for NextFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running = match self.0 {
            Running::Middleware(_) => "a middleware",
            Running::Function(function, _) => function.name,
        };
        f.debug_tuple("NextFuture").field(&running).finish()
    }
}

/// The end of the chain, for the function's own result: an HTTP function's error that carries a
/// status becomes that response here, where the middleware around it sees (and may dress) it,
/// as a .NET function's `IActionResult` would. Every other error, a panic included, stays a
/// failure: the middleware sees it as `Err`, and unless one turns it into a response on purpose
/// the invocation fails.
fn answer_with_status(
    function: &'static FunctionDescription,
    result: Result<Outputs, InvocationError>,
) -> Result<Outputs, InvocationError> {
    let Err(error) = result else { return result };
    if !function.trigger().kind.is_http_trigger() {
        return Err(error);
    }
    let trigger = function.trigger().name;
    let response = match &error {
        // The request's body, query or route values do not convert: the caller's mistake.
        InvocationError::Binding { binding, message } if binding == trigger => {
            HttpResponse::bad_request().text(format!("bad request: {message}"))
        }
        InvocationError::Function(e) => match e.status() {
            Some(status) => HttpResponse::new(status).text(e.to_string()),
            None => return Err(error),
        },
        _ => return Err(error),
    };
    // A handled answer, not a failure: noted, not reported as an error.
    tracing::info!(target: "azfn::middleware", "function `{}` answered {}: {error}", function.name, response.status());
    Ok(Outputs::http_response_for(function, response))
}
