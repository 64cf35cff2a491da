//! History events, orchestrator actions, and the orchestrator request and response of
//! `orchestrator_service.proto`: what the Durable extension sends an orchestrator function (base64
//! of an [`OrchestratorRequest`]) and what it expects back (base64 of an [`OrchestratorResponse`]).
//!
//! Every `HistoryEvent` kind is here, including the entity events and `executionRewound`, so that
//! a history can be decoded whole; the orchestration engine acts on the ones it needs.
//!
//! ```
//! use azfn::durable::proto::history::{HistoryEvent, TaskCompletedEvent, history_event::EventType};
//! use prost::Message;
//!
//! let event = HistoryEvent {
//!     event_id: -1,
//!     timestamp: None,
//!     event_type: Some(EventType::TaskCompleted(TaskCompletedEvent {
//!         task_scheduled_id: 0,
//!         result: Some("42".into()),
//!     })),
//! };
//! let back = HistoryEvent::decode(event.encode_to_vec().as_slice()).unwrap();
//! assert_eq!(back, event);
//! ```

use std::collections::BTreeMap;

use super::common::{
    OrchestrationInstance, OrchestrationStatus, ParentInstanceInfo, TaskFailureDetails, TraceContext, Value,
};
use super::sidecar::{Int32Value, OrchestrationState};
use crate::grpc::wkt::{Duration, StringValue, Timestamp};

/// One event of an orchestration's history.
///
/// `event_id` is the task id for the events that schedule work (`taskScheduled`, `timerCreated`,
/// `subOrchestrationInstanceCreated`, `eventSent`) and `-1` for the others; `timestamp` is when
/// the event was recorded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryEvent {
    /// The event's id (see above).
    #[prost(int32, tag = "1")]
    pub event_id: i32,
    /// When the event was recorded.
    #[prost(message, optional, tag = "2")]
    pub timestamp: Option<Timestamp>,
    /// What happened.
    #[prost(
        oneof = "history_event::EventType",
        tags = "3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30"
    )]
    pub event_type: Option<history_event::EventType>,
}

/// The oneof of [`HistoryEvent`].
pub mod history_event {
    /// What a [`HistoryEvent`](super::HistoryEvent) records.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum EventType {
        /// The orchestration started.
        #[prost(message, tag = "3")]
        ExecutionStarted(super::ExecutionStartedEvent),
        /// The orchestration completed.
        #[prost(message, tag = "4")]
        ExecutionCompleted(super::ExecutionCompletedEvent),
        /// The orchestration was terminated.
        #[prost(message, tag = "5")]
        ExecutionTerminated(super::ExecutionTerminatedEvent),
        /// An activity was scheduled.
        #[prost(message, tag = "6")]
        TaskScheduled(super::TaskScheduledEvent),
        /// An activity completed.
        #[prost(message, tag = "7")]
        TaskCompleted(super::TaskCompletedEvent),
        /// An activity failed.
        #[prost(message, tag = "8")]
        TaskFailed(super::TaskFailedEvent),
        /// A sub-orchestration was created.
        #[prost(message, tag = "9")]
        SubOrchestrationInstanceCreated(super::SubOrchestrationInstanceCreatedEvent),
        /// A sub-orchestration completed.
        #[prost(message, tag = "10")]
        SubOrchestrationInstanceCompleted(super::SubOrchestrationInstanceCompletedEvent),
        /// A sub-orchestration failed.
        #[prost(message, tag = "11")]
        SubOrchestrationInstanceFailed(super::SubOrchestrationInstanceFailedEvent),
        /// A timer was created.
        #[prost(message, tag = "12")]
        TimerCreated(super::TimerCreatedEvent),
        /// A timer fired.
        #[prost(message, tag = "13")]
        TimerFired(super::TimerFiredEvent),
        /// An episode started.
        #[prost(message, tag = "14")]
        OrchestratorStarted(super::OrchestratorStartedEvent),
        /// An episode ended.
        #[prost(message, tag = "15")]
        OrchestratorCompleted(super::OrchestratorCompletedEvent),
        /// An event was sent.
        #[prost(message, tag = "16")]
        EventSent(super::EventSentEvent),
        /// An event arrived.
        #[prost(message, tag = "17")]
        EventRaised(super::EventRaisedEvent),
        /// A generic event.
        #[prost(message, tag = "18")]
        GenericEvent(super::GenericEvent),
        /// A state snapshot.
        #[prost(message, tag = "19")]
        HistoryState(super::HistoryStateEvent),
        /// The orchestration continued as new.
        #[prost(message, tag = "20")]
        ContinueAsNew(super::ContinueAsNewEvent),
        /// The orchestration was suspended.
        #[prost(message, tag = "21")]
        ExecutionSuspended(super::ExecutionSuspendedEvent),
        /// The orchestration was resumed.
        #[prost(message, tag = "22")]
        ExecutionResumed(super::ExecutionResumedEvent),
        /// An entity was signaled.
        #[prost(message, tag = "23")]
        EntityOperationSignaled(super::EntityOperationSignaledEvent),
        /// An entity was called.
        #[prost(message, tag = "24")]
        EntityOperationCalled(super::EntityOperationCalledEvent),
        /// An entity operation completed.
        #[prost(message, tag = "25")]
        EntityOperationCompleted(super::EntityOperationCompletedEvent),
        /// An entity operation failed.
        #[prost(message, tag = "26")]
        EntityOperationFailed(super::EntityOperationFailedEvent),
        /// Entity locks were requested.
        #[prost(message, tag = "27")]
        EntityLockRequested(super::EntityLockRequestedEvent),
        /// An entity lock was granted.
        #[prost(message, tag = "28")]
        EntityLockGranted(super::EntityLockGrantedEvent),
        /// An entity lock was released.
        #[prost(message, tag = "29")]
        EntityUnlockSent(super::EntityUnlockSentEvent),
        /// The orchestration was rewound.
        #[prost(message, tag = "30")]
        ExecutionRewound(super::ExecutionRewoundEvent),
    }
}

/// One thing an orchestrator asks for; `id` is the task id the worker chose, which the
/// scheduling event in the history will carry as its `event_id`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrchestratorAction {
    /// The task id.
    #[prost(int32, tag = "1")]
    pub id: i32,
    /// What is asked for.
    #[prost(
        oneof = "orchestrator_action::OrchestratorActionType",
        tags = "2, 3, 4, 5, 6, 7, 8, 9"
    )]
    pub orchestrator_action_type: Option<orchestrator_action::OrchestratorActionType>,
}

/// The oneof of [`OrchestratorAction`].
pub mod orchestrator_action {
    /// What an [`OrchestratorAction`](super::OrchestratorAction) asks for.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum OrchestratorActionType {
        /// Run an activity.
        #[prost(message, tag = "2")]
        ScheduleTask(super::ScheduleTaskAction),
        /// Start a sub-orchestration.
        #[prost(message, tag = "3")]
        CreateSubOrchestration(super::CreateSubOrchestrationAction),
        /// Create a timer.
        #[prost(message, tag = "4")]
        CreateTimer(super::CreateTimerAction),
        /// Send an event.
        #[prost(message, tag = "5")]
        SendEvent(super::SendEventAction),
        /// End the orchestration.
        #[prost(message, tag = "6")]
        CompleteOrchestration(super::CompleteOrchestrationAction),
        /// Terminate another instance.
        #[prost(message, tag = "7")]
        TerminateOrchestration(super::TerminateOrchestrationAction),
        /// Send an entity message (newer extensions only).
        #[prost(message, tag = "8")]
        SendEntityMessage(super::SendEntityMessageAction),
        /// Rewind the orchestration.
        #[prost(message, tag = "9")]
        RewindOrchestration(super::RewindOrchestrationAction),
    }
}

/// Send a message to an entity (an action newer extensions accept; azfn sends entity messages as
/// [`SendEventAction`]s in the legacy format instead).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendEntityMessageAction {
    /// The message.
    #[prost(oneof = "send_entity_message_action::EntityMessageType", tags = "1, 2, 3, 4")]
    pub entity_message_type: Option<send_entity_message_action::EntityMessageType>,
}

/// The oneof of [`SendEntityMessageAction`].
pub mod send_entity_message_action {
    /// The message a [`SendEntityMessageAction`](super::SendEntityMessageAction) sends.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum EntityMessageType {
        /// A signal.
        #[prost(message, tag = "1")]
        EntityOperationSignaled(super::EntityOperationSignaledEvent),
        /// A call.
        #[prost(message, tag = "2")]
        EntityOperationCalled(super::EntityOperationCalledEvent),
        /// A lock request.
        #[prost(message, tag = "3")]
        EntityLockRequested(super::EntityLockRequestedEvent),
        /// A lock release.
        #[prost(message, tag = "4")]
        EntityUnlockSent(super::EntityUnlockSentEvent),
    }
}

/// A request to run an activity (what a gRPC worker receives; custom handlers get the activity input directly).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActivityRequest {
    /// The activity's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The activity's version.
    #[prost(message, optional, tag = "2")]
    pub version: Option<StringValue>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// The orchestration that scheduled the activity.
    #[prost(message, optional, tag = "4")]
    pub orchestration_instance: Option<OrchestrationInstance>,
    /// The id of the orchestration's task.
    #[prost(int32, tag = "5")]
    pub task_id: i32,
    /// The trace context of the scheduling orchestration.
    #[prost(message, optional, tag = "6")]
    pub parent_trace_context: Option<TraceContext>,
    /// Tags of the task.
    #[prost(btree_map = "string, string", tag = "7")]
    pub tags: BTreeMap<String, String>,
}

/// The outcome of an activity.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActivityResponse {
    /// The orchestration instance that scheduled the activity.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The id of the orchestration's task.
    #[prost(int32, tag = "2")]
    pub task_id: i32,
    /// The result, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub result: Option<StringValue>,
    /// Why the activity failed, if it did.
    #[prost(message, optional, tag = "4")]
    pub failure_details: Option<TaskFailureDetails>,
    /// The work item's completion token.
    #[prost(string, tag = "5")]
    pub completion_token: String,
}

/// The orchestration started: its name, input and parent.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionStartedEvent {
    /// The orchestrator's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The orchestrator's version.
    #[prost(message, optional, tag = "2")]
    pub version: Option<StringValue>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// The instance (id and execution id).
    #[prost(message, optional, tag = "4")]
    pub orchestration_instance: Option<OrchestrationInstance>,
    /// The parent orchestration, for a sub-orchestration.
    #[prost(message, optional, tag = "5")]
    pub parent_instance: Option<ParentInstanceInfo>,
    /// When the start was scheduled for.
    #[prost(message, optional, tag = "6")]
    pub scheduled_start_timestamp: Option<Timestamp>,
    /// The trace context of the starter.
    #[prost(message, optional, tag = "7")]
    pub parent_trace_context: Option<TraceContext>,
    /// The orchestration's span id.
    #[prost(message, optional, tag = "8")]
    pub orchestration_span_id: Option<StringValue>,
    /// Tags of the instance.
    #[prost(btree_map = "string, string", tag = "9")]
    pub tags: BTreeMap<String, String>,
}

/// The orchestration completed (or failed, or continued as new).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionCompletedEvent {
    /// The final status ([`OrchestrationStatus`]).
    #[prost(enumeration = "OrchestrationStatus", tag = "1")]
    pub orchestration_status: i32,
    /// The output, as JSON text.
    #[prost(message, optional, tag = "2")]
    pub result: Option<StringValue>,
    /// Why it failed, if it did.
    #[prost(message, optional, tag = "3")]
    pub failure_details: Option<TaskFailureDetails>,
}

/// A client terminated the orchestration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionTerminatedEvent {
    /// The reason, as JSON text.
    #[prost(message, optional, tag = "1")]
    pub input: Option<StringValue>,
    /// Whether sub-orchestrations are terminated too.
    #[prost(bool, tag = "2")]
    pub recurse: bool,
}

/// An activity was scheduled; the event's `event_id` is the task id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskScheduledEvent {
    /// The activity's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The activity's version.
    #[prost(message, optional, tag = "2")]
    pub version: Option<StringValue>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// The trace context of the orchestration.
    #[prost(message, optional, tag = "4")]
    pub parent_trace_context: Option<TraceContext>,
    /// Tags of the task.
    #[prost(btree_map = "string, string", tag = "5")]
    pub tags: BTreeMap<String, String>,
}

/// An activity completed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskCompletedEvent {
    /// The task id (the `event_id` of its [`TaskScheduledEvent`]).
    #[prost(int32, tag = "1")]
    pub task_scheduled_id: i32,
    /// The result, as JSON text.
    #[prost(message, optional, tag = "2")]
    pub result: Option<StringValue>,
}

/// An activity failed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskFailedEvent {
    /// The task id (the `event_id` of its [`TaskScheduledEvent`]).
    #[prost(int32, tag = "1")]
    pub task_scheduled_id: i32,
    /// Why it failed.
    #[prost(message, optional, tag = "2")]
    pub failure_details: Option<TaskFailureDetails>,
}

/// A sub-orchestration was created; the event's `event_id` is the task id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubOrchestrationInstanceCreatedEvent {
    /// The child's instance id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The child orchestrator's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The child orchestrator's version.
    #[prost(message, optional, tag = "3")]
    pub version: Option<StringValue>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "4")]
    pub input: Option<StringValue>,
    /// The trace context of the parent.
    #[prost(message, optional, tag = "5")]
    pub parent_trace_context: Option<TraceContext>,
    /// Tags of the child.
    #[prost(btree_map = "string, string", tag = "6")]
    pub tags: BTreeMap<String, String>,
}

/// A sub-orchestration completed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubOrchestrationInstanceCompletedEvent {
    /// The task id.
    #[prost(int32, tag = "1")]
    pub task_scheduled_id: i32,
    /// The child's output, as JSON text.
    #[prost(message, optional, tag = "2")]
    pub result: Option<StringValue>,
}

/// A sub-orchestration failed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubOrchestrationInstanceFailedEvent {
    /// The task id.
    #[prost(int32, tag = "1")]
    pub task_scheduled_id: i32,
    /// Why it failed.
    #[prost(message, optional, tag = "2")]
    pub failure_details: Option<TaskFailureDetails>,
}

/// A durable timer was created; the event's `event_id` is the timer id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimerCreatedEvent {
    /// When the timer fires.
    #[prost(message, optional, tag = "1")]
    pub fire_at: Option<Timestamp>,
}

/// A durable timer fired.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimerFiredEvent {
    /// When the timer was due.
    #[prost(message, optional, tag = "1")]
    pub fire_at: Option<Timestamp>,
    /// The timer id (the `event_id` of its [`TimerCreatedEvent`]).
    #[prost(int32, tag = "2")]
    pub timer_id: i32,
}

/// An episode of the orchestrator started; the event's timestamp is the orchestration's "now".
#[derive(Clone, PartialEq, Copy, Eq, prost::Message)]
pub struct OrchestratorStartedEvent {}

/// An episode of the orchestrator ended.
#[derive(Clone, PartialEq, Copy, Eq, prost::Message)]
pub struct OrchestratorCompletedEvent {}

/// The orchestration sent an event to another instance; the event's `event_id` is the task id.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventSentEvent {
    /// The target instance.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The event's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The payload, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
}

/// An event arrived (from a client, another orchestration, or an entity's response).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventRaisedEvent {
    /// The event's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The payload, as JSON text.
    #[prost(message, optional, tag = "2")]
    pub input: Option<StringValue>,
}

/// A generic event (unused by orchestrations).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GenericEvent {
    /// The data.
    #[prost(message, optional, tag = "1")]
    pub data: Option<StringValue>,
}

/// A snapshot of the orchestration's state (unused by orchestrations).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistoryStateEvent {
    /// The state.
    #[prost(message, optional, tag = "1")]
    pub orchestration_state: Option<OrchestrationState>,
}

/// The orchestration continued as new.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContinueAsNewEvent {
    /// The new input, as JSON text.
    #[prost(message, optional, tag = "1")]
    pub input: Option<StringValue>,
}

/// A client suspended the orchestration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionSuspendedEvent {
    /// The reason.
    #[prost(message, optional, tag = "1")]
    pub input: Option<StringValue>,
}

/// A client resumed the orchestration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionResumedEvent {
    /// The reason.
    #[prost(message, optional, tag = "1")]
    pub input: Option<StringValue>,
}

/// A signal to an entity (one-way operation).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityOperationSignaledEvent {
    /// The request id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// The operation's name.
    #[prost(string, tag = "2")]
    pub operation: String,
    /// When the operation is to run, if scheduled.
    #[prost(message, optional, tag = "3")]
    pub scheduled_time: Option<Timestamp>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "4")]
    pub input: Option<StringValue>,
    /// The target entity (only within histories).
    #[prost(message, optional, tag = "5")]
    pub target_instance_id: Option<StringValue>,
}

/// A call to an entity (two-way operation).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityOperationCalledEvent {
    /// The request id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// The operation's name.
    #[prost(string, tag = "2")]
    pub operation: String,
    /// When the operation is to run, if scheduled.
    #[prost(message, optional, tag = "3")]
    pub scheduled_time: Option<Timestamp>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "4")]
    pub input: Option<StringValue>,
    /// The calling instance (only within messages).
    #[prost(message, optional, tag = "5")]
    pub parent_instance_id: Option<StringValue>,
    /// The calling execution (only within messages).
    #[prost(message, optional, tag = "6")]
    pub parent_execution_id: Option<StringValue>,
    /// The target entity (only within histories).
    #[prost(message, optional, tag = "7")]
    pub target_instance_id: Option<StringValue>,
}

/// A request for entity locks (a critical section).
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityLockRequestedEvent {
    /// The critical section's id.
    #[prost(string, tag = "1")]
    pub critical_section_id: String,
    /// The entities to lock, sorted.
    #[prost(string, repeated, tag = "2")]
    pub lock_set: Vec<String>,
    /// The position of the entity this message goes to.
    #[prost(int32, tag = "3")]
    pub position: i32,
    /// The requesting instance (only within messages).
    #[prost(message, optional, tag = "4")]
    pub parent_instance_id: Option<StringValue>,
}

/// An entity operation completed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityOperationCompletedEvent {
    /// The request id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// The result, as JSON text.
    #[prost(message, optional, tag = "2")]
    pub output: Option<StringValue>,
}

/// An entity operation failed.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityOperationFailedEvent {
    /// The request id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// Why it failed.
    #[prost(message, optional, tag = "2")]
    pub failure_details: Option<TaskFailureDetails>,
}

/// An orchestration released an entity lock.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityUnlockSentEvent {
    /// The critical section's id.
    #[prost(string, tag = "1")]
    pub critical_section_id: String,
    /// The releasing instance (only within messages).
    #[prost(message, optional, tag = "2")]
    pub parent_instance_id: Option<StringValue>,
    /// The entity (only within histories).
    #[prost(message, optional, tag = "3")]
    pub target_instance_id: Option<StringValue>,
}

/// An entity lock was granted.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntityLockGrantedEvent {
    /// The critical section's id.
    #[prost(string, tag = "1")]
    pub critical_section_id: String,
}

/// A client rewound a failed orchestration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutionRewoundEvent {
    /// The reason.
    #[prost(message, optional, tag = "1")]
    pub reason: Option<StringValue>,
    /// For a rewound sub-orchestration: the parent's execution id.
    #[prost(message, optional, tag = "2")]
    pub parent_execution_id: Option<StringValue>,
    /// For a rewound sub-orchestration: its instance id.
    #[prost(message, optional, tag = "3")]
    pub instance_id: Option<StringValue>,
    /// For a rewound sub-orchestration: the parent's trace context.
    #[prost(message, optional, tag = "4")]
    pub parent_trace_context: Option<TraceContext>,
    /// The orchestrator's name (Durable Task Scheduler only).
    #[prost(message, optional, tag = "5")]
    pub name: Option<StringValue>,
    /// The orchestrator's version (Durable Task Scheduler only).
    #[prost(message, optional, tag = "6")]
    pub version: Option<StringValue>,
    /// The input (Durable Task Scheduler only).
    #[prost(message, optional, tag = "7")]
    pub input: Option<StringValue>,
    /// The parent (Durable Task Scheduler only).
    #[prost(message, optional, tag = "8")]
    pub parent_instance: Option<ParentInstanceInfo>,
    /// Tags (Durable Task Scheduler only).
    #[prost(btree_map = "string, string", tag = "9")]
    pub tags: BTreeMap<String, String>,
}

/// Schedule an activity.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScheduleTaskAction {
    /// The activity's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The activity's version.
    #[prost(message, optional, tag = "2")]
    pub version: Option<StringValue>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub input: Option<StringValue>,
    /// Tags of the task.
    #[prost(btree_map = "string, string", tag = "4")]
    pub tags: BTreeMap<String, String>,
    /// The trace context to run the activity under.
    #[prost(message, optional, tag = "5")]
    pub parent_trace_context: Option<TraceContext>,
}

/// Start a sub-orchestration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateSubOrchestrationAction {
    /// The child's instance id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The child orchestrator's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The child orchestrator's version.
    #[prost(message, optional, tag = "3")]
    pub version: Option<StringValue>,
    /// The input, as JSON text.
    #[prost(message, optional, tag = "4")]
    pub input: Option<StringValue>,
    /// The trace context to run the child under.
    #[prost(message, optional, tag = "5")]
    pub parent_trace_context: Option<TraceContext>,
    /// Tags of the child.
    #[prost(btree_map = "string, string", tag = "6")]
    pub tags: BTreeMap<String, String>,
}

/// Create a durable timer.
#[derive(Clone, PartialEq, Copy, Eq, prost::Message)]
pub struct CreateTimerAction {
    /// When the timer fires.
    #[prost(message, optional, tag = "1")]
    pub fire_at: Option<Timestamp>,
}

/// Send an event to another instance (also how entity messages go out in the legacy format).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SendEventAction {
    /// The target instance.
    #[prost(message, optional, tag = "1")]
    pub instance: Option<OrchestrationInstance>,
    /// The event's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The payload, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub data: Option<StringValue>,
}

/// End the orchestration: completed, failed or continued as new.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompleteOrchestrationAction {
    /// The final status ([`OrchestrationStatus`]).
    #[prost(enumeration = "OrchestrationStatus", tag = "1")]
    pub orchestration_status: i32,
    /// The output (or the new input, when continuing as new), as JSON text.
    #[prost(message, optional, tag = "2")]
    pub result: Option<StringValue>,
    /// Free-form details.
    #[prost(message, optional, tag = "3")]
    pub details: Option<StringValue>,
    /// The version to continue as new with.
    #[prost(message, optional, tag = "4")]
    pub new_version: Option<StringValue>,
    /// Unprocessed events carried over into the new execution.
    #[prost(message, repeated, tag = "5")]
    pub carryover_events: Vec<HistoryEvent>,
    /// Why the orchestration failed.
    #[prost(message, optional, tag = "6")]
    pub failure_details: Option<TaskFailureDetails>,
    /// Tags.
    #[prost(btree_map = "string, string", tag = "7")]
    pub tags: BTreeMap<String, String>,
}

/// Terminate another instance (rejected by the extension's passthrough path).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TerminateOrchestrationAction {
    /// The instance to terminate.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The reason, as JSON text.
    #[prost(message, optional, tag = "2")]
    pub reason: Option<StringValue>,
    /// Whether to terminate its sub-orchestrations too.
    #[prost(bool, tag = "3")]
    pub recurse: bool,
}

/// Rewind the orchestration to a new history.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RewindOrchestrationAction {
    /// The history to continue from.
    #[prost(message, repeated, tag = "1")]
    pub new_history: Vec<HistoryEvent>,
}

/// The orchestration's own span.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrchestrationTraceContext {
    /// The span id.
    #[prost(message, optional, tag = "1")]
    pub span_id: Option<StringValue>,
    /// When the span started.
    #[prost(message, optional, tag = "2")]
    pub span_start_time: Option<Timestamp>,
}

/// Entity settings of the task hub, sent with every orchestrator request.
#[derive(Clone, PartialEq, Copy, Eq, prost::Message)]
pub struct OrchestratorEntityParameters {
    /// How long entity messages may arrive out of order.
    #[prost(message, optional, tag = "1")]
    pub entity_message_reorder_window: Option<Duration>,
}

/// An episode of an orchestration: what the worker is asked to run.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrchestratorRequest {
    /// The instance id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The execution id.
    #[prost(message, optional, tag = "2")]
    pub execution_id: Option<StringValue>,
    /// The history already committed (replayed).
    #[prost(message, repeated, tag = "3")]
    pub past_events: Vec<HistoryEvent>,
    /// The events that triggered this episode.
    #[prost(message, repeated, tag = "4")]
    pub new_events: Vec<HistoryEvent>,
    /// Entity settings.
    #[prost(message, optional, tag = "5")]
    pub entity_parameters: Option<OrchestratorEntityParameters>,
    /// Whether the history must be streamed separately (never, for Functions).
    #[prost(bool, tag = "6")]
    pub requires_history_streaming: bool,
    /// Extra properties.
    #[prost(btree_map = "string, message", tag = "7")]
    pub properties: BTreeMap<String, Value>,
    /// The orchestration's span.
    #[prost(message, optional, tag = "8")]
    pub orchestration_trace_context: Option<OrchestrationTraceContext>,
}

/// The worker's answer to an [`OrchestratorRequest`]: the new actions and the custom status.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrchestratorResponse {
    /// The instance id.
    #[prost(string, tag = "1")]
    pub instance_id: String,
    /// The actions scheduled in this episode, with the ids the worker chose.
    #[prost(message, repeated, tag = "2")]
    pub actions: Vec<OrchestratorAction>,
    /// The custom status, as JSON text.
    #[prost(message, optional, tag = "3")]
    pub custom_status: Option<StringValue>,
    /// The work item's completion token (empty for Functions).
    #[prost(string, tag = "4")]
    pub completion_token: String,
    /// How many events were processed (absent: all).
    #[prost(message, optional, tag = "5")]
    pub num_events_processed: Option<Int32Value>,
    /// The orchestration's span.
    #[prost(message, optional, tag = "6")]
    pub orchestration_trace_context: Option<OrchestrationTraceContext>,
    /// Whether the worker needs the full history to answer.
    #[prost(bool, tag = "7")]
    pub requires_history: bool,
    /// Deprecated chunking: whether more chunks follow.
    #[prost(bool, tag = "8")]
    pub is_partial: bool,
    /// Deprecated chunking: this chunk's position.
    #[prost(message, optional, tag = "9")]
    pub chunk_index: Option<Int32Value>,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn field_numbers_match_the_proto_on_the_wire() {
        // HistoryEvent{eventId=3 (field 1), timerFired (field 13){fireAt (1){seconds=5}, timerId (2)=3}}
        let event = HistoryEvent {
            event_id: 3,
            timestamp: None,
            event_type: Some(history_event::EventType::TimerFired(TimerFiredEvent {
                fire_at: Some(Timestamp { seconds: 5, nanos: 0 }),
                timer_id: 3,
            })),
        };
        assert_eq!(event.encode_to_vec(), vec![0x08, 3, 0x6a, 6, 0x0a, 2, 0x08, 5, 0x10, 3]);

        // OrchestratorAction{id=1, completeOrchestration (6){status (1)=COMPLETED, result (2)=StringValue{"1"}}}
        let action = OrchestratorAction {
            id: 1,
            orchestrator_action_type: Some(orchestrator_action::OrchestratorActionType::CompleteOrchestration(
                CompleteOrchestrationAction {
                    orchestration_status: OrchestrationStatus::Completed as i32,
                    result: Some("1".into()),
                    ..Default::default()
                },
            )),
        };
        assert_eq!(
            action.encode_to_vec(),
            vec![0x08, 1, 0x32, 7, 0x08, 1, 0x12, 3, 0x0a, 1, b'1']
        );
    }

    #[test]
    fn requests_round_trip() {
        let request = OrchestratorRequest {
            instance_id: "abc".into(),
            execution_id: Some("e1".into()),
            past_events: vec![HistoryEvent {
                event_id: -1,
                timestamp: Some(Timestamp { seconds: 1, nanos: 2 }),
                event_type: Some(history_event::EventType::ExecutionRewound(ExecutionRewoundEvent {
                    reason: Some("why".into()),
                    ..Default::default()
                })),
            }],
            new_events: vec![HistoryEvent {
                event_id: -1,
                timestamp: None,
                event_type: Some(history_event::EventType::EntityLockRequested(
                    EntityLockRequestedEvent {
                        critical_section_id: "cs".into(),
                        lock_set: vec!["@a@1".into(), "@b@2".into()],
                        position: 1,
                        parent_instance_id: None,
                    },
                )),
            }],
            entity_parameters: Some(OrchestratorEntityParameters {
                entity_message_reorder_window: Some(Duration { seconds: 30, nanos: 0 }),
            }),
            ..Default::default()
        };
        let back = OrchestratorRequest::decode(request.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, request);
    }
}
