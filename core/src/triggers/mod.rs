//! Payload and metadata types of the triggers, decoded from what the host sends.
//!
//! Timer, warmup, queue and blob are always compiled; every other service family lives in a
//! module of its own behind its cargo feature.
//!
//! How the host encodes values (custom-handler protocol): the trigger's value arrives as JSON
//! text or an inline object; `Metadata` values have their second JSON encoding undone by the
//! transport, so numbers are numbers, objects are objects and arrays (the `…Array` keys of
//! batches) are arrays. The decoders below accept both a number and a number written as text.

#[cfg(any(feature = "sql", feature = "mysql"))]
pub mod changes;
#[cfg(feature = "cosmosdb")]
pub mod cosmosdb;
#[cfg(feature = "eventgrid")]
pub mod eventgrid;
#[cfg(feature = "eventhubs")]
pub mod eventhubs;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;
#[cfg(feature = "servicebus")]
pub mod servicebus;
#[cfg(feature = "signalr")]
pub mod signalr;
#[cfg(feature = "tables")]
pub mod tables;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::data::{BindingData, DecodeError};

/// What a timer-triggered function receives.
///
/// ```
/// use azfn::{BindingData, TimerInfo};
/// let data = BindingData::Json(serde_json::json!({
///     "Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": true
/// }));
/// let timer = TimerInfo::from_binding(&data).unwrap();
/// assert!(timer.is_past_due);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimerInfo {
    /// Whether this run is later than scheduled (the app was down, or a run overran).
    pub is_past_due: bool,
    /// Whether the schedule adjusts for daylight saving time.
    pub adjust_for_dst: bool,
    /// The schedule's status, when `use_monitor` keeps one.
    pub schedule_status: Option<ScheduleStatus>,
}

/// The last and next runs of a monitored schedule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScheduleStatus {
    /// When the function last ran (ISO-8601).
    pub last: String,
    /// When it runs next (ISO-8601).
    pub next: String,
    /// When the status was last written (ISO-8601).
    pub last_updated: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TimerWire {
    schedule: Option<ScheduleWire>,
    schedule_status: Option<ScheduleStatus>,
    is_past_due: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScheduleWire {
    #[serde(rename = "AdjustForDST")]
    adjust_for_dst: bool,
}

impl TimerInfo {
    /// The value as the host sends it (`{"Schedule": …, "ScheduleStatus": …, "IsPastDue": …}`).
    pub fn to_json(&self) -> Value {
        let status = self
            .schedule_status
            .as_ref()
            .map(|s| serde_json::json!({"Last": s.last, "Next": s.next, "LastUpdated": s.last_updated}));
        serde_json::json!({
            "Schedule": {"AdjustForDST": self.adjust_for_dst},
            "ScheduleStatus": status,
            "IsPastDue": self.is_past_due,
        })
    }

    /// Reads the timer trigger's value.
    pub fn from_binding(data: &BindingData) -> Result<Self, DecodeError> {
        let wire: TimerWire = match data {
            BindingData::Null => TimerWire::default(),
            other => other.decode()?,
        };
        Ok(TimerInfo {
            is_past_due: wire.is_past_due,
            adjust_for_dst: wire.schedule.is_some_and(|s| s.adjust_for_dst),
            schedule_status: wire.schedule_status,
        })
    }
}

/// Accepts a number or a number written as text, as hosts send both.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().ok_or_else(|| serde::de::Error::custom("expected a count")),
        Value::String(s) => s.trim().parse().map_err(serde::de::Error::custom),
        Value::Null => Ok(0),
        other => Err(serde::de::Error::custom(format!("expected a count, found {other}"))),
    }
}

/// The metadata of a storage-queue message.
///
/// ```
/// use azfn::QueueTriggerMetadata;
/// let meta: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "DequeueCount": 1, "Id": "a0004923", "PopReceipt": "AgAAAAMAAAAAAAAA",
///     "InsertionTime": "2022-06-13T06:00:06+00:00", "ExpirationTime": "2022-06-20T06:00:06+00:00",
///     "NextVisibleTime": "2022-06-13T06:10:18+00:00"
/// }"#).unwrap();
/// let meta = QueueTriggerMetadata::from_metadata(&meta).unwrap();
/// assert_eq!(meta.dequeue_count, 1);
/// assert_eq!(meta.id, "a0004923");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueTriggerMetadata {
    /// The message id.
    pub id: String,
    /// How many times the message has been dequeued, this time included.
    pub dequeue_count: u64,
    /// When the message was added (ISO-8601).
    pub insertion_time: String,
    /// When the message expires (ISO-8601).
    pub expiration_time: String,
    /// When the message becomes visible again if not deleted (ISO-8601).
    pub next_visible_time: String,
    /// The pop receipt, needed to delete or update the message.
    pub pop_receipt: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct QueueWire {
    id: String,
    #[serde(deserialize_with = "lenient_u64")]
    dequeue_count: u64,
    insertion_time: String,
    expiration_time: String,
    next_visible_time: String,
    pop_receipt: String,
}

pub(crate) fn from_map<T: serde::de::DeserializeOwned>(metadata: &Map<String, Value>) -> Result<T, DecodeError> {
    T::deserialize(&Value::Object(metadata.clone())).map_err(|e| DecodeError::new(format!("trigger metadata: {e}")))
}

impl QueueTriggerMetadata {
    /// Reads the metadata the host sends with a queue trigger.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        let w: QueueWire = from_map(metadata)?;
        Ok(QueueTriggerMetadata {
            id: w.id,
            dequeue_count: w.dequeue_count,
            insertion_time: w.insertion_time,
            expiration_time: w.expiration_time,
            next_visible_time: w.next_visible_time,
            pop_receipt: w.pop_receipt,
        })
    }
}

/// The metadata of a blob that triggered a function.
///
/// ```
/// use azfn::BlobTriggerMetadata;
/// let meta: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
///     "Uri": "https://acct.blob.core.windows.net/samples/a.txt", "name": "a.txt",
///     "Properties": {"ContentType": "text/plain", "Length": 4}, "Metadata": {"owner": "me"},
///     "BlobTrigger": "samples/a.txt"
/// }"#).unwrap();
/// let meta = BlobTriggerMetadata::from_metadata(&meta).unwrap();
/// assert_eq!(meta.path_parameters["name"], "a.txt");
/// assert_eq!(meta.properties["ContentType"], "text/plain");
/// assert_eq!(meta.metadata["owner"], "me");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlobTriggerMetadata {
    /// The blob's URI.
    pub uri: String,
    /// `container/name` of the blob, when the host sends it.
    pub blob_trigger: Option<String>,
    /// The blob's properties (`ContentType`, `Length`, `ETag`, `LastModified`, …).
    pub properties: Map<String, Value>,
    /// The blob's user metadata.
    pub metadata: BTreeMap<String, String>,
    /// Values of the path pattern's parameters (`{name}` in `samples/{name}`).
    pub path_parameters: BTreeMap<String, String>,
}

/// Metadata keys the host always adds, which are not path parameters.
const BLOB_RESERVED_KEYS: &[&str] = &[
    "Uri",
    "Properties",
    "Metadata",
    "BlobTrigger",
    "sys",
    "RetryContext",
    "BlobClient",
];

impl BlobTriggerMetadata {
    /// Reads the metadata the host sends with a blob trigger.
    pub fn from_metadata(metadata: &Map<String, Value>) -> Result<Self, DecodeError> {
        let text = |key: &str| metadata.get(key).and_then(Value::as_str).map(str::to_owned);
        let properties = match metadata.get("Properties") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let user_metadata = match metadata.get("Metadata") {
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let path_parameters = metadata
            .iter()
            .filter(|(k, _)| !BLOB_RESERVED_KEYS.iter().any(|r| r.eq_ignore_ascii_case(k)))
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect();
        Ok(BlobTriggerMetadata {
            uri: text("Uri").unwrap_or_default(),
            blob_trigger: text("BlobTrigger"),
            properties,
            metadata: user_metadata,
            path_parameters,
        })
    }
}

/// Accepts a signed number, a number written as text, or nothing (0).
#[cfg_attr(not(any(feature = "servicebus", feature = "eventhubs")), allow(dead_code))]
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("expected an integer")),
        Value::String(s) => s.trim().parse().map_err(serde::de::Error::custom),
        Value::Null => Ok(0),
        other => Err(serde::de::Error::custom(format!("expected an integer, found {other}"))),
    }
}

/// Splits the metadata of a batch into one map per event: each key `K` of `keys` is read from
/// the array `KArray` (how the host sends batch metadata); keys without an array (shared by the
/// batch, such as Event Hubs' `PartitionContext`) are copied into every map.
#[cfg_attr(not(any(feature = "servicebus", feature = "eventhubs")), allow(dead_code))]
pub(crate) fn batch_maps(metadata: &Map<String, Value>, keys: &[&str]) -> Vec<Map<String, Value>> {
    let array = |key: &str| match metadata.get(&format!("{key}Array")) {
        Some(Value::Array(items)) => Some(items.as_slice()),
        _ => None,
    };
    let len = keys
        .iter()
        .filter_map(|k| array(k))
        .map(<[Value]>::len)
        .max()
        .unwrap_or(0);
    (0..len)
        .map(|i| {
            let mut map = Map::new();
            for key in keys {
                let value = match array(key) {
                    Some(items) => items.get(i).cloned(),
                    None => metadata.get(*key).cloned(),
                };
                if let Some(value) = value {
                    map.insert((*key).to_owned(), value);
                }
            }
            map
        })
        .collect()
}

/// What a warmup-triggered function receives: nothing but the fact that the instance is new.
///
/// ```
/// use azfn::prelude::*;
///
/// #[function(warmup_trigger)]
/// async fn warmup(_context: azfn::WarmupContext) {
///     // open connections, fill caches
/// }
/// # fn main() {}
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WarmupContext;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_metadata_splits_per_event() {
        let metadata: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "MessageIdArray": ["a", "b"], "DeliveryCountArray": [1, 2], "Shared": {"x": 1}
        }))
        .unwrap();
        let maps = batch_maps(&metadata, &["MessageId", "DeliveryCount", "Shared"]);
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1]["MessageId"], "b");
        assert_eq!(maps[1]["Shared"]["x"], 1);
    }
}
