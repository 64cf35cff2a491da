//! Durable entities: small, addressable pieces of state that process one operation at a time.
//!
//! An entity function handles **one operation** at a time through an [`EntityContext`]: it reads
//! the operation's name and input, reads or changes the entity's typed state, may signal other
//! entities or start orchestrations, and returns the operation's result. The engine
//! ([`run_entity_batch`], [`run_entity_batch_async`]) runs every operation of the batch the
//! `entityTrigger` delivers, in order, each one as a transaction: when an operation fails (returns
//! `Err` or panics), its changes to the state and the actions it scheduled are rolled back and
//! the failure is reported for that operation alone; the batch goes on.
//!
//! ```
//! use azfn::durable::entity::{EntityContext, run_entity_batch};
//! use azfn::durable::proto::{EntityBatchRequest, OperationRequest};
//!
//! fn counter(ctx: &mut EntityContext<i64>) -> Result<Option<i64>, azfn::Error> {
//!     match ctx.operation() {
//!         "add" => {
//!             let amount: i64 = ctx.input()?;
//!             *ctx.state_mut() += amount;
//!             Ok(None)
//!         }
//!         "get" => Ok(Some(*ctx.state())),
//!         _ => Err(ctx.unknown_operation()),
//!     }
//! }
//!
//! let op = |operation: &str, input: Option<&str>| OperationRequest {
//!     operation: operation.into(),
//!     input: input.map(Into::into),
//!     ..Default::default()
//! };
//! let request = EntityBatchRequest {
//!     instance_id: "@counter@a".into(),
//!     entity_state: Some("40".into()),
//!     operations: vec![op("add", Some("2")), op("get", None)],
//!     ..Default::default()
//! };
//! let result = run_entity_batch(&request, counter);
//! assert_eq!(result.entity_state.unwrap().value, "42");
//! ```
//!
//! The operation named `delete` (in any case) deletes the entity's state when the function does
//! not handle it, that is when it answers it with [`EntityContext::unknown_operation`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use base64::Engine as _;
use prost::Message as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use super::orchestration::EntityId;
use super::orchestration::guid;
use super::orchestration::{Entity, Operation};
use super::proto::{
    EntityBatchRequest, EntityBatchResult, OperationAction, OperationRequest, OperationResult, OperationResultFailure,
    OperationResultSuccess, SendSignalAction, StartNewOrchestrationAction, operation_action::OperationActionType,
    operation_result::ResultType,
};
use super::proto::{TaskFailureDetails, TraceContext};
use azfn_core::Error;
use azfn_core::dispatch::panic_message;
use azfn_wire::wkt::{StringValue, Timestamp};

// ---------------------------------------------------------------------------------------------
// Entity ids
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The context of one operation
// ---------------------------------------------------------------------------------------------

/// One operation on an entity whose state is an `S`: what the entity function works with.
///
/// The state starts as the entity's stored state, or `S::default()` when the entity has none.
/// Reading it ([`state`](Self::state)) does not create the entity; changing it
/// ([`state_mut`](Self::state_mut), [`set_state`](Self::set_state)) does, and
/// [`delete_state`](Self::delete_state) deletes it. A state that serializes to JSON `null` is
/// stored as no state.
///
/// ```
/// use azfn::durable::entity::{EntityContext, EntityId, run_entity_batch};
/// use azfn::durable::proto::{EntityBatchRequest, OperationRequest};
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Cart {
///     items: Vec<String>,
/// }
///
/// fn cart(ctx: &mut EntityContext<Cart>) -> Result<usize, azfn::Error> {
///     match ctx.operation() {
///         "add" => {
///             let item: String = ctx.input()?;
///             ctx.state_mut().items.push(item);
///             let audit = EntityId::new("audit", ctx.entity_id().key());
///             ctx.signal_entity(&audit, "record", "add")?;
///         }
///         "clear" => ctx.delete_state(),
///         _ => return Err(ctx.unknown_operation()),
///     }
///     Ok(ctx.state().items.len())
/// }
///
/// let request = EntityBatchRequest {
///     instance_id: "@cart@7".into(),
///     operations: vec![OperationRequest { operation: "add".into(), input: Some("\"tea\"".into()), ..Default::default() }],
///     ..Default::default()
/// };
/// let result = run_entity_batch(&request, cart);
/// assert_eq!(result.entity_state.unwrap().value, r#"{"items":["tea"]}"#);
/// assert_eq!(result.actions.len(), 1);
/// ```
pub struct EntityContext<S> {
    id: EntityId,
    operation: String,
    input: Option<String>,
    trace_context: Option<TraceContext>,
    state: S,
    exists: bool,
    actions: Vec<OperationActionType>,
}

impl<S> fmt::Debug for EntityContext<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntityContext")
            .field("id", &self.id)
            .field("operation", &self.operation)
            .field("input", &self.input)
            .field("exists", &self.exists)
            .finish_non_exhaustive()
    }
}

impl<S> EntityContext<S> {
    /// The operation's name, as the caller spelled it.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<i32>) -> Result<(), azfn::Error> {
    ///     match ctx.operation() {
    ///         "reset" => ctx.set_state(0),
    ///         _ => return Err(ctx.unknown_operation()),
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// This entity's id.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<String>) {
    ///     let key = ctx.entity_id().key().to_owned();
    ///     ctx.set_state(key);
    /// }
    /// ```
    pub fn entity_id(&self) -> &EntityId {
        &self.id
    }

    /// The operation's input, deserialized. Without an input, `T` is deserialized from JSON
    /// `null`, so an `Option<T>` input is `None` and other types fail with a clear error.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<i64>) -> Result<(), azfn::Error> {
    ///     let amount: Option<i64> = ctx.input()?;
    ///     *ctx.state_mut() += amount.unwrap_or(1);
    ///     Ok(())
    /// }
    /// ```
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let text = self.input.as_deref().unwrap_or("null");
        serde_json::from_str(text).map_err(|e| {
            let what = if self.input.is_some() {
                "its input"
            } else {
                "no input, and"
            };
            Error::msg(format!(
                "operation `{}` of entity `{}` got {what} it does not deserialize as {}: {e}",
                self.operation,
                self.id,
                std::any::type_name::<T>()
            ))
        })
    }

    /// The operation's input as JSON text, if it has one.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<String>) {
    ///     let raw = ctx.input_json().unwrap_or("null").to_owned();
    ///     ctx.set_state(raw);
    /// }
    /// ```
    pub fn input_json(&self) -> Option<&str> {
        self.input.as_deref()
    }

    /// The state (`S::default()` when the entity has none).
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<i64>) -> i64 {
    ///     *ctx.state()
    /// }
    /// ```
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The state, to change in place; the entity exists from then on.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<Vec<String>>) {
    ///     ctx.state_mut().push("x".into());
    /// }
    /// ```
    pub fn state_mut(&mut self) -> &mut S {
        self.exists = true;
        &mut self.state
    }

    /// Replaces the state; the entity exists from then on.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<u32>) {
    ///     ctx.set_state(7);
    /// }
    /// ```
    pub fn set_state(&mut self, state: S) {
        self.exists = true;
        self.state = state;
    }

    /// Whether the entity has state (stored before, or set by this operation).
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<u32>) -> bool {
    ///     ctx.has_state()
    /// }
    /// ```
    pub fn has_state(&self) -> bool {
        self.exists
    }

    /// Sends a signal (a one-way operation) to an entity, once this operation succeeds. A
    /// `null` input (`()`, `None`) sends no input.
    ///
    /// ```
    /// use azfn::durable::entity::{EntityContext, EntityId};
    /// fn entity(ctx: &mut EntityContext<u32>) -> Result<(), azfn::Error> {
    ///     ctx.signal_entity(&EntityId::new("counter", "total"), "add", 1)
    /// }
    /// ```
    pub fn signal_entity<I: Serialize>(&mut self, entity: &EntityId, operation: &str, input: I) -> Result<(), Error> {
        self.signal(entity, operation, input, None)
    }

    /// Sends a signal to an entity, delivered at `at`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use azfn::durable::entity::{EntityContext, EntityId};
    /// fn entity(ctx: &mut EntityContext<u32>) -> Result<(), azfn::Error> {
    ///     let me = ctx.entity_id().clone();
    ///     ctx.signal_entity_at(&me, "expire", (), SystemTime::now() + Duration::from_secs(3600))
    /// }
    /// ```
    pub fn signal_entity_at<I: Serialize>(
        &mut self,
        entity: &EntityId,
        operation: &str,
        input: I,
        at: SystemTime,
    ) -> Result<(), Error> {
        self.signal(entity, operation, input, Some(at))
    }

    /// Signals `operation` of the `#[entity]` entity with `key`, once this operation succeeds:
    /// [`signal_entity`](Self::signal_entity) with the names and the input type checked by the
    /// compiler.
    ///
    /// ```
    /// use azfn::durable::EntityContext;
    /// use azfn::prelude::*;
    ///
    /// #[derive(Default, serde::Serialize, serde::Deserialize)]
    /// pub struct Journal(Vec<String>);
    ///
    /// #[entity]
    /// impl Journal {
    ///     pub fn record(&mut self, line: String) {
    ///         self.0.push(line);
    ///     }
    /// }
    ///
    /// fn entity(ctx: &mut EntityContext<u32>) -> Result<(), azfn::Error> {
    ///     ctx.signal_operation(Journal::RECORD, "all", &"bumped".to_owned())
    /// }
    /// ```
    pub fn signal_operation<E, I, O>(
        &mut self,
        operation: Operation<E, I, O>,
        key: &str,
        input: &I,
    ) -> Result<(), Error>
    where
        E: Entity,
        I: Serialize,
    {
        self.signal(&operation.entity_id(key), operation.name(), input, None)
    }

    fn signal<I: Serialize>(
        &mut self,
        entity: &EntityId,
        operation: &str,
        input: I,
        at: Option<SystemTime>,
    ) -> Result<(), Error> {
        let input = json_payload(&input).map_err(|e| {
            Error::msg(format!(
                "the input of the signal `{operation}` to `{entity}` does not serialize: {e}"
            ))
        })?;
        self.actions.push(OperationActionType::SendSignal(SendSignalAction {
            instance_id: entity.to_string(),
            name: operation.to_owned(),
            input: input.map(StringValue::from),
            scheduled_time: at.map(Timestamp::from_system_time),
            request_time: Some(Timestamp::from_system_time(SystemTime::now())),
            parent_trace_context: self.trace_context.clone(),
        }));
        Ok(())
    }

    /// Starts an orchestration once this operation succeeds, and returns its instance id (a
    /// new random one unless `instance_id` is given).
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<u32>) -> Result<String, azfn::Error> {
    ///     ctx.start_new_orchestration("Notify", serde_json::json!({"count": 3}), None)
    /// }
    /// ```
    pub fn start_new_orchestration<I: Serialize>(
        &mut self,
        name: &str,
        input: I,
        instance_id: Option<&str>,
    ) -> Result<String, Error> {
        let input = json_payload(&input).map_err(|e| {
            Error::msg(format!(
                "the input of the orchestration `{name}` does not serialize: {e}"
            ))
        })?;
        let instance_id = match instance_id {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => guid_simple(),
        };
        self.actions.push(OperationActionType::StartNewOrchestration(
            StartNewOrchestrationAction {
                instance_id: instance_id.clone(),
                name: name.to_owned(),
                version: None,
                input: input.map(StringValue::from),
                scheduled_time: None,
                request_time: Some(Timestamp::from_system_time(SystemTime::now())),
                parent_trace_context: self.trace_context.clone(),
            },
        ));
        Ok(instance_id)
    }

    /// The error to answer an operation the entity does not have. The operation fails with it,
    /// except `delete`, which then deletes the entity's state.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<u32>) -> Result<(), azfn::Error> {
    ///     match ctx.operation() {
    ///         "bump" => *ctx.state_mut() += 1,
    ///         _ => return Err(ctx.unknown_operation()),
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn unknown_operation(&self) -> Error {
        Error::from(UnknownOperation {
            entity: self.id.to_string(),
            operation: self.operation.clone(),
        })
    }
}

impl<S: Default> EntityContext<S> {
    /// Deletes the entity's state: the state becomes `S::default()` and, unless a later change
    /// recreates it, the entity has no state after this operation.
    ///
    /// ```
    /// fn entity(ctx: &mut azfn::durable::entity::EntityContext<u32>) {
    ///     ctx.delete_state();
    ///     assert!(!ctx.has_state());
    /// }
    /// ```
    pub fn delete_state(&mut self) {
        self.exists = false;
        self.state = S::default();
    }
}

/// The error [`EntityContext::unknown_operation`] makes.
#[derive(Debug)]
struct UnknownOperation {
    entity: String,
    operation: String,
}

impl fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entity `{}` has no operation `{}`", self.entity, self.operation)
    }
}

impl std::error::Error for UnknownOperation {}

fn is_unknown_operation(error: &Error) -> bool {
    error.source().is_some_and(|source| source.is::<UnknownOperation>())
}

// ---------------------------------------------------------------------------------------------
// Operation results
// ---------------------------------------------------------------------------------------------

/// What an entity function may return for an operation: `()`, any `T: Serialize` (its JSON is
/// the operation's result; `null` or `None` means no result), or a `Result<T, E>` of those with
/// `E: Into<azfn::Error>` (`Err` fails the operation).
///
/// The marker `M` only tells the two families apart; it is inferred.
///
/// ```
/// use azfn::durable::entity::IntoOperationResult;
/// assert_eq!(5.into_operation_result().unwrap().as_deref(), Some("5"));
/// assert_eq!(().into_operation_result().unwrap(), None);
/// let failed: Result<u8, azfn::Error> = Err(azfn::Error::msg("no"));
/// assert_eq!(failed.into_operation_result().unwrap_err().to_string(), "no");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from an entity operation",
    note = "return `()`, a `T: serde::Serialize`, or `Result<T, E>` with `E: Into<azfn::Error>`"
)]
pub trait IntoOperationResult<M> {
    /// The result as JSON text (`None`: no result), or the operation's error.
    fn into_operation_result(self) -> Result<Option<String>, Error>;
}

/// Marks [`IntoOperationResult`] for plain serializable values.
#[derive(Debug)]
pub enum PlainResult {}

/// Marks [`IntoOperationResult`] for `Result`s.
#[derive(Debug)]
pub enum FallibleResult {}

impl<T: Serialize> IntoOperationResult<PlainResult> for T {
    fn into_operation_result(self) -> Result<Option<String>, Error> {
        json_payload(&self).map_err(|e| Error::msg(format!("the operation's result does not serialize: {e}")))
    }
}

impl<T: Serialize, E: Into<Error>> IntoOperationResult<FallibleResult> for Result<T, E> {
    fn into_operation_result(self) -> Result<Option<String>, Error> {
        self.map_err(Into::into)?.into_operation_result()
    }
}

/// What an `#[entity]` type's generated entity function answers: the result of the operation
/// it dispatched to, already turned into JSON text.
#[doc(hidden)]
#[derive(Debug)]
pub struct OperationOutcome(Result<Option<String>, Error>);

impl OperationOutcome {
    /// The outcome of an operation that returned `result`.
    pub fn of<M, R: IntoOperationResult<M>>(result: R) -> Self {
        OperationOutcome(result.into_operation_result())
    }

    /// The outcome of an operation that failed before it ran (its input did not deserialize,
    /// or the entity has no such operation).
    pub fn failed(error: Error) -> Self {
        OperationOutcome(Err(error))
    }
}

/// Marks [`IntoOperationResult`] for [`OperationOutcome`].
#[doc(hidden)]
#[derive(Debug)]
pub enum DispatchedResult {}

impl IntoOperationResult<DispatchedResult> for OperationOutcome {
    fn into_operation_result(self) -> Result<Option<String>, Error> {
        self.0
    }
}

/// Whether the operation a caller `requested` is the one named `name`: ignoring ASCII case, as
/// the .NET SDK's `TaskEntity` dispatches to its methods.
#[doc(hidden)]
pub fn is_operation(requested: &str, name: &str) -> bool {
    requested.eq_ignore_ascii_case(name)
}

/// JSON text of a value, `None` for `null`.
fn json_payload<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    Ok((text != "null").then_some(text))
}

// ---------------------------------------------------------------------------------------------
// The batch engine
// ---------------------------------------------------------------------------------------------

/// Runs every operation of `request` through `operation`, in order, and returns the batch's
/// result for the Durable extension.
///
/// Each operation is a transaction: when it returns `Err` or panics, the state goes back to what
/// it was before it and the signals and orchestrations it scheduled are dropped; its result is a
/// failure with the error's message. A state that does not deserialize as `S` fails each
/// operation that needs it, and leaves the stored state as it was.
///
/// ```
/// use azfn::durable::entity::{EntityContext, run_entity_batch};
/// use azfn::durable::proto::{EntityBatchRequest, OperationRequest, operation_result::ResultType};
///
/// fn flaky(ctx: &mut EntityContext<u32>) -> Result<(), azfn::Error> {
///     *ctx.state_mut() += 1;
///     if ctx.operation() == "fail" {
///         return Err(azfn::Error::msg("boom"));
///     }
///     Ok(())
/// }
///
/// let ops = ["inc", "fail", "inc"].map(|op| OperationRequest { operation: op.into(), ..Default::default() });
/// let request = EntityBatchRequest { instance_id: "@flaky@k".into(), operations: ops.to_vec(), ..Default::default() };
/// let result = run_entity_batch(&request, flaky);
/// assert_eq!(result.entity_state.unwrap().value, "2");
/// assert!(matches!(result.results[1].result_type, Some(ResultType::Failure(_))));
/// ```
pub fn run_entity_batch<S, R, M, F>(request: &EntityBatchRequest, mut operation: F) -> EntityBatchResult
where
    S: Serialize + DeserializeOwned + Default,
    R: IntoOperationResult<M>,
    F: FnMut(&mut EntityContext<S>) -> R,
{
    let mut batch = match Batch::<S>::new(request) {
        Ok(batch) => batch,
        Err(failed) => return *failed,
    };
    for op in &request.operations {
        let started = SystemTime::now();
        let mut ctx = match batch.context(op) {
            Ok(ctx) => ctx,
            Err(details) => {
                batch.fail(details, started);
                continue;
            }
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| operation(&mut ctx).into_operation_result()));
        batch.finish(ctx, outcome, started);
    }
    batch.into_result()
}

/// A boxed future borrowing the [`EntityContext`], as [`run_entity_batch_async`] takes them.
pub type OperationFuture<'a, R> = Pin<Box<dyn Future<Output = R> + Send + 'a>>;

/// [`run_entity_batch`] for `async` entity functions: `operation` returns the operation's future,
/// boxed (`|ctx| Box::pin(my_entity(ctx))`). A panic while the future is polled fails that
/// operation alone.
///
/// ```
/// use azfn::durable::entity::{EntityContext, run_entity_batch_async};
/// use azfn::durable::proto::{EntityBatchRequest, OperationRequest};
///
/// async fn counter(ctx: &mut EntityContext<i64>) -> Result<i64, azfn::Error> {
///     let n: i64 = ctx.input()?;
///     *ctx.state_mut() += n;
///     Ok(*ctx.state())
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let request = EntityBatchRequest {
///     instance_id: "@counter@a".into(),
///     operations: vec![OperationRequest { operation: "add".into(), input: Some("3".into()), ..Default::default() }],
///     ..Default::default()
/// };
/// let result = run_entity_batch_async(&request, |ctx| Box::pin(counter(ctx))).await;
/// assert_eq!(result.entity_state.unwrap().value, "3");
/// # });
/// ```
pub async fn run_entity_batch_async<S, R, M, F>(request: &EntityBatchRequest, mut operation: F) -> EntityBatchResult
where
    S: Serialize + DeserializeOwned + Default,
    R: IntoOperationResult<M>,
    F: for<'a> FnMut(&'a mut EntityContext<S>) -> OperationFuture<'a, R>,
{
    let mut batch = match Batch::<S>::new(request) {
        Ok(batch) => batch,
        Err(failed) => return *failed,
    };
    for op in &request.operations {
        let started = SystemTime::now();
        let mut ctx = match batch.context(op) {
            Ok(ctx) => ctx,
            Err(details) => {
                batch.fail(details, started);
                continue;
            }
        };
        let (run, ctx_ref) = (&mut operation, &mut ctx);
        // Moving the borrow into the closure's body makes it `FnOnce`, so the future may keep it.
        let start = move || {
            let ctx = ctx_ref;
            run(ctx)
        };
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
            Ok(future) => match (CatchUnwind { future }).await {
                Ok(value) => std::panic::catch_unwind(AssertUnwindSafe(|| value.into_operation_result())),
                Err(payload) => Err(payload),
            },
            Err(payload) => Err(payload),
        };
        batch.finish(ctx, outcome, started);
    }
    batch.into_result()
}

/// Polls a future, turning a panic inside it into an `Err` with the panic's payload.
struct CatchUnwind<'a, R> {
    future: OperationFuture<'a, R>,
}

impl<R> Future for CatchUnwind<'_, R> {
    type Output = Result<R, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A future that panicked is never polled again: it is dropped with the operation.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The running state of one batch: the committed state and actions, and the results so far.
struct Batch<S> {
    id: EntityId,
    /// The state as of the last successful operation, as JSON text (`None`: no state).
    committed: Option<String>,
    /// The committed state, deserialized, kept while operations succeed.
    cached: Option<(S, bool)>,
    results: Vec<OperationResult>,
    actions: Vec<OperationAction>,
}

impl<S: Serialize + DeserializeOwned + Default> Batch<S> {
    /// A batch for `request`, or the whole batch's failure when its instance id is not an
    /// entity's.
    fn new(request: &EntityBatchRequest) -> Result<Self, Box<EntityBatchResult>> {
        let id = EntityId::parse(&request.instance_id).map_err(|e| {
            Box::new(EntityBatchResult {
                entity_state: request.entity_state.clone(),
                failure_details: Some(failure("InvalidEntityId", e.to_string())),
                ..Default::default()
            })
        })?;
        let committed = request
            .entity_state
            .as_ref()
            .map(|s| s.value.clone())
            .filter(|s| !s.is_empty());
        Ok(Batch {
            id,
            committed,
            cached: None,
            results: Vec::with_capacity(request.operations.len()),
            actions: Vec::new(),
        })
    }

    /// The context of `op`, starting from the committed state.
    fn context(&mut self, op: &OperationRequest) -> Result<EntityContext<S>, TaskFailureDetails> {
        let (state, exists) = match self.cached.take() {
            Some(cached) => cached,
            None => match &self.committed {
                None => (S::default(), false),
                Some(text) => match serde_json::from_str(text) {
                    Ok(state) => (state, true),
                    Err(e) => {
                        return Err(failure(
                            "StateDeserializationError",
                            format!(
                                "the state of entity `{}` does not deserialize as {}: {e}",
                                self.id,
                                std::any::type_name::<S>()
                            ),
                        ));
                    }
                },
            },
        };
        Ok(EntityContext {
            id: self.id.clone(),
            operation: op.operation.clone(),
            input: op.input.as_ref().map(|i| i.value.clone()),
            trace_context: op.trace_context.clone(),
            state,
            exists,
            actions: Vec::new(),
        })
    }

    /// Commits or rolls back the operation `ctx` ran, and records its result.
    fn finish(
        &mut self,
        mut ctx: EntityContext<S>,
        outcome: Result<Result<Option<String>, Error>, Box<dyn Any + Send>>,
        started: SystemTime,
    ) {
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(error)) if is_unknown_operation(&error) && ctx.operation.eq_ignore_ascii_case("delete") => {
                // The implicit `delete`: the entity did not handle it, so it deletes the state.
                ctx.actions.clear();
                ctx.delete_state();
                None
            }
            Ok(Err(error)) => {
                let kind = if is_unknown_operation(&error) {
                    "UnknownOperation"
                } else {
                    "Error"
                };
                return self.fail(failure(kind, error.to_string()), started);
            }
            Err(payload) => {
                let message = format!(
                    "operation `{}` of entity `{}` panicked: {}",
                    ctx.operation,
                    self.id,
                    panic_message(payload.as_ref())
                );
                return self.fail(failure("Panic", message), started);
            }
        };
        let committed = if ctx.exists {
            match json_payload(&ctx.state) {
                Ok(text) => text,
                Err(e) => {
                    let message = format!("the state of entity `{}` does not serialize: {e}", self.id);
                    return self.fail(failure("StateSerializationError", message), started);
                }
            }
        } else {
            None
        };
        let exists = committed.is_some();
        self.committed = committed;
        self.cached = Some((ctx.state, exists));
        for action in ctx.actions {
            self.actions.push(OperationAction {
                id: i32::try_from(self.actions.len()).unwrap_or(i32::MAX),
                operation_action_type: Some(action),
            });
        }
        self.results.push(OperationResult {
            result_type: Some(ResultType::Success(OperationResultSuccess {
                result: result.map(StringValue::from),
                start_time_utc: Some(Timestamp::from_system_time(started)),
                end_time_utc: Some(Timestamp::from_system_time(SystemTime::now())),
            })),
        });
    }

    /// Records a failed operation; the committed state and actions stay as they were.
    fn fail(&mut self, details: TaskFailureDetails, started: SystemTime) {
        // The state the operation changed is dropped; the next one starts from `committed`.
        self.cached = None;
        self.results.push(OperationResult {
            result_type: Some(ResultType::Failure(OperationResultFailure {
                failure_details: Some(details),
                start_time_utc: Some(Timestamp::from_system_time(started)),
                end_time_utc: Some(Timestamp::from_system_time(SystemTime::now())),
            })),
        });
    }

    fn into_result(self) -> EntityBatchResult {
        EntityBatchResult {
            results: self.results,
            actions: self.actions,
            entity_state: self.committed.map(StringValue::from),
            ..Default::default()
        }
    }
}

fn failure(error_type: &str, message: String) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: error_type.to_owned(),
        error_message: message,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The trigger's value and the function's return value
// ---------------------------------------------------------------------------------------------

/// Decodes the `entityTrigger`'s value: base64 of an [`EntityBatchRequest`]. The value may still
/// be JSON-quoted (the custom-handler host encodes string values twice); the quotes are removed.
///
/// ```
/// use azfn::durable::entity::{decode_batch_request, encode_batch_result};
/// use azfn::durable::proto::EntityBatchRequest;
/// use base64::Engine as _;
/// use prost::Message as _;
///
/// let request = EntityBatchRequest { instance_id: "@counter@a".into(), ..Default::default() };
/// let base64 = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
/// assert_eq!(decode_batch_request(&base64).unwrap(), request);
/// assert_eq!(decode_batch_request(&format!("\"{base64}\"")).unwrap(), request);
/// assert!(decode_batch_request("not base64!").is_err());
/// ```
pub fn decode_batch_request(trigger_value: &str) -> Result<EntityBatchRequest, Error> {
    let trimmed = trigger_value.trim();
    let unquoted;
    let base64_text = if trimmed.starts_with('"') {
        unquoted = serde_json::from_str::<String>(trimmed)
            .map_err(|e| Error::msg(format!("the entity trigger's value is not a JSON string: {e}")))?;
        unquoted.trim()
    } else {
        trimmed
    };
    let bytes = base64_simd::STANDARD
        .decode_to_vec(base64_text)
        .map_err(|_| Error::msg("the entity trigger's value is not base64 (standard alphabet, padded)"))?;
    EntityBatchRequest::decode(bytes.as_slice())
        .map_err(|e| Error::msg(format!("the entity trigger's value is not an EntityBatchRequest: {e}")))
}

/// Encodes an entity function's return value: base64 of the [`EntityBatchResult`] (the host
/// expects it as a JSON string).
///
/// ```
/// use azfn::durable::entity::encode_batch_result;
/// use azfn::durable::proto::EntityBatchResult;
/// assert_eq!(encode_batch_result(&EntityBatchResult { entity_state: Some("1".into()), ..Default::default() }), "GgMKATE=");
/// ```
pub fn encode_batch_result(result: &EntityBatchResult) -> String {
    base64::engine::general_purpose::STANDARD.encode(result.encode_to_vec())
}

// ---------------------------------------------------------------------------------------------
// Helpers the durable client shares: times and GUIDs
// ---------------------------------------------------------------------------------------------

/// 16 random bytes shaped as a version-4 GUID.
pub(crate) fn new_guid() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// A new GUID as 32 hex digits (.NET's `N` format), as instance ids are generated.
pub(crate) fn guid_simple() -> String {
    guid::simple(&new_guid())
}

/// A new GUID as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub(crate) fn guid_hyphenated() -> String {
    guid::hyphenated(&new_guid())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn guids_are_version_4_and_distinct() {
        let ids: HashSet<String> = (0..1000).map(|_| guid_simple()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert_eq!(&id[12..13], "4");
            assert!(matches!(&id[16..17], "8" | "9" | "a" | "b"), "{id}");
        }
        let hyphenated = guid_hyphenated();
        let groups: Vec<usize> = hyphenated.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn unknown_operation_errors_are_recognized_and_others_are_not() {
        let ctx = EntityContext {
            id: EntityId::new("a", "b"),
            operation: "x".into(),
            input: None,
            trace_context: None,
            state: 0u8,
            exists: false,
            actions: Vec::new(),
        };
        assert!(is_unknown_operation(&ctx.unknown_operation()));
        assert_eq!(
            ctx.unknown_operation().to_string(),
            "entity `@a@b` has no operation `x`"
        );
        assert!(!is_unknown_operation(&Error::msg("entity `@a@b` has no operation `x`")));
    }
}
