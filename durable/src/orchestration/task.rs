//! Durable tasks: the futures an orchestrator awaits ([`DurableTask`], [`TimerTask`]), the
//! error a failed task gives ([`TaskFailed`]) and [`RetryPolicy`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use super::Outcome;
use super::state::{SharedState, SlotFuture};
use crate::proto::TaskFailureDetails;

/// Where a [`DurableTask`]'s outcome comes from.
pub(crate) enum Source {
    Slot(SlotFuture),
    Ready(Option<Outcome>),
    Boxed(Pin<Box<dyn Future<Output = Outcome> + Send>>),
}

/// A durable task: an activity, a sub-orchestration, an entity call or an external event.
/// Awaiting it gives the result decoded from JSON as `T`, or [`TaskFailed`].
///
/// The work was scheduled when the task was created; the task only waits for the outcome.
/// Dropping it without awaiting is allowed — the outcome is then ignored when it arrives.
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, TaskFailed};
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
///     match ctx.call_activity::<String, _>("Charge", &100).await {
///         Ok(receipt) => Ok(receipt),
///         Err(failed) => {
///             // Handle the failure and go on, or `?` it to fail the orchestration.
///             ctx.call_activity::<(), _>("Refund", &100).await?;
///             Ok(format!("refunded after: {}", failed.message()))
///         }
///     }
/// }
/// ```
#[must_use = "the work is scheduled either way; await the task to get its result"]
pub struct DurableTask<T> {
    source: Source,
    name: TaskName,
    task_id: Option<i32>,
    _output: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for DurableTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableTask")
            .field("name", &self.name.as_str())
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

/// The longest task name kept inside the task itself.
const INLINE_NAME: usize = 22;

/// A task's name: inside the task when short (activity names mostly are), else on the heap.
///
/// A fan-out keeps hundreds of tasks alive at once, each already holding allocations of its
/// own (its action's name and input, its combinator's box and waker); with glibc's allocator
/// each one more of those live at once costs several hundred instructions
/// (BENCHMARKS.md, "Session 8").
#[derive(Clone)]
pub(crate) enum TaskName {
    Inline { length: u8, bytes: [u8; INLINE_NAME] },
    Heap(Box<str>),
}

impl TaskName {
    pub(crate) fn new(name: &str) -> Self {
        match u8::try_from(name.len()) {
            Ok(length) if name.len() <= INLINE_NAME => {
                let mut bytes = [0; INLINE_NAME];
                bytes[..name.len()].copy_from_slice(name.as_bytes());
                TaskName::Inline { length, bytes }
            }
            _ => TaskName::Heap(name.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes are a whole `&str`'s, so they are UTF-8.
            TaskName::Inline { length, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*length)]).unwrap_or_default()
            }
            TaskName::Heap(name) => name,
        }
    }
}

impl From<&str> for TaskName {
    fn from(name: &str) -> Self {
        TaskName::new(name)
    }
}

impl<T> DurableTask<T> {
    pub(crate) fn from_source(name: impl Into<TaskName>, task_id: Option<i32>, source: Source) -> Self {
        DurableTask {
            source,
            name: name.into(),
            task_id,
            _output: PhantomData,
        }
    }

    /// A task that has already failed (its input could not be serialized).
    pub(crate) fn failed(name: &str, details: TaskFailureDetails) -> Self {
        Self::from_source(name, None, Source::Ready(Some(Err(details))))
    }

    /// The name of the activity, orchestrator, entity operation or event.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The task id the work was scheduled under (`None` for external events and for retried
    /// calls, whose attempts each have their own id).
    pub fn task_id(&self) -> Option<i32> {
        self.task_id
    }
}

impl<T: DeserializeOwned> Future for DurableTask<T> {
    type Output = Result<T, TaskFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match &mut self.source {
            Source::Slot(future) => match Pin::new(future).poll(cx) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => return Poll::Pending,
            },
            Source::Boxed(future) => match future.as_mut().poll(cx) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => return Poll::Pending,
            },
            Source::Ready(outcome) => outcome.take().expect("a durable task was polled after it completed"),
        };
        let failed = |details| TaskFailed {
            name: self.name.as_str().to_owned(),
            task_id: self.task_id,
            details,
        };
        Poll::Ready(match outcome {
            Ok(text) => serde_json::from_str(text.as_deref().unwrap_or("null")).map_err(|error| {
                failed(TaskFailureDetails {
                    error_type: "DeserializationError".into(),
                    error_message: format!(
                        "the result of `{}` does not decode as {}: {error}",
                        self.name.as_str(),
                        std::any::type_name::<T>()
                    ),
                    is_non_retriable: true,
                    ..Default::default()
                })
            }),
            Err(details) => Err(failed(details)),
        })
    }
}

/// A durable timer; awaiting it waits until it fires. Dropping it is harmless.
///
/// ```
/// use azfn::durable::orchestration::OrchestrationContext;
/// use std::time::Duration;
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<(), azfn::Error> {
///     let timer = ctx.create_timer_after(Duration::from_secs(30));
///     assert_eq!(timer.fire_at(), ctx.current_utc_time() + Duration::from_secs(30));
///     timer.await;
///     Ok(())
/// }
/// ```
#[must_use = "the timer is created either way; await it to wait for it"]
pub struct TimerTask {
    state: SharedState,
    fire_at: SystemTime,
    current: Option<SlotFuture>,
    /// Whether the current durable timer is the last one (long timers are several).
    last: bool,
    task_id: i32,
}

impl fmt::Debug for TimerTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerTask")
            .field("fire_at", &self.fire_at)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

impl TimerTask {
    pub(crate) fn new(state: SharedState, fire_at: SystemTime) -> Self {
        let (chunk_at, last) = next_chunk(&state, fire_at);
        let (task_id, current) = state.timer_slot(chunk_at);
        TimerTask {
            state,
            fire_at,
            current: Some(current),
            last,
            task_id,
        }
    }

    /// When the timer fires.
    pub fn fire_at(&self) -> SystemTime {
        self.fire_at
    }

    /// The task id of the (first) durable timer.
    pub fn task_id(&self) -> i32 {
        self.task_id
    }
}

/// When the next durable timer towards `fire_at` fires, and whether it is the last one.
fn next_chunk(shared: &SharedState, fire_at: SystemTime) -> (SystemTime, bool) {
    let (now, max) = {
        let state = shared.lock();
        (state.now, state.maximum_timer_interval)
    };
    match max {
        Some(max) if fire_at.duration_since(now).is_ok_and(|left| left > max) => (now + max, false),
        _ => (fire_at, true),
    }
}

impl Future for TimerTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let current = self.current.as_mut().expect("a timer was polled after it fired");
            match Pin::new(current).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(_) if self.last => {
                    self.current = None;
                    return Poll::Ready(());
                }
                Poll::Ready(_) => {
                    let (chunk_at, last) = next_chunk(&self.state, self.fire_at);
                    let (_, next) = self.state.timer_slot(chunk_at);
                    self.current = Some(next);
                    self.last = last;
                }
            }
        }
    }
}

/// A durable task failed: the activity, sub-orchestration or entity operation returned an error
/// (or its result did not decode).
///
/// It is a `std::error::Error`, so `?` turns it into an [`azfn::Error`](azfn_core::Error) and fails
/// the orchestration; the orchestration's failure details then keep this task's details as
/// their inner failure.
///
/// ```
/// use azfn::durable::orchestration::TaskFailed;
/// use azfn::durable::proto::TaskFailureDetails;
///
/// let failed = TaskFailed::new("Charge", TaskFailureDetails {
///     error_type: "CardDeclined".into(),
///     error_message: "insufficient funds".into(),
///     ..Default::default()
/// });
/// assert_eq!(failed.message(), "insufficient funds");
/// assert_eq!(failed.to_string(), "task `Charge` failed: CardDeclined: insufficient funds");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFailed {
    name: String,
    task_id: Option<i32>,
    details: TaskFailureDetails,
}

impl TaskFailed {
    /// A failure of the task `name` (for tests and mock activities).
    pub fn new(name: impl Into<String>, details: TaskFailureDetails) -> Self {
        TaskFailed {
            name: name.into(),
            task_id: None,
            details,
        }
    }

    /// The name of the activity, orchestrator, entity operation or event.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task id, when the task had a single one.
    pub fn task_id(&self) -> Option<i32> {
        self.task_id
    }

    /// The error's type, as the failing side reported it.
    pub fn error_type(&self) -> &str {
        &self.details.error_type
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.details.error_message
    }

    /// The failure details, as the history holds them.
    pub fn details(&self) -> &TaskFailureDetails {
        &self.details
    }

    /// The failure details, by value.
    pub fn into_details(self) -> TaskFailureDetails {
        self.details
    }
}

impl fmt::Display for TaskFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task `{}`", self.name)?;
        if let Some(id) = self.task_id {
            write!(f, " (#{id})")?;
        }
        write!(f, " failed: ")?;
        if !self.details.error_type.is_empty() {
            write!(f, "{}: ", self.details.error_type)?;
        }
        f.write_str(&self.details.error_message)
    }
}

impl std::error::Error for TaskFailed {}

/// How a failed activity or sub-orchestration is retried.
///
/// After the `n`-th failed attempt (counting from 1) the orchestration waits
/// `first_retry_interval × backoff_coefficient^(n-1)`, capped at `max_retry_interval`, on a
/// durable timer and tries again — unless `max_attempts` attempts were made, `retry_timeout`
/// has passed since the first attempt was scheduled (in orchestration time), or the failure
/// is marked non-retriable.
///
/// ```
/// use azfn::durable::orchestration::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::new(4, Duration::from_secs(1))
///     .backoff_coefficient(2.0)
///     .max_retry_interval(Duration::from_secs(3))
///     .retry_timeout(Duration::from_secs(3600));
/// assert_eq!(policy.delay_after(1), Duration::from_secs(1));
/// assert_eq!(policy.delay_after(2), Duration::from_secs(2));
/// assert_eq!(policy.delay_after(3), Duration::from_secs(3)); // capped
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// How many attempts in all (the first included). At least 1.
    pub max_attempts: u32,
    /// The wait after the first failure.
    pub first_retry_interval: Duration,
    /// The factor each following wait grows by (1.0: constant).
    pub backoff_coefficient: f64,
    /// The longest wait.
    pub max_retry_interval: Option<Duration>,
    /// No new attempt starts once this long has passed since the first one.
    pub retry_timeout: Option<Duration>,
}

impl RetryPolicy {
    /// `max_attempts` attempts, `first_retry_interval` apart, no backoff, no cap, no timeout.
    pub fn new(max_attempts: u32, first_retry_interval: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            first_retry_interval,
            backoff_coefficient: 1.0,
            max_retry_interval: None,
            retry_timeout: None,
        }
    }

    /// Sets the backoff coefficient.
    pub fn backoff_coefficient(mut self, coefficient: f64) -> Self {
        self.backoff_coefficient = coefficient;
        self
    }

    /// Sets the longest wait.
    pub fn max_retry_interval(mut self, interval: Duration) -> Self {
        self.max_retry_interval = Some(interval);
        self
    }

    /// Sets the overall retry timeout.
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = Some(timeout);
        self
    }

    /// The wait after the `attempt`-th failed attempt (1 for the first).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.first_retry_interval.as_secs_f64() * self.backoff_coefficient.powi(exponent);
        let cap = self.max_retry_interval.unwrap_or(Duration::MAX);
        match Duration::try_from_secs_f64(seconds) {
            Ok(delay) => delay.min(cap),
            Err(_) if seconds.is_nan() || seconds < 0.0 => Duration::ZERO,
            Err(_) => cap,
        }
    }

    /// The wait before another attempt, or `None` to give up.
    pub(crate) fn next_delay(
        &self,
        attempt: u32,
        started: SystemTime,
        now: SystemTime,
        failure: &TaskFailureDetails,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || failure.is_non_retriable {
            return None;
        }
        if let Some(timeout) = self.retry_timeout
            && now.duration_since(started).unwrap_or_default() >= timeout
        {
            return None;
        }
        Some(self.delay_after(attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_gives_up_on_attempts_timeout_and_non_retriable_failures() {
        let policy = RetryPolicy::new(3, Duration::from_secs(10)).retry_timeout(Duration::from_secs(60));
        let t0 = SystemTime::UNIX_EPOCH;
        let plain = TaskFailureDetails::default();
        assert_eq!(policy.next_delay(1, t0, t0, &plain), Some(Duration::from_secs(10)));
        assert_eq!(policy.next_delay(2, t0, t0, &plain), Some(Duration::from_secs(10)));
        assert_eq!(policy.next_delay(3, t0, t0, &plain), None);
        assert_eq!(policy.next_delay(1, t0, t0 + Duration::from_secs(60), &plain), None);
        let fatal = TaskFailureDetails {
            is_non_retriable: true,
            ..Default::default()
        };
        assert_eq!(policy.next_delay(1, t0, t0, &fatal), None);
    }

    #[test]
    fn task_names_short_and_long_read_back_whole() {
        for name in [
            "",
            "Step",
            "é".repeat(11).as_str(),
            "é".repeat(12).as_str(),
            &"x".repeat(300),
        ] {
            let task = DurableTask::<()>::failed(name, TaskFailureDetails::default());
            assert_eq!(task.name(), name);
            assert_eq!(
                format!("{task:?}"),
                format!("DurableTask {{ name: {name:?}, task_id: None, .. }}")
            );
        }
        assert!(matches!(
            TaskName::new(&"x".repeat(INLINE_NAME)),
            TaskName::Inline { .. }
        ));
        assert!(matches!(TaskName::new(&"x".repeat(INLINE_NAME + 1)), TaskName::Heap(_)));
    }

    #[test]
    fn huge_backoffs_saturate_at_the_cap() {
        let policy = RetryPolicy::new(100, Duration::from_secs(1)).backoff_coefficient(1e300);
        assert_eq!(policy.delay_after(50), Duration::MAX);
        let capped = policy.max_retry_interval(Duration::from_secs(7));
        assert_eq!(capped.delay_after(50), Duration::from_secs(7));
    }
}
