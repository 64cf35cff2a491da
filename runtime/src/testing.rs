//! Testing functions in-process: invoke any registered function with typed inputs and read
//! its typed outputs, through the app's middleware and state, with no server and no host.
//!
//! With the `durable` feature, `Trigger::orchestration` and `Trigger::entity_batch` invoke
//! orchestrator and entity functions as the Durable extension does, and
//! `TestOutputs::orchestrator_response` / `entity_batch_result` decode their answers; `azfn::durable::driver` runs whole orchestrations and `azfn::durable::testing`
//! mocks the extension's endpoint for client code.
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

use crate::RequestBody;
use crate::app::{App, StartupError};
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
    streamed_body: Option<StreamedBody>,
}

/// A streamed request body for a test; a cloned [`Trigger`] shares it, and it is read once.
#[derive(Clone)]
struct StreamedBody(std::sync::Arc<std::sync::Mutex<Option<RequestBody>>>);

impl std::fmt::Debug for StreamedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamedBody")
    }
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
            streamed_body: None,
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

    /// An HTTP request whose body arrives as a stream, as forwarded, proxied and `HttpUri`
    /// requests do for a function that takes a [`RequestBody`]: the request's own body is left
    /// empty, and `body` is what the function reads.
    ///
    /// ```
    /// use azfn::prelude::*;
    /// use azfn::RequestBody;
    /// use azfn::testing::{TestApp, Trigger};
    ///
    /// #[function(http_trigger(methods = "post"))]
    /// async fn count(mut body: RequestBody) -> Result<String, azfn::Error> {
    ///     let mut chunks = 0;
    ///     while let Some(chunk) = body.chunk().await {
    ///         chunk?;
    ///         chunks += 1;
    ///     }
    ///     Ok(chunks.to_string())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = TestApp::new(azfn::App::new());
    /// let request = HttpRequest::builder().method(http::Method::POST).build();
    /// let body = RequestBody::from_chunks(["a", "b", "c"]);
    /// let outputs = app.invoke("count", Trigger::http_streamed(request, body)).await.unwrap();
    /// assert_eq!(outputs.http_response().unwrap().body(), b"3");
    /// # }
    /// ```
    pub fn http_streamed(request: HttpRequest, body: RequestBody) -> Self {
        let mut trigger = Trigger::http(request);
        trigger.streamed_body = Some(StreamedBody(std::sync::Arc::new(std::sync::Mutex::new(Some(body)))));
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

/// The Durable triggers: what the Durable extension sends an orchestrator or entity function,
/// base64 of a protobuf message (text, as the gRPC host's `string` data). Read the answer with
/// [`TestOutputs::orchestrator_response`] and [`TestOutputs::entity_batch_result`].
///
/// ```
/// use azfn::durable::EntityContext;
/// use azfn::durable::entity::EntityId;
/// use azfn::durable::proto::operation_result::ResultType;
/// use azfn::prelude::*;
/// use azfn::testing::{TestApp, Trigger};
/// use serde_json::json;
///
/// #[function(entity_trigger)]
/// fn score(ctx: &mut EntityContext<i64>) -> Result<i64, azfn::Error> {
///     let points: i64 = ctx.input()?;
///     *ctx.state_mut() += points;
///     Ok(*ctx.state())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = TestApp::new(azfn::App::new());
/// let batch = Trigger::entity_operations(&EntityId::new("score", "ann"), Some(&10), &[("add", json!(5)), ("add", json!(1))]);
/// let result = app.invoke("score", batch).await.unwrap().entity_batch_result().unwrap();
/// assert_eq!(result.entity_state.unwrap().value, "16");
/// assert!(matches!(&result.results[0].result_type, Some(ResultType::Success(ok)) if ok.result.as_ref().unwrap().value == "15"));
/// # }
/// ```
#[cfg(feature = "durable")]
impl Trigger {
    /// An orchestration episode: `request` (its instance id, the past events and the new ones).
    pub fn orchestration(request: &azfn_durable::proto::OrchestratorRequest) -> Self {
        Trigger::of(BindingData::Text(azfn_durable::testing::encode_orchestrator_request(
            request,
        )))
    }

    /// An orchestration episode of `instance_id` from its history: the `past_events` it has
    /// seen, and the `new_events` (an `OrchestratorStarted` first, then what happened since).
    pub fn orchestration_history(
        instance_id: &str,
        past_events: Vec<azfn_durable::proto::HistoryEvent>,
        new_events: Vec<azfn_durable::proto::HistoryEvent>,
    ) -> Self {
        Trigger::orchestration(&azfn_durable::proto::OrchestratorRequest {
            instance_id: instance_id.to_owned(),
            past_events,
            new_events,
            ..Default::default()
        })
    }

    /// A batch of entity operations: `request` (the entity's id and stored state, the
    /// operations).
    pub fn entity_batch(request: &azfn_durable::proto::EntityBatchRequest) -> Self {
        Trigger::of(BindingData::Text(azfn_durable::testing::encode_entity_batch_request(
            request,
        )))
    }

    /// A batch of `operations` (name, input; `null` for none, request ids `op-0`, `op-1`, …) on
    /// `entity` whose stored state is `state` (`None`: the entity has none).
    pub fn entity_operations<S: Serialize>(
        entity: &azfn_durable::EntityId,
        state: Option<&S>,
        operations: &[(&str, Value)],
    ) -> Self {
        use azfn_durable::proto::{EntityBatchRequest, OperationRequest};
        let json = |value: &Value| (!value.is_null()).then(|| value.to_string().into());
        let state = state.map(|state| {
            serde_json::to_value(state)
                .unwrap_or_else(|e| Value::String(format!("<cannot serialize the test state: {e}>")))
        });
        Trigger::entity_batch(&EntityBatchRequest {
            instance_id: entity.to_string(),
            entity_state: state.as_ref().and_then(json),
            operations: operations
                .iter()
                .enumerate()
                .map(|(i, (operation, input))| OperationRequest {
                    operation: (*operation).to_owned(),
                    request_id: format!("op-{i}"),
                    input: json(input),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }
}

impl TestApp {
    /// The app under test, with its state, scoped services and middleware.
    ///
    /// Mounted HTTP services join the registry here, as they do when the app runs: create the
    /// `TestApp` before anything reads the registry.
    ///
    /// # Panics
    ///
    /// When the app has async state factories ([`App::state_async`]), which only an async
    /// constructor can run: use [`TestApp::start`].
    pub fn new(mut app: App) -> Self {
        if let Err(message) = app.register_functions() {
            eprintln!("azfn: {message}");
        }
        match app.into_startup().without_factories() {
            Some(pipeline) => TestApp { pipeline },
            None => panic!(
                "this app has async state factories (`App::state_async`): create the TestApp with `TestApp::start(app).await`"
            ),
        }
    }

    /// The app under test, after its async state factories ([`App::state_async`]) have run on
    /// the test's runtime, as they run when the app starts serving.
    ///
    /// # Errors
    ///
    /// The first factory that failed (or panicked), as the app would report it at start-up.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// struct Greeting(String);
    /// let app = azfn::App::new().state_async(|| async { Ok::<_, String>(Greeting("hello".into())) });
    /// let app = azfn::testing::TestApp::start(app).await.unwrap();
    /// # let _ = app;
    ///
    /// let failing = azfn::App::new().state_async(|| async { Err::<Greeting, _>("no database") });
    /// let error = azfn::testing::TestApp::start(failing).await.unwrap_err();
    /// assert!(error.to_string().ends_with("Greeting: no database"));
    /// # }
    /// ```
    pub async fn start(mut app: App) -> Result<Self, StartupError> {
        if let Err(message) = app.register_functions() {
            eprintln!("azfn: {message}");
        }
        let pipeline = app.into_startup().run().await?;
        Ok(TestApp { pipeline })
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
        let streamed = trigger
            .streamed_body
            .and_then(|body| body.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
        if let Some(body) = streamed {
            invocation.attach_request_body(body);
        }
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

    /// The return value as text, for the Durable triggers' base64 answers.
    #[cfg(feature = "durable")]
    fn durable_answer(&self, what: &str) -> Result<&str, crate::Error> {
        match &self.0.return_value {
            Some(OutputValue::Text(text)) => Ok(text),
            other => Err(crate::Error::msg(format!(
                "the function returned {other:?}, not an {what} (base64 text)"
            ))),
        }
    }

    /// An orchestrator function's answer, decoded as the Durable extension reads it (see
    /// [`Trigger::orchestration`]).
    #[cfg(feature = "durable")]
    pub fn orchestrator_response(&self) -> Result<azfn_durable::proto::OrchestratorResponse, crate::Error> {
        azfn_durable::testing::decode_orchestrator_response(self.durable_answer("orchestrator response")?)
    }

    /// An entity function's answer, decoded as the Durable extension reads it (see
    /// [`Trigger::entity_batch`]).
    #[cfg(feature = "durable")]
    pub fn entity_batch_result(&self) -> Result<azfn_durable::proto::EntityBatchResult, crate::Error> {
        azfn_durable::testing::decode_entity_batch_result(self.durable_answer("entity batch result")?)
    }
}
