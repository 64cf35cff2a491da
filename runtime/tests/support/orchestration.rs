//! What the golden tests of orchestrations share (durable_orchestration.rs,
//! durable_critical_section.rs): history events and actions as the Durable extension writes
//! them, and running an orchestrator over a request as the worker does (base64 both ways).
// Each test file uses its own subset.
#![allow(dead_code)]

use azfn::durable::orchestration::{OrchestrationContext, decode_request, encode_response, run_orchestrator};
use azfn::durable::proto::history_event::EventType;
use azfn::durable::proto::orchestrator_action::OrchestratorActionType;
use azfn::durable::proto::*;
use azfn::durable::proto::{OrchestrationInstance, OrchestrationStatus, TaskFailureDetails};
use azfn::grpc::wkt::Timestamp;
use base64::Engine;
use prost::Message;

/// 2024-01-02T03:04:05Z.
pub const T0: i64 = 1_704_164_645;
pub const INSTANCE: &str = "inst";

// ----- history events -----

pub fn event(event_id: i32, at: i64, event_type: EventType) -> HistoryEvent {
    HistoryEvent {
        event_id,
        timestamp: Some(Timestamp { seconds: at, nanos: 0 }),
        event_type: Some(event_type),
    }
}

pub fn orchestrator_started(at: i64) -> HistoryEvent {
    event(-1, at, EventType::OrchestratorStarted(OrchestratorStartedEvent {}))
}

pub fn orchestrator_completed(at: i64) -> HistoryEvent {
    event(-1, at, EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}))
}

pub fn execution_started(name: &str, input: Option<&str>) -> HistoryEvent {
    event(
        -1,
        T0,
        EventType::ExecutionStarted(ExecutionStartedEvent {
            name: name.into(),
            input: input.map(Into::into),
            orchestration_instance: Some(OrchestrationInstance {
                instance_id: INSTANCE.into(),
                execution_id: Some("exec-1".into()),
            }),
            ..Default::default()
        }),
    )
}

pub fn task_scheduled(id: i32, at: i64, name: &str, input: Option<&str>) -> HistoryEvent {
    event(
        id,
        at,
        EventType::TaskScheduled(TaskScheduledEvent {
            name: name.into(),
            input: input.map(Into::into),
            ..Default::default()
        }),
    )
}

pub fn task_completed(id: i32, at: i64, result: Option<&str>) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::TaskCompleted(TaskCompletedEvent {
            task_scheduled_id: id,
            result: result.map(Into::into),
        }),
    )
}

pub fn failure(error_type: &str, message: &str) -> TaskFailureDetails {
    TaskFailureDetails {
        error_type: error_type.into(),
        error_message: message.into(),
        ..Default::default()
    }
}

pub fn task_failed(id: i32, at: i64, details: TaskFailureDetails) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::TaskFailed(TaskFailedEvent {
            task_scheduled_id: id,
            failure_details: Some(details),
        }),
    )
}

pub fn timer_created(id: i32, at: i64, fire_at: i64) -> HistoryEvent {
    event(
        id,
        at,
        EventType::TimerCreated(TimerCreatedEvent {
            fire_at: Some(Timestamp {
                seconds: fire_at,
                nanos: 0,
            }),
        }),
    )
}

pub fn timer_fired(id: i32, fire_at: i64) -> HistoryEvent {
    event(
        -1,
        fire_at,
        EventType::TimerFired(TimerFiredEvent {
            fire_at: Some(Timestamp {
                seconds: fire_at,
                nanos: 0,
            }),
            timer_id: id,
        }),
    )
}

pub fn event_raised(at: i64, name: &str, input: Option<&str>) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::EventRaised(EventRaisedEvent {
            name: name.into(),
            input: input.map(Into::into),
        }),
    )
}

pub fn event_sent(id: i32, at: i64, instance: &str, name: &str, input: &str) -> HistoryEvent {
    event(
        id,
        at,
        EventType::EventSent(EventSentEvent {
            instance_id: instance.into(),
            name: name.into(),
            input: Some(input.into()),
        }),
    )
}

pub fn sub_created(id: i32, at: i64, name: &str, instance: &str) -> HistoryEvent {
    event(
        id,
        at,
        EventType::SubOrchestrationInstanceCreated(SubOrchestrationInstanceCreatedEvent {
            instance_id: instance.into(),
            name: name.into(),
            ..Default::default()
        }),
    )
}

pub fn sub_completed(id: i32, at: i64, result: &str) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::SubOrchestrationInstanceCompleted(SubOrchestrationInstanceCompletedEvent {
            task_scheduled_id: id,
            result: Some(result.into()),
        }),
    )
}

pub fn sub_failed(id: i32, at: i64, details: TaskFailureDetails) -> HistoryEvent {
    event(
        -1,
        at,
        EventType::SubOrchestrationInstanceFailed(SubOrchestrationInstanceFailedEvent {
            task_scheduled_id: id,
            failure_details: Some(details),
        }),
    )
}

// ----- actions -----

pub fn action(id: i32, action: OrchestratorActionType) -> OrchestratorAction {
    OrchestratorAction {
        id,
        orchestrator_action_type: Some(action),
    }
}

pub fn schedule(id: i32, name: &str, input: Option<&str>) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::ScheduleTask(ScheduleTaskAction {
            name: name.into(),
            input: input.map(Into::into),
            ..Default::default()
        }),
    )
}

pub fn create_timer(id: i32, fire_at: i64) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::CreateTimer(CreateTimerAction {
            fire_at: Some(Timestamp {
                seconds: fire_at,
                nanos: 0,
            }),
        }),
    )
}

pub fn create_sub(id: i32, name: &str, instance: &str, input: Option<&str>) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::CreateSubOrchestration(CreateSubOrchestrationAction {
            instance_id: instance.into(),
            name: name.into(),
            input: input.map(Into::into),
            ..Default::default()
        }),
    )
}

pub fn send_event(id: i32, instance: &str, name: &str, data: &str) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::SendEvent(SendEventAction {
            instance: Some(OrchestrationInstance {
                instance_id: instance.into(),
                execution_id: None,
            }),
            name: name.into(),
            data: Some(data.into()),
        }),
    )
}

pub fn completed(id: i32, result: Option<&str>) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::CompleteOrchestration(CompleteOrchestrationAction {
            orchestration_status: OrchestrationStatus::Completed as i32,
            result: result.map(Into::into),
            ..Default::default()
        }),
    )
}

pub fn failed(id: i32, details: TaskFailureDetails) -> OrchestratorAction {
    action(
        id,
        OrchestratorActionType::CompleteOrchestration(CompleteOrchestrationAction {
            orchestration_status: OrchestrationStatus::Failed as i32,
            failure_details: Some(details),
            ..Default::default()
        }),
    )
}

pub fn response(actions: Vec<OrchestratorAction>, custom_status: Option<&str>) -> OrchestratorResponse {
    OrchestratorResponse {
        instance_id: INSTANCE.into(),
        actions,
        custom_status: custom_status.map(Into::into),
        ..Default::default()
    }
}

// ----- running -----

/// Runs `orchestrator` the way the worker will: the request arrives as base64 (as the host
/// passes the trigger value), and the answer goes back as base64 and is decoded as the
/// extension would.
pub fn run<F, Fut, T>(past: Vec<HistoryEvent>, new: Vec<HistoryEvent>, orchestrator: F) -> OrchestratorResponse
where
    F: FnOnce(OrchestrationContext) -> Fut,
    Fut: std::future::Future<Output = Result<T, azfn::Error>>,
    T: serde::Serialize,
{
    let request = OrchestratorRequest {
        instance_id: INSTANCE.into(),
        execution_id: Some("exec-1".into()),
        past_events: past,
        new_events: new,
        entity_parameters: Some(OrchestratorEntityParameters {
            entity_message_reorder_window: Some(azfn::grpc::wkt::Duration { seconds: 30, nanos: 0 }),
        }),
        ..Default::default()
    };
    let wire = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
    let decoded = decode_request(&wire).expect("the request decodes");
    assert_eq!(decoded, request);
    let answer = encode_response(&run_orchestrator(&decoded, orchestrator));
    let bytes = base64::engine::general_purpose::STANDARD.decode(answer).unwrap();
    OrchestratorResponse::decode(bytes.as_slice()).unwrap()
}

pub fn completion(response: &OrchestratorResponse) -> &CompleteOrchestrationAction {
    match response
        .actions
        .last()
        .and_then(|a| a.orchestrator_action_type.as_ref())
    {
        Some(OrchestratorActionType::CompleteOrchestration(done)) => done,
        other => panic!("no completion, last action: {other:?}"),
    }
}
