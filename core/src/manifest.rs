//! The function app folder: `host.json`, one `function.json` per function, `local.settings.json`
//! and the executable, laid out as the Functions host (or `func start`, or a zip deploy) expects.
//!
//! Everything here is derived from the registry, which is ordered by name, and written through
//! `serde_json`'s sorted maps, so the same app always produces the same bytes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use azfn_bindings::description::SUPPORTS_DEFERRED_BINDING;
use azfn_bindings::{BindingDescription, Direction, PropertyValue};
use serde_json::{Map, Value, json};

use crate::function::{FunctionDescription, Registry, RetryPolicy};

/// The extension bundle the app asks for: it brings every binding extension without .NET.
pub const EXTENSION_BUNDLE_ID: &str = "Microsoft.Azure.Functions.ExtensionBundle";
/// The bundle version range.
pub const EXTENSION_BUNDLE_VERSION: &str = "[4.*, 5.0.0)";

/// One binding as `function.json` writes it.
///
/// ```
/// use azfn::bindings::{BindingDescription, PropertyValue, catalog};
/// static QUEUE: BindingDescription = BindingDescription {
///     kind: &catalog::QUEUE_TRIGGER,
///     name: "message",
///     data_type: None,
///     properties: &[("queueName", PropertyValue::Str("orders"))],
/// };
/// let json = azfn::manifest::binding_json(&QUEUE);
/// assert_eq!(json, serde_json::json!({
///     "type": "queueTrigger", "direction": "in", "name": "message", "queueName": "orders"
/// }));
/// ```
pub fn binding_json(binding: &BindingDescription) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), binding.kind.json_type.into());
    object.insert("direction".into(), binding.direction().as_str().into());
    object.insert("name".into(), binding.name.into());
    // Outputs never declare a data type: the host's base64 handling of custom-handler outputs
    // depends on it not being `binary` (see the custom-handler protocol module).
    // With deferred binding the host sends a reference, so no `dataType` (as .NET omits it).
    let deferred = binding.property(SUPPORTS_DEFERRED_BINDING) == Some(PropertyValue::Bool(true));
    if let (Some(data_type), Direction::In, false) = (binding.data_type, binding.direction(), deferred) {
        object.insert("dataType".into(), data_type.as_str().into());
    }
    for &(key, value) in binding.properties {
        if key != SUPPORTS_DEFERRED_BINDING {
            object.insert(key.into(), property_json(value));
        }
    }
    if deferred {
        // The .NET worker's spelling: a string "True" under `properties`.
        object.insert("properties".into(), json!({ SUPPORTS_DEFERRED_BINDING: "True" }));
    }
    Value::Object(object)
}

fn property_json(value: PropertyValue) -> Value {
    match value {
        PropertyValue::Str(s) => s.into(),
        PropertyValue::Bool(b) => b.into(),
        PropertyValue::Int(i) => i.into(),
        PropertyValue::List(items) => items.iter().map(|&s| Value::from(s)).collect(),
    }
}

fn retry_json(retry: RetryPolicy) -> Value {
    match retry {
        RetryPolicy::FixedDelay {
            max_retry_count,
            delay_interval,
        } => json!({
            "strategy": "fixedDelay", "maxRetryCount": max_retry_count, "delayInterval": delay_interval,
        }),
        RetryPolicy::ExponentialBackoff {
            max_retry_count,
            minimum_interval,
            maximum_interval,
        } => json!({
            "strategy": "exponentialBackoff", "maxRetryCount": max_retry_count,
            "minimumInterval": minimum_interval, "maximumInterval": maximum_interval,
        }),
    }
}

/// A function's `function.json`.
pub fn function_json(function: &FunctionDescription) -> Value {
    let mut object = Map::new();
    object.insert("bindings".into(), function.all_bindings().map(binding_json).collect());
    if let Some(retry) = function.retry {
        object.insert("retry".into(), retry_json(retry));
    }
    Value::Object(object)
}

/// How the app asks the host to run it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostOptions {
    /// `customHandler.enableForwardingHttpRequest`: the host forwards the raw requests of
    /// HTTP-only functions instead of wrapping them in the JSON envelope.
    pub forward_http_requests: bool,
    /// `customHandler.enableProxyingHttpRequest` (newer hosts): the host proxies the requests of
    /// HTTP-only functions to the worker and streams the response back.
    pub proxy_http_requests: bool,
}

/// The app's `host.json`: version 2.0, the custom handler starting `executable`, the bundle.
pub fn host_json(executable: &str, options: HostOptions) -> Value {
    json!({
        "version": "2.0",
        "customHandler": {
            "description": {
                "defaultExecutablePath": executable,
                "workingDirectory": "",
                "arguments": []
            },
            "enableForwardingHttpRequest": options.forward_http_requests,
            "enableProxyingHttpRequest": options.proxy_http_requests
        },
        "extensionBundle": { "id": EXTENSION_BUNDLE_ID, "version": EXTENSION_BUNDLE_VERSION }
    })
}

/// `local.settings.json` for running the app locally with Azurite.
pub fn local_settings_json() -> Value {
    json!({
        "IsEncrypted": false,
        "Values": {
            "FUNCTIONS_WORKER_RUNTIME": "custom",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true"
        }
    })
}

/// What [`write_app`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenApp {
    /// The app folder.
    pub dir: PathBuf,
    /// Every file written, relative to `dir`, in order.
    pub files: Vec<PathBuf>,
    /// Function folders of earlier builds that were removed because the app no longer has them.
    pub removed: Vec<String>,
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes the function app folder for `registry` into `dir`, with `executable` copied in.
///
/// `local.settings.json` is written only if absent, since users keep their own settings there.
/// Function folders of an earlier build (folders holding a `function.json`) whose function is
/// gone are removed, so the folder always describes exactly this binary.
pub fn write_app(dir: &Path, registry: &Registry, executable: &Path, options: HostOptions) -> io::Result<WrittenApp> {
    fs::create_dir_all(dir)?;
    let exe_name = executable
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the executable has no file name"))?
        .to_owned();
    let mut written = WrittenApp {
        dir: dir.to_owned(),
        files: Vec::new(),
        removed: Vec::new(),
    };

    let mut write = |relative: PathBuf, bytes: &[u8]| -> io::Result<()> {
        let path = dir.join(&relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes)?;
        written.files.push(relative);
        Ok(())
    };
    write("host.json".into(), &pretty(&host_json(&exe_name, options)))?;
    for function in registry.functions() {
        write(
            Path::new(function.name).join("function.json"),
            &pretty(&function_json(function)),
        )?;
    }
    if !dir.join("local.settings.json").exists() {
        write("local.settings.json".into(), &pretty(&local_settings_json()))?;
    }

    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("function.json").is_file() && registry.get(&name).is_none() {
            fs::remove_dir_all(entry.path())?;
            written.removed.push(name);
        }
    }
    written.removed.sort();

    let target = dir.join(&exe_name);
    if !same_file(executable, &target) {
        fs::copy(executable, &target)?;
    }
    make_executable(&target)?;
    written.files.push(PathBuf::from(exe_name));
    Ok(written)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    fs::set_permissions(path, permissions)
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use azfn_bindings::description::SUPPORTS_DEFERRED_BINDING;
    use azfn_bindings::{BindingDescription, DataType, PropertyValue, catalog};
    use serde_json::json;

    use super::binding_json;

    static DEFERRED: BindingDescription = BindingDescription {
        kind: &catalog::BLOB_TRIGGER,
        name: "blob",
        data_type: Some(DataType::String),
        properties: &[
            ("path", PropertyValue::Str("uploads/{name}")),
            ("connection", PropertyValue::Str("Uploads")),
            (SUPPORTS_DEFERRED_BINDING, PropertyValue::Bool(true)),
        ],
    };

    static CONTENT: BindingDescription = BindingDescription {
        kind: &catalog::BLOB_INPUT,
        name: "side",
        data_type: Some(DataType::Binary),
        properties: &[
            ("path", PropertyValue::Str("side/a.txt")),
            (SUPPORTS_DEFERRED_BINDING, PropertyValue::Bool(false)),
        ],
    };

    #[test]
    fn deferred_binding_is_written_as_the_dotnet_worker_writes_it() {
        // Golden: the .NET worker's generator writes `"properties": {"SupportsDeferredBinding":
        // "True"}` and no `dataType`.
        assert_eq!(
            serde_json::to_string(&binding_json(&DEFERRED)).unwrap(),
            r#"{"connection":"Uploads","direction":"in","name":"blob","path":"uploads/{name}","properties":{"SupportsDeferredBinding":"True"},"type":"blobTrigger"}"#
        );
        assert_eq!(
            binding_json(&CONTENT),
            json!({"type": "blob", "direction": "in", "name": "side", "dataType": "binary", "path": "side/a.txt"})
        );
    }
}
