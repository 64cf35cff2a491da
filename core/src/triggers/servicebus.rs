//! Service Bus: the metadata of a received message (the body is the payload parameter), and
//! settling it ([`settlement`]).
//!
//! The host sends the message body as the trigger's value and the message's properties as
//! metadata; a batch (`Vec<T>` payload) sends each property as an array `<Key>Array`.

pub mod settlement;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{batch_maps, lenient_i64, lenient_u64};
use crate::data::DecodeError;

/// The properties of one Service Bus message.
///
/// ```
/// use azfn::ServiceBusMessageMetadata;
/// let metadata: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "MessageId": "b1f2", "DeliveryCount": 2, "EnqueuedTimeUtc": "2024-05-01T10:00:00Z",
///     "ExpiresAtUtc": "2024-05-15T10:00:00Z", "SequenceNumber": 17, "LockToken": "f0e1",
///     "SessionId": "customer-7", "ContentType": "application/json", "CorrelationId": "c-9",
///     "Subject": "order", "ApplicationProperties": {"priority": "high"},
///     "sys": {"MethodName": "orders", "UtcNow": "2024-05-01T10:00:01Z", "RandGuid": "0f"}
/// }"#).unwrap();
/// let message = ServiceBusMessageMetadata::from_metadata(&metadata).unwrap();
/// assert_eq!(message.delivery_count, 2);
/// assert_eq!(message.session_id.as_deref(), Some("customer-7"));
/// assert_eq!(message.application_properties["priority"], "high");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
// Deserialized only through `from_metadata`: a `Deserialize` impl would make the type a
// payload too, which the extraction traits must tell apart.
#[serde(rename_all = "PascalCase", default, remote = "Self")]
pub struct ServiceBusMessageMetadata {
    /// The message id.
    pub message_id: String,
    /// How many times the message was delivered, this time included.
    #[serde(deserialize_with = "lenient_u64")]
    pub delivery_count: u64,
    /// When the message was enqueued (ISO-8601).
    pub enqueued_time_utc: String,
    /// When the message expires (ISO-8601).
    pub expires_at_utc: String,
    /// The sequence number the broker assigned.
    #[serde(deserialize_with = "lenient_i64")]
    pub sequence_number: i64,
    /// The lock token, needed to settle the message.
    pub lock_token: String,
    /// The session id, on session-enabled entities.
    pub session_id: Option<String>,
    /// The content type set by the sender.
    pub content_type: Option<String>,
    /// The correlation id set by the sender.
    pub correlation_id: Option<String>,
    /// The subject (formerly `Label`).
    #[serde(alias = "Label")]
    pub subject: Option<String>,
    /// Where replies go.
    pub reply_to: Option<String>,
    /// The intended recipient.
    pub to: Option<String>,
    /// The partition key.
    pub partition_key: Option<String>,
    /// The queue the message was dead-lettered from, for dead-letter queues.
    pub dead_letter_source: Option<String>,
    /// The sender's application properties (formerly `UserProperties`).
    #[serde(alias = "UserProperties")]
    pub application_properties: Map<String, Value>,
}

/// The metadata keys a batch sends as arrays.
const KEYS: &[&str] = &[
    "MessageId",
    "DeliveryCount",
    "EnqueuedTimeUtc",
    "ExpiresAtUtc",
    "SequenceNumber",
    "LockToken",
    "SessionId",
    "ContentType",
    "CorrelationId",
    "Subject",
    "Label",
    "ReplyTo",
    "To",
    "PartitionKey",
    "DeadLetterSource",
    "ApplicationProperties",
    "UserProperties",
];

impl ServiceBusMessageMetadata {
    /// Reads the metadata the host sends with one message.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        Self::deserialize(&Value::Object(metadata.clone()))
            .map_err(|e| DecodeError::new(format!("trigger metadata: {e}")))
    }
}

/// The properties of every message of a batch (`cardinality = "many"`), in payload order.
///
/// ```
/// use azfn::ServiceBusBatchMetadata;
/// let metadata: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "MessageIdArray": ["m1", "m2"], "DeliveryCountArray": [1, 3],
///     "ApplicationPropertiesArray": [{}, {"retry": true}]
/// }"#).unwrap();
/// let batch = ServiceBusBatchMetadata::from_metadata(&metadata).unwrap();
/// assert_eq!(batch.messages[1].message_id, "m2");
/// assert_eq!(batch.messages[1].delivery_count, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceBusBatchMetadata {
    /// One entry per message.
    pub messages: Vec<ServiceBusMessageMetadata>,
}

impl ServiceBusBatchMetadata {
    /// Reads the metadata the host sends with a batch.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        let messages = batch_maps(metadata, KEYS)
            .iter()
            .map(ServiceBusMessageMetadata::from_metadata)
            .collect::<Result<_, _>>()?;
        Ok(ServiceBusBatchMetadata { messages })
    }
}
