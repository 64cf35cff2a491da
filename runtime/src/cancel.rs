//! Cancellation of one invocation: the host's `InvocationCancel`, or the worker shutting down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A token a function can watch to stop early. Cheap to clone; all clones see one state.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let token = azfn::CancellationToken::new();
/// let watcher = token.clone();
/// let task = tokio::spawn(async move { watcher.cancelled().await; "stopped" });
/// token.cancel();
/// assert_eq!(task.await.unwrap(), "stopped");
/// assert!(token.is_cancelled());
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancellationToken {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancellationToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        CancellationToken::default()
    }

    /// Cancels the token and wakes everyone waiting on it.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether the token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once the token is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
