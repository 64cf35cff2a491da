//! Cancellation of one invocation: the host's `InvocationCancel`, or the worker shutting down.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

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
    /// For an invocation's token: how many times the worker had begun shutting down when the
    /// token was made. A later shutdown cancels it, with no registry of tokens to lock.
    shutdowns_at_creation: Option<u64>,
}

/// How many times [`cancel_invocations`] was called: the worker shutting down.
static SHUTDOWNS: AtomicU64 = AtomicU64::new(0);

/// Woken by every [`cancel_invocations`].
fn shutdown_notify() -> &'static Notify {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    NOTIFY.get_or_init(Notify::new)
}

/// Cancels the token of every invocation made so far (the worker is shutting down).
pub(crate) fn cancel_invocations() {
    SHUTDOWNS.fetch_add(1, Ordering::SeqCst);
    shutdown_notify().notify_waiters();
}

impl CancellationToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        CancellationToken::default()
    }

    /// A token for an invocation: cancelled by [`cancel`](Self::cancel), and also when the
    /// worker shuts down.
    pub(crate) fn for_invocation() -> Self {
        CancellationToken {
            inner: Arc::new(Inner {
                shutdowns_at_creation: Some(SHUTDOWNS.load(Ordering::SeqCst)),
                ..Inner::default()
            }),
        }
    }

    /// Cancels the token and wakes everyone waiting on it.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether the token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
            || self
                .inner
                .shutdowns_at_creation
                .is_some_and(|before| SHUTDOWNS.load(Ordering::SeqCst) > before)
    }

    /// Resolves once the token is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            // Made before the check, so a cancel between the check and the wait still wakes.
            // (`notify_waiters` wakes every `Notified` made before it, polled or not.)
            let own = self.inner.notify.notified();
            let shutdown = shutdown_notify().notified();
            if self.is_cancelled() {
                return;
            }
            tokio::select! {
                () = own => {}
                () = shutdown => {}
            }
        }
    }
}
