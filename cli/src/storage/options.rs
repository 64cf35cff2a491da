//! host.json `extensions.queues` and `extensions.blobs`: the knobs of the storage triggers,
//! with the WebJobs defaults.

use std::time::Duration;

use serde_json::{Map, Value};

use azfn_bindings::schedule::parse_time_span;

use crate::app::get_ignore_case;

/// How queue message text is encoded (triggers and outputs alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageEncoding {
    /// The default: messages are base64 of their bytes.
    Base64,
    /// Messages are the text as is.
    None,
}

/// `extensions.queues`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueOptions {
    /// Messages fetched at once (1–32, default 16).
    pub batch_size: u32,
    /// Fetch again when this many or fewer are in flight (default `batch_size / 2 × cores`).
    pub new_batch_threshold: u32,
    /// The longest wait between polls of an empty queue (default 1 min, at least 100 ms).
    pub max_polling_interval: Duration,
    /// How long a failed message stays invisible before it comes back (default 0).
    pub visibility_timeout: Duration,
    /// Tries before a message goes to the poison queue (default 5).
    pub max_dequeue_count: u32,
    /// How message text is encoded.
    pub message_encoding: MessageEncoding,
}

/// `extensions.blobs`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobOptions {
    /// Tries before a blob goes to `webjobs-blobtrigger-poison` (`poisonBlobThreshold`, 5).
    pub poison_threshold: u32,
}

/// The shortest polling interval the host accepts.
pub const MIN_POLLING_INTERVAL: Duration = Duration::from_millis(100);

impl QueueOptions {
    /// Reads `extensions.queues` of host.json (`None` for no host.json section).
    ///
    /// # Errors
    ///
    /// A message naming the key whose value is out of range or of the wrong kind.
    pub fn from_host_json(host: Option<&Map<String, Value>>) -> Result<Self, String> {
        let section = extension_section(host, "queues")?;
        let batch_size = integer(section, "queues", "batchSize", 1, 32)?.unwrap_or(16);
        let cores = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1));
        let new_batch_threshold =
            integer(section, "queues", "newBatchThreshold", 0, u32::MAX)?.unwrap_or(batch_size / 2 * cores);
        let max_polling_interval =
            time_span(section, "queues", "maxPollingInterval")?.unwrap_or(Duration::from_secs(60));
        if max_polling_interval < MIN_POLLING_INTERVAL {
            return Err("host.json `extensions.queues.maxPollingInterval` must be at least 00:00:00.1".into());
        }
        let visibility_timeout = time_span(section, "queues", "visibilityTimeout")?.unwrap_or(Duration::ZERO);
        let max_dequeue_count = integer(section, "queues", "maxDequeueCount", 1, u32::MAX)?.unwrap_or(5);
        let message_encoding = match section.and_then(|s| get_ignore_case(s, "messageEncoding")) {
            None | Some(Value::Null) => MessageEncoding::Base64,
            Some(Value::String(text)) if text.eq_ignore_ascii_case("base64") => MessageEncoding::Base64,
            Some(Value::String(text)) if text.eq_ignore_ascii_case("none") => MessageEncoding::None,
            Some(other) => {
                return Err(format!(
                    "host.json `extensions.queues.messageEncoding` is {other}; it must be \"base64\" or \"none\""
                ));
            }
        };
        Ok(QueueOptions {
            batch_size,
            new_batch_threshold,
            max_polling_interval,
            visibility_timeout,
            max_dequeue_count,
            message_encoding,
        })
    }
}

impl BlobOptions {
    /// Reads `extensions.blobs` of host.json.
    ///
    /// # Errors
    ///
    /// A message naming the key whose value is out of range.
    pub fn from_host_json(host: Option<&Map<String, Value>>) -> Result<Self, String> {
        let section = extension_section(host, "blobs")?;
        Ok(BlobOptions {
            poison_threshold: integer(section, "blobs", "poisonBlobThreshold", 1, u32::MAX)?.unwrap_or(5),
        })
    }
}

fn extension_section<'a>(
    host: Option<&'a Map<String, Value>>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    let Some(extensions) = host.and_then(|h| get_ignore_case(h, "extensions")) else {
        return Ok(None);
    };
    match extensions.as_object().and_then(|e| get_ignore_case(e, name)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(section)) => Ok(Some(section)),
        Some(_) => Err(format!("host.json `extensions.{name}` must be an object")),
    }
}

fn integer(
    section: Option<&Map<String, Value>>,
    extension: &str,
    key: &str,
    min: u32,
    max: u32,
) -> Result<Option<u32>, String> {
    let Some(value) = section.and_then(|s| get_ignore_case(s, key)) else {
        return Ok(None);
    };
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (min..=max).contains(n))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "host.json `extensions.{extension}.{key}` is {value}; it must be a whole number from {min} to {max}"
            )
        })
}

fn time_span(section: Option<&Map<String, Value>>, extension: &str, key: &str) -> Result<Option<Duration>, String> {
    let Some(value) = section.and_then(|s| get_ignore_case(s, key)) else {
        return Ok(None);
    };
    let text = value
        .as_str()
        .ok_or_else(|| format!("host.json `extensions.{extension}.{key}` must be a TimeSpan like \"00:00:30\""))?;
    parse_time_span(text)
        .map(Some)
        .map_err(|p| format!("host.json `extensions.{extension}.{key}` is \"{text}\": {}", p.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn queue_defaults_and_overrides() {
        let defaults = QueueOptions::from_host_json(None).unwrap();
        assert_eq!(defaults.batch_size, 16);
        assert_eq!(defaults.max_polling_interval, Duration::from_secs(60));
        assert_eq!(defaults.max_dequeue_count, 5);
        assert_eq!(defaults.visibility_timeout, Duration::ZERO);
        assert_eq!(defaults.message_encoding, MessageEncoding::Base64);
        let set = host(json!({"version": "2.0", "extensions": {"queues": {
            "batchSize": 4, "newBatchThreshold": 1, "maxPollingInterval": "00:00:02",
            "visibilityTimeout": "00:00:01", "maxDequeueCount": 2, "messageEncoding": "none"
        }}}));
        let options = QueueOptions::from_host_json(Some(&set)).unwrap();
        assert_eq!(options.batch_size, 4);
        assert_eq!(options.new_batch_threshold, 1);
        assert_eq!(options.max_polling_interval, Duration::from_secs(2));
        assert_eq!(options.visibility_timeout, Duration::from_secs(1));
        assert_eq!(options.max_dequeue_count, 2);
        assert_eq!(options.message_encoding, MessageEncoding::None);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (queues, key) in [
            (json!({"batchSize": 64}), "batchSize"),
            (json!({"maxPollingInterval": "00:00:00.05"}), "maxPollingInterval"),
            (json!({"visibilityTimeout": "soon"}), "visibilityTimeout"),
            (json!({"messageEncoding": "utf8"}), "messageEncoding"),
        ] {
            let set = host(json!({"extensions": {"queues": queues}}));
            let error = QueueOptions::from_host_json(Some(&set)).unwrap_err();
            assert!(error.contains(&format!("extensions.queues.{key}")), "{error}");
        }
        let set = host(json!({"extensions": {"blobs": {"poisonBlobThreshold": 0}}}));
        assert!(
            BlobOptions::from_host_json(Some(&set))
                .unwrap_err()
                .contains("poisonBlobThreshold")
        );
    }
}
