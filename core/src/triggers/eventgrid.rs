//! Event Grid: the two event schemas an Event Grid trigger receives, as payload types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An event in the Event Grid schema, also what `event_grid_output` publishes.
///
/// ```
/// use azfn::EventGridEvent;
/// let event: EventGridEvent = azfn::BindingData::Text(r#"{
///     "id": "1807", "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
///     "subject": "/blobServices/default/containers/c/blobs/b.txt", "eventType": "Microsoft.Storage.BlobCreated",
///     "eventTime": "2024-05-01T10:00:00Z", "data": {"contentLength": 524}, "dataVersion": "1", "metadataVersion": "1"
/// }"#.into()).decode().unwrap();
/// assert_eq!(event.event_type, "Microsoft.Storage.BlobCreated");
/// assert_eq!(event.data["contentLength"], 524);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventGridEvent {
    /// Unique id of the event.
    pub id: String,
    /// The topic's resource path (set by Event Grid on delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// What the event is about.
    pub subject: String,
    /// The event type, e.g. `Microsoft.Storage.BlobCreated`.
    pub event_type: String,
    /// When it happened (ISO-8601).
    pub event_time: String,
    /// The event's data.
    pub data: Value,
    /// The schema version of `data`.
    pub data_version: String,
    /// The schema version of the envelope (set by Event Grid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_version: Option<String>,
}

/// An event in the CloudEvents 1.0 schema.
///
/// ```
/// use azfn::CloudEvent;
/// let event: CloudEvent = azfn::BindingData::Text(r#"{
///     "specversion": "1.0", "id": "A234", "source": "/mycontext", "type": "com.example.created",
///     "time": "2024-05-01T10:00:00Z", "datacontenttype": "application/json", "data": {"n": 1}
/// }"#.into()).decode().unwrap();
/// assert_eq!(event.event_type, "com.example.created");
/// assert_eq!(event.data["n"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CloudEvent {
    /// The CloudEvents version, `1.0`.
    pub specversion: String,
    /// Unique id within `source`.
    pub id: String,
    /// Who produced the event.
    pub source: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// What the event is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it happened (ISO-8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The media type of `data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// The event's data.
    pub data: Value,
}
