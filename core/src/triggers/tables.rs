//! Azure Tables: an entity with its system properties and your own.

use serde::{Deserialize, Serialize};

/// A table entity: `PartitionKey`, `RowKey` and your properties `T`, for `table_input` (one
/// entity, or `Vec<TableEntity<T>>` for a query) and `table_output`.
///
/// ```
/// use azfn::TableEntity;
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct Stock { count: u32 }
/// let entity: TableEntity<Stock> = azfn::BindingData::Text(r#"{"PartitionKey": "shop-1",
///     "RowKey": "tea", "Timestamp": "2024-05-01T10:00:00Z", "count": 12}"#.into()).decode().unwrap();
/// assert_eq!(entity.row_key, "tea");
/// assert_eq!(entity.properties.count, 12);
/// let out = serde_json::to_value(TableEntity::new("shop-1", "tea", Stock { count: 11 })).unwrap();
/// assert_eq!(out, serde_json::json!({"PartitionKey": "shop-1", "RowKey": "tea", "count": 11}));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TableEntity<T> {
    /// The partition key.
    #[serde(rename = "PartitionKey")]
    pub partition_key: String,
    /// The row key, unique within the partition.
    #[serde(rename = "RowKey")]
    pub row_key: String,
    /// When the entity was last modified (set by the service).
    #[serde(rename = "Timestamp", default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The entity's ETag (set by the service).
    #[serde(rename = "ETag", default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Your properties.
    #[serde(flatten)]
    pub properties: T,
}

impl<T> TableEntity<T> {
    /// An entity to write.
    pub fn new(partition_key: impl Into<String>, row_key: impl Into<String>, properties: T) -> Self {
        TableEntity {
            partition_key: partition_key.into(),
            row_key: row_key.into(),
            timestamp: None,
            etag: None,
            properties,
        }
    }
}
