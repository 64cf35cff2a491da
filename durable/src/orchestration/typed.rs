//! Durable calls checked by the compiler: the function item is the reference.
//!
//! `#[function(activity_trigger)]`, `#[function(orchestration_trigger)]` and
//! `#[function(entity_trigger)]` implement [`Activity`], [`Orchestration`] and [`Entity`] for
//! the function's item (a unit struct standing for the function, which still calls like it), so
//! `ctx.call(say_hello, &city)` takes the host name, the input type and the output type from
//! the function itself: a typo is an unknown name, a wrong input a type error at the argument,
//! a non-activity an error saying so. The string forms (`call_activity("name", ...)`) remain,
//! for functions of other apps.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{OrchestrationContext, SubOrchestratorOptions, to_json};
use super::entity_id::EntityId;
use super::task::{DurableTask, RetryPolicy};

/// An activity function, as `#[function(activity_trigger)]` declares it: its host name and
/// types, for [`OrchestrationContext::call`].
///
/// `Input` is the type of the activity's input parameter (`()` when it takes none), `Output`
/// the `Ok` type of its `Result` (or its plain return type). Implemented by the macro only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activity",
    label = "expected an `#[function(activity_trigger)]` function here",
    note = "`call` and `call_with_retry` take an activity; an orchestrator is started with `call_orchestration`",
    note = "to call an activity of another app, name it: `ctx.call_activity::<Output, _>(\"name\", &input)`"
)]
pub trait Activity {
    /// The activity's name in the host (`name = "..."` of `#[function]`, else the function's).
    const NAME: &'static str;
    /// What the activity takes.
    type Input;
    /// What the activity answers.
    type Output;
}

/// An orchestrator function, as `#[function(orchestration_trigger)]` declares it: its host name
/// and types, for [`OrchestrationContext::call_orchestration`] and
/// [`DurableClient::start_orchestration`](crate::DurableClient::start_orchestration).
///
/// `Input` is the type of the orchestrator's second parameter,
/// `async fn process_order(ctx: OrchestrationContext, order: Order)`; an orchestrator that takes
/// only its context reads its input itself (`ctx.input()`), so its `Input` is
/// `dyn DurableInput`: any serializable value. `Output` is the `Ok` type of its `Result`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an orchestrator",
    label = "expected an `#[function(orchestration_trigger)]` function here",
    note = "`call_orchestration` and `start_orchestration` take an orchestrator; an activity is called with `call`",
    note = "to start an orchestrator of another app, name it: `ctx.call_sub_orchestrator::<Output, _>(\"name\", &input)`"
)]
pub trait Orchestration {
    /// The orchestrator's name in the host.
    const NAME: &'static str;
    /// What the orchestrator takes.
    type Input: ?Sized;
    /// What the orchestrator answers.
    type Output;

    /// Runs the orchestrator on `context`, its input read from the instance's when it takes
    /// one: what a test driver that takes a `Fn(OrchestrationContext) -> Future` runs,
    /// `|ctx| process_order.run(ctx)`.
    fn run(self, context: OrchestrationContext) -> OrchestrationFuture<Self::Output>;
}

/// The future of one run of an orchestrator, from [`Orchestration::run`].
pub type OrchestrationFuture<T> = Pin<Box<dyn Future<Output = Result<T, azfn_core::Error>>>>;

/// An entity, as `#[function(entity_trigger)]` declares it on a function or `#[entity]` on an
/// `impl` block: its host name, for [`EntityId::of`] and [`EntityId::of_type`]. A function's
/// operations are strings it reads at run time; an `#[entity]` block's are its methods, named
/// by [`Operation`] constants and checked by the compiler.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an entity",
    label = "expected an `#[function(entity_trigger)]` function or an `#[entity]` type here",
    note = "to name an entity of another app, write `EntityId::new(\"name\", key)`"
)]
pub trait Entity {
    /// The entity's name in the host (entity names are compared lower-cased).
    const NAME: &'static str;
}

/// A value that can be a durable input: every `Serialize` type, and `dyn DurableInput`, the
/// input of an orchestrator that reads its input itself (any serializable value is accepted
/// there, as with the string forms).
pub trait DurableInput {
    /// The value as the wire has it: JSON text, `None` for JSON `null`.
    fn to_json(&self) -> Result<Option<String>, serde_json::Error>;
}

impl<T: serde::Serialize> DurableInput for T {
    fn to_json(&self) -> Result<Option<String>, serde_json::Error> {
        to_json(self)
    }
}

impl OrchestrationContext {
    /// Schedules `activity` (an `#[function(activity_trigger)]` function) with `input` and
    /// returns its task, which gives the activity's output: the name, the input type and the
    /// output type come from the function, so a mistake in any of them does not compile.
    ///
    /// ```
    /// use azfn::durable::OrchestrationContext;
    /// use azfn::prelude::*;
    ///
    /// #[function(activity_trigger)]
    /// fn say_hello(city: String) -> String {
    ///     format!("Hello, {city}!")
    /// }
    ///
    /// #[function(orchestration_trigger)]
    /// async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, azfn::Error> {
    ///     let mut greetings = Vec::new();
    ///     for city in ["Tokyo", "Seattle"] {
    ///         greetings.push(ctx.call(say_hello, &city.to_owned()).await?);
    ///     }
    ///     Ok(greetings)
    /// }
    /// ```
    ///
    /// It is `call_activity(A::NAME, input)` with the types checked; use that string form for
    /// an activity of another app.
    pub fn call<A>(&self, activity: A, input: &A::Input) -> DurableTask<A::Output>
    where
        A: Activity,
        A::Input: Serialize,
        A::Output: DeserializeOwned,
    {
        let _ = activity;
        self.call_activity(A::NAME, input)
    }

    /// [`call`](Self::call), retrying failed attempts as `policy` says (as
    /// [`call_activity_with_retry`](Self::call_activity_with_retry) does).
    ///
    /// ```
    /// # use azfn::durable::{OrchestrationContext, RetryPolicy};
    /// # use azfn::prelude::*;
    /// # use std::time::Duration;
    /// #[function(activity_trigger)]
    /// fn flaky(attempt: u32) -> Result<u32, azfn::Error> {
    ///     Ok(attempt)
    /// }
    ///
    /// #[function(orchestration_trigger)]
    /// async fn retrying(ctx: OrchestrationContext) -> Result<u32, azfn::Error> {
    ///     let policy = RetryPolicy::new(5, Duration::from_secs(10));
    ///     Ok(ctx.call_with_retry(flaky, &1, policy).await?)
    /// }
    /// ```
    pub fn call_with_retry<A>(&self, activity: A, input: &A::Input, policy: RetryPolicy) -> DurableTask<A::Output>
    where
        A: Activity,
        A::Input: Serialize,
        A::Output: DeserializeOwned,
    {
        let _ = activity;
        self.call_activity_with_retry(A::NAME, input, policy)
    }

    /// Starts `orchestrator` (an `#[function(orchestration_trigger)]` function) as a
    /// sub-orchestration with `input` and returns its task, which gives the child's output; the
    /// name and types come from the function. It schedules exactly what
    /// [`call_sub_orchestrator`](Self::call_sub_orchestrator) does with the same name.
    ///
    /// ```
    /// use azfn::durable::OrchestrationContext;
    /// use azfn::prelude::*;
    ///
    /// #[function(orchestration_trigger)]
    /// async fn ship(ctx: OrchestrationContext, parcel: u32) -> Result<bool, azfn::Error> {
    ///     Ok(parcel > 0)
    /// }
    ///
    /// #[function(orchestration_trigger)]
    /// async fn order(ctx: OrchestrationContext) -> Result<bool, azfn::Error> {
    ///     Ok(ctx.call_orchestration(ship, &42).await?)
    /// }
    /// ```
    pub fn call_orchestration<O>(&self, orchestrator: O, input: &O::Input) -> DurableTask<O::Output>
    where
        O: Orchestration,
        O::Input: DurableInput,
        O::Output: DeserializeOwned,
    {
        self.call_orchestration_with_options(orchestrator, input, SubOrchestratorOptions::default())
    }

    /// [`call_orchestration`](Self::call_orchestration) with an instance id, a retry policy
    /// or a version ([`SubOrchestratorOptions`]).
    pub fn call_orchestration_with_options<O>(
        &self,
        orchestrator: O,
        input: &O::Input,
        options: SubOrchestratorOptions,
    ) -> DurableTask<O::Output>
    where
        O: Orchestration,
        O::Input: DurableInput,
        O::Output: DeserializeOwned,
    {
        let _ = orchestrator;
        self.schedule_sub_orchestrator(O::NAME, input.to_json(), options)
    }
}

impl EntityId {
    /// The id of the entity `entity` (an `#[function(entity_trigger)]` function) with `key`:
    /// the name comes from the function, so it cannot be misspelt. Operations stay strings.
    ///
    /// ```
    /// use azfn::durable::{EntityContext, EntityId};
    /// use azfn::prelude::*;
    ///
    /// #[function(entity_trigger, name = "Counter")]
    /// fn counter(ctx: &mut EntityContext<i64>) -> i64 {
    ///     *ctx.state()
    /// }
    ///
    /// assert_eq!(EntityId::of(counter, "daily"), EntityId::new("Counter", "daily"));
    /// assert_eq!(EntityId::of(counter, "daily").to_string(), "@counter@daily");
    /// ```
    pub fn of<E: Entity>(entity: E, key: impl Into<String>) -> EntityId {
        let _ = entity;
        EntityId::new(E::NAME, key)
    }

    /// The id of the entity type `E` (the type of an `#[entity]` `impl` block) with `key`, the
    /// name taken from the type.
    ///
    /// ```
    /// use azfn::durable::EntityId;
    /// use azfn::prelude::*;
    ///
    /// #[derive(Default, serde::Serialize, serde::Deserialize)]
    /// struct Meter(i64);
    ///
    /// #[entity]
    /// impl Meter {
    ///     pub fn get(&self) -> i64 {
    ///         self.0
    ///     }
    /// }
    ///
    /// assert_eq!(EntityId::of_type::<Meter>("daily").to_string(), "@meter@daily");
    /// ```
    pub fn of_type<E: Entity>(key: impl Into<String>) -> EntityId {
        EntityId::new(E::NAME, key)
    }
}

/// One operation of an `#[entity]` type, as the compiler knows it: the entity `E`, the
/// operation's name, what it takes (`I`, `()` for nothing) and what it answers (`O`, the `Ok`
/// type of a `Result`). `#[entity]` makes one constant per operation, named as the method in
/// capitals (`add_item` → `Cart::ADD_ITEM`), so a call names the entity, the operation and
/// the types at once and a mistake in any of them does not compile.
///
/// ```
/// use azfn::durable::OrchestrationContext;
/// use azfn::prelude::*;
///
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// pub struct Score {
///     value: i64,
/// }
///
/// #[entity]
/// impl Score {
///     pub fn add(&mut self, amount: i64) -> i64 {
///         self.value += amount;
///         self.value
///     }
///
///     pub fn reset(&mut self) {
///         self.value = 0;
///     }
/// }
///
/// #[function(orchestration_trigger)]
/// async fn tally(ctx: OrchestrationContext) -> Result<i64, azfn::Error> {
///     ctx.signal_operation(Score::RESET, "daily", &())?;
///     Ok(ctx.call_operation(Score::ADD, "daily", &5).await?)
/// }
///
/// assert_eq!(Score::ADD.name(), "add");
/// ```
pub struct Operation<E, I, O> {
    name: &'static str,
    // `fn` keeps the marker `Send`, `Sync` and `Copy` whatever the types are.
    types: PhantomData<fn(E, I) -> O>,
}

impl<E, I, O> Operation<E, I, O> {
    /// The operation `name` of `E`. `#[entity]` makes these; a hand-made one is only as
    /// right as its name and types.
    pub const fn new(name: &'static str) -> Self {
        Operation {
            name,
            types: PhantomData,
        }
    }

    /// The operation's name, as it goes on the wire.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<E: Entity, I, O> Operation<E, I, O> {
    /// The id of the entity of this operation with `key`.
    pub fn entity_id(&self, key: impl Into<String>) -> EntityId {
        EntityId::of_type::<E>(key)
    }
}

impl<E, I, O> Clone for Operation<E, I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, I, O> Copy for Operation<E, I, O> {}

impl<E, I, O> std::fmt::Debug for Operation<E, I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Operation").field(&self.name).finish()
    }
}

impl OrchestrationContext {
    /// Calls `operation` of the entity with `key` and returns its task, which gives the
    /// operation's result: the entity's name, the operation's name and both types come from
    /// the `#[entity]` type. It sends exactly what [`call_entity`](Self::call_entity) sends
    /// with the same names, and follows the same critical-section rules.
    pub fn call_operation<E, I, O>(&self, operation: Operation<E, I, O>, key: &str, input: &I) -> DurableTask<O>
    where
        E: Entity,
        I: Serialize,
        O: DeserializeOwned,
    {
        self.call_entity(&operation.entity_id(key), operation.name, input)
    }

    /// Signals `operation` of the entity with `key` (fire and forget), as
    /// [`signal_entity`](Self::signal_entity) does with the same names.
    pub fn signal_operation<E, I, O>(
        &self,
        operation: Operation<E, I, O>,
        key: &str,
        input: &I,
    ) -> Result<(), serde_json::Error>
    where
        E: Entity,
        I: Serialize,
    {
        self.signal_entity(&operation.entity_id(key), operation.name, input)
    }

    /// Signals `operation` of the entity with `key`, delivered at `at`, as
    /// [`signal_entity_at`](Self::signal_entity_at) does with the same names.
    pub fn signal_operation_at<E, I, O>(
        &self,
        operation: Operation<E, I, O>,
        key: &str,
        input: &I,
        at: SystemTime,
    ) -> Result<(), serde_json::Error>
    where
        E: Entity,
        I: Serialize,
    {
        self.signal_entity_at(&operation.entity_id(key), operation.name, input, at)
    }
}
