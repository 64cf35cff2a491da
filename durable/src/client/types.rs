//! What the client returns: statuses, instance and entity metadata, filters, pages and
//! management links.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::entity::EntityId;
use crate::proto::OrchestrationState;
use crate::proto::{OrchestrationStatus, TaskFailureDetails};
use azfn_wire::wkt::Timestamp;

use super::{ClientError, non_empty, typed};

/// An orchestration instance's runtime status.
///
/// ```
/// use azfn::durable::client::RuntimeStatus;
/// assert!(RuntimeStatus::Failed.is_terminal());
/// assert!(!RuntimeStatus::Suspended.is_terminal());
/// assert_eq!(RuntimeStatus::ContinuedAsNew.to_string(), "ContinuedAsNew");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeStatus {
    /// Running, or waiting for work.
    Running,
    /// Completed with an output.
    Completed,
    /// Restarted with new input.
    ContinuedAsNew,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
    /// Terminated by a client.
    Terminated,
    /// Scheduled, not started yet.
    Pending,
    /// Suspended by a client.
    Suspended,
    /// A status this version of azfn does not know.
    Unknown(i32),
}

impl RuntimeStatus {
    /// Whether the instance has finished: completed, failed, terminated or canceled.
    ///
    /// ```
    /// assert!(azfn::durable::client::RuntimeStatus::Completed.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RuntimeStatus::Completed | RuntimeStatus::Failed | RuntimeStatus::Terminated | RuntimeStatus::Canceled
        )
    }

    /// The status of the protocol's number.
    ///
    /// ```
    /// use azfn::durable::client::RuntimeStatus;
    /// assert_eq!(RuntimeStatus::from_proto(7), RuntimeStatus::Suspended);
    /// assert_eq!(RuntimeStatus::from_proto(42), RuntimeStatus::Unknown(42));
    /// ```
    pub fn from_proto(status: i32) -> Self {
        match OrchestrationStatus::try_from(status) {
            Ok(OrchestrationStatus::Running) => RuntimeStatus::Running,
            Ok(OrchestrationStatus::Completed) => RuntimeStatus::Completed,
            Ok(OrchestrationStatus::ContinuedAsNew) => RuntimeStatus::ContinuedAsNew,
            Ok(OrchestrationStatus::Failed) => RuntimeStatus::Failed,
            Ok(OrchestrationStatus::Canceled) => RuntimeStatus::Canceled,
            Ok(OrchestrationStatus::Terminated) => RuntimeStatus::Terminated,
            Ok(OrchestrationStatus::Pending) => RuntimeStatus::Pending,
            Ok(OrchestrationStatus::Suspended) => RuntimeStatus::Suspended,
            Err(_) => RuntimeStatus::Unknown(status),
        }
    }

    pub(super) fn to_proto(self) -> i32 {
        let status = match self {
            RuntimeStatus::Running => OrchestrationStatus::Running,
            RuntimeStatus::Completed => OrchestrationStatus::Completed,
            RuntimeStatus::ContinuedAsNew => OrchestrationStatus::ContinuedAsNew,
            RuntimeStatus::Failed => OrchestrationStatus::Failed,
            RuntimeStatus::Canceled => OrchestrationStatus::Canceled,
            RuntimeStatus::Terminated => OrchestrationStatus::Terminated,
            RuntimeStatus::Pending => OrchestrationStatus::Pending,
            RuntimeStatus::Suspended => OrchestrationStatus::Suspended,
            RuntimeStatus::Unknown(other) => return other,
        };
        status as i32
    }
}

impl fmt::Display for RuntimeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeStatus::Running => f.write_str("Running"),
            RuntimeStatus::Completed => f.write_str("Completed"),
            RuntimeStatus::ContinuedAsNew => f.write_str("ContinuedAsNew"),
            RuntimeStatus::Failed => f.write_str("Failed"),
            RuntimeStatus::Canceled => f.write_str("Canceled"),
            RuntimeStatus::Terminated => f.write_str("Terminated"),
            RuntimeStatus::Pending => f.write_str("Pending"),
            RuntimeStatus::Suspended => f.write_str("Suspended"),
            RuntimeStatus::Unknown(n) => write!(f, "Unknown({n})"),
        }
    }
}

/// An orchestration instance's status. Inputs, outputs and custom status are kept as the JSON
/// text the extension stores; the typed getters deserialize them.
///
/// ```
/// use azfn::durable::client::{OrchestrationMetadata, RuntimeStatus};
/// let status = OrchestrationMetadata {
///     instance_id: "abc".into(),
///     runtime_status: RuntimeStatus::Completed,
///     serialized_output: Some("[1,2]".into()),
///     ..Default::default()
/// };
/// assert_eq!(status.output::<Vec<u8>>().unwrap(), Some(vec![1, 2]));
/// assert_eq!(status.input::<String>().unwrap(), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OrchestrationMetadata {
    /// The orchestrator's name.
    pub name: String,
    /// The instance id.
    pub instance_id: String,
    /// The runtime status.
    pub runtime_status: RuntimeStatus,
    /// When it was created.
    pub created_at: Option<SystemTime>,
    /// When it last changed.
    pub last_updated_at: Option<SystemTime>,
    /// When it completed.
    pub completed_at: Option<SystemTime>,
    /// When it was scheduled to start.
    pub scheduled_start_at: Option<SystemTime>,
    /// The input as JSON text.
    pub serialized_input: Option<String>,
    /// The output as JSON text.
    pub serialized_output: Option<String>,
    /// The custom status as JSON text.
    pub serialized_custom_status: Option<String>,
    /// Why it failed, when it did.
    pub failure_details: Option<TaskFailureDetails>,
    /// The current execution's id.
    pub execution_id: Option<String>,
    /// The parent's instance id, for a sub-orchestration.
    pub parent_instance_id: Option<String>,
    /// The orchestrator's version.
    pub version: Option<String>,
    /// Tags of the instance.
    pub tags: BTreeMap<String, String>,
}

impl Default for OrchestrationMetadata {
    fn default() -> Self {
        OrchestrationMetadata {
            name: String::new(),
            instance_id: String::new(),
            runtime_status: RuntimeStatus::Pending,
            created_at: None,
            last_updated_at: None,
            completed_at: None,
            scheduled_start_at: None,
            serialized_input: None,
            serialized_output: None,
            serialized_custom_status: None,
            failure_details: None,
            execution_id: None,
            parent_instance_id: None,
            version: None,
            tags: BTreeMap::new(),
        }
    }
}

impl OrchestrationMetadata {
    pub(super) fn from_proto(state: OrchestrationState) -> Self {
        let time = |t: Option<Timestamp>| t.map(Timestamp::to_system_time);
        OrchestrationMetadata {
            runtime_status: RuntimeStatus::from_proto(state.orchestration_status),
            name: state.name,
            instance_id: state.instance_id,
            created_at: time(state.created_timestamp),
            last_updated_at: time(state.last_updated_timestamp),
            completed_at: time(state.completed_timestamp),
            scheduled_start_at: time(state.scheduled_start_timestamp),
            serialized_input: non_empty(state.input),
            serialized_output: non_empty(state.output),
            serialized_custom_status: non_empty(state.custom_status),
            failure_details: state.failure_details,
            execution_id: non_empty(state.execution_id),
            parent_instance_id: non_empty(state.parent_instance_id),
            version: non_empty(state.version),
            tags: state.tags,
        }
    }

    /// The input, deserialized; `None` when there is none (or it was not asked for).
    ///
    /// ```
    /// let status = azfn::durable::client::OrchestrationMetadata { serialized_input: Some("\"Tokyo\"".into()), ..Default::default() };
    /// assert_eq!(status.input::<String>().unwrap().as_deref(), Some("Tokyo"));
    /// ```
    pub fn input<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        typed(self.serialized_input.as_deref(), "input", &self.instance_id)
    }

    /// The output, deserialized; `None` when there is none.
    ///
    /// ```
    /// let status = azfn::durable::client::OrchestrationMetadata { serialized_output: Some("3".into()), ..Default::default() };
    /// assert_eq!(status.output::<u32>().unwrap(), Some(3));
    /// ```
    pub fn output<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        typed(self.serialized_output.as_deref(), "output", &self.instance_id)
    }

    /// The custom status, deserialized; `None` when there is none.
    ///
    /// ```
    /// let status = azfn::durable::client::OrchestrationMetadata { serialized_custom_status: Some("{\"step\":2}".into()), ..Default::default() };
    /// assert_eq!(status.custom_status::<serde_json::Value>().unwrap().unwrap()["step"], 2);
    /// ```
    pub fn custom_status<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        typed(
            self.serialized_custom_status.as_deref(),
            "custom status",
            &self.instance_id,
        )
    }

    /// The status as the extension's HTTP API shows it: `name`, `instanceId`, `runtimeStatus`,
    /// `input`, `customStatus`, `output`, `createdTime`, `lastUpdatedTime`.
    ///
    /// ```
    /// use azfn::durable::client::{OrchestrationMetadata, RuntimeStatus};
    /// let status = OrchestrationMetadata { instance_id: "abc".into(), runtime_status: RuntimeStatus::Failed, ..Default::default() };
    /// assert_eq!(status.to_json()["runtimeStatus"], "Failed");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let value = |text: &Option<String>| {
            text.as_deref()
                .map(|t| serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.to_owned())))
                .unwrap_or(serde_json::Value::Null)
        };
        let time = |t: Option<SystemTime>| t.map(format_time).map_or(serde_json::Value::Null, Into::into);
        serde_json::json!({
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.runtime_status.to_string(),
            "input": value(&self.serialized_input),
            "customStatus": value(&self.serialized_custom_status),
            "output": value(&self.serialized_output),
            "createdTime": time(self.created_at),
            "lastUpdatedTime": time(self.last_updated_at),
        })
    }
}

/// Which instances [`DurableClient::query_instances`](super::DurableClient::query_instances) lists.
///
/// ```
/// use azfn::durable::client::{InstanceFilter, RuntimeStatus};
/// let filter = InstanceFilter { statuses: vec![RuntimeStatus::Failed], page_size: Some(20), ..Default::default() };
/// assert!(filter.continuation_token.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceFilter {
    /// Only instances created at or after this time.
    pub created_from: Option<SystemTime>,
    /// Only instances created at or before this time.
    pub created_to: Option<SystemTime>,
    /// Only instances in these statuses (all when empty).
    pub statuses: Vec<RuntimeStatus>,
    /// Only instances whose id starts with this.
    pub instance_id_prefix: Option<String>,
    /// Only instances of these task hubs.
    pub task_hub_names: Vec<String>,
    /// The page size (100 when not set).
    pub page_size: Option<u32>,
    /// Where the previous page ended.
    pub continuation_token: Option<String>,
    /// Whether to include inputs and outputs.
    pub fetch_inputs_and_outputs: bool,
}

/// One page of instances.
///
/// ```
/// let page = azfn::durable::client::InstancePage::default();
/// assert!(page.instances.is_empty() && page.continuation_token.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstancePage {
    /// The instances.
    pub instances: Vec<OrchestrationMetadata>,
    /// Where the next page starts; `None` on the last page.
    pub continuation_token: Option<String>,
}

/// Which instances [`DurableClient::purge_instances`](super::DurableClient::purge_instances) deletes.
///
/// ```
/// use azfn::durable::client::{PurgeFilter, RuntimeStatus};
/// let filter = PurgeFilter { statuses: vec![RuntimeStatus::Completed], ..Default::default() };
/// assert!(filter.created_from.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurgeFilter {
    /// Only instances created at or after this time.
    pub created_from: Option<SystemTime>,
    /// Only instances created at or before this time.
    pub created_to: Option<SystemTime>,
    /// Only instances in these statuses (all when empty).
    pub statuses: Vec<RuntimeStatus>,
    /// Purge the matching instances' sub-orchestrations too (`PurgeInstancesRequest.recursive`;
    /// extension 2.13 does not read it).
    pub recursive: bool,
}

/// What a purge deleted.
///
/// ```
/// let result = azfn::durable::client::PurgeResult { deleted_instance_count: 1, is_complete: None };
/// assert_eq!(result.deleted_instance_count, 1);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeResult {
    /// How many instances were deleted.
    pub deleted_instance_count: u32,
    /// Whether the purge finished (`None` when the backend does not say).
    pub is_complete: Option<bool>,
}

/// An entity's metadata, and its state when asked for.
///
/// ```
/// use azfn::durable::client::EntityMetadata;
/// use azfn::durable::entity::EntityId;
/// let entity = EntityMetadata {
///     id: EntityId::new("counter", "a"),
///     last_modified_at: None,
///     backlog_queue_size: 0,
///     locked_by: None,
///     serialized_state: Some("5".into()),
/// };
/// assert_eq!(entity.state::<i64>().unwrap(), Some(5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMetadata {
    /// The entity.
    pub id: EntityId,
    /// When it was last modified.
    pub last_modified_at: Option<SystemTime>,
    /// How many operations wait for it.
    pub backlog_queue_size: u32,
    /// The orchestration holding its lock, if any.
    pub locked_by: Option<String>,
    /// Its state as JSON text, when asked for and present.
    pub serialized_state: Option<String>,
}

impl EntityMetadata {
    pub(super) fn from_proto(entity: crate::proto::EntityMetadata, method: &'static str) -> Result<Self, ClientError> {
        let id = EntityId::parse(&entity.instance_id).map_err(|e| ClientError::Protocol {
            method,
            message: e.to_string(),
        })?;
        Ok(EntityMetadata {
            id,
            last_modified_at: entity.last_modified_time.map(Timestamp::to_system_time),
            backlog_queue_size: u32::try_from(entity.backlog_queue_size).unwrap_or(0),
            locked_by: non_empty(entity.locked_by),
            serialized_state: non_empty(entity.serialized_state),
        })
    }

    /// The state, deserialized; `None` when there is none (or it was not asked for).
    ///
    /// ```
    /// # use azfn::durable::client::EntityMetadata;
    /// # let entity = EntityMetadata { id: "@c@k".parse().unwrap(), last_modified_at: None, backlog_queue_size: 0, locked_by: None, serialized_state: None };
    /// assert_eq!(entity.state::<i64>().unwrap(), None);
    /// ```
    pub fn state<S: DeserializeOwned>(&self) -> Result<Option<S>, ClientError> {
        typed(self.serialized_state.as_deref(), "state", &self.id.to_string())
    }
}

/// Which entities [`DurableClient::query_entities`](super::DurableClient::query_entities) lists.
///
/// ```
/// let filter = azfn::durable::client::EntityFilter { instance_id_starts_with: Some("counter@".into()), ..Default::default() };
/// assert!(!filter.include_state);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityFilter {
    /// Only entities whose instance id (`@name@key`) starts with this. A leading `@` is added
    /// when missing, and the name part is lower-cased, so `"Counter"` lists every counter.
    pub instance_id_starts_with: Option<String>,
    /// Only entities modified at or after this time.
    pub last_modified_from: Option<SystemTime>,
    /// Only entities modified at or before this time.
    pub last_modified_to: Option<SystemTime>,
    /// Whether to include the states.
    pub include_state: bool,
    /// Whether to include entities without state.
    pub include_transient: bool,
    /// The page size (the backend's default when not set).
    pub page_size: Option<u32>,
    /// Where the previous page ended.
    pub continuation_token: Option<String>,
}

/// One page of entities.
///
/// ```
/// let page = azfn::durable::client::EntityPage::default();
/// assert!(page.entities.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityPage {
    /// The entities.
    pub entities: Vec<EntityMetadata>,
    /// Where the next page starts; `None` on the last page.
    pub continuation_token: Option<String>,
}

/// What [`DurableClient::clean_entity_storage`](super::DurableClient::clean_entity_storage) did.
///
/// ```
/// let result = azfn::durable::client::CleanEntityStorageResult::default();
/// assert_eq!(result.empty_entities_removed + result.orphaned_locks_released, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanEntityStorageResult {
    /// How many entities without state were removed.
    pub empty_entities_removed: u32,
    /// How many orphaned locks were released.
    pub orphaned_locks_released: u32,
}

/// The management links of an instance on the extension's HTTP API, as the check-status
/// response carries them. `{eventName}` and `{text}` are placeholders for the caller to fill.
///
/// ```
/// let links = azfn::durable::client::HttpManagementPayload::default();
/// assert_eq!(serde_json::to_value(&links).unwrap()["statusQueryGetUri"], "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpManagementPayload {
    /// The instance id.
    pub id: String,
    /// `GET`: the status.
    pub status_query_get_uri: String,
    /// `POST`: raises the event `{eventName}`.
    pub send_event_post_uri: String,
    /// `POST`: terminates, with the reason `{text}`.
    pub terminate_post_uri: String,
    /// `DELETE`: purges the history.
    pub purge_history_delete_uri: String,
    /// `POST`: restarts.
    pub restart_post_uri: String,
    /// `POST`: suspends, with the reason `{text}`.
    pub suspend_post_uri: String,
    /// `POST`: resumes, with the reason `{text}`.
    pub resume_post_uri: String,
    /// `POST`: rewinds, with the reason `{text}`.
    pub rewind_post_uri: String,
}

/// RFC 3339 in UTC with seconds, as the HTTP API shows times.
fn format_time(time: SystemTime) -> String {
    let seconds = match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    azfn_bindings::schedule::CivilTime::from_unix(seconds).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn times_format_as_rfc_3339() {
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(format_time(UNIX_EPOCH - Duration::from_secs(1)), "1969-12-31T23:59:59Z");
    }
}
