//! Event Hubs: partition context and per-event metadata (the event bodies are the payload).
//!
//! Event Hubs triggers are batched by default: take the payload as `Vec<T>` and the metadata as
//! [`EventHubBatchMetadata`]; with a single-event payload take [`EventHubEventMetadata`].

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{batch_maps, lenient_i64};
use crate::data::DecodeError;

/// Which partition of which event hub the events come from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PartitionContext {
    /// The event hub.
    pub event_hub_name: String,
    /// The consumer group reading it.
    pub consumer_group: String,
    /// The namespace, `name.servicebus.windows.net`.
    pub fully_qualified_namespace: String,
    /// The partition.
    pub partition_id: String,
}

/// The metadata of one event.
///
/// ```
/// use azfn::EventHubEventMetadata;
/// let metadata: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "PartitionContext": {"EventHubName": "telemetry", "ConsumerGroup": "$Default",
///         "FullyQualifiedNamespace": "ns.servicebus.windows.net", "PartitionId": "3"},
///     "Offset": "4096", "SequenceNumber": 42, "EnqueuedTimeUtc": "2024-05-01T10:00:00Z",
///     "PartitionKey": "device-7", "Properties": {"unit": "C"}, "SystemProperties": {}
/// }"#).unwrap();
/// let event = EventHubEventMetadata::from_metadata(&metadata).unwrap();
/// assert_eq!(event.partition_context.partition_id, "3");
/// assert_eq!(event.sequence_number, 42);
/// assert_eq!(event.offset, "4096");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
// Deserialized only through `from_metadata`: a `Deserialize` impl would make the type a
// payload too, which the extraction traits must tell apart.
#[serde(rename_all = "PascalCase", default, remote = "Self")]
pub struct EventHubEventMetadata {
    /// The partition the event was read from.
    pub partition_context: PartitionContext,
    /// The event's offset in the partition (text: it may exceed JSON's safe integers).
    #[serde(deserialize_with = "offset")]
    pub offset: String,
    /// The event's sequence number in the partition.
    #[serde(deserialize_with = "lenient_i64")]
    pub sequence_number: i64,
    /// When the event was enqueued (ISO-8601).
    pub enqueued_time_utc: String,
    /// The partition key the sender chose.
    pub partition_key: Option<String>,
    /// The sender's application properties.
    pub properties: Map<String, Value>,
    /// The broker's system properties.
    pub system_properties: Map<String, Value>,
}

/// Offsets arrive as numbers or text; kept as text.
fn offset<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

const KEYS: &[&str] = &[
    "PartitionContext",
    "Offset",
    "SequenceNumber",
    "EnqueuedTimeUtc",
    "PartitionKey",
    "Properties",
    "SystemProperties",
];

impl EventHubEventMetadata {
    /// Reads the metadata the host sends with one event.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        Self::deserialize(&Value::Object(metadata.clone()))
            .map_err(|e| DecodeError::new(format!("trigger metadata: {e}")))
    }
}

/// The metadata of a batch of events, in payload order.
///
/// ```
/// use azfn::EventHubBatchMetadata;
/// let metadata: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "PartitionContext": {"EventHubName": "telemetry", "PartitionId": "0"},
///     "SequenceNumberArray": [7, 8], "OffsetArray": ["10", "20"],
///     "EnqueuedTimeUtcArray": ["2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z"],
///     "PropertiesArray": [{}, {"unit": "F"}]
/// }"#).unwrap();
/// let batch = EventHubBatchMetadata::from_metadata(&metadata).unwrap();
/// assert_eq!(batch.partition_context.event_hub_name, "telemetry");
/// assert_eq!(batch.events.len(), 2);
/// assert_eq!(batch.events[1].sequence_number, 8);
/// assert_eq!(batch.events[1].properties["unit"], "F");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventHubBatchMetadata {
    /// The partition the batch was read from.
    pub partition_context: PartitionContext,
    /// One entry per event.
    pub events: Vec<EventHubEventMetadata>,
}

impl EventHubBatchMetadata {
    /// Reads the metadata the host sends with a batch.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        let partition_context = match metadata.get("PartitionContext") {
            Some(value) => PartitionContext::deserialize(value)
                .map_err(|e| DecodeError::new(format!("trigger metadata: PartitionContext: {e}")))?,
            None => PartitionContext::default(),
        };
        let events = batch_maps(metadata, KEYS)
            .iter()
            .map(EventHubEventMetadata::from_metadata)
            .collect::<Result<_, _>>()?;
        Ok(EventHubBatchMetadata {
            partition_context,
            events,
        })
    }
}
