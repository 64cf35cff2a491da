//! Settling the Service Bus message that triggered an invocation: complete, abandon, dead-letter,
//! defer, renew its lock (the .NET isolated worker's `ServiceBusMessageActions`).
//!
//! The host's Service Bus extension holds the message (its receiver, its lock) while the function
//! runs, and offers a gRPC service, `Settlement`, through which the worker settles it by lock
//! token. Only a transport with a gRPC channel to the host can reach it, so this module knows no
//! protocol: it defines what a settlement is ([`SettlementRequest`]) and the object-safe
//! [`MessageSettler`] a transport attaches to each Service Bus invocation ([`SettlementChannel`]
//! in [`Invocation::extensions`]). azfn's native gRPC transport attaches one; the custom-handler
//! transport has none (the host gives a custom handler no gRPC endpoint), so there every method
//! returns [`SettlementError::Unavailable`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use crate::invocation::Invocation;

/// What a [`MessageSettler`] returns.
pub type SettleFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SettlementError>> + Send + 'a>>;

/// Sends settlements to the host. A transport implements it and attaches it to each Service Bus
/// invocation as a [`SettlementChannel`]; a test can attach its own to check what a function
/// settles.
pub trait MessageSettler: Send + Sync {
    /// Carries out `request`: `Ok` once the host has settled the message.
    fn settle(&self, request: SettlementRequest) -> SettleFuture<'_>;
}

/// The settler of an invocation, as [`Invocation::extensions`] holds it.
#[derive(Clone)]
pub struct SettlementChannel(pub Arc<dyn MessageSettler>);

impl fmt::Debug for SettlementChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SettlementChannel")
    }
}

/// One settlement of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementRequest {
    /// The message's lock token (trigger metadata `LockToken`).
    pub lock_token: String,
    /// What to do with it.
    pub operation: SettlementOperation,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SettlementOperation {
    /// Remove it from the entity.
    Complete,
    /// Release its lock, so it is delivered again (its delivery count goes up).
    Abandon {
        /// Application properties to set on it.
        properties: PropertiesToModify,
    },
    /// Move it to the dead-letter sub-queue.
    DeadLetter {
        /// Application properties to set on it.
        properties: PropertiesToModify,
        /// Why (the message's `DeadLetterReason`).
        reason: Option<String>,
        /// The error's description (`DeadLetterErrorDescription`).
        description: Option<String>,
    },
    /// Keep it in the entity, receivable later only by its sequence number.
    Defer {
        /// Application properties to set on it.
        properties: PropertiesToModify,
    },
    /// Extend its lock.
    RenewLock,
}

/// The value of an application property set when a message is abandoned, dead-lettered or
/// deferred: the simple types Service Bus application properties hold.
#[derive(Debug, Clone, PartialEq)]
pub enum MessagePropertyValue {
    /// Text.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A 32-bit integer (.NET `int`).
    Int(i32),
    /// A 64-bit integer (.NET `long`).
    Long(i64),
    /// An unsigned 32-bit integer (.NET `uint`).
    UInt(u32),
    /// An unsigned 64-bit integer (.NET `ulong`).
    ULong(u64),
    /// A float (.NET `double`).
    Double(f64),
    /// A point in time, to the millisecond (.NET `DateTime`, UTC).
    Timestamp(SystemTime),
}

macro_rules! property_values {
    ($($ty:ty => $variant:ident,)*) => {$(
        impl From<$ty> for MessagePropertyValue {
            fn from(value: $ty) -> Self {
                MessagePropertyValue::$variant(value.into())
            }
        }
    )*};
}

property_values! {
    String => String,
    &str => String,
    bool => Bool,
    i32 => Int,
    i64 => Long,
    u32 => UInt,
    u64 => ULong,
    f64 => Double,
    SystemTime => Timestamp,
}

/// Application properties to set on a message as it is settled, in the order they were set (a
/// key set twice keeps its last value).
///
/// ```
/// use azfn::PropertiesToModify;
/// let properties = PropertiesToModify::new().set("attempts", 3).set("reason", "timeout");
/// assert_eq!(properties.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertiesToModify {
    entries: Vec<(String, MessagePropertyValue)>,
}

impl PropertiesToModify {
    /// No properties.
    pub fn new() -> Self {
        PropertiesToModify::default()
    }

    /// Sets `key` to `value`.
    #[must_use]
    pub fn set(mut self, key: impl Into<String>, value: impl Into<MessagePropertyValue>) -> Self {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
        self
    }

    /// The properties, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MessagePropertyValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Why a settlement did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettlementError {
    /// The invocation came through a transport with no gRPC channel to the host: the custom
    /// handler's (or a test's, unless it attached a [`SettlementChannel`]).
    Unavailable,
    /// The invocation carries no single lock token (a batch: settle each message with
    /// [`ServiceBusSettlement::for_message`]).
    NoLockToken,
    /// The host answered with a gRPC status other than OK: `9` (FAILED_PRECONDITION) for a lock
    /// token it does not hold, `2` (UNKNOWN) when Service Bus refused the operation.
    Status {
        /// The gRPC status code.
        code: u32,
        /// The host's message.
        message: String,
    },
    /// The call could not be made or its answer read.
    Transport(String),
}

impl fmt::Display for SettlementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettlementError::Unavailable => f.write_str(
                "settling a Service Bus message needs azfn's native gRPC transport (feature `native`, \
                 deployed with `cargo azfn pack --native`): the host serves the Service Bus extension's \
                 Settlement service only on its gRPC endpoint, which it gives gRPC workers and never a \
                 custom handler",
            ),
            SettlementError::NoLockToken => f.write_str(
                "this invocation has no single lock token (trigger metadata `LockToken`): for a batch, \
                 settle each message with `for_message(lock_token)`",
            ),
            SettlementError::Status { code, message } => {
                write!(f, "the host refused the settlement (gRPC status {code}): {message}")
            }
            SettlementError::Transport(why) => write!(f, "the settlement call to the host failed: {why}"),
        }
    }
}

impl std::error::Error for SettlementError {}

/// Settles the Service Bus message that triggered the invocation: a parameter of
/// `service_bus_trigger` functions (the .NET isolated worker's `ServiceBusMessageActions`).
///
/// Each method is one call to the host's Service Bus extension, which settles the message it
/// holds for this invocation. With `auto_complete_messages` on (the default), the extension
/// completes a message after the function succeeds only if the function did not settle it, and
/// abandons it after a failure only if it did not settle it, so settling by hand needs no
/// setting; `auto_complete_messages = false` leaves every message the function does not settle
/// locked until its lock expires.
///
/// Only azfn's native gRPC transport can reach the host's settlement service; under the custom
/// handler every method returns [`SettlementError::Unavailable`]. See
/// `docs/servicebus-settlement.md`.
///
/// ```no_run
/// use azfn::prelude::*;
/// use azfn::ServiceBusSettlement;
///
/// #[function(service_bus_trigger(queue_name = "orders", connection = "ServiceBus"))]
/// async fn triage(order: String, settlement: ServiceBusSettlement) -> Result<(), azfn::Error> {
///     if order.trim().is_empty() {
///         settlement.dead_letter("EmptyOrder", "the message has no body").await?;
///     } else {
///         settlement.complete().await?;
///     }
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct ServiceBusSettlement {
    lock_token: Option<String>,
    channel: Option<Arc<dyn MessageSettler>>,
}

impl fmt::Debug for ServiceBusSettlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceBusSettlement")
            .field("lock_token", &self.lock_token)
            .field("channel", &self.channel.is_some())
            .finish()
    }
}

impl ServiceBusSettlement {
    /// The settlement of the message that triggered `invocation`: its lock token from the trigger
    /// metadata, and the channel its transport attached (if any).
    pub fn of_invocation(invocation: &Invocation) -> Self {
        ServiceBusSettlement {
            lock_token: invocation
                .metadata
                .get("LockToken")
                .and_then(Value::as_str)
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
            channel: invocation
                .extensions
                .get::<SettlementChannel>()
                .map(|channel| Arc::clone(&channel.0)),
        }
    }

    /// The lock token of the message this settles, if the invocation has one (a batch has none).
    pub fn lock_token(&self) -> Option<&str> {
        self.lock_token.as_deref()
    }

    /// The same channel, settling the message with `lock_token` instead: for each message of a
    /// batch (`ServiceBusBatchMetadata`'s `lock_token`s).
    #[must_use]
    pub fn for_message(&self, lock_token: impl Into<String>) -> Self {
        ServiceBusSettlement {
            lock_token: Some(lock_token.into()),
            channel: self.channel.clone(),
        }
    }

    /// Completes the message: Service Bus removes it.
    pub async fn complete(&self) -> Result<(), SettlementError> {
        self.settle(SettlementOperation::Complete).await
    }

    /// Abandons the message: its lock is released and it is delivered again.
    pub async fn abandon(&self) -> Result<(), SettlementError> {
        self.abandon_with(PropertiesToModify::new()).await
    }

    /// Abandons the message, setting `properties` on it.
    pub async fn abandon_with(&self, properties: PropertiesToModify) -> Result<(), SettlementError> {
        self.settle(SettlementOperation::Abandon { properties }).await
    }

    /// Moves the message to the dead-letter sub-queue with this reason and error description.
    pub async fn dead_letter(
        &self,
        reason: impl Into<String>,
        description: impl Into<String>,
    ) -> Result<(), SettlementError> {
        self.dead_letter_with(PropertiesToModify::new(), Some(reason.into()), Some(description.into()))
            .await
    }

    /// Moves the message to the dead-letter sub-queue, setting `properties` on it, with the reason
    /// and description given.
    pub async fn dead_letter_with(
        &self,
        properties: PropertiesToModify,
        reason: Option<String>,
        description: Option<String>,
    ) -> Result<(), SettlementError> {
        self.settle(SettlementOperation::DeadLetter {
            properties,
            reason,
            description,
        })
        .await
    }

    /// Defers the message: it stays in the entity, receivable only by its sequence number.
    pub async fn defer(&self) -> Result<(), SettlementError> {
        self.defer_with(PropertiesToModify::new()).await
    }

    /// Defers the message, setting `properties` on it.
    pub async fn defer_with(&self, properties: PropertiesToModify) -> Result<(), SettlementError> {
        self.settle(SettlementOperation::Defer { properties }).await
    }

    /// Renews the message's lock, for a function that runs longer than the lock lasts (not on
    /// session-enabled entities, whose locks are the session's).
    pub async fn renew_lock(&self) -> Result<(), SettlementError> {
        self.settle(SettlementOperation::RenewLock).await
    }

    async fn settle(&self, operation: SettlementOperation) -> Result<(), SettlementError> {
        let channel = self.channel.as_ref().ok_or(SettlementError::Unavailable)?;
        let lock_token = self.lock_token.clone().ok_or(SettlementError::NoLockToken)?;
        channel.settle(SettlementRequest { lock_token, operation }).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records what it is asked to settle and answers with `answer`.
    struct Recorder {
        requests: Mutex<Vec<SettlementRequest>>,
        answer: Result<(), SettlementError>,
    }

    impl MessageSettler for Recorder {
        fn settle(&self, request: SettlementRequest) -> SettleFuture<'_> {
            self.requests.lock().expect("lock").push(request);
            Box::pin(async move { self.answer.clone() })
        }
    }

    fn recorded(token: Option<&str>, answer: Result<(), SettlementError>) -> (ServiceBusSettlement, Arc<Recorder>) {
        let recorder = Arc::new(Recorder {
            requests: Mutex::new(Vec::new()),
            answer,
        });
        let settlement = ServiceBusSettlement {
            lock_token: token.map(str::to_owned),
            channel: Some(recorder.clone()),
        };
        (settlement, recorder)
    }

    #[tokio::test]
    async fn each_method_sends_its_operation_with_the_lock_token() {
        let (settlement, recorder) = recorded(Some("t-1"), Ok(()));
        settlement.complete().await.expect("complete");
        settlement.abandon().await.expect("abandon");
        settlement.dead_letter("Bad", "no body").await.expect("dead-letter");
        settlement
            .defer_with(PropertiesToModify::new().set("n", 1))
            .await
            .expect("defer");
        settlement.renew_lock().await.expect("renew");
        settlement.for_message("t-2").complete().await.expect("another message");
        let requests = recorder.requests.lock().expect("lock").clone();
        let expected = [
            ("t-1", SettlementOperation::Complete),
            (
                "t-1",
                SettlementOperation::Abandon {
                    properties: PropertiesToModify::new(),
                },
            ),
            (
                "t-1",
                SettlementOperation::DeadLetter {
                    properties: PropertiesToModify::new(),
                    reason: Some("Bad".into()),
                    description: Some("no body".into()),
                },
            ),
            (
                "t-1",
                SettlementOperation::Defer {
                    properties: PropertiesToModify::new().set("n", 1),
                },
            ),
            ("t-1", SettlementOperation::RenewLock),
            ("t-2", SettlementOperation::Complete),
        ]
        .map(|(lock_token, operation)| SettlementRequest {
            lock_token: lock_token.into(),
            operation,
        });
        assert_eq!(requests, expected);
    }

    #[tokio::test]
    async fn the_hosts_refusal_comes_back_and_missing_parts_are_named() {
        let refused = SettlementError::Status {
            code: 9,
            message: "LockToken t-1 not found.".into(),
        };
        let (settlement, _) = recorded(Some("t-1"), Err(refused.clone()));
        assert_eq!(settlement.complete().await, Err(refused));

        let (batch, recorder) = recorded(None, Ok(()));
        assert_eq!(batch.complete().await, Err(SettlementError::NoLockToken));
        assert!(recorder.requests.lock().expect("lock").is_empty());

        let custom_handler = ServiceBusSettlement {
            lock_token: Some("t-1".into()),
            channel: None,
        };
        let error = custom_handler.defer().await.expect_err("no channel");
        assert_eq!(error, SettlementError::Unavailable);
        assert!(error.to_string().contains("native gRPC transport"), "{error}");
    }

    #[test]
    fn a_property_set_twice_keeps_its_place_and_last_value() {
        let properties = PropertiesToModify::new().set("a", 1).set("b", true).set("a", "x");
        let entries: Vec<_> = properties.iter().collect();
        assert_eq!(
            entries,
            [
                ("a", &MessagePropertyValue::String("x".into())),
                ("b", &MessagePropertyValue::Bool(true))
            ]
        );
    }
}
