//! The messages of an entity batch: what the `entityTrigger` delivers (an [`EntityBatchRequest`],
//! base64 of its protobuf encoding) and what the entity function returns (an
//! [`EntityBatchResult`], likewise), with the operations, their results and the actions they
//! schedule.
//!
//! ```
//! use azfn::durable::proto::entity::{EntityBatchRequest, OperationRequest};
//! use prost::Message;
//!
//! let request = EntityBatchRequest {
//!     instance_id: "@counter@a".into(),
//!     operations: vec![OperationRequest { operation: "add".into(), ..Default::default() }],
//!     ..Default::default()
//! };
//! let back = EntityBatchRequest::decode(request.encode_to_vec().as_slice()).unwrap();
//! assert_eq!(back.operations[0].operation, "add");
//! ```

use std::collections::BTreeMap;

use super::common::{OrchestrationInstance, TaskFailureDetails, TraceContext, Value};
use crate::grpc::wkt::{StringValue, Timestamp};

/// A batch of operations for one entity, with the entity's current state.
///
/// ```
/// let request = azfn::durable::proto::entity::EntityBatchRequest::default();
/// assert!(request.entity_state.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityBatchRequest {
    /// The entity's instance id, `@<name>@<key>`.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The entity's state as JSON text; absent when the entity has no state.
    #[prost(message, optional, tag = "2")]
    pub entity_state: Option<StringValue>,
    /// The operations, in the order they must run.
    #[prost(message, repeated, tag = "3")]
    pub operations: Vec<OperationRequest>,
    /// Extra properties of the batch.
    #[prost(btree_map = "string, message", tag = "4")]
    pub properties: BTreeMap<String, Value>,
}

/// What running an [`EntityBatchRequest`] produced.
///
/// ```
/// let result = azfn::durable::proto::entity::EntityBatchResult::default();
/// assert!(result.results.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityBatchResult {
    /// One result per operation of the request, in the same order.
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<OperationResult>,
    /// The signals and orchestration starts the successful operations scheduled.
    #[prost(message, repeated, tag = "2")]
    pub actions: Vec<OperationAction>,
    /// The entity's state after the batch as JSON text; absent when the entity has no state
    /// (never had one, or was deleted).
    #[prost(message, optional, tag = "3")]
    pub entity_state: Option<StringValue>,
    /// Set when the batch as a whole failed (not for failures of single operations).
    #[prost(message, optional, tag = "4")]
    pub failure_details: Option<TaskFailureDetails>,
    /// The work item's completion token (used by the sidecar's work-item stream, not by
    /// functions).
    #[prost(string, tag = "5")]
    pub completion_token: String,
    /// Per-operation information (used only by the Durable Task Scheduler backend).
    #[prost(message, repeated, tag = "6")]
    pub operation_infos: Vec<OperationInfo>,
    /// Whether the state was needed and not provided.
    #[prost(bool, tag = "7")]
    pub requires_state: bool,
}

/// The newer form of an entity work item, carrying the operations as history events.
///
/// azfn keeps each `HistoryEvent` as its encoded bytes here, so this module does not depend on
/// the history messages; decode them with the history module's `HistoryEvent`.
///
/// ```
/// let request = azfn::durable::proto::entity::EntityRequest::default();
/// assert!(request.operation_requests.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityRequest {
    /// The entity's instance id, `@<name>@<key>`.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The execution id.
    #[prost(string, tag = "2")]
    pub execution_id: String,
    /// The entity's state as JSON text; absent when the entity does not exist.
    #[prost(message, optional, tag = "3")]
    pub entity_state: Option<StringValue>,
    /// The operation requests, each an encoded `HistoryEvent` (`entityOperationSignaled` or
    /// `entityOperationCalled`).
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub operation_requests: Vec<Vec<u8>>,
}

/// One operation on an entity.
///
/// ```
/// use azfn::durable::proto::entity::OperationRequest;
/// let op = OperationRequest { operation: "add".into(), input: Some("5".into()), ..Default::default() };
/// assert_eq!(op.input.unwrap().value, "5");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationRequest {
    /// The operation's name.
    #[prost(string, tag = "1")]
    pub operation: String,
    /// The request's id (a GUID).
    #[prost(string, tag = "2")]
    pub request_id: String,
    /// The input as JSON text, if any.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// The caller's trace context.
    #[prost(message, optional, tag = "4")]
    pub trace_context: Option<TraceContext>,
}

/// The outcome of one operation.
///
/// ```
/// use azfn::durable::proto::entity::{OperationResult, OperationResultSuccess, operation_result::ResultType};
/// let ok = OperationResult { result_type: Some(ResultType::Success(OperationResultSuccess::default())) };
/// assert!(matches!(ok.result_type, Some(ResultType::Success(_))));
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationResult {
    /// Success or failure.
    #[prost(oneof = "operation_result::ResultType", tags = "1, 2")]
    pub result_type: Option<operation_result::ResultType>,
}

/// The oneof of [`OperationResult`].
pub mod operation_result {
    /// Success or failure of an operation.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum ResultType {
        /// The operation succeeded.
        #[prost(message, tag = "1")]
        Success(super::OperationResultSuccess),
        /// The operation failed; its effects were rolled back.
        #[prost(message, tag = "2")]
        Failure(super::OperationResultFailure),
    }
}

/// Where the response to an operation goes (used only by the Durable Task Scheduler backend).
///
/// ```
/// let info = azfn::durable::proto::entity::OperationInfo::default();
/// assert!(info.response_destination.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationInfo {
    /// The request's id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// The orchestration waiting for the response; absent for signals.
    #[prost(message, optional, tag = "2")]
    pub response_destination: Option<OrchestrationInstance>,
}

/// A successful operation.
///
/// ```
/// let ok = azfn::durable::proto::entity::OperationResultSuccess { result: Some("3".into()), ..Default::default() };
/// assert_eq!(ok.result.unwrap().value, "3");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationResultSuccess {
    /// The operation's result as JSON text, if any.
    #[prost(message, optional, tag = "1")]
    pub result: Option<StringValue>,
    /// When the operation started.
    #[prost(message, optional, tag = "2")]
    pub start_time_utc: Option<Timestamp>,
    /// When the operation ended.
    #[prost(message, optional, tag = "3")]
    pub end_time_utc: Option<Timestamp>,
}

/// A failed operation.
///
/// ```
/// let failed = azfn::durable::proto::entity::OperationResultFailure::default();
/// assert!(failed.failure_details.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationResultFailure {
    /// Why it failed.
    #[prost(message, optional, tag = "1")]
    pub failure_details: Option<TaskFailureDetails>,
    /// When the operation started.
    #[prost(message, optional, tag = "2")]
    pub start_time_utc: Option<Timestamp>,
    /// When the operation ended.
    #[prost(message, optional, tag = "3")]
    pub end_time_utc: Option<Timestamp>,
}

/// Something an operation scheduled: a signal to an entity or a new orchestration.
///
/// ```
/// use azfn::durable::proto::entity::{OperationAction, SendSignalAction, operation_action::OperationActionType};
/// let action = OperationAction {
///     id: 0,
///     operation_action_type: Some(OperationActionType::SendSignal(SendSignalAction::default())),
/// };
/// assert!(action.operation_action_type.is_some());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperationAction {
    /// The action's position in the batch.
    #[prost(int32, tag = "1")]
    pub id: i32,
    /// The action.
    #[prost(oneof = "operation_action::OperationActionType", tags = "2, 3")]
    pub operation_action_type: Option<operation_action::OperationActionType>,
}

/// The oneof of [`OperationAction`].
pub mod operation_action {
    /// What an operation scheduled.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum OperationActionType {
        /// A signal to an entity.
        #[prost(message, tag = "2")]
        SendSignal(super::SendSignalAction),
        /// A new orchestration.
        #[prost(message, tag = "3")]
        StartNewOrchestration(super::StartNewOrchestrationAction),
    }
}

/// A signal (one-way operation) sent to an entity.
///
/// ```
/// let signal = azfn::durable::proto::entity::SendSignalAction { instance_id: "@counter@a".into(), ..Default::default() };
/// assert_eq!(signal.instance_id, "@counter@a");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendSignalAction {
    /// The target entity, `@<name>@<key>`.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The operation.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The input as JSON text, if any.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// When to deliver the signal; now when absent.
    #[prost(message, optional, tag = "4")]
    pub scheduled_time: Option<Timestamp>,
    /// When the signal was requested.
    #[prost(message, optional, tag = "5")]
    pub request_time: Option<Timestamp>,
    /// The trace context of the operation that sent it.
    #[prost(message, optional, tag = "6")]
    pub parent_trace_context: Option<TraceContext>,
}

/// A new orchestration started by an entity.
///
/// ```
/// let start = azfn::durable::proto::entity::StartNewOrchestrationAction { name: "Hello".into(), ..Default::default() };
/// assert_eq!(start.name, "Hello");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct StartNewOrchestrationAction {
    /// The new instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The orchestrator's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The orchestrator's version.
    #[prost(message, optional, tag = "3")]
    pub version: Option<StringValue>,
    /// The input as JSON text, if any.
    #[prost(message, optional, tag = "4")]
    pub input: Option<StringValue>,
    /// When to start it; now when absent.
    #[prost(message, optional, tag = "5")]
    pub scheduled_time: Option<Timestamp>,
    /// When the start was requested.
    #[prost(message, optional, tag = "6")]
    pub request_time: Option<Timestamp>,
    /// The trace context of the operation that started it.
    #[prost(message, optional, tag = "7")]
    pub parent_trace_context: Option<TraceContext>,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// Bytes written field by field from the `.proto`'s numbers and wire types, so the derives
    /// are checked against an independent encoding.
    #[test]
    fn field_numbers_match_the_proto() {
        let result = EntityBatchResult {
            results: vec![OperationResult {
                result_type: Some(operation_result::ResultType::Success(OperationResultSuccess {
                    result: Some("1".into()),
                    ..Default::default()
                })),
            }],
            actions: vec![OperationAction {
                id: 2,
                operation_action_type: Some(operation_action::OperationActionType::SendSignal(SendSignalAction {
                    name: "x".into(),
                    ..Default::default()
                })),
            }],
            entity_state: Some("5".into()),
            requires_state: true,
            ..Default::default()
        };
        let expected: &[u8] = &[
            0x0a, 7, // results (1, LEN)
            0x0a, 5, // success (1, LEN)
            0x0a, 3, 0x0a, 1, b'1', // result: StringValue { value: "1" }
            0x12, 7, // actions (2, LEN)
            0x08, 2, // id (1, VARINT)
            0x12, 3, 0x12, 1, b'x', // sendSignal (2) { name (2): "x" }
            0x1a, 3, 0x0a, 1, b'5', // entityState (3)
            0x38, 1, // requiresState (7, VARINT)
        ];
        assert_eq!(result.encode_to_vec(), expected);
        assert_eq!(EntityBatchResult::decode(expected).unwrap(), result);
    }

    #[test]
    fn requests_keep_their_operations_in_order() {
        let request = EntityBatchRequest {
            instance_id: "@counter@k".into(),
            entity_state: Some("1".into()),
            operations: ["a", "b", "c"]
                .iter()
                .map(|op| OperationRequest {
                    operation: (*op).into(),
                    request_id: format!("id-{op}"),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let back = EntityBatchRequest::decode(request.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, request);
        // instanceId is field 1, entityState field 2, operations field 3.
        assert_eq!(&request.encode_to_vec()[..2], &[0x0a, 10]);
    }
}
