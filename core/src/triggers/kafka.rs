//! Kafka: the event a `kafka_trigger` receives (or `Vec<KafkaEvent>` in batches).

use serde::Deserialize;
use serde_json::Value;

/// One Kafka event with its key, value, position and headers.
///
/// ```
/// use azfn::KafkaEvent;
/// let event: KafkaEvent = azfn::BindingData::Text(r#"{"Offset": 36, "Partition": 1,
///     "Topic": "orders", "Timestamp": "2024-05-01T10:00:00Z", "Key": "k1",
///     "Value": "{\"id\": 7}", "Headers": [{"Key": "source", "Value": "d2Vi"}]}"#.into()).decode().unwrap();
/// assert_eq!(event.offset, 36);
/// assert_eq!(event.headers[0].value_bytes().unwrap(), b"web");
/// #[derive(serde::Deserialize)] struct Order { id: u32 }
/// assert_eq!(event.value_as::<Order>().unwrap().id, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KafkaEvent {
    /// The event's offset in its partition.
    pub offset: i64,
    /// The partition.
    pub partition: i32,
    /// The topic.
    pub topic: String,
    /// When the event was produced (ISO-8601).
    pub timestamp: String,
    /// The key.
    pub key: Value,
    /// The value (text for string and JSON values).
    pub value: Value,
    /// The headers.
    pub headers: Vec<KafkaHeader>,
}

impl KafkaEvent {
    /// Reads the value as `T`: parses JSON text, or takes a structured value as it is.
    pub fn value_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::DecodeError> {
        let result = match &self.value {
            Value::String(text) => serde_json::from_str(text),
            other => T::deserialize(other),
        };
        result.map_err(|e| crate::DecodeError::new(format!("Kafka event value: {e}")))
    }
}

/// A Kafka header; the value is base64 as the extension sends it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KafkaHeader {
    /// The header's name.
    pub key: String,
    /// The header's value, base64.
    pub value: String,
}

impl KafkaHeader {
    /// The header's value as bytes.
    pub fn value_bytes(&self) -> Result<Vec<u8>, crate::DecodeError> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.value)
            .map_err(|e| crate::DecodeError::new(format!("Kafka header `{}`: {e}", self.key)))
    }
}
