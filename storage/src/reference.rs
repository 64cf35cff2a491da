//! The blob reference the host sends for a binding with deferred binding
//! (`SupportsDeferredBinding`): a `ModelBindingData` whose `source` is `AzureStorageBlobs`
//! and whose JSON content names the connection, the container and the blob. Written by the
//! WebJobs blob extension, read by the .NET worker's blob converter (and here).

use serde::{Deserialize, Serialize};

/// `ModelBindingData.source` for blobs.
pub const BLOB_SOURCE: &str = "AzureStorageBlobs";
/// `ModelBindingData.version` the host writes.
pub const MODEL_BINDING_DATA_VERSION: &str = "1.0";
/// `ModelBindingData.content_type` of a blob reference.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The content of a blob reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlobReference {
    /// The binding's connection name (as a setting name: `AzureWebJobsStorage`, `MyStorage`).
    #[serde(default)]
    pub connection: Option<String>,
    /// The container.
    pub container_name: String,
    /// The blob, absent or empty when the binding names a container only.
    #[serde(default)]
    pub blob_name: Option<String>,
}

impl BlobReference {
    /// Reads a reference's JSON content.
    ///
    /// # Errors
    ///
    /// When the content is not a blob reference.
    pub fn from_json(content: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(content).map_err(|e| format!("the host's blob reference is not one ({e})"))
    }

    /// The reference's JSON content.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The blob name, when the reference names a blob.
    pub fn blob(&self) -> Option<&str> {
        self.blob_name.as_deref().filter(|b| !b.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hosts_spelling() {
        let reference = BlobReference::from_json(
            br#"{"Connection":"AzureWebJobsStorage","ContainerName":"in","BlobName":"a/b.txt"}"#,
        )
        .unwrap();
        assert_eq!(reference.connection.as_deref(), Some("AzureWebJobsStorage"));
        assert_eq!(reference.container_name, "in");
        assert_eq!(reference.blob(), Some("a/b.txt"));
        let round_trip = BlobReference::from_json(&reference.to_json()).unwrap();
        assert_eq!(round_trip, reference);
        assert_eq!(
            String::from_utf8(reference.to_json()).unwrap(),
            r#"{"Connection":"AzureWebJobsStorage","ContainerName":"in","BlobName":"a/b.txt"}"#
        );
        let container = BlobReference::from_json(br#"{"Connection":null,"ContainerName":"in","BlobName":""}"#).unwrap();
        assert_eq!(container.blob(), None);
        assert!(BlobReference::from_json(b"{}").unwrap_err().contains("ContainerName"));
    }
}
