//! Real storage for the local host's queue and blob bindings, through the Azure SDK for Rust.
//!
//! | module | concern |
//! |---|---|
//! | [`account`] | which account a `connection` names (connection strings, identities), from `azfn-storage` |
//! | [`sas`] | signing an account SAS with an account key (the SDK takes no shared key), from `azfn-storage` |
//! | [`azurite`] | finding, installing and starting the emulator |
//! | [`options`] | host.json `extensions.queues` / `extensions.blobs` |
//!
//! [`Storage`] hands out SDK clients (through `azfn-storage`'s cache) and does the few
//! operations the host needs. Tables are not here: the Azure SDK for Rust has no tables
//! crate, so table bindings stay on the admin API's path.

pub mod azurite;
pub mod options;

pub use azfn_storage::{account, sas};

use std::collections::BTreeMap;
use std::time::Duration;

use azfn_storage::StorageClients;
use azure_core::http::{RequestContent, StatusCode};
use azure_storage_blob::models::{BlobContainerClientListBlobsOptions, BlobItem, ListBlobsIncludeItem};
use azure_storage_blob::{BlobClient, BlobContainerClient};
use azure_storage_queue::QueueClient;
use azure_storage_queue::models::{QueueClientReceiveMessagesOptions, QueueMessage, ReceivedMessage};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt as _;

use account::StorageAccount;
use options::MessageEncoding;

/// Clients for the storage accounts an app's settings name.
pub struct Storage {
    clients: StorageClients,
    encoding: MessageEncoding,
}

impl std::fmt::Debug for Storage {
    // The settings hold secrets; the SDK clients print nothing useful.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Storage for the settings `values`, with queue messages encoded as `encoding`.
    pub fn new(values: BTreeMap<String, String>, encoding: MessageEncoding) -> Self {
        Storage {
            clients: StorageClients::new(values),
            encoding,
        }
    }

    /// The account `connection` names.
    ///
    /// # Errors
    ///
    /// When no setting names one, or its value is not usable.
    pub fn account(&self, connection: Option<&str>) -> Result<std::sync::Arc<StorageAccount>, String> {
        self.clients.account(connection)
    }

    /// The client of queue `name`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable.
    pub fn queue(&self, connection: Option<&str>, name: &str) -> Result<QueueClient, String> {
        self.clients.queue(connection, name)
    }

    /// The client of container `name`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable.
    pub fn container(&self, connection: Option<&str>, name: &str) -> Result<BlobContainerClient, String> {
        self.clients.container(connection, name)
    }

    /// The client of blob `container/name`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable.
    pub fn blob(&self, connection: Option<&str>, container: &str, name: &str) -> Result<BlobClient, String> {
        self.clients.blob(connection, container, name)
    }

    /// The text a queue holds for message bytes, per `messageEncoding`.
    pub fn encode_message(&self, bytes: &[u8]) -> String {
        match self.encoding {
            MessageEncoding::Base64 => BASE64.encode(bytes),
            MessageEncoding::None => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// The bytes of a queue message's text, or `None` when base64 is expected and the text is
    /// not base64 (such a message goes to the poison queue at once).
    pub fn decode_message(&self, text: &str) -> Option<Vec<u8>> {
        match self.encoding {
            MessageEncoding::Base64 => azfn_wire::envelope::decode_dotnet_base64(text),
            MessageEncoding::None => Some(text.as_bytes().to_vec()),
        }
    }

    /// Enqueues `bytes` on queue `name`, creating the queue on first use as the host's queue
    /// output does.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn send(&self, connection: Option<&str>, name: &str, bytes: &[u8]) -> Result<(), String> {
        let client = self.queue(connection, name)?;
        let text = self.encode_message(bytes);
        let message = || -> Result<RequestContent<QueueMessage, _>, String> {
            QueueMessage {
                message_text: Some(text.clone()),
            }
            .try_into()
            .map_err(|e: azure_core::Error| e.to_string())
        };
        match client.send_message(message()?, None).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => {
                create_queue(&client).await?;
                client
                    .send_message(message()?, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| describe(&e, name))
            }
            Err(e) => Err(describe(&e, name)),
        }
    }

    /// Takes up to `count` messages from queue `name`, invisible to others for `visibility`.
    /// A queue that does not exist yet has no messages.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn receive(
        &self,
        connection: Option<&str>,
        name: &str,
        count: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, String> {
        let client = self.queue(connection, name)?;
        let options = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(i32::try_from(count).unwrap_or(32)),
            visibility_timeout: Some(seconds(visibility).max(1)),
            ..Default::default()
        };
        match client.receive_messages(Some(options)).await {
            Ok(response) => Ok(response
                .into_model()
                .map_err(|e| describe(&e, name))?
                .items
                .unwrap_or_default()),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(Vec::new()),
            Err(e) => Err(describe(&e, name)),
        }
    }

    /// Deletes a message taken with `pop_receipt`.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn delete(
        &self,
        connection: Option<&str>,
        name: &str,
        id: &str,
        pop_receipt: &str,
    ) -> Result<(), String> {
        let client = self.queue(connection, name)?;
        client
            .delete_message(id, pop_receipt, None)
            .await
            .map(|_| ())
            .map_err(|e| describe(&e, name))
    }

    /// Makes a taken message visible again after `delay` (a message still running gets its
    /// invisibility extended so), returning the message's new pop receipt.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn set_visibility(
        &self,
        connection: Option<&str>,
        name: &str,
        id: &str,
        pop_receipt: &str,
        delay: Duration,
    ) -> Result<String, String> {
        let client = self.queue(connection, name)?;
        let response = client
            .update_message(id, pop_receipt, seconds(delay), None)
            .await
            .map_err(|e| describe(&e, name))?;
        response
            .headers()
            .get_optional_str(&azure_core::http::headers::HeaderName::from_static("x-ms-popreceipt"))
            .map(str::to_owned)
            .ok_or_else(|| format!("{name}: the service returned no new pop receipt for message {id}"))
    }

    /// Uploads `bytes` as block blob `container/name`, creating the container on first use.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn upload(
        &self,
        connection: Option<&str>,
        container: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        let client = self.container(connection, container)?;
        let blob = client.blob_client(name);
        let content = || RequestContent::from(bytes.to_vec());
        match blob.upload(content(), None).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => {
                create_container(&client).await?;
                blob.upload(content(), None)
                    .await
                    .map(|_| ())
                    .map_err(|e| describe(&e, &format!("{container}/{name}")))
            }
            Err(e) => Err(describe(&e, &format!("{container}/{name}"))),
        }
    }

    /// The content of blob `container/name`, or `None` when it (or its container) does not
    /// exist.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn download(
        &self,
        connection: Option<&str>,
        container: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let blob = self.blob(connection, container, name)?;
        let what = format!("{container}/{name}");
        match blob.download(None).await {
            Ok(result) => result
                .body
                .collect()
                .await
                .map(|bytes| Some(bytes.to_vec()))
                .map_err(|e| describe(&e, &what)),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(None),
            Err(e) => Err(describe(&e, &what)),
        }
    }

    /// Every blob of `container` whose name starts with `prefix`, with metadata. A container
    /// that does not exist has none.
    ///
    /// # Errors
    ///
    /// The service's error, as text.
    pub async fn list(&self, connection: Option<&str>, container: &str, prefix: &str) -> Result<Vec<BlobItem>, String> {
        let client = self.container(connection, container)?;
        let options = BlobContainerClientListBlobsOptions {
            include: Some(vec![ListBlobsIncludeItem::Metadata]),
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..Default::default()
        };
        let mut pager = client.list_blobs(Some(options)).map_err(|e| describe(&e, container))?;
        let mut items = Vec::new();
        while let Some(item) = pager.next().await {
            match item {
                Ok(item) => items.push(item),
                Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(Vec::new()),
                Err(e) => return Err(describe(&e, container)),
            }
        }
        Ok(items)
    }
}

async fn create_queue(client: &QueueClient) -> Result<(), String> {
    match client.create(None).await {
        Ok(_) => Ok(()),
        Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(()),
        Err(e) => Err(format!("cannot create queue {}: {e}", client.url().path())),
    }
}

async fn create_container(client: &BlobContainerClient) -> Result<(), String> {
    match client.create(None).await {
        Ok(_) => Ok(()),
        Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(()),
        Err(e) => Err(format!("cannot create container {}: {e}", client.url().path())),
    }
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

/// An SDK error with what it was about.
fn describe(error: &azure_core::Error, what: &str) -> String {
    format!("{what}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_base64_unless_host_json_says_none() {
        let base64 = Storage::new(BTreeMap::new(), MessageEncoding::Base64);
        assert_eq!(base64.encode_message(b"{\"id\":1}"), "eyJpZCI6MX0=");
        assert_eq!(
            base64.decode_message("eyJpZCI6MX0=").as_deref(),
            Some(&b"{\"id\":1}"[..])
        );
        // Text that is not base64 cannot be decoded: the listener poisons it at once.
        assert_eq!(base64.decode_message("{\"id\":1}"), None);
        let plain = Storage::new(BTreeMap::new(), MessageEncoding::None);
        assert_eq!(plain.encode_message(b"{\"id\":1}"), "{\"id\":1}");
        assert_eq!(plain.decode_message("{\"id\":1}").as_deref(), Some(&b"{\"id\":1}"[..]));
    }
}
