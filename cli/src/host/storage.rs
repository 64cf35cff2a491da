//! The local host's real storage: blob inputs read before an invocation, queue and blob
//! outputs written after it, the queue and blob trigger listeners, and Azurite for
//! `UseDevelopmentStorage=true`.
//!
//! Storage is on when a function has a queue or blob binding and its connection names an
//! account; otherwise those bindings behave as before (outputs are only shown, inputs are
//! null, triggers fire through the admin API).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use azfn_bindings::BindingKind;
use azfn_bindings::catalog::{BLOB_INPUT, BLOB_OUTPUT, BLOB_TRIGGER, QUEUE_OUTPUT, QUEUE_TRIGGER};
use serde_json::Value;
use tokio::sync::{Notify, watch};

use super::payload::InvocationPayload;
use super::response::{InvocationResult, OutputMessage, OutputValue};
use crate::app::{Binding, Function, FunctionApp};
use crate::clock;
use crate::storage::Storage;
use crate::storage::azurite::{self, Azurite};
use crate::storage::options::{BlobOptions, QueueOptions};

/// The function.json key of a binding kind's attribute key (`queue_name` → `queueName`).
pub fn json_key(kind: &BindingKind, attr: &str) -> &'static str {
    kind.key(attr).map_or("", |key| key.json)
}

/// The storage of a running host.
#[derive(Debug)]
pub struct HostStorage {
    /// The SDK clients.
    pub storage: Storage,
    /// host.json `extensions.queues`.
    pub queue_options: QueueOptions,
    /// host.json `extensions.blobs`.
    pub blob_options: BlobOptions,
    /// The host id of blob receipts.
    pub host_id: String,
    /// Wakes a queue's poller when this host enqueues to it, by lower-case queue name.
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Which listeners may take messages: those of the current generation (a reload starts a
    /// new one, and the old listeners finish what they took); [`STOPPED`] once the host stops.
    generation: watch::Sender<u64>,
    azurite: Mutex<Option<Azurite>>,
}

/// Whether a binding reads or writes storage the host serves.
pub fn is_storage_binding(binding: &Binding) -> bool {
    [&QUEUE_TRIGGER, &QUEUE_OUTPUT, &BLOB_TRIGGER, &BLOB_INPUT, &BLOB_OUTPUT]
        .iter()
        .any(|kind| binding.is(kind.json_type))
}

/// A binding's `connection`, if set.
pub fn connection(binding: &Binding) -> Option<&str> {
    binding
        .text(json_key(&QUEUE_TRIGGER, "connection"))
        .filter(|c| !c.trim().is_empty())
}

impl HostStorage {
    /// The storage `app` uses, or `None` when no function has a storage binding whose
    /// connection is set; starts (or installs) Azurite for `UseDevelopmentStorage=true`.
    ///
    /// # Errors
    ///
    /// A message naming the setting or host.json key that is wrong, or why Azurite cannot run.
    pub async fn open(app: &FunctionApp) -> Result<Option<Arc<HostStorage>>, String> {
        let values = &crate::storage::account::settings_with_environment(&app.local.values, std::env::vars());
        let mut development = false;
        let mut any = false;
        for binding in app
            .functions
            .iter()
            .flat_map(|f| &f.bindings)
            .filter(|b| is_storage_binding(b))
        {
            let Some(account) = crate::storage::account::StorageAccount::from_settings(connection(binding), values)?
            else {
                continue;
            };
            any = true;
            development |= account.development;
        }
        if !any {
            return Ok(None);
        }
        let host_json = crate::host_json::read_user(&app.root.join("host.json")).map_err(|e| e.to_string())?;
        let queue_options = QueueOptions::from_host_json(host_json.as_ref())?;
        let blob_options = BlobOptions::from_host_json(host_json.as_ref())?;
        let azurite = if development {
            azurite::ensure_running(&azurite_data_dir(&app.root)).await?
        } else {
            None
        };
        Ok(Some(Arc::new(HostStorage {
            storage: Storage::new(values.clone(), queue_options.message_encoding),
            queue_options,
            blob_options,
            host_id: host_id(&app.root),
            wakers: Mutex::new(HashMap::new()),
            generation: watch::Sender::new(0),
            azurite: Mutex::new(azurite),
        })))
    }

    /// The current listener generation.
    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Follows the listener generation.
    pub fn watch_generation(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Retires the current listeners: they take no more messages and end once what they took
    /// is done.
    pub fn next_generation(&self) {
        self.generation
            .send_modify(|g| *g = g.saturating_add(1).min(STOPPED - 1));
    }

    /// Whether the host is stopping.
    pub fn stopping(&self) -> bool {
        self.generation() == STOPPED
    }

    /// The host is stopping: no listener takes more messages.
    pub fn stop(&self) {
        self.generation.send_replace(STOPPED);
    }

    /// The waker of queue `name`'s poller.
    pub fn waker(&self, name: &str) -> Arc<Notify> {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers.entry(name.to_ascii_lowercase()).or_default().clone()
    }

    /// Stops the Azurite this host started, if any.
    pub async fn stop_emulator(&self) {
        let azurite = self.azurite.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(azurite) = azurite {
            azurite.stop().await;
        }
    }

    /// Sets each blob input of `function` in `payload.data`: the blob's content (base64, or
    /// text for `dataType: string`), or null when it does not exist.
    ///
    /// # Errors
    ///
    /// When a path cannot be resolved or storage fails.
    pub async fn read_inputs(&self, function: &Function, payload: &mut InvocationPayload) -> Result<(), String> {
        for binding in function.other_inputs().filter(|b| b.is(BLOB_INPUT.json_type)) {
            let pattern = binding.text(json_key(&BLOB_INPUT, "path")).unwrap_or_default();
            let path = resolve_expressions(pattern, &payload.binding_data)
                .map_err(|e| format!("blob input '{}': {e}", binding.name))?;
            let (container, name) = split_blob_path(&path)
                .ok_or_else(|| format!("blob input '{}': `{path}` is not a container/blob path", binding.name))?;
            let content = self.storage.download(connection(binding), container, name).await?;
            let value = match content {
                None => Value::Null,
                Some(bytes) if binding.data_type.as_deref() == Some("string") => {
                    super::payload::encode_text(&String::from_utf8_lossy(&bytes))
                }
                Some(bytes) => super::payload::encode_bytes(&bytes),
            };
            payload.data.insert(binding.name.clone(), value);
        }
        Ok(())
    }

    /// Writes the queue and blob outputs of a finished invocation: each queue message is
    /// enqueued (waking this host's poller of that queue), each blob uploaded.
    ///
    /// # Errors
    ///
    /// The first output that cannot be written.
    pub async fn write_outputs(
        &self,
        function: &Function,
        payload: &InvocationPayload,
        result: &InvocationResult,
    ) -> Result<(), String> {
        for message in &result.messages {
            let Some(binding) = function.outputs().find(|b| b.name == message.binding) else {
                continue;
            };
            if binding.is(QUEUE_OUTPUT.json_type) {
                let queue = resolve_expressions(
                    binding.text(json_key(&QUEUE_OUTPUT, "queue_name")).unwrap_or_default(),
                    &payload.binding_data,
                )
                .map_err(|e| format!("queue output '{}': {e}", binding.name))?
                .to_ascii_lowercase();
                self.storage
                    .send(connection(binding), &queue, &content(message))
                    .await?;
                self.waker(&queue).notify_one();
            } else if binding.is(BLOB_OUTPUT.json_type) {
                let path = resolve_expressions(
                    binding.text(json_key(&BLOB_OUTPUT, "path")).unwrap_or_default(),
                    &payload.binding_data,
                )
                .map_err(|e| format!("blob output '{}': {e}", binding.name))?;
                let (container, name) = split_blob_path(&path)
                    .ok_or_else(|| format!("blob output '{}': `{path}` is not a container/blob path", binding.name))?;
                self.storage
                    .upload(connection(binding), container, name, &content(message))
                    .await?;
                self.waker(&blob_waker_name(container)).notify_one();
            }
        }
        Ok(())
    }
}

/// The functions of `app` that a `kind` trigger runs and whose connection names an account
/// (the others keep the admin API only), each with its trigger's `attr` value (the queue
/// name, the blob path) and connection.
pub fn storage_triggered<'a>(
    app: &'a FunctionApp,
    storage: &'a HostStorage,
    kind: &'static BindingKind,
    attr: &'static str,
) -> impl Iterator<Item = (&'a Function, String, Option<String>)> + 'a {
    app.functions.iter().filter_map(move |function| {
        let binding = function.trigger_binding().filter(|b| b.is(kind.json_type))?;
        let target = binding.text(json_key(kind, attr))?.to_owned();
        let connection = connection(binding).map(str::to_owned);
        storage.storage.account(connection.as_deref()).ok()?;
        Some((function, target, connection))
    })
}

/// The listener generation of a stopping host.
pub const STOPPED: u64 = u64::MAX;

/// The waker name of a container's blob trigger listeners (kept apart from queue names).
pub fn blob_waker_name(container: &str) -> String {
    format!("blob:{}", container.to_ascii_lowercase())
}

/// The bytes an output value stands for: bytes as they are, strings as UTF-8, other JSON as
/// its text.
fn content(message: &OutputMessage) -> Vec<u8> {
    match &message.value {
        OutputValue::Bytes(bytes) => bytes.clone(),
        OutputValue::Json(Value::String(text)) => text.as_bytes().to_vec(),
        OutputValue::Json(other) => other.to_string().into_bytes(),
    }
}

/// `container/name/with/slashes` → (`container`, `name/with/slashes`).
pub fn split_blob_path(path: &str) -> Option<(&str, &str)> {
    path.split_once('/').filter(|(c, n)| !c.is_empty() && !n.is_empty())
}

/// Replaces each `{expression}` of `pattern` with its binding data (names ignore case), or a
/// built-in: `{rand-guid}`, `{datetime}` (UTC now, `yyyy-MM-ddTHH-mm-ssZ`).
///
/// # Errors
///
/// An expression with no value.
pub fn resolve_expressions(pattern: &str, data: &serde_json::Map<String, Value>) -> Result<String, String> {
    azfn_bindings::expression::resolve_expressions(pattern, |name| match name.to_ascii_lowercase().as_str() {
        "rand-guid" => Some(clock::new_guid()),
        "datetime" => {
            let now = i64::try_from(clock::since_epoch().as_secs()).unwrap_or(0);
            Some(clock::iso_utc_seconds(now).replace(':', "-"))
        }
        _ => lookup_path(data, name),
    })
}

/// `a.b` in nested binding data, names ignoring case; strings as they are, numbers and
/// booleans as their text.
fn lookup_path(data: &serde_json::Map<String, Value>, path: &str) -> Option<String> {
    let mut parts = path.split('.');
    let mut value = crate::app::get_ignore_case(data, parts.next()?)?;
    for part in parts {
        value = crate::app::get_ignore_case(value.as_object()?, part)?;
    }
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// Azurite's data folder for the app in `app_dir`: beside the app folder (under the target
/// folder for an app `cargo azfn` built), so that `pack` never zips it.
pub fn azurite_data_dir(app_dir: &Path) -> std::path::PathBuf {
    let name = app_dir
        .file_name()
        .map_or_else(|| "app".into(), |n| n.to_string_lossy().into_owned());
    app_dir.parent().unwrap_or(app_dir).join(".azurite").join(name)
}

/// The host id as the real host makes it locally: the machine name's letters and digits, `-`,
/// a stable hash of the app folder; lower case, at most 32 characters.
pub fn host_id(app_dir: &Path) -> String {
    let machine = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    let machine: String = machine.chars().filter(char::is_ascii_alphanumeric).collect();
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let path = app_dir.canonicalize().unwrap_or_else(|_| app_dir.to_owned());
    let mut hash: u32 = 0x811c_9dc5;
    for byte in path.to_string_lossy().bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    let mut id = format!("{}-{hash}", machine.to_ascii_lowercase());
    if id.len() > 32 {
        let hash = format!("-{hash}");
        id = format!("{}{hash}", &machine.to_ascii_lowercase()[..32 - hash.len()]);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expressions_resolve_from_binding_data() {
        let data = json!({"Id": "m1", "order": {"id": 7}, "queueTrigger": "hi", "n": 2});
        let data = data.as_object().unwrap();
        assert_eq!(resolve_expressions("out/{id}.txt", data).unwrap(), "out/m1.txt");
        assert_eq!(resolve_expressions("out/{order.id}-{n}", data).unwrap(), "out/7-2");
        assert_eq!(resolve_expressions("{{x}}/{queueTrigger}", data).unwrap(), "{x}/hi");
        assert_eq!(resolve_expressions("out/{rand-guid}", data).unwrap().len(), 40);
        assert!(
            resolve_expressions("out/{missing}", data)
                .unwrap_err()
                .contains("{missing}")
        );
    }

    #[test]
    fn blob_paths_and_host_ids() {
        assert_eq!(split_blob_path("c/a/b.txt"), Some(("c", "a/b.txt")));
        assert_eq!(split_blob_path("c/"), None);
        let id = host_id(Path::new("/tmp/some/app"));
        assert!(id.len() <= 32 && id == id.to_ascii_lowercase(), "{id}");
        assert_eq!(id, host_id(Path::new("/tmp/some/app")));
        assert!(azurite_data_dir(Path::new("/t/azfn/quickstart")).ends_with(".azurite/quickstart"));
    }
}
