//! Azure SQL and MySQL triggers: a list of row changes.

use serde::Deserialize;

/// One changed row, as `sql_trigger` and `mysql_trigger` deliver it; take the payload as
/// `Vec<SqlChange<Row>>`.
///
/// ```
/// use azfn::{SqlChange, SqlChangeOperation};
/// #[derive(serde::Deserialize)]
/// struct Item { id: u32 }
/// let data = azfn::BindingData::Text(r#"[{"Operation": 0, "Item": {"id": 1}},
///     {"Operation": 2, "Item": {"id": 2}}]"#.into());
/// let changes: Vec<SqlChange<Item>> = data.decode().unwrap();
/// assert_eq!(changes[0].operation, SqlChangeOperation::Insert);
/// assert_eq!(changes[1].operation, SqlChangeOperation::Delete);
/// assert_eq!(changes[1].item.id, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqlChange<T> {
    /// What happened to the row.
    pub operation: SqlChangeOperation,
    /// The row (only its primary key for deletes).
    pub item: T,
}

/// What happened to a row; the extension sends the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlChangeOperation {
    /// `0`: inserted.
    Insert,
    /// `1`: updated.
    Update,
    /// `2`: deleted.
    Delete,
}

impl<'de> Deserialize<'de> for SqlChangeOperation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(SqlChangeOperation::Insert),
            serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(SqlChangeOperation::Update),
            serde_json::Value::Number(n) if n.as_u64() == Some(2) => Ok(SqlChangeOperation::Delete),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("insert") => Ok(SqlChangeOperation::Insert),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("update") => Ok(SqlChangeOperation::Update),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("delete") => Ok(SqlChangeOperation::Delete),
            other => Err(serde::de::Error::custom(format!(
                "expected an operation 0 (insert), 1 (update) or 2 (delete), found {other}"
            ))),
        }
    }
}
