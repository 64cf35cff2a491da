//! The `TaskHubSidecarService` requests and responses the durable client sends to the Durable
//! extension's local gRPC endpoint, and the service's method paths.
//!
//! `orchestrator_service.proto` has no `package` line, so the service's full name is just
//! `TaskHubSidecarService` and a method's path is `/TaskHubSidecarService/<Method>`.
//!
//! ```
//! use azfn::durable::proto::sidecar::{CreateInstanceRequest, method};
//! use prost::Message;
//!
//! assert_eq!(method::START_INSTANCE, "/TaskHubSidecarService/StartInstance");
//! let request = CreateInstanceRequest { instance_id: "abc".into(), name: "Hello".into(), ..Default::default() };
//! assert_eq!(CreateInstanceRequest::decode(request.encode_to_vec().as_slice()).unwrap(), request);
//! ```

use std::collections::BTreeMap;

use super::common::{OrchestrationStatus, TaskFailureDetails, TraceContext};
use crate::grpc::wkt::{Duration, StringValue, Timestamp};

/// The service's method paths, as gRPC requests name them.
///
/// ```
/// assert_eq!(azfn::durable::proto::sidecar::method::GET_INSTANCE, "/TaskHubSidecarService/GetInstance");
/// ```
pub mod method {
    /// `Hello(Empty) returns (Empty)`.
    pub const HELLO: &str = "/TaskHubSidecarService/Hello";
    /// `StartInstance(CreateInstanceRequest) returns (CreateInstanceResponse)`.
    pub const START_INSTANCE: &str = "/TaskHubSidecarService/StartInstance";
    /// `GetInstance(GetInstanceRequest) returns (GetInstanceResponse)`.
    pub const GET_INSTANCE: &str = "/TaskHubSidecarService/GetInstance";
    /// `RewindInstance(RewindInstanceRequest) returns (RewindInstanceResponse)`.
    pub const REWIND_INSTANCE: &str = "/TaskHubSidecarService/RewindInstance";
    /// `RestartInstance(RestartInstanceRequest) returns (RestartInstanceResponse)`.
    pub const RESTART_INSTANCE: &str = "/TaskHubSidecarService/RestartInstance";
    /// `WaitForInstanceStart(GetInstanceRequest) returns (GetInstanceResponse)`.
    pub const WAIT_FOR_INSTANCE_START: &str = "/TaskHubSidecarService/WaitForInstanceStart";
    /// `WaitForInstanceCompletion(GetInstanceRequest) returns (GetInstanceResponse)`.
    pub const WAIT_FOR_INSTANCE_COMPLETION: &str = "/TaskHubSidecarService/WaitForInstanceCompletion";
    /// `RaiseEvent(RaiseEventRequest) returns (RaiseEventResponse)`.
    pub const RAISE_EVENT: &str = "/TaskHubSidecarService/RaiseEvent";
    /// `TerminateInstance(TerminateRequest) returns (TerminateResponse)`.
    pub const TERMINATE_INSTANCE: &str = "/TaskHubSidecarService/TerminateInstance";
    /// `SuspendInstance(SuspendRequest) returns (SuspendResponse)`.
    pub const SUSPEND_INSTANCE: &str = "/TaskHubSidecarService/SuspendInstance";
    /// `ResumeInstance(ResumeRequest) returns (ResumeResponse)`.
    pub const RESUME_INSTANCE: &str = "/TaskHubSidecarService/ResumeInstance";
    /// `QueryInstances(QueryInstancesRequest) returns (QueryInstancesResponse)`.
    pub const QUERY_INSTANCES: &str = "/TaskHubSidecarService/QueryInstances";
    /// `PurgeInstances(PurgeInstancesRequest) returns (PurgeInstancesResponse)`.
    pub const PURGE_INSTANCES: &str = "/TaskHubSidecarService/PurgeInstances";
    /// `SignalEntity(SignalEntityRequest) returns (SignalEntityResponse)`.
    pub const SIGNAL_ENTITY: &str = "/TaskHubSidecarService/SignalEntity";
    /// `GetEntity(GetEntityRequest) returns (GetEntityResponse)`.
    pub const GET_ENTITY: &str = "/TaskHubSidecarService/GetEntity";
    /// `QueryEntities(QueryEntitiesRequest) returns (QueryEntitiesResponse)`.
    pub const QUERY_ENTITIES: &str = "/TaskHubSidecarService/QueryEntities";
    /// `CleanEntityStorage(CleanEntityStorageRequest) returns (CleanEntityStorageResponse)`.
    pub const CLEAN_ENTITY_STORAGE: &str = "/TaskHubSidecarService/CleanEntityStorage";
}

/// `google.protobuf.Int32Value`: an `int32` with presence.
///
/// ```
/// let size = azfn::durable::proto::sidecar::Int32Value { value: 100 };
/// assert_eq!(size.value, 100);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Int32Value {
    /// The value.
    #[prost(int32, tag = "1")]
    pub value: i32,
}

/// `google.protobuf.BoolValue`: a `bool` with presence.
///
/// ```
/// let complete = azfn::durable::proto::sidecar::BoolValue { value: true };
/// assert!(complete.value);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct BoolValue {
    /// The value.
    #[prost(bool, tag = "1")]
    pub value: bool,
}

/// Starts an orchestration instance.
///
/// ```
/// let request = azfn::durable::proto::sidecar::CreateInstanceRequest { name: "Hello".into(), ..Default::default() };
/// assert!(request.input.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateInstanceRequest {
    /// The new instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The orchestrator's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The orchestrator's version.
    #[prost(message, optional, tag = "3")]
    pub version: Option<StringValue>,
    /// The input as JSON text.
    #[prost(message, optional, tag = "4")]
    pub input: Option<StringValue>,
    /// When to start; now when absent.
    #[prost(message, optional, tag = "5")]
    pub scheduled_start_timestamp: Option<Timestamp>,
    /// Which existing instances with the same id may be replaced.
    #[prost(message, optional, tag = "6")]
    pub orchestration_id_reuse_policy: Option<OrchestrationIdReusePolicy>,
    /// The execution id to use.
    #[prost(message, optional, tag = "7")]
    pub execution_id: Option<StringValue>,
    /// Tags of the instance.
    #[prost(btree_map = "string, string", tag = "8")]
    pub tags: BTreeMap<String, String>,
    /// The caller's trace context.
    #[prost(message, optional, tag = "9")]
    pub parent_trace_context: Option<TraceContext>,
    /// When the request was made.
    #[prost(message, optional, tag = "10")]
    pub request_time: Option<Timestamp>,
}

/// The statuses in which an existing instance may be replaced by a new one with the same id.
///
/// ```
/// use azfn::durable::proto::{OrchestrationStatus, sidecar::OrchestrationIdReusePolicy};
/// let policy = OrchestrationIdReusePolicy { replaceable_status: vec![OrchestrationStatus::Completed as i32] };
/// assert_eq!(policy.replaceable_status().next(), Some(OrchestrationStatus::Completed));
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrchestrationIdReusePolicy {
    /// The replaceable statuses.
    #[prost(enumeration = "OrchestrationStatus", repeated, tag = "1")]
    pub replaceable_status: Vec<i32>,
}

/// The answer to [`CreateInstanceRequest`].
///
/// ```
/// let response = azfn::durable::proto::sidecar::CreateInstanceResponse { instance_id: "abc".into() };
/// assert_eq!(response.instance_id, "abc");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateInstanceResponse {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
}

/// Asks for an instance's state (also the request of the two wait methods).
///
/// ```
/// let request = azfn::durable::proto::sidecar::GetInstanceRequest { instance_id: "abc".into(), get_inputs_and_outputs: true };
/// assert!(request.get_inputs_and_outputs);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetInstanceRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// Whether to include the input, output, custom status and failure details.
    #[prost(bool, tag = "2")]
    pub get_inputs_and_outputs: bool,
}

/// The answer to [`GetInstanceRequest`].
///
/// ```
/// let response = azfn::durable::proto::sidecar::GetInstanceResponse::default();
/// assert!(!response.exists);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetInstanceResponse {
    /// Whether the instance exists.
    #[prost(bool, tag = "1")]
    pub exists: bool,
    /// Its state, when it exists.
    #[prost(message, optional, tag = "2")]
    pub orchestration_state: Option<OrchestrationState>,
}

/// Rewinds a failed instance.
///
/// ```
/// let request = azfn::durable::proto::sidecar::RewindInstanceRequest { instance_id: "abc".into(), reason: None };
/// assert_eq!(request.instance_id, "abc");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct RewindInstanceRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// Why.
    #[prost(message, optional, tag = "2")]
    pub reason: Option<StringValue>,
}

/// The (empty) answer to [`RewindInstanceRequest`].
///
/// ```
/// let _ = azfn::durable::proto::sidecar::RewindInstanceResponse {};
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct RewindInstanceResponse {}

/// An orchestration instance's state.
///
/// ```
/// use azfn::durable::proto::{OrchestrationStatus, sidecar::OrchestrationState};
/// let state = OrchestrationState { orchestration_status: OrchestrationStatus::Completed as i32, ..Default::default() };
/// assert_eq!(state.orchestration_status(), OrchestrationStatus::Completed);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrchestrationState {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The orchestrator's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The orchestrator's version.
    #[prost(message, optional, tag = "3")]
    pub version: Option<StringValue>,
    /// The runtime status.
    #[prost(enumeration = "OrchestrationStatus", tag = "4")]
    pub orchestration_status: i32,
    /// When it was scheduled to start.
    #[prost(message, optional, tag = "5")]
    pub scheduled_start_timestamp: Option<Timestamp>,
    /// When it was created.
    #[prost(message, optional, tag = "6")]
    pub created_timestamp: Option<Timestamp>,
    /// When it last changed.
    #[prost(message, optional, tag = "7")]
    pub last_updated_timestamp: Option<Timestamp>,
    /// The input as JSON text.
    #[prost(message, optional, tag = "8")]
    pub input: Option<StringValue>,
    /// The output as JSON text.
    #[prost(message, optional, tag = "9")]
    pub output: Option<StringValue>,
    /// The custom status as JSON text.
    #[prost(message, optional, tag = "10")]
    pub custom_status: Option<StringValue>,
    /// Why it failed, when it did.
    #[prost(message, optional, tag = "11")]
    pub failure_details: Option<TaskFailureDetails>,
    /// The current execution's id.
    #[prost(message, optional, tag = "12")]
    pub execution_id: Option<StringValue>,
    /// When it completed.
    #[prost(message, optional, tag = "13")]
    pub completed_timestamp: Option<Timestamp>,
    /// The parent's instance id, for a sub-orchestration.
    #[prost(message, optional, tag = "14")]
    pub parent_instance_id: Option<StringValue>,
    /// Tags of the instance.
    #[prost(btree_map = "string, string", tag = "15")]
    pub tags: BTreeMap<String, String>,
}

/// Raises an external event on an instance.
///
/// ```
/// let request = azfn::durable::proto::sidecar::RaiseEventRequest { name: "Approved".into(), ..Default::default() };
/// assert_eq!(request.name, "Approved");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct RaiseEventRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The event's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The event's data as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
}

/// The (empty) answer to [`RaiseEventRequest`].
///
/// ```
/// let _ = azfn::durable::proto::sidecar::RaiseEventResponse {};
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct RaiseEventResponse {}

/// Terminates an instance.
///
/// ```
/// let request = azfn::durable::proto::sidecar::TerminateRequest { instance_id: "abc".into(), ..Default::default() };
/// assert!(!request.recursive);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct TerminateRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The output (the reason) as JSON text.
    #[prost(message, optional, tag = "2")]
    pub output: Option<StringValue>,
    /// Whether to terminate sub-orchestrations too.
    #[prost(bool, tag = "3")]
    pub recursive: bool,
}

/// The (empty) answer to [`TerminateRequest`].
///
/// ```
/// let _ = azfn::durable::proto::sidecar::TerminateResponse {};
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct TerminateResponse {}

/// Suspends an instance.
///
/// ```
/// let request = azfn::durable::proto::sidecar::SuspendRequest { instance_id: "abc".into(), reason: Some("pause".into()) };
/// assert_eq!(request.reason.unwrap().value, "pause");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct SuspendRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// Why.
    #[prost(message, optional, tag = "2")]
    pub reason: Option<StringValue>,
}

/// The (empty) answer to [`SuspendRequest`].
///
/// ```
/// let _ = azfn::durable::proto::sidecar::SuspendResponse {};
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SuspendResponse {}

/// Resumes a suspended instance.
///
/// ```
/// let request = azfn::durable::proto::sidecar::ResumeRequest { instance_id: "abc".into(), reason: None };
/// assert!(request.reason.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResumeRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// Why.
    #[prost(message, optional, tag = "2")]
    pub reason: Option<StringValue>,
}

/// The (empty) answer to [`ResumeRequest`].
///
/// ```
/// let _ = azfn::durable::proto::sidecar::ResumeResponse {};
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ResumeResponse {}

/// Lists instances.
///
/// ```
/// use azfn::durable::proto::sidecar::{InstanceQuery, QueryInstancesRequest};
/// let request = QueryInstancesRequest { query: Some(InstanceQuery { max_instance_count: 10, ..Default::default() }) };
/// assert_eq!(request.query.unwrap().max_instance_count, 10);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstancesRequest {
    /// The query.
    #[prost(message, optional, tag = "1")]
    pub query: Option<InstanceQuery>,
}

/// Which instances to list.
///
/// ```
/// let query = azfn::durable::proto::sidecar::InstanceQuery::default();
/// assert!(query.runtime_status.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstanceQuery {
    /// Only instances in these statuses (all when empty).
    #[prost(enumeration = "OrchestrationStatus", repeated, tag = "1")]
    pub runtime_status: Vec<i32>,
    /// Only instances created at or after this time.
    #[prost(message, optional, tag = "2")]
    pub created_time_from: Option<Timestamp>,
    /// Only instances created at or before this time.
    #[prost(message, optional, tag = "3")]
    pub created_time_to: Option<Timestamp>,
    /// Only instances of these task hubs.
    #[prost(message, repeated, tag = "4")]
    pub task_hub_names: Vec<StringValue>,
    /// The page size.
    #[prost(int32, tag = "5")]
    pub max_instance_count: i32,
    /// Where the previous page ended.
    #[prost(message, optional, tag = "6")]
    pub continuation_token: Option<StringValue>,
    /// Only instances whose id starts with this.
    #[prost(message, optional, tag = "7")]
    pub instance_id_prefix: Option<StringValue>,
    /// Whether to include inputs and outputs.
    #[prost(bool, tag = "8")]
    pub fetch_inputs_and_outputs: bool,
}

/// One page of instances.
///
/// ```
/// let response = azfn::durable::proto::sidecar::QueryInstancesResponse::default();
/// assert!(response.continuation_token.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstancesResponse {
    /// The instances.
    #[prost(message, repeated, tag = "1")]
    pub orchestration_state: Vec<OrchestrationState>,
    /// Where the next page starts; absent on the last page.
    #[prost(message, optional, tag = "2")]
    pub continuation_token: Option<StringValue>,
}

/// Deletes instances' history and state: one instance, or those matching a filter.
///
/// ```
/// use azfn::durable::proto::sidecar::{PurgeInstancesRequest, purge_instances_request::Request};
/// let request = PurgeInstancesRequest { request: Some(Request::InstanceId("abc".into())), ..Default::default() };
/// assert!(matches!(request.request, Some(Request::InstanceId(_))));
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct PurgeInstancesRequest {
    /// What to purge.
    #[prost(oneof = "purge_instances_request::Request", tags = "1, 2, 4")]
    pub request: Option<purge_instances_request::Request>,
    /// Whether to purge sub-orchestrations too.
    #[prost(bool, tag = "3")]
    pub recursive: bool,
    /// With an instance id: whether it names an orchestration (not an entity).
    #[prost(bool, tag = "5")]
    pub is_orchestration: bool,
}

/// The oneof of [`PurgeInstancesRequest`].
pub mod purge_instances_request {
    /// What to purge.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Request {
        /// One instance.
        #[prost(string, tag = "1")]
        InstanceId(String),
        /// The instances matching a filter.
        #[prost(message, tag = "2")]
        PurgeInstanceFilter(super::PurgeInstanceFilter),
        /// A list of instances.
        #[prost(message, tag = "4")]
        InstanceBatch(super::InstanceBatch),
    }
}

/// Which instances to purge.
///
/// ```
/// let filter = azfn::durable::proto::sidecar::PurgeInstanceFilter::default();
/// assert!(filter.created_time_from.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct PurgeInstanceFilter {
    /// Only instances created at or after this time.
    #[prost(message, optional, tag = "1")]
    pub created_time_from: Option<Timestamp>,
    /// Only instances created at or before this time.
    #[prost(message, optional, tag = "2")]
    pub created_time_to: Option<Timestamp>,
    /// Only instances in these statuses.
    #[prost(enumeration = "OrchestrationStatus", repeated, tag = "3")]
    pub runtime_status: Vec<i32>,
    /// How long the purge may take.
    #[prost(message, optional, tag = "4")]
    pub timeout: Option<Duration>,
}

/// A list of instance ids (at most 500).
///
/// ```
/// let batch = azfn::durable::proto::sidecar::InstanceBatch { instance_ids: vec!["a".into()] };
/// assert_eq!(batch.instance_ids.len(), 1);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstanceBatch {
    /// The ids.
    #[prost(string, repeated, tag = "1")]
    pub instance_ids: Vec<String>,
}

/// The answer to [`PurgeInstancesRequest`].
///
/// ```
/// let response = azfn::durable::proto::sidecar::PurgeInstancesResponse { deleted_instance_count: 2, is_complete: None };
/// assert_eq!(response.deleted_instance_count, 2);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct PurgeInstancesResponse {
    /// How many instances were deleted.
    #[prost(int32, tag = "1")]
    pub deleted_instance_count: i32,
    /// Whether the purge finished (absent when the backend does not say).
    #[prost(message, optional, tag = "2")]
    pub is_complete: Option<BoolValue>,
}

/// Restarts an instance with its original input.
///
/// ```
/// let request = azfn::durable::proto::sidecar::RestartInstanceRequest { instance_id: "abc".into(), restart_with_new_instance_id: true };
/// assert!(request.restart_with_new_instance_id);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct RestartInstanceRequest {
    /// The instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// Whether the restarted instance gets a new id.
    #[prost(bool, tag = "2")]
    pub restart_with_new_instance_id: bool,
}

/// The answer to [`RestartInstanceRequest`].
///
/// ```
/// let response = azfn::durable::proto::sidecar::RestartInstanceResponse { instance_id: "new".into() };
/// assert_eq!(response.instance_id, "new");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct RestartInstanceResponse {
    /// The restarted instance's id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
}

/// Sends a signal (a one-way operation) to an entity.
///
/// ```
/// let request = azfn::durable::proto::sidecar::SignalEntityRequest { instance_id: "@counter@a".into(), name: "add".into(), ..Default::default() };
/// assert_eq!(request.name, "add");
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignalEntityRequest {
    /// The entity, `@<name>@<key>`.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The operation.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The input as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// The request's id, a GUID (the extension parses it as one).
    #[prost(string, tag = "4")]
    pub request_id: String,
    /// When to deliver it; now when absent.
    #[prost(message, optional, tag = "5")]
    pub scheduled_time: Option<Timestamp>,
    /// The caller's trace context.
    #[prost(message, optional, tag = "6")]
    pub parent_trace_context: Option<TraceContext>,
    /// When the request was made.
    #[prost(message, optional, tag = "7")]
    pub request_time: Option<Timestamp>,
}

/// The (empty) answer to [`SignalEntityRequest`].
///
/// ```
/// let _ = azfn::durable::proto::sidecar::SignalEntityResponse {};
/// ```
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SignalEntityResponse {}

/// Asks for one entity's metadata and state.
///
/// ```
/// let request = azfn::durable::proto::sidecar::GetEntityRequest { instance_id: "@counter@a".into(), include_state: true };
/// assert!(request.include_state);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetEntityRequest {
    /// The entity, `@<name>@<key>`.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// Whether to include the state.
    #[prost(bool, tag = "2")]
    pub include_state: bool,
}

/// The answer to [`GetEntityRequest`].
///
/// ```
/// let response = azfn::durable::proto::sidecar::GetEntityResponse::default();
/// assert!(!response.exists);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetEntityResponse {
    /// Whether the entity exists.
    #[prost(bool, tag = "1")]
    pub exists: bool,
    /// Its metadata, when it exists.
    #[prost(message, optional, tag = "2")]
    pub entity: Option<EntityMetadata>,
}

/// Which entities to list.
///
/// ```
/// let query = azfn::durable::proto::sidecar::EntityQuery { include_state: true, ..Default::default() };
/// assert!(query.page_size.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityQuery {
    /// Only entities whose instance id starts with this (e.g. `@counter@`).
    #[prost(message, optional, tag = "1")]
    pub instance_id_starts_with: Option<StringValue>,
    /// Only entities modified at or after this time.
    #[prost(message, optional, tag = "2")]
    pub last_modified_from: Option<Timestamp>,
    /// Only entities modified at or before this time.
    #[prost(message, optional, tag = "3")]
    pub last_modified_to: Option<Timestamp>,
    /// Whether to include the states.
    #[prost(bool, tag = "4")]
    pub include_state: bool,
    /// Whether to include entities without state.
    #[prost(bool, tag = "5")]
    pub include_transient: bool,
    /// The page size.
    #[prost(message, optional, tag = "6")]
    pub page_size: Option<Int32Value>,
    /// Where the previous page ended.
    #[prost(message, optional, tag = "7")]
    pub continuation_token: Option<StringValue>,
}

/// Lists entities.
///
/// ```
/// let request = azfn::durable::proto::sidecar::QueryEntitiesRequest::default();
/// assert!(request.query.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryEntitiesRequest {
    /// The query.
    #[prost(message, optional, tag = "1")]
    pub query: Option<EntityQuery>,
}

/// One page of entities.
///
/// ```
/// let response = azfn::durable::proto::sidecar::QueryEntitiesResponse::default();
/// assert!(response.entities.is_empty());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryEntitiesResponse {
    /// The entities.
    #[prost(message, repeated, tag = "1")]
    pub entities: Vec<EntityMetadata>,
    /// Where the next page starts; absent on the last page.
    #[prost(message, optional, tag = "2")]
    pub continuation_token: Option<StringValue>,
}

/// An entity's metadata, and its state when asked for.
///
/// ```
/// let entity = azfn::durable::proto::sidecar::EntityMetadata { instance_id: "@counter@a".into(), ..Default::default() };
/// assert!(entity.serialized_state.is_none());
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityMetadata {
    /// The entity, `@<name>@<key>`.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// When it was last modified.
    #[prost(message, optional, tag = "2")]
    pub last_modified_time: Option<Timestamp>,
    /// How many operations wait for it.
    #[prost(int32, tag = "3")]
    pub backlog_queue_size: i32,
    /// The orchestration holding its lock, if any.
    #[prost(message, optional, tag = "4")]
    pub locked_by: Option<StringValue>,
    /// Its state as JSON text.
    #[prost(message, optional, tag = "5")]
    pub serialized_state: Option<StringValue>,
}

/// Removes empty entities and releases orphaned locks.
///
/// ```
/// let request = azfn::durable::proto::sidecar::CleanEntityStorageRequest { remove_empty_entities: true, ..Default::default() };
/// assert!(request.remove_empty_entities);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct CleanEntityStorageRequest {
    /// Where the previous call stopped.
    #[prost(message, optional, tag = "1")]
    pub continuation_token: Option<StringValue>,
    /// Whether to remove entities without state.
    #[prost(bool, tag = "2")]
    pub remove_empty_entities: bool,
    /// Whether to release locks held by orchestrations that no longer run.
    #[prost(bool, tag = "3")]
    pub release_orphaned_locks: bool,
}

/// The answer to [`CleanEntityStorageRequest`].
///
/// ```
/// let response = azfn::durable::proto::sidecar::CleanEntityStorageResponse::default();
/// assert_eq!(response.empty_entities_removed, 0);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
pub struct CleanEntityStorageResponse {
    /// Where to continue; absent when done.
    #[prost(message, optional, tag = "1")]
    pub continuation_token: Option<StringValue>,
    /// How many empty entities were removed.
    #[prost(int32, tag = "2")]
    pub empty_entities_removed: i32,
    /// How many orphaned locks were released.
    #[prost(int32, tag = "3")]
    pub orphaned_locks_released: i32,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn field_numbers_match_the_proto() {
        let request = CreateInstanceRequest {
            instance_id: "i".into(),
            name: "n".into(),
            input: Some("1".into()),
            request_time: Some(Timestamp { seconds: 1, nanos: 0 }),
            ..Default::default()
        };
        let expected: &[u8] = &[
            0x0a, 1, b'i', // instanceId (1)
            0x12, 1, b'n', // name (2)
            0x22, 3, 0x0a, 1, b'1', // input (4)
            0x52, 2, 0x08, 1, // requestTime (10)
        ];
        assert_eq!(request.encode_to_vec(), expected);

        let purge = PurgeInstancesRequest {
            request: Some(purge_instances_request::Request::InstanceId("i".into())),
            is_orchestration: true,
            ..Default::default()
        };
        assert_eq!(purge.encode_to_vec(), [0x0a, 1, b'i', 0x28, 1]);

        // Repeated enums are packed, as proto3 encodes them.
        let query = InstanceQuery {
            runtime_status: vec![
                OrchestrationStatus::Completed as i32,
                OrchestrationStatus::Failed as i32,
            ],
            ..Default::default()
        };
        assert_eq!(query.encode_to_vec(), [0x0a, 2, 1, 3]);
    }

    #[test]
    fn responses_decode_with_unset_fields() {
        let state = OrchestrationState {
            instance_id: "abc".into(),
            orchestration_status: OrchestrationStatus::Suspended as i32,
            output: Some("\"done\"".into()),
            ..Default::default()
        };
        let response = GetInstanceResponse {
            exists: true,
            orchestration_state: Some(state.clone()),
        };
        let back = GetInstanceResponse::decode(response.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back.orchestration_state.unwrap(), state);
        assert_eq!(
            PurgeInstancesResponse::decode(&[0x08, 3, 0x12, 2, 0x08, 1][..]).unwrap(),
            PurgeInstancesResponse {
                deleted_instance_count: 3,
                is_complete: Some(BoolValue { value: true }),
            }
        );
    }
}
