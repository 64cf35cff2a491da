//! Where the driver's activities come from: closures, or the app's activity functions.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::proto::TaskFailureDetails;

/// The future of one activity run: the result's JSON text (`None` for no result), or why it
/// failed.
pub type ActivityFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, TaskFailureDetails>> + Send + 'a>>;

/// Runs activities by name for the driver. [`MockActivities`] implements it for closures; an
/// adapter over the app's registered activity functions can implement it to run the real ones.
///
/// ```
/// use azfn::durable::driver::{ActivityFuture, ActivityRunner};
///
/// /// Echoes every input back.
/// struct Echo;
///
/// impl ActivityRunner for Echo {
///     fn run<'a>(&'a self, _name: &'a str, input: Option<String>) -> ActivityFuture<'a> {
///         Box::pin(async move { Ok(input) })
///     }
/// }
/// ```
pub trait ActivityRunner: Send + Sync {
    /// Runs the activity `name` with `input` (JSON text; `None` for no input).
    fn run<'a>(&'a self, name: &'a str, input: Option<String>) -> ActivityFuture<'a>;
}

type MockFn = Box<dyn Fn(Option<String>) -> ActivityFuture<'static> + Send + Sync>;

/// Activities made of closures, by name. An unknown name fails the activity with error type
/// `ActivityNotFound`.
///
/// ```
/// use azfn::durable::driver::MockActivities;
///
/// let activities = MockActivities::new()
///     .activity("Double", |n: i64| Ok::<_, String>(n * 2))
///     .async_activity("Fetch", |url: String| async move {
///         if url.starts_with("https://") { Ok(url.len()) } else { Err("insecure") }
///     });
/// # let _ = activities;
/// ```
#[derive(Default)]
pub struct MockActivities {
    activities: HashMap<String, MockFn>,
}

impl fmt::Debug for MockActivities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockActivities")
            .field("activities", &self.activities.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The failure of a mock activity that returned `Err(error)`.
fn mock_failure(error: impl fmt::Display) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: "Error".into(),
        error_message: error.to_string(),
        ..Default::default()
    }
}

fn decode_input<I: DeserializeOwned>(input: Option<&str>) -> Result<I, TaskFailureDetails> {
    serde_json::from_str(input.unwrap_or("null")).map_err(|e| TaskFailureDetails {
        error_type: "DeserializationError".into(),
        error_message: format!("the activity input does not decode: {e}"),
        ..Default::default()
    })
}

fn encode_output<O: Serialize>(output: &O) -> Result<Option<String>, TaskFailureDetails> {
    serde_json::to_string(output)
        .map(|text| (text != "null").then_some(text))
        .map_err(mock_failure)
}

impl MockActivities {
    /// No activities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the activity `name`: `f` gets the input decoded as `I`; `Ok` completes the activity
    /// with the value as JSON, `Err` fails it with the error's text (error type `Error`).
    pub fn activity<I, O, E, F>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned,
        O: Serialize,
        E: fmt::Display,
        F: Fn(I) -> Result<O, E> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let run: MockFn = Box::new(move |input| {
            let result = decode_input::<I>(input.as_deref())
                .and_then(|input| f(input).map_err(mock_failure))
                .and_then(|output| encode_output(&output));
            Box::pin(std::future::ready(result))
        });
        self.activities.insert(name.to_owned(), run);
        self
    }

    /// Adds the async activity `name`, as [`activity`](Self::activity).
    pub fn async_activity<I, O, E, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned,
        O: Serialize,
        E: fmt::Display,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: MockFn = Box::new(move |input| {
            let started = decode_input::<I>(input.as_deref()).map(|input| f(input));
            Box::pin(async move {
                match started {
                    Ok(future) => future
                        .await
                        .map_err(mock_failure)
                        .and_then(|output| encode_output(&output)),
                    Err(details) => Err(details),
                }
            })
        });
        self.activities.insert(name.to_owned(), run);
        self
    }

    /// Adds an activity that fails with these details (for example non-retriable ones).
    pub fn failing(mut self, name: &str, details: TaskFailureDetails) -> Self {
        let run: MockFn = Box::new(move |_| Box::pin(std::future::ready(Err(details.clone()))));
        self.activities.insert(name.to_owned(), run);
        self
    }
}

impl ActivityRunner for MockActivities {
    fn run<'a>(&'a self, name: &'a str, input: Option<String>) -> ActivityFuture<'a> {
        match self.activities.get(name) {
            Some(run) => run(input),
            None => Box::pin(std::future::ready(Err(TaskFailureDetails {
                error_type: "ActivityNotFound".into(),
                error_message: format!("no activity named `{name}` is registered with the driver"),
                ..Default::default()
            }))),
        }
    }
}

impl MockActivities {
    /// Whether an activity `name` is mocked.
    pub fn has(&self, name: &str) -> bool {
        self.activities.contains_key(name)
    }
}

/// The app's own `#[function(activity_trigger)]` functions, run through its middleware exactly
/// as the host invokes them (the input as JSON text, the result from the return value), with
/// mocks taking the place of the ones a test replaces.
///
/// ```
/// use azfn::durable::OrchestrationContext;
/// use azfn::durable::driver::{AppActivities, MockActivities, OrchestrationDriver};
/// use azfn::prelude::*;
///
/// #[function(activity_trigger)]
/// async fn shout(word: String) -> String {
///     word.to_uppercase()
/// }
///
/// async fn greet(ctx: OrchestrationContext) -> Result<String, azfn::Error> {
///     let loud: String = ctx.call_activity("shout", &"hi").await?;
///     let name: String = ctx.call_activity("lookup_name", &()).await?;
///     Ok(format!("{loud}, {name}"))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mocks = MockActivities::new().activity("lookup_name", |_: ()| Ok::<_, String>("Ferris"));
/// let result = OrchestrationDriver::new(AppActivities::with_mocks(mocks))
///     .orchestrator("greet", greet)
///     .run("greet", &())
///     .await;
/// assert_eq!(result.output::<String>().unwrap(), "HI, Ferris");
/// # });
/// ```
#[derive(Debug, Default)]
pub struct AppActivities {
    mocks: MockActivities,
}

impl AppActivities {
    /// The app's activities, none mocked.
    pub fn new() -> Self {
        AppActivities::default()
    }

    /// The app's activities, with `mocks` run instead of the app's functions of those names
    /// (and as activities the app does not have).
    pub fn with_mocks(mocks: MockActivities) -> Self {
        AppActivities { mocks }
    }
}

impl ActivityRunner for AppActivities {
    fn run<'a>(&'a self, name: &'a str, input: Option<String>) -> ActivityFuture<'a> {
        let function = azfn_core::function::Registry::global()
            .ok()
            .and_then(|registry| registry.get(name))
            .filter(|f| f.trigger().kind.json_type == azfn_bindings::catalog::ACTIVITY_TRIGGER.json_type);
        let Some(function) = function.filter(|_| !self.mocks.has(name)) else {
            return self.mocks.run(name, input);
        };
        Box::pin(async move {
            let mut invocation = azfn_core::invocation::Invocation::new(function, format!("driver-{name}"));
            let value = input.map_or(azfn_core::data::BindingData::Null, azfn_core::data::BindingData::Text);
            invocation.data.insert(function.trigger().name.to_owned(), value);
            match azfn_core::dispatch::invoke(invocation).await {
                Ok(outputs) => Ok(outputs.return_value.map(|value| match value {
                    azfn_core::invocation::OutputValue::Json(json) => json.to_string(),
                    azfn_core::invocation::OutputValue::Text(text) => serde_json::Value::String(text).to_string(),
                    other => format!("{other:?}"),
                })),
                Err(error) => Err(TaskFailureDetails {
                    error_type: "ActivityFailed".into(),
                    error_message: error.to_string(),
                    ..Default::default()
                }),
            }
        })
    }
}
