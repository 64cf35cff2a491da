//! Linux Consumption: the package runs from a blob URL, as `func azure functionapp publish`
//! deploys there. The plan takes no zip deploy; Core Tools uploads the zip to the container
//! `function-releases` of the app's `AzureWebJobsStorage` account, signs a read-only SAS for
//! that blob with the account key, and sets `WEBSITE_RUN_FROM_PACKAGE` to the blob's URL with it
//! (Azure/azure-functions-core-tools, `PublishFunctionAppAction.cs`: `HandleLinuxConsumptionPublish`,
//! `UploadPackageToStorage`, `SetRunFromPackageAppSetting`). Previous package blobs are kept, as
//! Core Tools keeps them.

use std::collections::BTreeMap;
use std::sync::Arc;

use azfn_bindings::schedule::CivilTime;
use azfn_storage::account::{Authorization, Service, StorageAccount};
use azfn_storage::sas;
use azure_core::Bytes;
use azure_core::http::{Body, StatusCode, Url};
use azure_core::stream::SeekableStream;
use azure_storage_blob::BlobServiceClient;
use azure_storage_blob::models::BlobClientUploadOptions;

use crate::error::{Error, Result};

use super::progress::{Progress, UploadBody};

/// The setting whose account holds the packages.
pub const STORAGE_SETTING: &str = "AzureWebJobsStorage";
/// The setting the app's package URL goes in.
pub const RUN_FROM_PACKAGE_SETTING: &str = "WEBSITE_RUN_FROM_PACKAGE";
/// Its predecessor, removed when the new one is set (as Core Tools does).
pub const RUN_FROM_ZIP_SETTING: &str = "WEBSITE_RUN_FROM_ZIP";
/// Set to `1` on Linux Consumption when absent (as Core Tools does): the package is mounted.
pub const MOUNT_ENABLED_SETTING: &str = "WEBSITE_MOUNT_ENABLED";
/// The container Core Tools uploads packages to (created private when missing).
pub const CONTAINER: &str = "function-releases";
/// How long the package URL's signature is valid: ten years, as Core Tools signs it.
pub const SAS_VALIDITY_YEARS: i32 = 10;
/// Packages up to this size go up in one Put Blob request, so that the progress bar counts bytes
/// on the wire (for larger content the SDK reads the stream into 4 MiB blocks ahead of sending
/// them); larger ones go in the SDK's blocks.
const ONE_REQUEST_LIMIT: u64 = 256 * 1024 * 1024;
/// How far back the signature's start is put, for clock skew (Core Tools: five minutes).
const SAS_START_SKEW_SECONDS: i64 = 300;

/// The account packages go to, with the key that signs their URLs.
pub struct PackageStorage {
    account: StorageAccount,
    blob_endpoint: Url,
    key: Vec<u8>,
}

impl std::fmt::Debug for PackageStorage {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageStorage")
            .field("account", &self.account.name)
            .field("blob_endpoint", &self.blob_endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// Reads the account from the app's `AzureWebJobsStorage`, which must be a connection string
/// with an account key: the package URL's SAS is signed with it.
///
/// # Errors
///
/// An identity-based or SAS-only connection, the storage emulator, a missing setting or a
/// string that is not a connection string; the messages never contain the key.
pub fn package_storage(app: &str, settings: &BTreeMap<String, String>) -> Result<PackageStorage> {
    let needs_key = "Linux Consumption runs the app from a blob URL that cargo azfn signs with the storage \
                     account's key (a read-only SAS, as Core Tools does), so AzureWebJobsStorage must be a \
                     connection string with AccountKey: az functionapp config appsettings set -n APP -g GROUP \
                     --settings AzureWebJobsStorage=\"$(az storage account show-connection-string -n ACCOUNT -o tsv)\"";
    let value = settings
        .get(STORAGE_SETTING)
        .or_else(|| {
            settings
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(STORAGE_SETTING))
                .map(|(_, v)| v)
        })
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    let Some(value) = value else {
        let prefix = format!("{}__", STORAGE_SETTING.to_ascii_lowercase());
        let identity = settings.keys().find(|k| k.to_ascii_lowercase().starts_with(&prefix));
        return Err(Error::new(match identity {
            Some(key) => format!("`{app}` connects to its storage by identity ({key}); {needs_key}"),
            None => format!("`{app}` has no {STORAGE_SETTING} setting; {needs_key}"),
        }));
    };
    let account = StorageAccount::from_connection_string(STORAGE_SETTING, value)
        .map_err(|e| Error::new(format!("`{app}`: {e}")))?;
    if account.development {
        return Err(Error::new(format!(
            "`{app}` has {STORAGE_SETTING}=UseDevelopmentStorage=true, which Azure cannot reach; {needs_key}"
        )));
    }
    let key = match &account.authorization {
        Authorization::Key(key) => key.clone(),
        Authorization::Sas(_) => {
            return Err(Error::new(format!(
                "`{app}`'s {STORAGE_SETTING} carries a shared access signature but no account key; {needs_key}"
            )));
        }
        Authorization::Token(_) => {
            return Err(Error::new(format!(
                "`{app}` connects to its storage by identity; {needs_key}"
            )));
        }
    };
    let Some(blob_endpoint) = account.blob_endpoint.clone() else {
        return Err(Error::new(format!(
            "`{app}`'s {STORAGE_SETTING} has no blob endpoint; {needs_key}"
        )));
    };
    Ok(PackageStorage {
        account,
        blob_endpoint,
        key,
    })
}

impl PackageStorage {
    /// The account's name (for the console).
    pub fn account_name(&self) -> &str {
        &self.account.name
    }

    /// Uploads `zip` as block blob `name` of [`CONTAINER`] (created private when missing), with
    /// `progress` counting the bytes sent, and returns the blob's URL with a read-only SAS valid
    /// for [`SAS_VALIDITY_YEARS`] from `now_unix`.
    ///
    /// # Errors
    ///
    /// The storage service's refusal, with the container or blob it concerned.
    pub async fn upload(&self, name: &str, zip: Bytes, progress: Arc<Progress>, now_unix: i64) -> Result<Url> {
        // The service client's URL carries a short account SAS (signed with the same key).
        let (service_url, credential) = self.account.url(Service::Blob, &[]).map_err(Error::new)?;
        let service = BlobServiceClient::new(service_url, credential, None)
            .map_err(|e| Error::new(format!("cannot make a blob client for {}: {e}", self.account.name)))?;
        let container = service.blob_container_client(CONTAINER);
        match container.create(None).await {
            Ok(_) => {}
            Err(e) if e.http_status() == Some(StatusCode::Conflict) => {}
            Err(e) => {
                return Err(Error::new(format!(
                    "cannot create the container {CONTAINER} in the storage account {}: {e}",
                    self.account.name
                )));
            }
        }
        let length = zip.len() as u64;
        let stream: Box<dyn SeekableStream> = Box::new(UploadBody::new(zip, progress.clone()));
        let options = BlobClientUploadOptions {
            blob_content_type: Some("application/zip".to_owned()),
            partition_size: (length <= ONE_REQUEST_LIMIT)
                .then(|| std::num::NonZero::new(length))
                .flatten(),
            ..Default::default()
        };
        let uploaded = container
            .blob_client(name)
            .upload(Body::from(stream).into(), Some(options))
            .await;
        progress.end_bar();
        uploaded.map_err(|e| {
            Error::new(format!(
                "cannot upload {CONTAINER}/{name} to the storage account {}: {e}",
                self.account.name
            ))
        })?;
        Ok(self.read_url(name, now_unix))
    }

    /// The URL of package blob `name` with a read-only service SAS from five minutes before
    /// `now_unix` for [`SAS_VALIDITY_YEARS`].
    pub fn read_url(&self, name: &str, now_unix: i64) -> Url {
        let mut url = self.blob_endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend([CONTAINER, name]);
        }
        let now = CivilTime::from_unix(now_unix);
        let expiry = CivilTime {
            year: now.year + SAS_VALIDITY_YEARS,
            ..now
        };
        url.set_query(Some(&sas::blob_service_sas(
            &self.account.name,
            &self.key,
            CONTAINER,
            name,
            "r",
            now_unix - SAS_START_SKEW_SECONDS,
            expiry.to_unix(),
        )));
        url
    }
}

/// The package blob's name as Core Tools makes it: `yyyyMMddHHmmss-<guid>.zip`, in UTC.
pub fn blob_name(now_unix: i64, guid: &str) -> String {
    let t = CivilTime::from_unix(now_unix);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}-{guid}.zip",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// The app's settings with the package URL set: every setting kept, `WEBSITE_RUN_FROM_ZIP`
/// removed and `WEBSITE_MOUNT_ENABLED=1` added when absent, as Core Tools does.
pub fn settings_with_package(settings: &BTreeMap<String, String>, package_url: &Url) -> BTreeMap<String, String> {
    let mut all = settings.clone();
    all.retain(|k, _| {
        !k.eq_ignore_ascii_case(RUN_FROM_ZIP_SETTING) && !k.eq_ignore_ascii_case(RUN_FROM_PACKAGE_SETTING)
    });
    all.insert(RUN_FROM_PACKAGE_SETTING.to_owned(), package_url.to_string());
    if !all.keys().any(|k| k.eq_ignore_ascii_case(MOUNT_ENABLED_SETTING)) {
        all.insert(MOUNT_ENABLED_SETTING.to_owned(), "1".to_owned());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const KEY_STRING: &str = "DefaultEndpointsProtocol=https;AccountName=azfnstore;AccountKey=c2VjcmV0LWtleQ==;\
                              EndpointSuffix=core.windows.net";

    #[test]
    fn the_blob_is_named_as_core_tools_names_it() {
        // 2024-02-29T13:05:09Z.
        assert_eq!(
            blob_name(1_709_211_909, "0f8fad5b-d9cb-469f-a165-70867728950e"),
            "20240229130509-0f8fad5b-d9cb-469f-a165-70867728950e.zip"
        );
    }

    #[test]
    fn the_package_url_reads_one_blob_for_ten_years() {
        let storage = package_storage("app", &settings(&[("AzureWebJobsStorage", KEY_STRING)])).unwrap();
        assert_eq!(storage.account_name(), "azfnstore");
        // 2024-03-01T00:00:00Z.
        let url = storage.read_url("p.zip", 1_709_251_200);
        assert_eq!(
            url.as_str().split('?').next().unwrap(),
            "https://azfnstore.blob.core.windows.net/function-releases/p.zip"
        );
        let query = url.query().unwrap();
        assert!(query.contains("sr=b&sp=r&"), "{query}");
        assert!(query.contains("st=2024-02-29T23%3A55%3A00Z"), "{query}");
        assert!(query.contains("se=2034-03-01T00%3A00%3A00Z"), "{query}");
    }

    #[test]
    fn only_a_connection_string_with_a_key_is_taken_and_the_key_is_never_shown() {
        let identity = package_storage("app", &settings(&[("AzureWebJobsStorage__accountName", "azfnstore")]))
            .unwrap_err()
            .to_string();
        assert!(
            identity.contains("by identity (AzureWebJobsStorage__accountName)") && identity.contains("AccountKey"),
            "{identity}"
        );
        let sas_only = package_storage(
            "app",
            &settings(&[(
                "AzureWebJobsStorage",
                "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=1&sig=x",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(sas_only.contains("no account key"), "{sas_only}");
        let emulator = package_storage(
            "app",
            &settings(&[("AzureWebJobsStorage", "UseDevelopmentStorage=true")]),
        )
        .unwrap_err()
        .to_string();
        assert!(emulator.contains("Azure cannot reach"), "{emulator}");
        let missing = package_storage("app", &settings(&[])).unwrap_err().to_string();
        assert!(missing.contains("no AzureWebJobsStorage setting"), "{missing}");
        let storage = package_storage("app", &settings(&[("AzureWebJobsStorage", KEY_STRING)])).unwrap();
        let shown = format!("{storage:?}");
        assert!(shown.contains("azfnstore") && !shown.contains("key:"), "{shown}");
    }

    #[test]
    fn settings_keep_the_rest_and_drop_run_from_zip() {
        let url = Url::parse("https://a.blob.core.windows.net/function-releases/p.zip?sig=x").unwrap();
        let before = settings(&[
            ("FUNCTIONS_WORKER_RUNTIME", "custom"),
            ("WEBSITE_RUN_FROM_ZIP", "https://old"),
            ("WEBSITE_RUN_FROM_PACKAGE", "https://older"),
        ]);
        let after = settings_with_package(&before, &url);
        assert_eq!(
            after,
            settings(&[
                ("FUNCTIONS_WORKER_RUNTIME", "custom"),
                ("WEBSITE_MOUNT_ENABLED", "1"),
                ("WEBSITE_RUN_FROM_PACKAGE", url.as_str()),
            ])
        );
        let mounted = settings_with_package(&settings(&[("WEBSITE_MOUNT_ENABLED", "0")]), &url);
        assert_eq!(mounted["WEBSITE_MOUNT_ENABLED"], "0");
    }
}
