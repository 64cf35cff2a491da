//! The extension's legacy entity messages, as orchestrations exchange them with entities over
//! `eventSent` / `eventRaised`: the request (`RequestMessage`, also the lock request), the lock
//! release (`ReleaseMessage`) and the response (`ResponseMessage`). Field names follow Durable
//! Task Core's JSON contract (`DurableTask.Core/Entities/EventFormat/*.cs`).

use serde::{Deserialize, Serialize};

use super::Outcome;
use super::entity_id::EntityId;
use crate::proto::TaskFailureDetails;

#[derive(Serialize)]
struct RequestMessage<'a> {
    op: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    signal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a str>,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    #[serde(rename = "parentExecution", skip_serializing_if = "Option::is_none")]
    parent_execution: Option<&'a str>,
    /// When a scheduled signal is due (.NET round-trip format); the extension's
    /// `RequestMessage.ScheduledTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<&'a str>,
}

/// The JSON text of a request to run `operation` (`input` is the operation input's JSON text,
/// carried as a string). Calls name their parent instance, so the entity knows where to answer;
/// signals do not.
pub(crate) fn request_message(
    operation: &str,
    signal: bool,
    input: Option<&str>,
    request_id: &str,
    parent: Option<&str>,
    parent_execution: Option<&str>,
    due: Option<&str>,
) -> String {
    let message = RequestMessage {
        op: operation,
        signal,
        input,
        id: request_id,
        parent,
        parent_execution,
        due,
    };
    serde_json::to_string(&message).unwrap_or_default()
}

/// An entity of a lock set, as Durable Task Core's `EntityId` serializes (`name`, `key`).
#[derive(Serialize)]
struct LockedEntity<'a> {
    name: &'a str,
    key: &'a str,
}

/// A lock request: a `RequestMessage` without `op` whose `lockset` is set. Durable Task Core
/// (`OrchestrationEntityContext.EmitAcquireMessage`) sends it, as an `op` event, to the first
/// entity of the set at position 0 (`pos`, omitted when 0 as `EmitDefaultValue = false` does);
/// each entity forwards it to the next, and the last one answers the orchestration.
#[derive(Serialize)]
struct LockRequestMessage<'a> {
    id: &'a str,
    parent: &'a str,
    #[serde(rename = "parentExecution", skip_serializing_if = "Option::is_none")]
    parent_execution: Option<&'a str>,
    lockset: Vec<LockedEntity<'a>>,
}

/// The JSON text of the request to lock `lockset` (sorted, without repeats) for the critical
/// section `request_id` of the orchestration `parent`.
pub(crate) fn lock_request_message(
    request_id: &str,
    parent: &str,
    parent_execution: Option<&str>,
    lockset: &[EntityId],
) -> String {
    let message = LockRequestMessage {
        id: request_id,
        parent,
        parent_execution,
        lockset: lockset
            .iter()
            .map(|entity| LockedEntity {
                name: entity.name(),
                key: entity.key(),
            })
            .collect(),
    };
    serde_json::to_string(&message).unwrap_or_default()
}

/// A lock release (`ReleaseMessage`), sent as a `release` event to each locked entity. The
/// entity unlocks when `parent` is the instance holding its lock; `id` names the section.
#[derive(Serialize)]
struct ReleaseMessage<'a> {
    parent: &'a str,
    id: &'a str,
}

/// The JSON text of the release of the critical section `section_id` held by `parent`.
pub(crate) fn release_message(parent: &str, section_id: &str) -> String {
    serde_json::to_string(&ReleaseMessage { parent, id: section_id }).unwrap_or_default()
}

#[derive(Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    result: Option<String>,
    #[serde(default, rename = "exceptionType")]
    exception_type: Option<String>,
    #[serde(default, rename = "failureDetails")]
    failure_details: Option<serde_json::Value>,
}

/// Reads a field of a serialized `FailureDetails`, whichever casing the sender used.
fn detail(details: Option<&serde_json::Value>, pascal: &str, camel: &str) -> Option<String> {
    let details = details?;
    details
        .get(pascal)
        .or_else(|| details.get(camel))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// The outcome of an entity call from the payload of its response event: the result's JSON
/// text, or a failure when `exceptionType` is set.
pub(crate) fn decode_response(payload: Option<&str>) -> Outcome {
    let Some(payload) = payload else {
        return Ok(None);
    };
    let response: ResponseMessage = match serde_json::from_str(payload) {
        Ok(response) => response,
        Err(error) => {
            return Err(TaskFailureDetails {
                error_type: "EntityResponseError".into(),
                error_message: format!("the entity's response could not be read: {error}"),
                ..Default::default()
            });
        }
    };
    match response.exception_type {
        None => Ok(response.result),
        Some(exception_type) => {
            let details = response.failure_details.as_ref();
            Err(TaskFailureDetails {
                error_type: detail(details, "ErrorType", "errorType").unwrap_or_else(|| exception_type.clone()),
                error_message: detail(details, "ErrorMessage", "errorMessage")
                    .or(response.result)
                    .unwrap_or(exception_type),
                stack_trace: detail(details, "StackTrace", "stackTrace").map(Into::into),
                ..Default::default()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_signals_encode_like_durable_task_core() {
        assert_eq!(
            request_message("add", false, Some("5"), "g", Some("orch"), Some("exec"), None),
            r#"{"op":"add","input":"5","id":"g","parent":"orch","parentExecution":"exec"}"#
        );
        assert_eq!(
            request_message("reset", true, None, "g", None, None, None),
            r#"{"op":"reset","signal":true,"id":"g"}"#
        );
        assert_eq!(
            request_message(
                "reset",
                true,
                None,
                "g",
                None,
                None,
                Some("2024-01-02T03:04:05.0000000Z")
            ),
            r#"{"op":"reset","signal":true,"id":"g","due":"2024-01-02T03:04:05.0000000Z"}"#
        );
    }

    #[test]
    fn lock_requests_and_releases_encode_like_durable_task_core() {
        let lockset = [EntityId::new("Account", "a"), EntityId::new("account", "b@c")];
        assert_eq!(
            lock_request_message("g", "orch", Some("exec"), &lockset),
            r#"{"id":"g","parent":"orch","parentExecution":"exec","lockset":[{"name":"account","key":"a"},{"name":"account","key":"b@c"}]}"#
        );
        assert_eq!(
            lock_request_message("g", "orch", None, &lockset[..1]),
            r#"{"id":"g","parent":"orch","lockset":[{"name":"account","key":"a"}]}"#
        );
        assert_eq!(release_message("orch", "g"), r#"{"parent":"orch","id":"g"}"#);
    }

    #[test]
    fn the_lock_grant_decodes_as_a_result() {
        // `TaskEntityDispatcher.SendLockResponseMessage`: a `ResponseMessage` whose result is
        // this text (not JSON); the orchestration ignores it.
        assert_eq!(
            decode_response(Some(r#"{"result":"Lock Acquisition Completed"}"#)),
            Ok(Some("Lock Acquisition Completed".into()))
        );
    }

    #[test]
    fn responses_decode_results_and_failures() {
        assert_eq!(decode_response(Some(r#"{"result":"42"}"#)), Ok(Some("42".into())));
        assert_eq!(decode_response(Some(r#"{"result":null}"#)), Ok(None));
        let failed = decode_response(Some(
            r#"{"result":"boom","exceptionType":"InvalidOperationException","failureDetails":{"ErrorType":"System.InvalidOperationException","ErrorMessage":"no such op"}}"#,
        ))
        .unwrap_err();
        assert_eq!(failed.error_type, "System.InvalidOperationException");
        assert_eq!(failed.error_message, "no such op");
        let bare = decode_response(Some(r#"{"result":"boom","exceptionType":"Error"}"#)).unwrap_err();
        assert_eq!(
            (bare.error_type.as_str(), bare.error_message.as_str()),
            ("Error", "boom")
        );
        assert!(decode_response(Some("not json")).is_err());
    }
}
