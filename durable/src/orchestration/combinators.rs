//! Waiting on several durable tasks at once: [`when_all`] / [`try_when_all`] / [`join`]
//! (fan-out/fan-in) and [`when_any`] / [`select`] (races).
//!
//! They work on any futures, but inside an orchestrator they should only combine durable tasks
//! (or async blocks that await durable tasks). Children are polled in order, so when several
//! are ready at once the lowest index wins — the same way on every replay.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that may already have finished.
enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(F::Output),
    Taken,
}

impl<F: Future> Slot<F> {
    /// Polls a running future; true when it has an output.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> bool {
        match self {
            Slot::Running(future) => match future.as_mut().poll(cx) {
                Poll::Ready(output) => {
                    *self = Slot::Done(output);
                    true
                }
                Poll::Pending => false,
            },
            Slot::Done(_) => true,
            Slot::Taken => false,
        }
    }

    fn take(&mut self) -> Option<F::Output> {
        match std::mem::replace(self, Slot::Taken) {
            Slot::Done(output) => Some(output),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// The future of [`when_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct WhenAll<F: Future> {
    slots: Vec<Slot<F>>,
}

// The outputs are never pinned; the futures are boxed.
impl<F: Future> Unpin for WhenAll<F> {}

/// Waits for all `tasks` and gives their outputs in the same order (fan-in). Failures do not
/// stop the wait: each output is the task's own `Result`.
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, when_all};
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
///     let files: Vec<String> = ctx.call_activity("ListFiles", &()).await?;
///     let sizes = when_all(files.iter().map(|f| ctx.call_activity::<u64, _>("FileSize", f))).await;
///     let mut total = 0;
///     for size in sizes {
///         total += size?;
///     }
///     Ok(total)
/// }
/// ```
pub fn when_all<F: Future>(tasks: impl IntoIterator<Item = F>) -> WhenAll<F> {
    WhenAll {
        slots: tasks.into_iter().map(|f| Slot::Running(Box::pin(f))).collect(),
    }
}

impl<F: Future> Future for WhenAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut all = true;
        for slot in &mut self.slots {
            all &= slot.poll_done(cx);
        }
        if !all {
            return Poll::Pending;
        }
        Poll::Ready(self.slots.iter_mut().filter_map(Slot::take).collect())
    }
}

/// The future of [`try_when_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryWhenAll<F: Future> {
    slots: Vec<Slot<F>>,
}

impl<F: Future> Unpin for TryWhenAll<F> {}

/// Waits for all `tasks` and gives their values in order, or the first error seen (the
/// remaining tasks are then dropped; their outcomes are ignored when they arrive).
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, try_when_all};
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
///     let tasks = ["a", "b", "c"].map(|k| ctx.call_activity::<String, _>("Fetch", k));
///     Ok(try_when_all(tasks).await?)
/// }
/// ```
pub fn try_when_all<T, E, F: Future<Output = Result<T, E>>>(tasks: impl IntoIterator<Item = F>) -> TryWhenAll<F> {
    TryWhenAll {
        slots: tasks.into_iter().map(|f| Slot::Running(Box::pin(f))).collect(),
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> Future for TryWhenAll<F> {
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut all = true;
        for slot in &mut self.slots {
            if slot.poll_done(cx) {
                if matches!(slot, Slot::Done(Err(_)))
                    && let Some(Err(error)) = slot.take()
                {
                    return Poll::Ready(Err(error));
                }
            } else {
                all = false;
            }
        }
        if !all {
            return Poll::Pending;
        }
        let mut values = Vec::with_capacity(self.slots.len());
        for slot in &mut self.slots {
            match slot.take() {
                Some(Ok(value)) => values.push(value),
                Some(Err(error)) => return Poll::Ready(Err(error)),
                None => {}
            }
        }
        Poll::Ready(Ok(values))
    }
}

/// The future of [`when_any`].
#[must_use = "futures do nothing unless awaited"]
pub struct WhenAny<F: Future> {
    futures: Vec<Pin<Box<F>>>,
}

/// Waits for the first of `tasks` to finish and gives its index and output; the others are
/// dropped (a dropped timer still fires and is ignored; a dropped activity's result is ignored).
/// With no tasks it never finishes.
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, when_any};
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
///     let mirrors = ["eu", "us"].map(|m| ctx.call_activity::<String, _>("Download", m));
///     let (winner, content) = when_any(mirrors).await;
///     Ok(format!("mirror {winner}: {}", content?))
/// }
/// ```
pub fn when_any<F: Future>(tasks: impl IntoIterator<Item = F>) -> WhenAny<F> {
    WhenAny {
        futures: tasks.into_iter().map(Box::pin).collect(),
    }
}

impl<F: Future> Future for WhenAny<F> {
    type Output = (usize, F::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        for (index, future) in self.futures.iter_mut().enumerate() {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready((index, output));
            }
        }
        Poll::Pending
    }
}

/// The future of [`join`].
#[must_use = "futures do nothing unless awaited"]
pub struct Join<A: Future, B: Future> {
    a: Slot<A>,
    b: Slot<B>,
}

impl<A: Future, B: Future> Unpin for Join<A, B> {}

/// Waits for two tasks of different types and gives both outputs.
///
/// ```
/// use azfn::durable::orchestration::{OrchestrationContext, join};
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<(String, u32), azfn::Error> {
///     let name = ctx.call_activity::<String, _>("GetName", &7);
///     let age = ctx.call_activity::<u32, _>("GetAge", &7);
///     let (name, age) = join(name, age).await;
///     Ok((name?, age?))
/// }
/// ```
pub fn join<A: Future, B: Future>(a: A, b: B) -> Join<A, B> {
    Join {
        a: Slot::Running(Box::pin(a)),
        b: Slot::Running(Box::pin(b)),
    }
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let a = self.a.poll_done(cx);
        let b = self.b.poll_done(cx);
        if !(a && b) {
            return Poll::Pending;
        }
        match (self.a.take(), self.b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            _ => Poll::Pending,
        }
    }
}

/// Which of two raced tasks finished first, with its output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Either<L, R> {
    /// The first task won.
    Left(L),
    /// The second task won.
    Right(R),
}

/// The future of [`select`].
#[must_use = "futures do nothing unless awaited"]
pub struct Select<A: Future, B: Future> {
    a: Pin<Box<A>>,
    b: Pin<Box<B>>,
}

/// Races two tasks of different types — typically an event against a timeout — and gives the
/// winner's output; the loser is dropped (a dropped timer is harmless, a dropped event waiter
/// takes no event). If both are ready, the first wins.
///
/// ```
/// use azfn::durable::orchestration::{Either, OrchestrationContext, select};
/// use std::time::Duration;
///
/// async fn orchestrator(ctx: OrchestrationContext) -> Result<bool, azfn::Error> {
///     let approval = ctx.wait_for_external_event::<bool>("Approval");
///     let timeout = ctx.create_timer_after(Duration::from_secs(72 * 3600));
///     match select(approval, timeout).await {
///         Either::Left(approved) => Ok(approved?),
///         Either::Right(()) => Ok(false), // timed out
///     }
/// }
/// ```
pub fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select {
        a: Box::pin(a),
        b: Box::pin(b),
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(output));
        }
        if let Poll::Ready(output) = self.b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(output));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::future::{pending, ready};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;

    type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        Box::pin(future).as_mut().poll(&mut cx)
    }

    #[test]
    fn when_all_keeps_order_and_waits_for_everyone() {
        assert_eq!(poll_once(when_all([ready(2), ready(1)])), Poll::Ready(vec![2, 1]));
        let mixed: Vec<Boxed<i32>> = vec![Box::pin(ready(1)), Box::pin(pending())];
        assert_eq!(poll_once(when_all(mixed)), Poll::Pending);
        assert_eq!(
            poll_once(when_all(Vec::<std::future::Ready<()>>::new())),
            Poll::Ready(vec![])
        );
    }

    #[test]
    fn try_when_all_stops_at_the_first_error() {
        let futures: Vec<Boxed<Result<i32, &str>>> = vec![Box::pin(pending()), Box::pin(ready(Err("boom")))];
        assert_eq!(poll_once(try_when_all(futures)), Poll::Ready(Err("boom")));
        assert_eq!(
            poll_once(try_when_all([ready(Ok::<_, ()>(1)), ready(Ok(2))])),
            Poll::Ready(Ok(vec![1, 2]))
        );
    }

    #[test]
    fn races_pick_the_lowest_ready_index() {
        let futures: Vec<Boxed<i32>> = vec![Box::pin(pending()), Box::pin(ready(5)), Box::pin(ready(6))];
        assert_eq!(poll_once(when_any(futures)), Poll::Ready((1, 5)));
        assert_eq!(poll_once(select(ready(1), ready("x"))), Poll::Ready(Either::Left(1)));
        assert_eq!(
            poll_once(select(pending::<i32>(), ready("x"))),
            Poll::Ready(Either::Right("x"))
        );
        assert_eq!(poll_once(join(ready(1), ready("x"))), Poll::Ready((1, "x")));
        assert_eq!(poll_once(join(ready(1), pending::<()>())), Poll::Pending);
    }
}
