//! The Azure Storage clients (`BlobClient`, `BlobContainerClient`, `QueueClient`), built from
//! the binding's connection through one process-wide [`StorageClients`] (accounts and
//! credentials resolved once, service clients reused).
//!
//! Where the client points comes from, in order: the host's blob reference (deferred binding,
//! gRPC: `ModelBindingData` with source `AzureStorageBlobs`), else the trigger's metadata
//! (`BlobTrigger` = `container/name`), else the binding's own keys (a blob `path` with its
//! `{expressions}` resolved from the trigger's metadata, a queue trigger's `queueName`),
//! `%AppSetting%` references resolved from the environment.

use std::sync::OnceLock;

use azfn_bindings::expression::{resolve_app_settings, resolve_expressions};
use azfn_bindings::{BindingDescription, PropertyValue};
use azfn_storage::StorageClients;
use azfn_storage::blob::{BlobClient, BlobContainerClient};
use azfn_storage::queue::QueueClient;
use azfn_storage::reference::{BLOB_SOURCE, BlobReference};
use serde_json::{Map, Value};

use super::{BlobClientSource, ClientSource, ParameterOf, QueueClientSource};
use crate::data::BindingData;
use crate::error::InvocationError;
use crate::invocation::Invocation;

/// The clients of the app's connections; app settings are the process environment (in Azure,
/// and under `cargo azfn start`, which gives the worker local.settings.json `Values`).
fn clients() -> &'static StorageClients {
    static CLIENTS: OnceLock<StorageClients> = OnceLock::new();
    CLIENTS.get_or_init(StorageClients::from_environment)
}

/// Where a blob client points.
#[derive(Debug, PartialEq)]
struct BlobLocation {
    connection: Option<String>,
    container: String,
    blob: Option<String>,
}

impl<K> ParameterOf<BlobClient, K> {
    /// A blob binding's client asks the host for a reference, not the content.
    pub const DEFERRED: bool = true;

    /// A `BlobClient` for the blob that triggered the function.
    ///
    /// # Errors
    ///
    /// When the blob or its connection cannot be resolved (the error names the setting).
    pub fn from_invocation(invocation: &Invocation) -> Result<BlobClient, InvocationError>
    where
        ClientSource: BlobClientSource<K>,
    {
        let binding = invocation.function.trigger();
        blob_client(invocation, binding, invocation.trigger())
    }

    /// A `BlobClient` for the blob of the input binding `name`.
    ///
    /// # Errors
    ///
    /// When the blob or its connection cannot be resolved.
    pub fn from_input_binding(invocation: &Invocation, name: &str) -> Result<BlobClient, InvocationError>
    where
        ClientSource: BlobClientSource<K>,
    {
        let binding = described(invocation, name)?;
        blob_client(invocation, binding, invocation.binding(name))
    }
}

impl<K> ParameterOf<BlobContainerClient, K> {
    /// A blob binding's client asks the host for a reference, not the content.
    pub const DEFERRED: bool = true;

    /// A `BlobContainerClient` for the container of the blob that triggered the function.
    ///
    /// # Errors
    ///
    /// When the container or its connection cannot be resolved.
    pub fn from_invocation(invocation: &Invocation) -> Result<BlobContainerClient, InvocationError>
    where
        ClientSource: BlobClientSource<K>,
    {
        let binding = invocation.function.trigger();
        container_client(invocation, binding, invocation.trigger())
    }

    /// A `BlobContainerClient` for the container of the input binding `name`.
    ///
    /// # Errors
    ///
    /// When the container or its connection cannot be resolved.
    pub fn from_input_binding(invocation: &Invocation, name: &str) -> Result<BlobContainerClient, InvocationError>
    where
        ClientSource: BlobClientSource<K>,
    {
        let binding = described(invocation, name)?;
        container_client(invocation, binding, invocation.binding(name))
    }
}

impl<K> ParameterOf<QueueClient, K> {
    /// A `QueueClient` for the queue that triggered the function. The queue extension has no
    /// deferred binding, so the host sends the message as usual and the client is built from
    /// the binding's `queueName` and `connection`.
    ///
    /// # Errors
    ///
    /// When the queue name or its connection cannot be resolved.
    pub fn from_invocation(invocation: &Invocation) -> Result<QueueClient, InvocationError>
    where
        ClientSource: QueueClientSource<K>,
    {
        let binding = invocation.function.trigger();
        let queue = queue_name(binding).map_err(|e| error(binding.name, e))?;
        clients()
            .queue(connection(binding), &queue)
            .map_err(|e| error(binding.name, e))
    }
}

fn described(invocation: &Invocation, name: &str) -> Result<&'static BindingDescription, InvocationError> {
    invocation
        .function
        .binding(name)
        .ok_or_else(|| error(name, "the function has no binding of this name"))
}

fn error(binding: &str, message: impl Into<String>) -> InvocationError {
    InvocationError::Binding {
        binding: binding.to_owned(),
        message: message.into(),
    }
}

fn blob_client(
    invocation: &Invocation,
    binding: &BindingDescription,
    data: &BindingData,
) -> Result<BlobClient, InvocationError> {
    let location = blob_location(invocation, binding, data).map_err(|e| error(binding.name, e))?;
    let Some(blob) = location.blob.as_deref() else {
        return Err(error(
            binding.name,
            format!(
                "`{}` names a container, not a blob: take a `BlobContainerClient`",
                location.container
            ),
        ));
    };
    clients()
        .blob(location.connection.as_deref(), &location.container, blob)
        .map_err(|e| error(binding.name, e))
}

fn container_client(
    invocation: &Invocation,
    binding: &BindingDescription,
    data: &BindingData,
) -> Result<BlobContainerClient, InvocationError> {
    let location = blob_location(invocation, binding, data).map_err(|e| error(binding.name, e))?;
    clients()
        .container(location.connection.as_deref(), &location.container)
        .map_err(|e| error(binding.name, e))
}

/// The binding's `connection`, if it names one.
fn connection(binding: &BindingDescription) -> Option<&'static str> {
    match binding.property("connection") {
        Some(PropertyValue::Str(name)) if !name.trim().is_empty() => Some(name),
        _ => None,
    }
}

fn string_property(binding: &BindingDescription, key: &str) -> Result<&'static str, String> {
    match binding.property(key) {
        Some(PropertyValue::Str(value)) => Ok(value),
        _ => Err(format!("the binding has no `{key}`")),
    }
}

fn app_setting(name: &str) -> Option<String> {
    clients()
        .settings()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

/// The queue a queue trigger reads, as the host names it: settings resolved, lower case.
fn queue_name(binding: &BindingDescription) -> Result<String, String> {
    let pattern = string_property(binding, "queueName")?;
    Ok(resolve_app_settings(pattern, app_setting)?.to_ascii_lowercase())
}

/// Where a blob binding's client points: the host's reference, else the trigger's metadata
/// or the binding's `path`.
fn blob_location(
    invocation: &Invocation,
    binding: &BindingDescription,
    data: &BindingData,
) -> Result<BlobLocation, String> {
    let reference_error = match blob_reference(data) {
        Some(Ok(reference)) => {
            return Ok(BlobLocation {
                connection: reference
                    .connection
                    .clone()
                    .or_else(|| connection(binding).map(str::to_owned)),
                blob: reference.blob().map(str::to_owned),
                container: reference.container_name,
            });
        }
        Some(Err(error)) => Some(error),
        None => None,
    };
    // A trigger's `BlobTrigger` metadata names the blob over gRPC; the custom-handler host
    // drops metadata keys ending in "trigger", so there the trigger's `path` pattern is filled
    // in from its captures (`{name}`), which it does send, as an input's path is.
    let blob_trigger = (binding.kind.role == azfn_bindings::Role::Trigger)
        .then(|| get_ignore_case(&invocation.metadata, "BlobTrigger").and_then(Value::as_str))
        .flatten();
    let path = match blob_trigger {
        Some(path) => Ok(path.to_owned()),
        None => string_property(binding, "path").and_then(|pattern| {
            resolve_app_settings(pattern, app_setting)
                .and_then(|pattern| resolve_expressions(&pattern, |name| metadata_value(&invocation.metadata, name)))
        }),
    };
    let path = path.map_err(|e| match reference_error {
        Some(reference) => format!("{reference}; and {e}"),
        None => e,
    })?;
    let (container, blob) = path.split_once('/').unwrap_or((path.as_str(), ""));
    if container.is_empty() {
        return Err(format!("the blob path `{path}` names no container"));
    }
    Ok(BlobLocation {
        connection: connection(binding).map(str::to_owned),
        container: container.to_owned(),
        blob: (!blob.is_empty()).then(|| blob.to_owned()),
    })
}

/// The host's blob reference, when `data` is one: `Some(Err)` for a reference that is not a
/// blob's or does not read, `None` for content.
///
/// The gRPC transport hands `ModelBindingData` over as `{version, source, contentType,
/// content}`; keys are matched ignoring case so that the same reading serves a JSON
/// rendering of the host's `ParameterBindingData` (`Source`, `Content`).
fn blob_reference(data: &BindingData) -> Option<Result<BlobReference, String>> {
    let BindingData::Json(Value::Object(object)) = data else {
        return None;
    };
    let source = get_ignore_case(object, "source")?.as_str()?;
    let content = get_ignore_case(object, "content")?;
    if !source.eq_ignore_ascii_case(BLOB_SOURCE) {
        return Some(Err(format!(
            "the host sent a `{source}` reference, not a blob's (`{BLOB_SOURCE}`)"
        )));
    }
    Some(match content {
        Value::String(text) => BlobReference::from_json(text.as_bytes()),
        Value::Object(_) => {
            serde_json::from_value(content.clone()).map_err(|e| format!("the host's blob reference: {e}"))
        }
        other => Err(format!("the host's blob reference has content {other}")),
    })
}

fn get_ignore_case<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// `a.b` in the trigger's metadata, names ignoring case; strings as they are, numbers and
/// booleans as their text.
fn metadata_value(metadata: &Map<String, Value>, path: &str) -> Option<String> {
    let mut parts = path.split('.');
    let mut value = get_ignore_case(metadata, parts.next()?)?;
    for part in parts {
        value = get_ignore_case(value.as_object()?, part)?;
    }
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_read_in_either_spelling_and_content_is_not_one() {
        let grpc = BindingData::Json(json!({
            "version": "1.0", "source": "AzureStorageBlobs", "contentType": "application/json",
            "content": r#"{"Connection":"AzureWebJobsStorage","ContainerName":"in","BlobName":"a.txt"}"#,
        }));
        let reference = blob_reference(&grpc).unwrap().unwrap();
        assert_eq!(
            (
                reference.connection.as_deref(),
                reference.container_name.as_str(),
                reference.blob()
            ),
            (Some("AzureWebJobsStorage"), "in", Some("a.txt"))
        );
        let pascal = BindingData::Json(json!({
            "Version": "1.0", "Source": "AzureStorageBlobs", "ContentType": "application/json",
            "Content": {"Connection": null, "ContainerName": "in", "BlobName": ""},
        }));
        let reference = blob_reference(&pascal).unwrap().unwrap();
        assert_eq!((reference.container_name.as_str(), reference.blob()), ("in", None));
        let broken = BindingData::Json(json!({"source": "AzureStorageBlobs", "content": "not json"}));
        assert!(blob_reference(&broken).unwrap().is_err());
        let other = BindingData::Json(json!({"source": "AzureStorageQueues", "content": "{}"}));
        assert!(
            blob_reference(&other)
                .unwrap()
                .unwrap_err()
                .contains("AzureStorageQueues")
        );
        for content in [
            BindingData::Text("hello".into()),
            BindingData::Bytes(b"hi".to_vec()),
            BindingData::Json(json!({"id": 1})),
        ] {
            assert!(blob_reference(&content).is_none(), "{content:?}");
        }
    }

    #[test]
    fn metadata_values_resolve_paths() {
        let metadata = json!({"Name": "a.txt", "order": {"id": 7}, "n": 2});
        let metadata = metadata.as_object().unwrap();
        assert_eq!(metadata_value(metadata, "name").as_deref(), Some("a.txt"));
        assert_eq!(metadata_value(metadata, "order.id").as_deref(), Some("7"));
        assert_eq!(metadata_value(metadata, "missing"), None);
    }
}
