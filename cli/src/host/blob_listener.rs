//! Blob triggers by container scan (Azurite writes no `$logs`, so the scan is the local host's
//! only source, as for Core Tools with Azurite): every [`SCAN_INTERVAL`], and at once when this
//! host uploads to the container, each blob matching the trigger's path whose ETag has no
//! receipt fires the function once. Receipts are blobs where the host keeps them,
//! `azure-webjobs-hosts/blobreceipts/{hostId}/{functionId}/{ETag}/{container}/{blobName}`,
//! so a restarted host does not fire again; a changed blob has a new ETag and fires again.
//! A failed blob is tried again after a second; after `poisonBlobThreshold` failed tries its
//! trigger message goes to `webjobs-blobtrigger-poison` (tries are counted while the host runs).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use azure_storage_blob::models::BlobItem;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use super::Host;
use super::payload::{self, BlobData};
use super::storage::{HostStorage, blob_waker_name, split_blob_path, storage_triggered};
use crate::app::FunctionApp;
use crate::clock;
use crate::console;
use azfn_bindings::catalog::BLOB_TRIGGER;

/// How often containers are scanned (the host's polling strategy also scans every 10 s).
pub const SCAN_INTERVAL: Duration = Duration::from_secs(10);
/// How soon a blob whose invocation failed is tried again.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// The container of the host's receipts.
const HOSTS_CONTAINER: &str = "azure-webjobs-hosts";
/// The queue of blobs that failed too often.
pub const POISON_QUEUE: &str = "webjobs-blobtrigger-poison";

/// Starts one listener per blob-triggered function of `app`.
pub fn spawn_all(host: &Arc<Host>, storage: &Arc<HostStorage>, app: &FunctionApp) -> Vec<JoinHandle<()>> {
    storage_triggered(app, storage, &BLOB_TRIGGER, "path")
        .map(|(function, pattern, connection)| {
            tokio::spawn(listen(
                host.clone(),
                storage.clone(),
                function.name.clone(),
                pattern,
                connection,
                storage.generation(),
            ))
        })
        .collect()
}

/// The `{parameter}` values of `name` (the blob name, without the container) under the
/// pattern's blob part, or `None` when it does not match. A parameter matches one or more
/// characters; the first way to match wins.
pub fn match_blob_name(pattern: &str, name: &str) -> Option<Vec<(String, String)>> {
    let expressions = azfn_bindings::validate::binding_expressions(pattern).ok()?;
    // Literal pieces and parameter names, in order.
    let mut pieces: Vec<(String, Option<String>)> = Vec::new();
    let mut last = 0;
    for (range, parameter) in expressions {
        pieces.push((pattern[last..range.start - 1].to_owned(), Some(parameter)));
        last = range.end + 1;
    }
    pieces.push((pattern[last..].to_owned(), None));
    let mut captures = Vec::new();
    matches(&pieces, name, &mut captures).then_some(captures)
}

fn matches(pieces: &[(String, Option<String>)], text: &str, captures: &mut Vec<(String, String)>) -> bool {
    let Some(((literal, parameter), rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    let Some(after) = text.strip_prefix(literal.as_str()) else {
        return false;
    };
    let Some(parameter) = parameter else {
        return after.is_empty() && rest.is_empty();
    };
    for end in (1..=after.len()).filter(|&end| after.is_char_boundary(end)) {
        captures.push((parameter.clone(), after[..end].to_owned()));
        if matches(rest, &after[end..], captures) {
            return true;
        }
        captures.pop();
    }
    false
}

async fn listen(
    host: Arc<Host>,
    storage: Arc<HostStorage>,
    function: String,
    pattern: String,
    connection: Option<String>,
    generation: u64,
) {
    let Some((container, blob_pattern)) = split_blob_path(&pattern) else {
        console::line(format!(
            "error: blob trigger '{function}': `{pattern}` is not a container/blob path"
        ));
        return;
    };
    let (container, blob_pattern) = (container.to_owned(), blob_pattern.to_owned());
    let waker = storage.waker(&blob_waker_name(&container));
    let mut current = storage.watch_generation();
    // Blob name + ETag pairs known to be done (a receipt exists or was written).
    let mut done: HashSet<(String, String)> = HashSet::new();
    let mut failures: HashMap<(String, String), u32> = HashMap::new();
    let mut reported_error = false;
    // Literal text before the first parameter narrows the listing.
    let prefix = blob_pattern.split('{').next().unwrap_or_default().to_owned();
    // Receipts live in the host's own storage (AzureWebJobsStorage), else the blob's account.
    let receipts = if storage.storage.account(None).is_ok() {
        None
    } else {
        connection.clone()
    };
    while *current.borrow() == generation {
        let mut retry_soon = false;
        match storage.storage.list(connection.as_deref(), &container, &prefix).await {
            Ok(items) => {
                reported_error = false;
                for item in items {
                    if *current.borrow() != generation {
                        break;
                    }
                    let Some(name) = item.name.clone() else { continue };
                    let Some(captures) = match_blob_name(&blob_pattern, &name) else {
                        continue;
                    };
                    let etag = item
                        .properties
                        .as_ref()
                        .and_then(|p| p.etag.as_ref())
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    let key = (name.clone(), etag.clone());
                    if done.contains(&key) {
                        continue;
                    }
                    let receipt = receipt_name(&storage.host_id, &function, &etag, &container, &name);
                    match storage
                        .storage
                        .download(receipts.as_deref(), HOSTS_CONTAINER, &receipt)
                        .await
                    {
                        Ok(Some(_)) => {
                            done.insert(key);
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            console::line(format!("error: reading blob receipt {receipt}: {e}"));
                            continue;
                        }
                    }
                    let succeeded = fire(
                        &host,
                        &storage,
                        &function,
                        &container,
                        &item,
                        captures,
                        connection.as_deref(),
                    )
                    .await;
                    let tries = failures.entry(key.clone()).or_default();
                    if !succeeded {
                        *tries += 1;
                        if *tries < storage.blob_options.poison_threshold {
                            retry_soon = true;
                            continue;
                        }
                        poison(&storage, &function, &container, &name, &etag).await;
                    }
                    failures.remove(&key);
                    if let Err(e) = storage
                        .storage
                        .upload(receipts.as_deref(), HOSTS_CONTAINER, &receipt, b"")
                        .await
                    {
                        console::line(format!("error: writing blob receipt {receipt}: {e}"));
                    }
                    done.insert(key);
                }
            }
            Err(e) => {
                if !reported_error {
                    console::line(format!("error: scanning container '{container}' for '{function}': {e}"));
                    reported_error = true;
                }
            }
        }
        // A failed blob is tried again soon, as the host's blob trigger queue returns it.
        let pause = if retry_soon { RETRY_INTERVAL } else { SCAN_INTERVAL };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = waker.notified() => {}
            _ = current.changed() => {}
        }
    }
}

/// `blobreceipts/{hostId}/{functionId}/{ETag}/{container}/{blobName}` (the ETag without quotes).
fn receipt_name(host_id: &str, function: &str, etag: &str, container: &str, name: &str) -> String {
    format!(
        "blobreceipts/{host_id}/Host.Functions.{function}/{}/{container}/{name}",
        etag.trim_matches('"')
    )
}

async fn fire(
    host: &Host,
    storage: &HostStorage,
    function: &str,
    container: &str,
    item: &BlobItem,
    captures: Vec<(String, String)>,
    connection: Option<&str>,
) -> bool {
    let Some(name) = item.name.as_deref() else { return false };
    let content = match storage.storage.download(connection, container, name).await {
        Ok(Some(content)) => content,
        // Deleted since the listing: nothing to run.
        Ok(None) => return true,
        Err(e) => {
            console::line(format!("error: reading blob {container}/{name}: {e}"));
            return false;
        }
    };
    let app = host.app();
    let Some(definition) = app.function(function) else {
        return false;
    };
    let uri = storage
        .storage
        .blob(connection, container, name)
        .map(|client| {
            let mut url = client.url().clone();
            url.set_query(None);
            url.to_string()
        })
        .unwrap_or_default();
    let properties = item.properties.as_ref();
    let metadata: Map<String, Value> = item
        .metadata
        .as_ref()
        .and_then(|m| m.values.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let blob = BlobData {
        path: format!("{container}/{name}"),
        uri,
        captures,
        content: &content,
        properties: json!({
            "ContentType": properties.and_then(|p| p.content_type.clone()),
            "Length": content.len(),
            "ETag": properties.and_then(|p| p.etag.as_ref().map(|e| e.to_string())),
            "LastModified": properties.and_then(|p| p.last_modified).map(|t| clock::iso_offset(t.unix_timestamp())),
            "BlobType": "BlockBlob",
        }),
        metadata,
    };
    let payload = payload::blob_content_invocation(definition, &blob);
    let reason = format!("New blob detected({}): {container}/{name}", "ContainerScan");
    host.invoke(function, payload, &reason).await.outcome.is_ok()
}

async fn poison(storage: &HostStorage, function: &str, container: &str, name: &str, etag: &str) {
    console::line(format!(
        "Blob {container}/{name} failed {} times in '{function}': moving its trigger message to queue '{POISON_QUEUE}'",
        storage.blob_options.poison_threshold
    ));
    let message = json!({
        "Type": "BlobTrigger", "FunctionId": format!("Host.Functions.{function}"), "BlobType": "BlockBlob",
        "ContainerName": container, "BlobName": name, "ETag": etag,
    });
    if let Err(e) = storage
        .storage
        .send(None, POISON_QUEUE, message.to_string().as_bytes())
        .await
    {
        console::line(format!("error: writing to '{POISON_QUEUE}': {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn blob_names_match_path_patterns() {
        assert_eq!(
            match_blob_name("{name}", "a/b.txt"),
            Some(pairs(&[("name", "a/b.txt")]))
        );
        assert_eq!(match_blob_name("{name}.txt", "x.txt"), Some(pairs(&[("name", "x")])));
        assert_eq!(match_blob_name("{name}.txt", "x.png"), None);
        assert_eq!(
            match_blob_name("in/{id}-{part}.json", "in/7-a-b.json"),
            Some(pairs(&[("id", "7"), ("part", "a-b")]))
        );
        assert_eq!(match_blob_name("fixed.txt", "fixed.txt"), Some(Vec::new()));
        assert_eq!(match_blob_name("{name}", ""), None);
    }

    #[test]
    fn receipts_are_where_the_host_keeps_them() {
        assert_eq!(
            receipt_name("h-1", "f", "\"0x8D\"", "c", "a/b"),
            "blobreceipts/h-1/Host.Functions.f/0x8D/c/a/b"
        );
    }
}
