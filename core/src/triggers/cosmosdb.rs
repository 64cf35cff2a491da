//! Cosmos DB: the change feed arrives as a list of documents; take it as `Vec<T>`.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Order { id: String, total: f64 }
//! // What the host sends for a Cosmos DB trigger: a string holding the JSON array.
//! let data = azfn::BindingData::Text(r#"[{"id": "1", "total": 9.5, "_ts": 1714557600}]"#.into());
//! let orders: Vec<Order> = data.decode().unwrap();
//! assert_eq!(orders[0].id, "1");
//! assert_eq!(orders[0].total, 9.5);
//! ```

use serde::Deserialize;
use serde_json::Value;

/// One change of the `AllVersionsAndDeletes` change-feed mode.
///
/// ```
/// use azfn::ChangeFeedItem;
/// let data = azfn::BindingData::Text(r#"[{"current": {"id": "1"}, "metadata":
///     {"operationType": "replace", "lsn": 12, "crts": 1714557600}, "previous": {"id": "1"}}]"#.into());
/// let changes: Vec<ChangeFeedItem<serde_json::Value>> = data.decode().unwrap();
/// assert_eq!(changes[0].metadata.operation_type, "replace");
/// assert!(changes[0].previous.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChangeFeedItem<T> {
    /// The document after the change (absent for deletes).
    pub current: Option<T>,
    /// The document before the change, when the container keeps it.
    pub previous: Option<T>,
    /// What happened.
    pub metadata: ChangeFeedMetadata,
}

/// The metadata of a change of the `AllVersionsAndDeletes` mode.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChangeFeedMetadata {
    /// `create`, `replace` or `delete`.
    pub operation_type: String,
    /// The logical sequence number of the change.
    pub lsn: i64,
    /// When the change was committed (Unix seconds).
    pub crts: i64,
    /// The LSN of the previous version.
    #[serde(rename = "previousImageLSN")]
    pub previous_image_lsn: Option<i64>,
    /// Whether a delete came from the document's time to live.
    pub time_to_live_expired: Option<bool>,
    /// Anything else the service adds.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}
