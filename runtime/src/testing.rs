//! Testing functions in-process: invoke any registered function with typed inputs and read
//! its typed outputs, through the app's middleware and state, with no server and no host.
//!
//! ```
//! use azfn::prelude::*;
//! use azfn::testing::{TestApp, Trigger};
//!
//! #[function(http_trigger(route = "greet/{name}", methods = "get"))]
//! async fn greet(req: HttpRequest) -> String {
//!     format!("Hello, {}!", req.param("name").unwrap_or("world"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = TestApp::new(azfn::App::new());
//! let request = HttpRequest::builder().param("name", "Ferris").build();
//! let outputs = app.invoke("greet", Trigger::http(request)).await.unwrap();
//! assert_eq!(outputs.http_response().unwrap().body(), b"Hello, Ferris!");
//! # }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::app::App;
use crate::data::{BindingData, DecodeError};
use crate::dispatch::Pipeline;
use crate::error::InvocationError;
use crate::function::Registry;
use crate::http::{HttpRequest, HttpResponse};
use crate::invocation::{Invocation, LogLine, OutputValue, Outputs, RetryContext};
use crate::triggers::{QueueTriggerMetadata, TimerInfo};

/// An app under test: its state and middleware, and every function linked into the test binary.
pub struct TestApp {
    pipeline: Pipeline,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").finish_non_exhaustive()
    }
}

/// What a test invocation receives: the trigger's value, input bindings, metadata.
#[derive(Debug, Clone)]
pub struct Trigger {
    value: BindingData,
    inputs: Vec<(String, BindingData)>,
    metadata: Map<String, Value>,
    retry: Option<RetryContext>,
}

fn json_of<T: Serialize>(value: &T) -> BindingData {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => BindingData::Text(text),
        Ok(Value::Null) => BindingData::Null,
        Ok(other) => BindingData::Json(other),
        Err(e) => BindingData::Text(format!("<cannot serialize the test value: {e}>")),
    }
}

impl Trigger {
    fn of(value: BindingData) -> Self {
        Trigger {
            value,
            inputs: Vec::new(),
            metadata: Map::new(),
            retry: None,
        }
    }

    /// An HTTP request.
    pub fn http(request: HttpRequest) -> Self {
        let mut trigger = Trigger::of(BindingData::Http(request.clone()));
        for (name, value) in request.params() {
            trigger.metadata.insert(name.clone(), Value::String(value.clone()));
        }
        trigger
    }

    /// A queue message: text as it is, anything else as JSON.
    pub fn queue<T: Serialize>(message: &T) -> Self {
        Trigger::of(json_of(message))
    }

    /// A queue message with its metadata.
    pub fn queue_with(message: impl Serialize, metadata: &QueueTriggerMetadata) -> Self {
        let mut trigger = Trigger::queue(&message);
        let fields = [
            ("Id", Value::from(metadata.id.clone())),
            ("DequeueCount", Value::from(metadata.dequeue_count)),
            ("InsertionTime", Value::from(metadata.insertion_time.clone())),
            ("ExpirationTime", Value::from(metadata.expiration_time.clone())),
            ("NextVisibleTime", Value::from(metadata.next_visible_time.clone())),
            ("PopReceipt", Value::from(metadata.pop_receipt.clone())),
        ];
        for (key, value) in fields {
            trigger.metadata.insert(key.to_owned(), value);
        }
        trigger
    }

    /// A timer tick.
    pub fn timer(timer: &TimerInfo) -> Self {
        Trigger::of(BindingData::Json(timer.to_json()))
    }

    /// Raw bytes (a blob's content).
    pub fn bytes(content: impl Into<Vec<u8>>) -> Self {
        Trigger::of(BindingData::Bytes(content.into()))
    }

    /// Any serializable payload.
    pub fn json<T: Serialize>(value: &T) -> Self {
        Trigger::of(json_of(value))
    }

    /// Sets an input binding's value (`None`-like values: pass `()` to mean "no value").
    pub fn with_input<T: Serialize>(mut self, binding: &str, value: &T) -> Self {
        self.inputs.push((binding.to_owned(), json_of(value)));
        self
    }

    /// Sets an input binding's value to raw bytes.
    pub fn with_input_bytes(mut self, binding: &str, value: impl Into<Vec<u8>>) -> Self {
        self.inputs.push((binding.to_owned(), BindingData::Bytes(value.into())));
        self
    }

    /// Sets a trigger metadata entry.
    pub fn with_metadata(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }

    /// Marks the invocation as a retry.
    pub fn with_retry(mut self, retry: RetryContext) -> Self {
        self.retry = Some(retry);
        self
    }
}

impl TestApp {
    /// The app under test, with its state and middleware.
    ///
    /// Mounted HTTP services join the registry here, as they do when the app runs: create the
    /// `TestApp` before anything reads the registry.
    pub fn new(mut app: App) -> Self {
        if let Err(message) = app.register_functions() {
            eprintln!("azfn: {message}");
        }
        TestApp {
            pipeline: app.into_pipeline(),
        }
    }

    /// Sets an app setting (`"Database__Port"`, `"5432"`) for the functions' `Config<T>`
    /// parameters, leaving the process environment alone. Once one is set, they read only the
    /// settings set here (and any `Settings` the app registered), not the environment.
    pub fn with_setting(mut self, name: &str, value: &str) -> Self {
        let state = std::sync::Arc::make_mut(&mut self.pipeline.state);
        let mut settings = state.get::<crate::Settings>().cloned().unwrap_or_default();
        settings.set(name, value);
        state.insert(settings);
        self
    }

    /// Invokes the function called `function` (case-insensitive) as the host would.
    ///
    /// `Err` is a failed invocation, the host's failure: a plain error, a panic or a timeout, an
    /// HTTP function's included. An HTTP function's error that carries a status is `Ok`, with
    /// that response.
    pub async fn invoke(&self, function: &str, trigger: Trigger) -> Result<TestOutputs, InvocationError> {
        let registry = Registry::global().map_err(|e| InvocationError::MalformedRequest(e.to_string()))?;
        let description = registry
            .get(function)
            .ok_or_else(|| InvocationError::UnknownFunction(function.to_owned()))?;
        let mut invocation = Invocation::new(description, format!("test-{function}"));
        invocation
            .data
            .insert(description.trigger().name.to_owned(), trigger.value);
        for (name, value) in trigger.inputs {
            let key = description.binding(&name).map_or(name, |b| b.name.to_owned());
            invocation.data.insert(key, value);
        }
        invocation.metadata = trigger.metadata.into();
        invocation.retry = trigger.retry;
        let mut outputs = self.pipeline.invoke(invocation).await?;
        // Streamed bodies are read to their end, so that tests see them whole.
        outputs.collect_streamed_bodies().await;
        Ok(TestOutputs(outputs))
    }
}

/// What a test invocation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutputs(pub Outputs);

fn decode_output<T: DeserializeOwned>(value: &OutputValue) -> Result<T, DecodeError> {
    let data = match value {
        OutputValue::Text(text) => BindingData::Text(text.clone()),
        OutputValue::Bytes(bytes) => BindingData::Bytes(bytes.clone()),
        OutputValue::Json(json) => BindingData::Json(json.clone()),
        OutputValue::Http(response) => BindingData::Bytes(response.body().to_vec()),
    };
    data.decode()
}

impl TestOutputs {
    /// The HTTP response, wherever the function put it.
    pub fn http_response(&self) -> Option<&HttpResponse> {
        self.0.http_response()
    }

    /// The value written to the named output `binding`, read as `T` (`Vec<T>` for several
    /// messages). `None` when nothing was written.
    pub fn output<T: DeserializeOwned>(&self, binding: &str) -> Option<Result<T, DecodeError>> {
        self.0.get(binding).map(decode_output)
    }

    /// The `$return` value, read as `T`.
    pub fn return_value<T: DeserializeOwned>(&self) -> Option<Result<T, DecodeError>> {
        self.0.return_value.as_ref().map(decode_output)
    }

    /// The invocation's log lines, as the custom handler's `Logs` carries them.
    pub fn logs(&self) -> Vec<String> {
        self.0.logs.iter().map(ToString::to_string).collect()
    }

    /// The invocation's log lines, with their levels.
    pub fn log_lines(&self) -> &[LogLine] {
        &self.0.logs
    }
}
