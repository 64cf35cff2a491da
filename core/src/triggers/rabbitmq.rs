//! RabbitMQ: the delivery metadata of a message (the body is the payload parameter).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::lenient_u64;
use crate::data::DecodeError;

/// How and where a RabbitMQ message was delivered, with its AMQP properties.
///
/// ```
/// use azfn::RabbitMqMessageMetadata;
/// let metadata: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "ConsumerTag": "amq.ctag-1", "DeliveryTag": 4, "Redelivered": false, "Exchange": "",
///     "RoutingKey": "orders", "BasicProperties": {"ContentType": "application/json",
///     "MessageId": "m-1", "Headers": {"tenant": "a"}, "DeliveryMode": 2}
/// }"#).unwrap();
/// let message = RabbitMqMessageMetadata::from_metadata(&metadata).unwrap();
/// assert_eq!(message.delivery_tag, 4);
/// assert_eq!(message.basic_properties.message_id.as_deref(), Some("m-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
// Deserialized only through `from_metadata`: a `Deserialize` impl would make the type a
// payload too, which the extraction traits must tell apart.
#[serde(rename_all = "PascalCase", default, remote = "Self")]
pub struct RabbitMqMessageMetadata {
    /// The consumer's tag.
    pub consumer_tag: String,
    /// The delivery tag, for acknowledgements.
    #[serde(deserialize_with = "lenient_u64")]
    pub delivery_tag: u64,
    /// Whether the message was delivered before.
    pub redelivered: bool,
    /// The exchange it was published to.
    pub exchange: String,
    /// Its routing key.
    pub routing_key: String,
    /// Its AMQP properties.
    pub basic_properties: RabbitMqProperties,
}

/// The AMQP basic properties of a message.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RabbitMqProperties {
    /// The media type of the body.
    pub content_type: Option<String>,
    /// The encoding of the body.
    pub content_encoding: Option<String>,
    /// Application headers.
    pub headers: Map<String, Value>,
    /// 1 transient, 2 persistent.
    pub delivery_mode: Option<u8>,
    /// The priority.
    pub priority: Option<u8>,
    /// The correlation id.
    pub correlation_id: Option<String>,
    /// Where replies go.
    pub reply_to: Option<String>,
    /// The expiration, in milliseconds as text.
    pub expiration: Option<String>,
    /// The message id.
    pub message_id: Option<String>,
    /// The type name.
    #[serde(rename = "Type")]
    pub message_type: Option<String>,
    /// The publishing user.
    pub user_id: Option<String>,
    /// The publishing application.
    pub app_id: Option<String>,
}

impl RabbitMqMessageMetadata {
    /// Reads the metadata the host sends with a message.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        Self::deserialize(&Value::Object(metadata.clone()))
            .map_err(|e| DecodeError::new(format!("trigger metadata: {e}")))
    }
}
