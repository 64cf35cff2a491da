//! The messages of `orchestrator_service.proto` that orchestrations, entities and the client
//! all use, and `google.protobuf.Value` (the type of [`TaskFailureDetails::properties`]).

use std::collections::BTreeMap;

use crate::grpc::wkt::StringValue;

/// An orchestration instance: its id, and which execution of it (continue-as-new starts a new
/// execution under the same id).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct OrchestrationInstance {
    /// The instance id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The execution id.
    #[prost(message, optional, tag = "2")]
    pub execution_id: Option<StringValue>,
}

/// Why a task, an orchestration or an entity operation failed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskFailureDetails {
    /// The error's type name (for azfn errors, the Rust type or `"Error"`).
    #[prost(string, tag = "1")]
    pub error_type: String,
    /// The error's message.
    #[prost(string, tag = "2")]
    pub error_message: String,
    /// Where the error was raised, if known.
    #[prost(message, optional, tag = "3")]
    pub stack_trace: Option<StringValue>,
    /// The error that caused this one.
    #[prost(message, optional, boxed, tag = "4")]
    pub inner_failure: Option<Box<TaskFailureDetails>>,
    /// Whether a retry policy must not retry this failure.
    #[prost(bool, tag = "5")]
    pub is_non_retriable: bool,
    /// Extra properties of the error.
    #[prost(btree_map = "string, message", tag = "6")]
    pub properties: BTreeMap<String, Value>,
}

/// The runtime status of an orchestration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OrchestrationStatus {
    /// Running (or waiting for work).
    Running = 0,
    /// Completed with an output.
    Completed = 1,
    /// Restarted with new input.
    ContinuedAsNew = 2,
    /// Failed.
    Failed = 3,
    /// Canceled.
    Canceled = 4,
    /// Terminated by a client.
    Terminated = 5,
    /// Scheduled, not yet started.
    Pending = 6,
    /// Suspended by a client.
    Suspended = 7,
}

/// The orchestration that started a sub-orchestration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParentInstanceInfo {
    /// The id of the parent's task that created this instance.
    #[prost(int32, tag = "1")]
    pub task_scheduled_id: i32,
    /// The parent's name.
    #[prost(message, optional, tag = "2")]
    pub name: Option<StringValue>,
    /// The parent's version.
    #[prost(message, optional, tag = "3")]
    pub version: Option<StringValue>,
    /// The parent instance.
    #[prost(message, optional, tag = "4")]
    pub orchestration_instance: Option<OrchestrationInstance>,
}

/// W3C trace context carried with scheduled work.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TraceContext {
    /// The `traceparent` header value.
    #[prost(string, tag = "1")]
    pub trace_parent: String,
    /// The span id (deprecated by the protocol; kept for older senders).
    #[prost(string, tag = "2")]
    pub span_id: String,
    /// The `tracestate` header value.
    #[prost(message, optional, tag = "3")]
    pub trace_state: Option<StringValue>,
}

/// `google.protobuf.Empty`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Empty {}

/// `google.protobuf.Value`: a JSON value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// Which kind of value, and the value.
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 4, 5, 6")]
    pub kind: Option<value::Kind>,
}

/// The oneof of [`Value`].
pub mod value {
    /// A JSON value's kind.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// `null` (the enum `NullValue` has one value, 0).
        #[prost(int32, tag = "1")]
        NullValue(i32),
        /// A number.
        #[prost(double, tag = "2")]
        NumberValue(f64),
        /// A string.
        #[prost(string, tag = "3")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "4")]
        BoolValue(bool),
        /// An object.
        #[prost(message, tag = "5")]
        StructValue(super::Struct),
        /// An array.
        #[prost(message, tag = "6")]
        ListValue(super::ListValue),
    }
}

/// `google.protobuf.Struct`: a JSON object.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Struct {
    /// The members.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

/// `google.protobuf.ListValue`: a JSON array.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListValue {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<Value>,
}

impl From<&serde_json::Value> for Value {
    fn from(json: &serde_json::Value) -> Self {
        use serde_json::Value as Json;
        let kind = match json {
            Json::Null => value::Kind::NullValue(0),
            Json::Bool(b) => value::Kind::BoolValue(*b),
            Json::Number(n) => value::Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => value::Kind::StringValue(s.clone()),
            Json::Array(items) => value::Kind::ListValue(ListValue {
                values: items.iter().map(Value::from).collect(),
            }),
            Json::Object(members) => value::Kind::StructValue(Struct {
                fields: members.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect(),
            }),
        };
        Value { kind: Some(kind) }
    }
}

impl From<&Value> for serde_json::Value {
    fn from(value: &Value) -> Self {
        use serde_json::Value as Json;
        match &value.kind {
            None | Some(value::Kind::NullValue(_)) => Json::Null,
            Some(value::Kind::BoolValue(b)) => Json::Bool(*b),
            Some(value::Kind::NumberValue(n)) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Some(value::Kind::StringValue(s)) => Json::String(s.clone()),
            Some(value::Kind::ListValue(list)) => Json::Array(list.values.iter().map(Json::from).collect()),
            Some(value::Kind::StructValue(object)) => {
                Json::Object(object.fields.iter().map(|(k, v)| (k.clone(), Json::from(v))).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn json_values_survive_the_protobuf_form() {
        let json = serde_json::json!({"a": [1.5, true, null, "x"], "b": {"c": -2.0}});
        let bytes = Value::from(&json).encode_to_vec();
        let back = Value::decode(bytes.as_slice()).unwrap();
        assert_eq!(serde_json::Value::from(&back), json);
    }

    #[test]
    fn failure_details_nest() {
        let details = TaskFailureDetails {
            error_type: "Outer".into(),
            error_message: "outer".into(),
            inner_failure: Some(Box::new(TaskFailureDetails {
                error_message: "inner".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let back = TaskFailureDetails::decode(details.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back.inner_failure.unwrap().error_message, "inner");
    }
}
