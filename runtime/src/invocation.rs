//! One invocation, independent of the transport that carried it: what comes in and what goes out.
//!
//! Transports build an [`Invocation`] from their envelope and turn [`Outputs`] back into theirs;
//! dispatch (the generated invokers) sees nothing else. This is what lets the custom-handler
//! transport and the gRPC transport share every line between "bytes arrived" and "bytes leave".

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use std::sync::{Arc, OnceLock};

use crate::cancel::CancellationToken;
use crate::data::BindingData;
use crate::extensions::Extensions;
use crate::function::FunctionDescription;
use crate::http::{HttpRequest, HttpResponse};

/// Everything a function invocation receives.
#[derive(Debug)]
pub struct Invocation {
    /// The host's invocation id.
    pub invocation_id: String,
    /// The function being invoked.
    pub function: &'static FunctionDescription,
    /// Input values by binding name: the trigger's and each input binding's.
    pub data: BTreeMap<String, BindingData>,
    /// Trigger metadata, decoded (no double encoding left), by key.
    pub metadata: Metadata,
    /// The host's retry state, when a retry policy applies.
    pub retry: Option<RetryContext>,
    /// The W3C trace context the host propagates.
    pub trace: Option<TraceContext>,
    /// Cancelled when the host cancels this invocation or the worker shuts down.
    pub cancellation: CancellationToken,
    /// Values middleware attaches for the function (read with `FunctionContext::extension`).
    pub extensions: Extensions,
    /// The app's shared state, attached by dispatch.
    pub state: Arc<Extensions>,
}

/// Trigger metadata by key, decoded (no double encoding left): route parameters, query values,
/// a queue message's id, `sys`, …
///
/// It reads as the `serde_json::Map` it dereferences to. A transport may hand it over as the
/// JSON text the host sent, parsed on first use, so an invocation that never reads its metadata
/// never pays for building it.
///
/// ```
/// use azfn::Metadata;
/// use serde_json::{Map, json};
///
/// let mut map = Map::new();
/// map.insert("DequeueCount".into(), json!(1));
/// let mut metadata = Metadata::from(map);
/// assert_eq!(metadata["DequeueCount"], 1);
/// metadata.insert("Id".into(), json!("m-1"));
/// assert_eq!(metadata.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct Metadata {
    parsed: OnceLock<Map<String, Value>>,
    /// What the map is made from on first use, until it is made.
    pending: Option<PendingMetadata>,
}

#[derive(Clone)]
enum PendingMetadata {
    /// JSON text, and how to read it.
    Json {
        text: Box<str>,
        parse: fn(&str) -> Map<String, Value>,
    },
    /// An HTTP request, and how the transport makes metadata of it.
    Request {
        request: HttpRequest,
        read: fn(&HttpRequest) -> Map<String, Value>,
    },
}

impl Metadata {
    /// Metadata still as JSON text, which `parse` turns into the map on first use. The
    /// transport has checked the text, so `parse` cannot fail.
    pub(crate) fn lazy(json: Box<str>, parse: fn(&str) -> Map<String, Value>) -> Self {
        Metadata {
            parsed: OnceLock::new(),
            pending: Some(PendingMetadata::Json { text: json, parse }),
        }
    }

    /// Metadata that `read` makes of `request` on first use.
    pub(crate) fn of_request(request: HttpRequest, read: fn(&HttpRequest) -> Map<String, Value>) -> Self {
        Metadata {
            parsed: OnceLock::new(),
            pending: Some(PendingMetadata::Request { request, read }),
        }
    }

    /// The map, parsed now if it was not yet.
    pub fn into_map(mut self) -> Map<String, Value> {
        match self.parsed.take() {
            Some(map) => map,
            None => self.parse_pending(),
        }
    }

    fn parse_pending(&self) -> Map<String, Value> {
        match &self.pending {
            None => Map::new(),
            Some(PendingMetadata::Json { text, parse }) => parse(text),
            Some(PendingMetadata::Request { request, read }) => read(request),
        }
    }
}

impl std::ops::Deref for Metadata {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| self.parse_pending())
    }
}

impl std::ops::DerefMut for Metadata {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        if self.parsed.get().is_none() {
            self.parsed = OnceLock::from(self.parse_pending());
        }
        self.pending = None;
        self.parsed.get_mut().expect("filled just above")
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        Metadata {
            parsed: OnceLock::from(map),
            pending: None,
        }
    }
}

impl FromIterator<(String, Value)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(entries: I) -> Self {
        Metadata::from(entries.into_iter().collect::<Map<String, Value>>())
    }
}

impl<'a> IntoIterator for &'a Metadata {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Shows the map, as `serde_json::Map` does (parsing it if need be).
impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// The state of an invocation not yet dispatched: one empty set shared by all, since dispatch
/// replaces it with the app's.
fn no_state() -> Arc<Extensions> {
    static EMPTY: OnceLock<Arc<Extensions>> = OnceLock::new();
    Arc::clone(EMPTY.get_or_init(Arc::default))
}

/// Where an invocation stands in its function's retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryContext {
    /// How many times this invocation has been retried (0 on the first attempt).
    pub retry_count: i64,
    /// The most retries the policy allows (-1: no limit).
    pub max_retry_count: i64,
    /// The previous attempt's failure, as the host describes it.
    pub exception: Option<String>,
}

/// The W3C trace context of an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceContext {
    /// The `traceparent` header value.
    pub trace_parent: String,
    /// The `tracestate` header value.
    pub trace_state: String,
    /// Extra attributes the host attaches.
    pub attributes: BTreeMap<String, String>,
}

impl Invocation {
    /// An invocation of `function` with no data yet.
    pub fn new(function: &'static FunctionDescription, invocation_id: impl Into<String>) -> Self {
        Invocation {
            invocation_id: invocation_id.into(),
            function,
            data: BTreeMap::new(),
            metadata: Metadata::default(),
            retry: None,
            trace: None,
            cancellation: CancellationToken::for_invocation(),
            extensions: Extensions::new(),
            state: no_state(),
        }
    }

    /// The value of the binding called `name`, or [`BindingData::Null`] when the host sent none.
    pub fn binding(&self, name: &str) -> &BindingData {
        static NULL: BindingData = BindingData::Null;
        self.data.get(name).unwrap_or(&NULL)
    }

    /// The trigger's value.
    pub fn trigger(&self) -> &BindingData {
        self.binding(self.function.trigger().name)
    }
}

/// A value to write to an output binding.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputValue {
    /// Text.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A structured value; an array writes one item per element to collector bindings (queues).
    Json(Value),
    /// An HTTP response.
    Http(HttpResponse),
}

/// What a function invocation produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outputs {
    /// Values of named output bindings, in the order they were set.
    pub named: Vec<(&'static str, OutputValue)>,
    /// The value of the `$return` binding, if the function has one and it produced a value.
    pub return_value: Option<OutputValue>,
    /// Log lines of the invocation, for transports that return logs with the response.
    pub logs: Vec<LogLine>,
}

/// One event an invocation logged through `tracing`, kept with its level so that each transport
/// can report it its own way (a text line in the custom handler's `Logs`, an `RpcLog` of that
/// level over gRPC).
///
/// ```
/// use azfn::LogLine;
/// use tracing::Level;
///
/// let line = LogLine::new(Level::WARN, "shop", "restocking id=2");
/// assert_eq!(line.level(), Level::WARN);
/// assert_eq!(line.to_string(), " WARN shop: restocking id=2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    level: tracing::Level,
    target: &'static str,
    message: String,
}

impl LogLine {
    /// A line of `level`, logged from `target` (a module path), saying `message` (the event's
    /// message, then its fields as `name=value`).
    pub fn new(level: tracing::Level, target: &'static str, message: impl Into<String>) -> Self {
        LogLine {
            level,
            target,
            message: message.into(),
        }
    }

    /// The event's level.
    pub fn level(&self) -> tracing::Level {
        self.level
    }

    /// Where the event was logged from.
    pub fn target(&self) -> &'static str {
        self.target
    }

    /// The event's message and fields.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The line as the console and the custom handler's `Logs` show it: level, target, message.
impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>5} {}: {}", self.level, self.target, self.message)
    }
}

impl Outputs {
    /// Whether an HTTP response among the outputs has a streamed body (see
    /// [`HttpResponse::streaming`]).
    pub fn has_streamed_bodies(&self) -> bool {
        let mut values = self.named.iter().map(|(_, value)| value).chain(&self.return_value);
        values.any(|value| matches!(value, OutputValue::Http(response) if response.is_streaming()))
    }

    /// Reads every streamed HTTP body among the outputs to its end, for transports that carry
    /// whole bodies (see [`HttpResponse::streaming`]).
    pub async fn collect_streamed_bodies(&mut self) {
        let values = self
            .named
            .iter_mut()
            .map(|(_, value)| value)
            .chain(self.return_value.as_mut());
        for value in values {
            if let OutputValue::Http(response) = value
                && response.is_streaming()
            {
                *response = std::mem::take(response).collect_body().await;
            }
        }
    }

    /// Outputs holding only `response`, in the HTTP output `function` declares: what a
    /// middleware returns to answer in the function's place.
    pub fn http_response_for(function: &FunctionDescription, response: HttpResponse) -> Self {
        let mut outputs = Outputs::default();
        match function.all_bindings().find(|b| b.kind.is_http_output()) {
            Some(binding) if !binding.is_return() => outputs.set(binding.name, Some(OutputValue::Http(response))),
            _ => outputs.return_value = Some(OutputValue::Http(response)),
        }
        outputs
    }

    /// The HTTP response, wherever the function put it (`$return` or a named output).
    pub fn http_response(&self) -> Option<&HttpResponse> {
        let named = self.named.iter().map(|(_, v)| v);
        self.return_value.iter().chain(named).find_map(|v| match v {
            OutputValue::Http(response) => Some(response),
            _ => None,
        })
    }

    /// The HTTP response, to change it (a middleware adding headers, say).
    pub fn http_response_mut(&mut self) -> Option<&mut HttpResponse> {
        let named = self.named.iter_mut().map(|(_, v)| v);
        self.return_value.iter_mut().chain(named).find_map(|v| match v {
            OutputValue::Http(response) => Some(response),
            _ => None,
        })
    }
}

impl Outputs {
    /// Sets the named output `name`; `None` writes nothing.
    pub fn set(&mut self, name: &'static str, value: Option<OutputValue>) {
        if let Some(value) = value {
            self.named.push((name, value));
        }
    }

    /// The value written to the named output `name`.
    pub fn get(&self, name: &str) -> Option<&OutputValue> {
        self.named.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn lazy_metadata_is_parsed_on_first_use_and_then_behaves_as_a_map() {
        let lazy = Metadata::lazy(r#"{"a": 1, "b": "two"}"#.into(), parse);
        assert_eq!(lazy.parsed.get(), None);
        assert_eq!(lazy["b"], "two");
        assert!(lazy.parsed.get().is_some());

        let mut changed = Metadata::lazy(r#"{"a": 1}"#.into(), parse);
        changed.insert("c".into(), Value::Bool(true));
        assert_eq!(changed.len(), 2);
        assert_eq!(changed.clone().into_map()["c"], true);
        assert_eq!(Metadata::lazy(r#"{"a": 1}"#.into(), parse).into_map()["a"], 1);
        assert_eq!(format!("{changed:?}"), format!("{:?}", parse(r#"{"a": 1, "c": true}"#)));
        assert_eq!(
            changed,
            [("a".to_owned(), Value::from(1)), ("c".to_owned(), Value::Bool(true))]
                .into_iter()
                .collect()
        );
        assert!(Metadata::default().is_empty());
    }
}
