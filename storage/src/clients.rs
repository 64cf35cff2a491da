//! Azure SDK clients per connection, made once and handed out cheaply.
//!
//! An account (and with it an Entra ID credential) is resolved once per connection name; a
//! service client is made once per connection and refreshed after [`CLIENT_LIFETIME`] (well
//! within an account SAS's validity, [`crate::sas::VALIDITY_SECONDS`]). Container, blob and
//! queue clients are derived from the service client, sharing its HTTP pipeline, so asking
//! for one per invocation costs a URL, not a client.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azure_storage_blob::{BlobClient, BlobContainerClient, BlobServiceClient};
use azure_storage_queue::{QueueClient, QueueServiceClient};

use crate::account::{DEFAULT_CONNECTION, Service, StorageAccount};

/// How long a service client (and the SAS in its URL) is reused before it is made anew.
pub const CLIENT_LIFETIME: Duration = Duration::from_secs(3600);

/// Service clients by connection key, with when they were made.
type ServiceCache<C> = Mutex<HashMap<String, (Instant, Arc<C>)>>;

/// Clients for the storage accounts a set of settings names.
pub struct StorageClients {
    settings: BTreeMap<String, String>,
    accounts: Mutex<HashMap<String, Arc<StorageAccount>>>,
    blob_services: ServiceCache<BlobServiceClient>,
    queue_services: ServiceCache<QueueServiceClient>,
}

impl fmt::Debug for StorageClients {
    // The settings hold secrets; the SDK clients print nothing useful.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageClients").finish_non_exhaustive()
    }
}

/// A connection's key in the caches: the binding's `connection`, empty for the default.
fn connection_key(connection: Option<&str>) -> String {
    connection.map(str::trim).unwrap_or_default().to_owned()
}

impl StorageClients {
    /// Clients for the connections `settings` names (app settings: name to value).
    pub fn new(settings: BTreeMap<String, String>) -> Self {
        StorageClients {
            settings,
            accounts: Mutex::new(HashMap::new()),
            blob_services: Mutex::new(HashMap::new()),
            queue_services: Mutex::new(HashMap::new()),
        }
    }

    /// Clients for the connections the process environment names: in Azure the app settings
    /// are the environment, and `cargo azfn start` gives the worker local.settings.json
    /// `Values` as its environment.
    pub fn from_environment() -> Self {
        Self::new(std::env::vars().collect())
    }

    /// The settings connections resolve against.
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.settings
    }

    /// The account `connection` names (a binding's `connection`; `None` or empty for the
    /// default, `AzureWebJobsStorage`), resolved on first use and then reused, credential
    /// included.
    ///
    /// # Errors
    ///
    /// A message naming the settings looked for when none holds a connection, or naming the
    /// setting whose value is not usable.
    pub fn account(&self, connection: Option<&str>) -> Result<Arc<StorageAccount>, String> {
        let key = connection_key(connection);
        // Resolved under the lock (it is synchronous), so that concurrent first uses make one
        // credential, not several.
        let mut accounts = lock(&self.accounts);
        if let Some(account) = accounts.get(&key) {
            return Ok(account.clone());
        }
        let account =
            StorageAccount::from_settings(Some(&key), &self.settings)?.ok_or_else(|| missing_setting(&key))?;
        let account = Arc::new(account);
        accounts.insert(key, account.clone());
        Ok(account)
    }

    /// The blob service client of `connection`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable or has no blob endpoint.
    pub fn blob_service(&self, connection: Option<&str>) -> Result<Arc<BlobServiceClient>, String> {
        self.service(&self.blob_services, connection, Service::Blob, |url, credential| {
            BlobServiceClient::new(url, credential, None)
        })
    }

    /// The queue service client of `connection`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable or has no queue endpoint.
    pub fn queue_service(&self, connection: Option<&str>) -> Result<Arc<QueueServiceClient>, String> {
        self.service(&self.queue_services, connection, Service::Queue, |url, credential| {
            QueueServiceClient::new(url, credential, None)
        })
    }

    /// The client of container `name`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable.
    pub fn container(&self, connection: Option<&str>, name: &str) -> Result<BlobContainerClient, String> {
        Ok(self.blob_service(connection)?.blob_container_client(name))
    }

    /// The client of blob `name` in `container`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable.
    pub fn blob(&self, connection: Option<&str>, container: &str, name: &str) -> Result<BlobClient, String> {
        Ok(self.blob_service(connection)?.blob_client(container, name))
    }

    /// The client of queue `name`.
    ///
    /// # Errors
    ///
    /// When the connection is not usable.
    pub fn queue(&self, connection: Option<&str>, name: &str) -> Result<QueueClient, String> {
        self.queue_service(connection)?
            .queue_client(name)
            .map_err(|e| format!("queue `{name}`: {e}"))
    }

    /// The cached service client of `connection`, or a new one made by `make` from the
    /// service URL and credential.
    fn service<C>(
        &self,
        cache: &ServiceCache<C>,
        connection: Option<&str>,
        service: Service,
        make: impl FnOnce(
            azure_core::http::Url,
            Option<Arc<dyn azure_core::credentials::TokenCredential>>,
        ) -> azure_core::Result<C>,
    ) -> Result<Arc<C>, String> {
        let key = connection_key(connection);
        if let Some((made, client)) = lock(cache).get(&key)
            && made.elapsed() < CLIENT_LIFETIME
        {
            return Ok(client.clone());
        }
        let (url, credential) = self.account(connection)?.url(service, &[])?;
        let client = Arc::new(make(url, credential).map_err(|e| e.to_string())?);
        lock(cache).insert(key, (Instant::now(), client.clone()));
        Ok(client)
    }
}

/// The error for a connection no setting holds.
fn missing_setting(connection: &str) -> String {
    let name = if connection.is_empty() {
        DEFAULT_CONNECTION
    } else {
        connection
    };
    format!(
        "no setting named `AzureWebJobs{name}` or `{name}` (nor `{name}__serviceUri`, `{name}__blobServiceUri` or \
         `{name}__queueServiceUri`) holds a storage connection"
    )
}

/// A cache's map; a poisoned lock still holds a usable map (entries are inserted whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(pairs: &[(&str, &str)]) -> StorageClients {
        StorageClients::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn a_missing_setting_is_named() {
        let error = clients(&[]).queue(Some("Orders"), "q").err().expect("an error");
        assert!(
            error.contains("`AzureWebJobsOrders`") && error.contains("`Orders`"),
            "{error}"
        );
        let error = clients(&[]).blob(None, "c", "b").err().expect("an error");
        assert!(error.contains("`AzureWebJobsStorage`"), "{error}");
    }

    #[test]
    fn a_bad_setting_is_named() {
        let error = clients(&[("MyConn", "AccountName=a")])
            .container(Some("MyConn"), "c")
            .err()
            .expect("an error");
        assert!(error.contains("`MyConn`"), "{error}");
    }

    #[test]
    fn clients_share_one_service_client_per_connection() {
        let clients = clients(&[("AzureWebJobsStorage", "UseDevelopmentStorage=true")]);
        let first = clients.blob_service(None).unwrap();
        let second = clients.blob_service(Some("")).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        let blob = clients.blob(None, "images", "a b/c.png").unwrap();
        // The SDK makes the blob name one path segment (the service reads `%2F` as `/`).
        assert_eq!(blob.url().path(), "/devstoreaccount1/images/a%20b%2Fc.png");
        assert!(blob.url().query().unwrap().contains("sig="));
        let queue = clients.queue(None, "orders").unwrap();
        assert_eq!(queue.url().path(), "/devstoreaccount1/orders");
        assert_eq!(queue.url().port(), Some(10001));
        assert!(Arc::ptr_eq(
            &clients.account(None).unwrap(),
            &clients.account(None).unwrap()
        ));
    }
}
