//! Per-invocation services: values an app's factory builds for one invocation from its context
//! (a request-scoped logger, a unit of work, a client carrying the caller's token), as the
//! scoped lifetime of .NET's dependency injection does. Functions take them as [`Scoped<T>`].
//!
//! Two kinds of factory, because parameters are read synchronously (the generated code calls
//! [`FromInvocation`](crate::FromInvocation) without awaiting):
//!
//! - a synchronous one ([`ScopedFactories::add_sync`], `App::scoped`) runs when the parameter
//!   is read, so only the functions that take `Scoped<T>` pay for it;
//! - an asynchronous one ([`ScopedFactories::add_async`], `App::scoped_async`) runs before the
//!   middleware, for every invocation of the functions it applies to, and its value waits in
//!   the invocation until the parameter takes it (or the invocation ends).
//!
//! Either way each invocation gets its own value, owned by the function's parameter: it is
//! dropped when the function returns (or whenever the function lets go of it), before the
//! answer leaves, so a unit of work can roll back in its `Drop` unless committed. A factory's
//! error fails that invocation only ([`InvocationError::Scoped`]).

use std::any::type_name;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::error::InvocationError;
use crate::extensions::Extensions;
use crate::extract::{AnyTrigger, Parameter};
use crate::function::FunctionDescription;
use crate::invocation::Invocation;
use crate::middleware::Predicate;

/// A value built for this invocation by the app's factory (`App::scoped`, `App::scoped_async`),
/// owned by the function: dropped when the function lets go of it, at the latest when it returns.
///
/// ```no_run
/// use azfn::Invocation;
/// use azfn::prelude::*;
///
/// /// A logger that tags every line with the invocation.
/// struct RequestLog { invocation_id: String }
///
/// impl RequestLog {
///     fn info(&self, message: &str) {
///         tracing::info!(invocation = %self.invocation_id, "{message}");
///     }
/// }
///
/// #[function(http_trigger(methods = "get"))]
/// async fn hello(log: Scoped<RequestLog>) -> &'static str {
///     log.info("saying hello");
///     "hello"
/// }
///
/// fn main() {
///     azfn::App::new()
///         .scoped(|invocation: &Invocation| {
///             Ok::<_, std::convert::Infallible>(RequestLog { invocation_id: invocation.invocation_id.clone() })
///         })
///         .run();
/// }
/// ```
#[derive(Debug)]
pub struct Scoped<T>(pub T);

impl<T> Scoped<T> {
    /// The value itself (to hand it on, or to consume it: `unit_of_work.into_inner().commit()`).
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Scoped<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Scoped<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// What an asynchronous factory's future ends with: the value, ready to be left in the
/// invocation, or the factory's error.
type Inserter = Box<dyn FnOnce(&mut Extensions) + Send>;

/// The future of an asynchronous factory, its value type erased.
pub type Building = Pin<Box<dyn Future<Output = Result<Inserter, InvocationError>> + Send>>;

/// A synchronous factory of `T`, kept in the app's state, where `Scoped<T>` finds it.
struct SyncFactory<T>(Box<SyncBuild<T>>);

/// A synchronous factory's function, its error turned into text.
type SyncBuild<T> = dyn Fn(&Invocation) -> Result<T, String> + Send + Sync;

/// Marks in the app's state that an asynchronous factory of `T` exists, so that a function it
/// does not apply to is told so.
struct AsyncRegistered<T>(std::marker::PhantomData<fn() -> T>);

/// The value an asynchronous factory built for one invocation, until the parameter takes it.
struct Prebuilt<T>(Mutex<Option<T>>);

/// An asynchronous factory: which functions it applies to, and how it starts.
#[derive(Clone)]
struct AsyncFactory {
    applies_to: Option<Predicate>,
    start: Arc<dyn Fn(&Invocation) -> Building + Send + Sync>,
}

/// The app's asynchronous scoped factories, which dispatch runs before the middleware (the
/// synchronous ones live in the app's state, where the parameter finds them).
#[derive(Clone, Default)]
pub struct ScopedFactories {
    asynchronous: Vec<AsyncFactory>,
}

impl std::fmt::Debug for ScopedFactories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedFactories")
            .field("asynchronous", &self.asynchronous.len())
            .finish()
    }
}

fn scoped_error<T>(message: impl Display) -> InvocationError {
    InvocationError::Scoped {
        service: type_name::<T>().to_owned(),
        message: message.to_string(),
    }
}

impl ScopedFactories {
    /// Registers a synchronous factory of `T` in `state`, run when a parameter `Scoped<T>` is
    /// read. One factory per type: a later one replaces an earlier one.
    pub fn add_sync<T, E, F>(state: &mut Extensions, factory: F)
    where
        T: Send + 'static,
        E: Display,
        F: Fn(&Invocation) -> Result<T, E> + Send + Sync + 'static,
    {
        state.insert(SyncFactory::<T>(Box::new(move |invocation| {
            factory(invocation).map_err(|e| e.to_string())
        })));
    }

    /// Registers an asynchronous factory of `T`, run before the middleware of every invocation
    /// of the functions `applies_to` accepts (all of them when `None`). The factory reads what it
    /// needs from the invocation and returns a future that owns it.
    pub fn add_async<T, E, F, Fut>(&mut self, state: &mut Extensions, applies_to: Option<Predicate>, factory: F)
    where
        T: Send + 'static,
        E: Display,
        F: Fn(&Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        state.insert(AsyncRegistered::<T>(std::marker::PhantomData));
        let start = move |invocation: &Invocation| -> Building {
            let building = factory(invocation);
            Box::pin(async move {
                match building.await {
                    Ok(value) => Ok(Box::new(move |extensions: &mut Extensions| {
                        extensions.insert(Prebuilt(Mutex::new(Some(value))));
                    }) as Inserter),
                    Err(error) => Err(scoped_error::<T>(error)),
                }
            })
        };
        self.asynchronous.push(AsyncFactory {
            applies_to,
            start: Arc::new(start),
        });
    }

    /// Starts the asynchronous factories that apply to `function` on `invocation`; empty when
    /// none does (the common case, which then costs nothing).
    pub fn start(&self, function: &FunctionDescription, invocation: &Invocation) -> Vec<Building> {
        self.asynchronous
            .iter()
            .filter(|factory| factory.applies_to.as_ref().is_none_or(|applies| applies(function)))
            .map(|factory| (factory.start)(invocation))
            .collect()
    }

    /// Awaits the started factories in turn and leaves their values in `invocation`; the first
    /// error is the invocation's.
    pub async fn finish(building: Vec<Building>, invocation: &mut Invocation) -> Result<(), InvocationError> {
        for built in building {
            let insert = built.await?;
            insert(&mut invocation.extensions);
        }
        Ok(())
    }
}

impl<T: Send + 'static> Parameter for Scoped<T> {
    type Owner = AnyTrigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        if let Some(prebuilt) = invocation.extensions.get::<Prebuilt<T>>() {
            let taken = prebuilt
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            return taken.map(Scoped).ok_or_else(|| {
                scoped_error::<T>(
                    "a function takes one `Scoped` of a type: this one was already taken by another parameter",
                )
            });
        }
        if let Some(factory) = invocation.state.get::<SyncFactory<T>>() {
            return (factory.0)(invocation).map(Scoped).map_err(scoped_error::<T>);
        }
        let function = invocation.function.name;
        Err(scoped_error::<T>(
            if invocation.state.get::<AsyncRegistered<T>>().is_some() {
                format!("its `App::scoped_async_for` factory does not apply to the function `{function}`")
            } else {
                "no factory was registered for it: add one with `App::new().scoped(...)` or `App::new().scoped_async(...)`"
                .to_owned()
            },
        ))
    }
}
