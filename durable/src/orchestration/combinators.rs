//! Waiting on several durable tasks at once: [`when_all`] / [`try_when_all`] / [`join`]
//! (fan-out/fan-in) and [`when_any`] / [`select`] (races).
//!
//! They work on any futures, but inside an orchestrator they should only combine durable tasks
//! (or async blocks that await durable tasks). Children are polled in order, so when several
//! are ready at once the lowest index wins — the same way on every replay.
//!
//! Each child is polled with a waker of its own (see [`Children`]): after the first poll a
//! combinator polls only the children woken since, so replaying a fan-in of N tasks costs O(N)
//! polls, not O(N²).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use super::state::{record_durable_wait, recording_durable_wait};

/// A future that may already have finished.
enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(F::Output),
    Taken,
}

impl<F: Future> Slot<F> {
    /// Polls a running future, keeping its output once it has one.
    fn poll_done<B>(&mut self, cx: &mut Context<'_>) -> Child<B> {
        match self {
            Slot::Running(future) => match future.as_mut().poll(cx) {
                Poll::Ready(output) => {
                    *self = Slot::Done(output);
                    Child::Finished
                }
                Poll::Pending => Child::Pending,
            },
            Slot::Done(_) => Child::Finished,
            Slot::Taken => Child::Pending,
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

/// What polling one child of a combinator gave.
enum Child<B> {
    /// The child is still running.
    Pending,
    /// The child finished; it is not polled again.
    Finished,
    /// The child finished, and so does the combinator, with this output.
    Decides(B),
}

/// A child's state, as its combinator knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ChildState {
    /// Running; `durable_wait`: its last poll left a durable task waiting.
    Running {
        durable_wait: bool,
    },
    Finished,
}

/// The children of a combinator, as far as polling them goes: a waker for each, and which of
/// them were woken since they were last polled.
///
/// The first poll polls every child; later polls only those woken since — the others cannot
/// have progressed — in index order, so that the lowest ready index still wins. A child not
/// polled again would have left the same durable wait as the last time it was polled, so the
/// combinator records that wait in its stead (see [`record_durable_wait`]): to the engine, a
/// poll looks the same as when every child was polled.
struct Children {
    woken: Arc<Woken>,
    wakers: Vec<Waker>,
    states: Vec<ChildState>,
    /// How many running children left a durable task waiting when last polled.
    durable_waits: usize,
    running: usize,
    /// The children to poll in the poll under way (kept to reuse its allocation).
    batch: Vec<usize>,
}

impl Children {
    fn new(count: usize) -> Self {
        let woken = Arc::new(Woken(Mutex::new(WokenInner {
            // Every child is polled the first time.
            indices: (0..count).collect(),
            queued: vec![true; count],
            parent: None,
        })));
        let wakers = (0..count)
            .map(|index| {
                Waker::from(Arc::new(ChildWaker {
                    index,
                    woken: woken.clone(),
                }))
            })
            .collect();
        Children {
            woken,
            wakers,
            states: vec![ChildState::Running { durable_wait: false }; count],
            durable_waits: 0,
            running: count,
            batch: Vec::new(),
        }
    }

    fn all_finished(&self) -> bool {
        self.running == 0
    }

    /// Polls, in index order and each with its own waker, the running children that may have
    /// progressed, until one `Decides` the combinator's output; `cx`'s waker is woken when a
    /// child is.
    fn poll<B>(
        &mut self,
        cx: &Context<'_>,
        mut poll_child: impl FnMut(usize, &mut Context<'_>) -> Child<B>,
    ) -> Option<B> {
        {
            let mut woken = self.woken.lock();
            if !woken.parent.as_ref().is_some_and(|parent| parent.will_wake(cx.waker())) {
                woken.parent = Some(cx.waker().clone());
            }
            // Children woken while this poll runs are kept for the next one.
            std::mem::swap(&mut woken.indices, &mut self.batch);
            for &index in &self.batch {
                woken.queued[index] = false;
            }
        }
        self.batch.sort_unstable();
        let mut decided = None;
        let mut stopped_at = self.states.len();
        for position in 0..self.batch.len() {
            let index = self.batch[position];
            if self.states[index] == ChildState::Finished {
                continue;
            }
            let mut child_cx = Context::from_waker(&self.wakers[index]);
            let (polled, durable_wait) = recording_durable_wait(|| poll_child(index, &mut child_cx));
            match polled {
                Child::Pending => self.set(index, ChildState::Running { durable_wait }),
                Child::Finished => self.set(index, ChildState::Finished),
                Child::Decides(output) => {
                    self.set(index, ChildState::Finished);
                    decided = Some(output);
                    stopped_at = index;
                    break;
                }
            }
        }
        self.batch.clear();
        // Polling every child in order would have polled those before `stopped_at` only.
        let durable_wait = if stopped_at == self.states.len() {
            self.durable_waits > 0
        } else {
            self.states[..stopped_at].contains(&ChildState::Running { durable_wait: true })
        };
        if durable_wait {
            record_durable_wait();
        }
        decided
    }

    fn set(&mut self, index: usize, state: ChildState) {
        let waits = |state| state == ChildState::Running { durable_wait: true };
        let old = std::mem::replace(&mut self.states[index], state);
        self.durable_waits = self.durable_waits + usize::from(waits(state)) - usize::from(waits(old));
        if state == ChildState::Finished && old != ChildState::Finished {
            self.running -= 1;
        }
    }
}

/// The children of one combinator woken since it last polled them, shared with their wakers.
struct Woken(Mutex<WokenInner>);

struct WokenInner {
    /// The woken children, in the order they were woken.
    indices: Vec<usize>,
    /// Whether each child is in `indices`.
    queued: Vec<bool>,
    /// The combinator's own waker, from its last poll.
    parent: Option<Waker>,
}

impl Woken {
    fn lock(&self) -> std::sync::MutexGuard<'_, WokenInner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The waker of one child: notes the child as woken and wakes the combinator.
struct ChildWaker {
    index: usize,
    woken: Arc<Woken>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let parent = {
            let mut woken = self.woken.lock();
            if !woken.queued[self.index] {
                woken.queued[self.index] = true;
                woken.indices.push(self.index);
            }
            woken.parent.clone()
        };
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

/// The future of [`when_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct WhenAll<F: Future> {
    slots: Vec<Slot<F>>,
    children: Children,
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
    let slots: Vec<_> = tasks.into_iter().map(|f| Slot::Running(Box::pin(f))).collect();
    WhenAll {
        children: Children::new(slots.len()),
        slots,
    }
}

impl<F: Future> Future for WhenAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let slots = &mut this.slots;
        let _: Option<Infallible> = this.children.poll(cx, |index, cx| slots[index].poll_done(cx));
        if !this.children.all_finished() {
            return Poll::Pending;
        }
        Poll::Ready(this.slots.iter_mut().filter_map(Slot::take).collect())
    }
}

/// The future of [`try_when_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryWhenAll<F: Future> {
    slots: Vec<Slot<F>>,
    children: Children,
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
    let slots: Vec<_> = tasks.into_iter().map(|f| Slot::Running(Box::pin(f))).collect();
    TryWhenAll {
        children: Children::new(slots.len()),
        slots,
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> Future for TryWhenAll<F> {
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let slots = &mut this.slots;
        let failed = this.children.poll(cx, |index, cx| {
            let slot = &mut slots[index];
            match slot.poll_done(cx) {
                Child::Finished if matches!(slot, Slot::Done(Err(_))) => match slot.take() {
                    Some(Err(error)) => Child::Decides(error),
                    _ => Child::Finished,
                },
                polled => polled,
            }
        });
        if let Some(error) = failed {
            return Poll::Ready(Err(error));
        }
        if !this.children.all_finished() {
            return Poll::Pending;
        }
        let mut values = Vec::with_capacity(this.slots.len());
        for slot in &mut this.slots {
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
    children: Children,
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
    let futures: Vec<_> = tasks.into_iter().map(Box::pin).collect();
    WhenAny {
        children: Children::new(futures.len()),
        futures,
    }
}

impl<F: Future> Future for WhenAny<F> {
    type Output = (usize, F::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let futures = &mut this.futures;
        let first = this
            .children
            .poll(cx, |index, cx| match futures[index].as_mut().poll(cx) {
                Poll::Ready(output) => Child::Decides((index, output)),
                Poll::Pending => Child::Pending,
            });
        first.map_or(Poll::Pending, Poll::Ready)
    }
}

/// The future of [`join`].
#[must_use = "futures do nothing unless awaited"]
pub struct Join<A: Future, B: Future> {
    a: Slot<A>,
    b: Slot<B>,
    children: Children,
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
        children: Children::new(2),
    }
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (a, b) = (&mut this.a, &mut this.b);
        let _: Option<Infallible> = this.children.poll(cx, |index, cx| match index {
            0 => a.poll_done(cx),
            _ => b.poll_done(cx),
        });
        if !this.children.all_finished() {
            return Poll::Pending;
        }
        match (this.a.take(), this.b.take()) {
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
    children: Children,
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
        children: Children::new(2),
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (a, b) = (&mut this.a, &mut this.b);
        let winner = this.children.poll(cx, |index, cx| {
            let output = match index {
                0 => a.as_mut().poll(cx).map(Either::Left),
                _ => b.as_mut().poll(cx).map(Either::Right),
            };
            match output {
                Poll::Ready(output) => Child::Decides(output),
                Poll::Pending => Child::Pending,
            }
        });
        winner.map_or(Poll::Pending, Poll::Ready)
    }
}

#[cfg(test)]
mod tests {
    use std::future::{pending, ready};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
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

    /// Counts the polls of the future it wraps.
    struct Counted<F> {
        future: F,
        polls: Arc<AtomicUsize>,
    }

    impl<F: Future + Unpin> Future for Counted<F> {
        type Output = F::Output;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            Pin::new(&mut self.future).poll(cx)
        }
    }

    /// A future that is ready once its gate is opened, and wakes its waker then.
    #[derive(Clone, Default)]
    struct Gate(Arc<Mutex<(bool, Option<Waker>)>>);

    impl Gate {
        fn open(&self) {
            let waker = {
                let mut gate = self.0.lock().unwrap();
                gate.0 = true;
                gate.1.take()
            };
            waker.into_iter().for_each(Waker::wake);
        }
    }

    impl Future for Gate {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut gate = self.0.lock().unwrap();
            if gate.0 {
                return Poll::Ready(());
            }
            gate.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn combinators_keep_their_auto_traits() {
        fn check<T: Send + Sync + Unpin + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
        type R = std::future::Ready<u32>;
        check::<WhenAll<R>>();
        check::<TryWhenAll<std::future::Ready<Result<u32, ()>>>>();
        check::<WhenAny<R>>();
        check::<Join<R, R>>();
        check::<Select<R, R>>();
    }

    #[test]
    fn a_fan_in_completed_one_by_one_polls_each_child_about_twice() {
        const N: usize = 2_000;
        let polls = Arc::new(AtomicUsize::new(0));
        let gates: Vec<Gate> = (0..N).map(|_| Gate::default()).collect();
        let counted = gates.iter().map(|gate| Counted {
            future: gate.clone(),
            polls: polls.clone(),
        });
        let mut all = Box::pin(when_all(counted));
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        assert_eq!(all.as_mut().poll(&mut cx), Poll::Pending);
        // Backwards, so that a combinator polling every child would poll N²/2 times.
        for (opened, gate) in gates.iter().rev().enumerate() {
            gate.open();
            let polled = all.as_mut().poll(&mut cx);
            assert_eq!(polled.is_ready(), opened == N - 1);
        }
        let total = polls.load(Ordering::Relaxed);
        assert_eq!(total, 2 * N, "{total} child polls for {N} children");
    }

    #[test]
    fn replaying_a_fan_in_polls_each_task_a_bounded_number_of_times() {
        use crate::orchestration::{OrchestrationContext, run_orchestrator};
        use crate::proto::history_event::EventType;
        use crate::proto::orchestrator_action::OrchestratorActionType;
        use crate::proto::{
            ExecutionStartedEvent, HistoryEvent, OrchestrationStatus, OrchestratorRequest, TaskCompletedEvent,
            TaskScheduledEvent,
        };

        const N: usize = 1_000;
        let event = |event_id: i32, event_type| HistoryEvent {
            event_id,
            timestamp: None,
            event_type: Some(event_type),
        };
        let mut history = vec![event(
            -1,
            EventType::ExecutionStarted(ExecutionStartedEvent {
                name: "FanOut".into(),
                ..Default::default()
            }),
        )];
        history.extend((0..N).map(|id| {
            event(
                id as i32,
                EventType::TaskScheduled(TaskScheduledEvent {
                    name: "Step".into(),
                    ..Default::default()
                }),
            )
        }));
        // Completed last first, one event (and so one poll of the orchestrator) each.
        history.extend((0..N).rev().map(|id| {
            event(
                -1,
                EventType::TaskCompleted(TaskCompletedEvent {
                    task_scheduled_id: id as i32,
                    result: Some(id.to_string().as_str().into()),
                }),
            )
        }));
        let request = OrchestratorRequest {
            instance_id: "fan-in".into(),
            past_events: history,
            ..Default::default()
        };
        let polls = Arc::new(AtomicUsize::new(0));
        let response = run_orchestrator(&request, |ctx: OrchestrationContext| {
            let polls = polls.clone();
            async move {
                let tasks = (0..N).map(|i| Counted {
                    future: ctx.call_activity::<usize, _>("Step", &i),
                    polls: polls.clone(),
                });
                let results = try_when_all(tasks).await?;
                assert!(results.iter().copied().eq(0..N), "results in task order");
                Ok(results.len())
            }
        });
        let [action] = &response.actions[..] else {
            panic!("{:?}", response.actions)
        };
        let Some(OrchestratorActionType::CompleteOrchestration(done)) = &action.orchestrator_action_type else {
            panic!("{action:?}")
        };
        assert_eq!(
            done.orchestration_status,
            OrchestrationStatus::Completed as i32,
            "{done:?}"
        );
        let total = polls.load(Ordering::Relaxed);
        assert!(total <= 3 * N, "{total} child polls for {N} tasks");
    }

    #[test]
    fn a_wait_on_durable_tasks_not_polled_again_is_still_a_durable_wait() {
        // Both orchestrations wait; only the second waits on nothing durable.
        use crate::orchestration::{OrchestrationContext, run_orchestrator};
        use crate::proto::history_event::EventType;
        use crate::proto::orchestrator_action::OrchestratorActionType;
        use crate::proto::{ExecutionStartedEvent, HistoryEvent, OrchestratorRequest, TaskCompletedEvent};

        let event = |event_type| HistoryEvent {
            event_id: -1,
            timestamp: None,
            event_type: Some(event_type),
        };
        let request = OrchestratorRequest {
            instance_id: "waits".into(),
            new_events: vec![
                event(EventType::ExecutionStarted(ExecutionStartedEvent::default())),
                event(EventType::TaskCompleted(TaskCompletedEvent {
                    task_scheduled_id: 0,
                    result: Some("1".into()),
                })),
            ],
            ..Default::default()
        };
        let durable = run_orchestrator(&request, |ctx: OrchestrationContext| async move {
            let a = ctx.call_activity::<u32, _>("A", &());
            let b = ctx.call_activity::<u32, _>("B", &());
            let c = ctx.call_activity::<u32, _>("C", &());
            let all = when_all([a, b, c]).await;
            Ok(all.len())
        });
        let kinds = |response: &crate::proto::OrchestratorResponse| -> Vec<String> {
            response
                .actions
                .iter()
                .map(|a| match &a.orchestrator_action_type {
                    Some(OrchestratorActionType::ScheduleTask(t)) => t.name.clone(),
                    Some(OrchestratorActionType::CompleteOrchestration(c)) => c
                        .failure_details
                        .as_ref()
                        .map_or("done".into(), |f| f.error_type.clone()),
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(kinds(&durable), ["A", "B", "C"]);
        let stuck = run_orchestrator(&request, |ctx: OrchestrationContext| async move {
            let a = ctx.call_activity::<u32, _>("A", &());
            let a = Box::pin(async move {
                let _ = a.await;
            }) as Boxed<()>;
            let all = when_all([a, Box::pin(pending())]).await;
            Ok(all.len())
        });
        assert_eq!(kinds(&stuck), ["NonDurableAwait"]);
    }
}
