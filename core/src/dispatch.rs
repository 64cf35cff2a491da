//! Runs invocations: the one place that calls user code, whatever transport brought the request.
//!
//! An invocation runs on the caller's task (a panic fails that invocation only), inside a `tracing`
//! span naming it, with its log lines captured, through the app's middleware, with the app's
//! state attached, and counted as in flight; shutdown reaches its cancellation token through
//! the token itself (see `cancel.rs`), with no list of tokens to keep.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use http::StatusCode;
use tracing::Instrument;

use crate::error::InvocationError;
pub use crate::error::panic_message;
use crate::extensions::Extensions;
use crate::http::HttpResponse;
use crate::invocation::{Invocation, Outputs};
use crate::logging;
use crate::middleware::{Layer, Next, NextFuture};
use crate::scoped::{Building, ScopedFactories};

/// What every invocation of an app goes through: its state and its middleware.
#[derive(Clone, Default)]
pub struct Pipeline {
    pub state: Arc<Extensions>,
    pub chain: Arc<[Layer]>,
    /// How long an invocation may run before it is cancelled and fails.
    pub deadline: Option<Duration>,
    /// The asynchronous factories of per-invocation services, run before the middleware.
    pub scoped: ScopedFactories,
}

static GLOBAL: OnceLock<Pipeline> = OnceLock::new();

/// Makes `pipeline` the one [`invoke`] uses. The first call wins; `App::run` makes it.
pub fn install(pipeline: Pipeline) {
    let state = Arc::clone(&pipeline.state);
    if GLOBAL.set(pipeline).is_ok() {
        crate::invocation::make_with_state(state);
    }
}

/// What a telemetry exporter does with each invocation's span (the `azfn-opentelemetry` crate
/// installs one): dispatch calls `started` before the span is first entered, so the span can
/// still take its parent from [`Invocation::trace`], and `finished` once the result is known.
#[derive(Debug, Clone, Copy)]
pub struct SpanHooks {
    /// Names the span, sets its parent and attributes; the span has not been entered yet.
    pub started: fn(&tracing::Span, &Invocation),
    /// Sets the span's status from how the invocation ended; `cancelled` says whether its
    /// cancellation token had fired (the host cancelled it, or the worker is shutting down).
    pub finished: fn(&tracing::Span, &Result<Outputs, InvocationError>, bool),
}

static SPAN_HOOKS: OnceLock<SpanHooks> = OnceLock::new();

/// Installs the hooks every invocation span goes through; the first call wins. Without them,
/// dispatch pays one atomic load per invocation for the check.
pub fn install_span_hooks(hooks: SpanHooks) {
    let _ = SPAN_HOOKS.set(hooks);
}

/// Runs one invocation through the app's middleware and function.
///
/// Transports call this; so can tests. An HTTP function's error that carries a status (request
/// input that does not convert, [`Error::with_status`](crate::Error::with_status)) is a handled
/// response; any other error, a panic or a timeout is `Err`: the invocation failed, whatever the
/// trigger, and the transport tells the host so.
pub fn invoke(invocation: Invocation) -> impl Future<Output = Result<Outputs, InvocationError>> + Send {
    // The pipeline's own future, not one wrapping it: invocations are awaited deep inside the
    // transports, and each wrapper would copy the whole state.
    static NONE_INSTALLED: OnceLock<Pipeline> = OnceLock::new();
    let pipeline = GLOBAL
        .get()
        .unwrap_or_else(|| NONE_INSTALLED.get_or_init(Pipeline::default));
    pipeline.invoke(invocation)
}

/// Cancels the token of every invocation in flight (the worker is shutting down).
pub fn cancel_in_flight() {
    crate::cancel::cancel_invocations();
}

/// How many invocations are running.
pub fn in_flight_count() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// The invocations running now: a count, since shutdown reaches their tokens without a list.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Counts an invocation as running until it ends, however it ends.
struct InFlightGuard;

impl InFlightGuard {
    fn register() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlightGuard
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Pipeline {
    /// Everything that can be done before the invocation runs is done here, outside the future,
    /// which keeps only what it needs: the invocation lives once, in the chain's future.
    pub fn invoke(
        &self,
        mut invocation: Invocation,
    ) -> impl Future<Output = Result<Outputs, InvocationError>> + Send + 'static {
        let function = invocation.function;
        // Made with the installed app's state, an invocation already has it: no reference count
        // (which every invocation would touch) changes.
        if !Arc::ptr_eq(&invocation.state, &self.state) {
            invocation.state = Arc::clone(&self.state);
        }
        let token = invocation.cancellation.clone();
        let body_limit = if function.streams_request_body {
            crate::request_body::body_limit_of(&invocation)
        } else {
            None
        };
        // For the failure's console line: the invocation itself moves into the chain.
        let invocation_id = invocation.invocation_id.clone();
        // The target is `azfn::…`, the crate users name in their filters (`RUST_LOG=azfn=debug`),
        // and what log capture recognizes the invocation span by.
        // `otel.name` is declared for an exporter's hooks to record (OpenTelemetry's span name,
        // read by `tracing-opentelemetry`); other layers see an empty field and skip it.
        let span = tracing::info_span!(
            target: "azfn::dispatch",
            "invocation",
            invocation_id = %invocation.invocation_id,
            function = function.name,
            otel.name = tracing::field::Empty,
        );
        // One atomic load when no exporter is installed; the span is cloned only for one.
        let hooks = SPAN_HOOKS.get().map(|hooks| {
            (hooks.started)(&span, &invocation);
            (hooks.finished, span.clone())
        });
        // Asynchronous scoped services are built before the chain, since parameters are read
        // synchronously; without any, the chain's own future runs as it is.
        let building = self.scoped.start(function, &invocation);
        let running = if building.is_empty() {
            Running::Chain(Next::run_chain(&self.chain, invocation))
        } else {
            Running::Scoped(Box::pin(build_then_run(building, Arc::clone(&self.chain), invocation)))
        }
        .instrument(span);
        let deadline = self.deadline;
        async move {
            let _in_flight = InFlightGuard::register();
            // Panics are caught where they happen, on the caller's task: no task per invocation.
            let mut running = pin!(logging::capture(CatchUnwind(running)));
            let finished = match deadline {
                None => Ok(running.as_mut().await),
                Some(deadline) => tokio::time::timeout(deadline, running.as_mut())
                    .await
                    .map_err(|_| deadline),
            };
            // A timed-out invocation's lines are kept too; its future is dropped with this one.
            let lines = logging::captured_lines(running);
            let mut result = match finished {
                Ok(Ok(result)) => result,
                Ok(Err(payload)) => Err(InvocationError::Panic(panic_message(&*payload))),
                Err(deadline) => {
                    // The invocation's future stops when this one ends, just below; the token
                    // tells anything it spawned.
                    token.cancel();
                    Err(InvocationError::Timeout(deadline))
                }
            };
            if let Some((limit, exceeded)) = body_limit
                && exceeded.load(Ordering::Relaxed)
                && matches!(
                    result,
                    Err(InvocationError::Binding { .. } | InvocationError::Function(_))
                )
            {
                result = Err(InvocationError::TooLarge {
                    limit: usize::try_from(limit).unwrap_or(usize::MAX),
                });
            }
            if let Some((finished, span)) = hooks {
                finished(&span, &result, token.is_cancelled());
            }
            match &mut result {
                Ok(outputs) => outputs.logs.extend(lines),
                Err(error) => {
                    // The host drops the logs of a failed response; its console lines are kept.
                    logging::replay_to_console(function.name, &invocation_id, &lines);
                    eprintln!(
                        "azfn: function `{}` invocation {invocation_id} failed: {error}",
                        function.name
                    );
                }
            }
            result
        }
    }
}

/// Builds an invocation's asynchronous scoped services, then runs the chain; a factory's error
/// fails the invocation before any middleware runs.
async fn build_then_run(
    building: Vec<Building>,
    chain: Arc<[Layer]>,
    mut invocation: Invocation,
) -> Result<Outputs, InvocationError> {
    ScopedFactories::finish(building, &mut invocation).await?;
    Next::run_chain(&chain, invocation).await
}

/// The chain's future, or, when scoped services are built first, a boxed one that does both;
/// `Unpin` either way, as [`CatchUnwind`] needs.
enum Running {
    Chain(NextFuture),
    Scoped(Pin<Box<dyn Future<Output = Result<Outputs, InvocationError>> + Send>>),
}

impl Future for Running {
    type Output = Result<Outputs, InvocationError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Running::Chain(chain) => Pin::new(chain).poll(cx),
            Running::Scoped(future) => future.as_mut().poll(cx),
        }
    }
}

/// What the caller of a failed HTTP function gets when the worker answers it itself (forwarded
/// and proxied requests, `HttpUri`): a bare `500` (`504` for a timeout), the details staying in
/// the log. Through the JSON envelope the host answers its own `500` instead.
pub fn failure_response(error: &InvocationError) -> HttpResponse {
    match error {
        InvocationError::Timeout(_) => HttpResponse::new(StatusCode::GATEWAY_TIMEOUT).text("the function timed out"),
        InvocationError::TooLarge { .. } => HttpResponse::new(StatusCode::PAYLOAD_TOO_LARGE).text(error.to_string()),
        _ => HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR).text("internal server error"),
    }
}

/// Polls an `Unpin` future (the chain's is: its state is boxed), turning a panic inside it into
/// an `Err` with the panic's payload.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A panicking future is never polled again: it is dropped with the invocation.
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.0).poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
