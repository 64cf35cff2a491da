//! Which storage account a binding's `connection` names, and how to reach it.
//!
//! A connection name `N` resolves as the WebJobs extensions do: the setting `AzureWebJobsN`,
//! then `N` (no name means `Storage`, so `AzureWebJobsStorage`). A non-empty value is a
//! connection string (`UseDevelopmentStorage=true`, or `AccountName`/`AccountKey`/
//! `BlobEndpoint`/`QueueEndpoint`/`EndpointSuffix`/`SharedAccessSignature`); otherwise the
//! identity-based keys `<setting>__serviceUri`, `__blobServiceUri`, `__queueServiceUri` or
//! `__accountName` (with `__credential`=`managedidentity` and `__clientId`) name the endpoints,
//! and an Entra ID credential signs in.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::Url;

use crate::clock;
use crate::sas;

/// Azurite's account, the one `UseDevelopmentStorage=true` stands for.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known key (public, in every Azure Storage SDK's docs).
pub const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Azurite's blob and queue ports.
pub const DEVELOPMENT_BLOB_PORT: u16 = 10000;
/// See [`DEVELOPMENT_BLOB_PORT`].
pub const DEVELOPMENT_QUEUE_PORT: u16 = 10001;
/// The host's default connection name.
pub const DEFAULT_CONNECTION: &str = "Storage";

/// How requests to the account are authorized.
#[derive(Clone)]
pub enum Authorization {
    /// An account key: each client gets a freshly signed account SAS.
    Key(Vec<u8>),
    /// A SAS from the connection string, used as it is.
    Sas(String),
    /// An Entra ID credential (https endpoints only).
    Token(Arc<dyn TokenCredential>),
}

impl fmt::Debug for Authorization {
    // Never print a key or a signature.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Authorization::Key(_) => "Key(…)",
            Authorization::Sas(_) => "Sas(…)",
            Authorization::Token(_) => "Token(…)",
        })
    }
}

/// A storage account as a connection setting describes it.
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// The setting the connection came from (for messages).
    pub setting: String,
    /// The account name (for SAS signing and messages).
    pub name: String,
    /// The blob service endpoint, ending in `/`.
    pub blob_endpoint: Option<Url>,
    /// The queue service endpoint, ending in `/`.
    pub queue_endpoint: Option<Url>,
    /// How requests are authorized.
    pub authorization: Authorization,
    /// Whether this is `UseDevelopmentStorage=true` (the host then makes sure Azurite runs).
    pub development: bool,
}

/// The settings connections resolve against: local.settings.json `values`, with the process
/// environment over them where it is set and not empty (as the host reads its configuration,
/// and as `cargo azfn start` hands `Values` to the worker: the environment wins).
pub fn settings_with_environment(
    values: &BTreeMap<String, String>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    let mut merged = values.clone();
    for (key, value) in environment {
        if !value.is_empty() {
            merged.retain(|k, _| !k.eq_ignore_ascii_case(&key));
            merged.insert(key, value);
        }
    }
    merged
}

/// The setting a connection name resolves to and its value, or `None` when neither
/// `AzureWebJobsN` nor `N` is set (as a value or as `__` section keys).
pub fn resolve_setting<'a>(
    connection: Option<&str>,
    values: &'a BTreeMap<String, String>,
) -> Option<(String, Option<&'a str>)> {
    let name = connection
        .filter(|c| !c.trim().is_empty())
        .unwrap_or(DEFAULT_CONNECTION);
    let candidates = [format!("AzureWebJobs{name}"), name.to_owned()];
    for candidate in &candidates {
        if let Some(value) = lookup(values, candidate).filter(|v| !v.trim().is_empty()) {
            return Some((candidate.clone(), Some(value)));
        }
    }
    candidates
        .into_iter()
        .find(|candidate| {
            let prefix = format!("{candidate}__").to_ascii_lowercase();
            values.keys().any(|key| key.to_ascii_lowercase().starts_with(&prefix))
        })
        .map(|candidate| (candidate, None))
}

/// A setting, ignoring case as .NET configuration does.
fn lookup<'a>(values: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    values
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

impl StorageAccount {
    /// The account the connection `connection` (a binding's `connection`, or none) names, or
    /// `Ok(None)` when no setting names one.
    ///
    /// # Errors
    ///
    /// A message naming the setting when its value is not a usable connection.
    pub fn from_settings(connection: Option<&str>, values: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let Some((setting, value)) = resolve_setting(connection, values) else {
            return Ok(None);
        };
        match value {
            Some(text) => Self::from_connection_string(&setting, text).map(Some),
            None => Self::from_identity_settings(&setting, values).map(Some),
        }
    }

    /// Parses a connection string found in `setting`.
    ///
    /// # Errors
    ///
    /// A message naming `setting` and what is wrong.
    pub fn from_connection_string(setting: &str, text: &str) -> Result<Self, String> {
        let mut parts: BTreeMap<String, String> = BTreeMap::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!(
                    "the setting `{setting}` is not a storage connection string: `{}` has no `=`",
                    part.split_once(';').map_or(part, |(p, _)| p)
                ));
            };
            parts.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        if parts
            .get("usedevelopmentstorage")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Ok(Self::development(setting));
        }
        let protocol = parts
            .get("defaultendpointsprotocol")
            .map_or("https", String::as_str)
            .to_ascii_lowercase();
        if protocol != "http" && protocol != "https" {
            return Err(format!(
                "the setting `{setting}` has DefaultEndpointsProtocol={protocol}; it must be http or https"
            ));
        }
        let account = parts.get("accountname").cloned();
        let suffix = parts
            .get("endpointsuffix")
            .map_or("core.windows.net", String::as_str)
            .to_owned();
        let endpoint = |key: &str, service: &str| -> Result<Option<Url>, String> {
            match (parts.get(key), &account) {
                (Some(explicit), _) => parse_endpoint(setting, key, explicit).map(Some),
                (None, Some(account)) => {
                    parse_endpoint(setting, key, &format!("{protocol}://{account}.{service}.{suffix}")).map(Some)
                }
                (None, None) => Ok(None),
            }
        };
        let blob_endpoint = endpoint("blobendpoint", "blob")?;
        let queue_endpoint = endpoint("queueendpoint", "queue")?;
        if blob_endpoint.is_none() && queue_endpoint.is_none() {
            return Err(format!(
                "the setting `{setting}` names no account: it needs AccountName (or BlobEndpoint/QueueEndpoint), \
                 or UseDevelopmentStorage=true"
            ));
        }
        let authorization = match (parts.get("accountkey"), parts.get("sharedaccesssignature")) {
            (Some(key), _) => {
                let key = azfn_wire::envelope::decode_dotnet_base64(key)
                    .ok_or_else(|| format!("the setting `{setting}` has an AccountKey that is not base64"))?;
                if account.is_none() {
                    return Err(format!("the setting `{setting}` has an AccountKey but no AccountName"));
                }
                Authorization::Key(key)
            }
            (None, Some(sas)) => Authorization::Sas(sas.trim_start_matches('?').to_owned()),
            (None, None) => {
                return Err(format!(
                    "the setting `{setting}` has neither AccountKey nor SharedAccessSignature; for an Entra ID \
                     identity use `{setting}__serviceUri` (or `__blobServiceUri`/`__queueServiceUri`) instead"
                ));
            }
        };
        let name = account.unwrap_or_else(|| {
            blob_endpoint
                .as_ref()
                .or(queue_endpoint.as_ref())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        });
        Ok(StorageAccount {
            setting: setting.to_owned(),
            name,
            blob_endpoint,
            queue_endpoint,
            authorization,
            development: false,
        })
    }

    /// `UseDevelopmentStorage=true`: Azurite on 127.0.0.1 with its well-known account.
    pub fn development(setting: &str) -> Self {
        let url =
            |port: u16| Url::parse(&format!("http://127.0.0.1:{port}/{DEVELOPMENT_ACCOUNT}/")).expect("a valid URL");
        StorageAccount {
            setting: setting.to_owned(),
            name: DEVELOPMENT_ACCOUNT.to_owned(),
            blob_endpoint: Some(url(DEVELOPMENT_BLOB_PORT)),
            queue_endpoint: Some(url(DEVELOPMENT_QUEUE_PORT)),
            authorization: Authorization::Key(
                azfn_wire::envelope::decode_dotnet_base64(DEVELOPMENT_KEY).expect("the well-known key is base64"),
            ),
            development: true,
        }
    }

    /// `<setting>__serviceUri` and friends, with an Entra ID credential.
    fn from_identity_settings(setting: &str, values: &BTreeMap<String, String>) -> Result<Self, String> {
        let key = |suffix: &str| lookup(values, &format!("{setting}__{suffix}")).filter(|v| !v.trim().is_empty());
        let account = key("accountName");
        let service = |specific: &str, service: &str| -> Result<Option<Url>, String> {
            let explicit = key(specific).map(|v| (format!("{setting}__{specific}"), v.to_owned()));
            let from_account = account.map(|a| {
                (
                    format!("{setting}__accountName"),
                    format!("https://{a}.{service}.core.windows.net"),
                )
            });
            // `serviceUri` is the blob service's (the host's own storage is blobs first).
            let general = (service == "blob")
                .then(|| key("serviceUri").map(|v| (format!("{setting}__serviceUri"), v.to_owned())))
                .flatten();
            match explicit.or(general).or(from_account) {
                Some((name, text)) => parse_endpoint(&name, "", &text).map(Some),
                None => Ok(None),
            }
        };
        let blob_endpoint = service("blobServiceUri", "blob")?;
        let queue_endpoint = service("queueServiceUri", "queue")?;
        for url in blob_endpoint.iter().chain(&queue_endpoint) {
            if url.scheme() != "https" {
                return Err(format!(
                    "the setting `{setting}` uses an identity, which needs an https endpoint, not {url}"
                ));
            }
        }
        let credential: Arc<dyn TokenCredential> = match key("credential") {
            Some(kind) if kind.eq_ignore_ascii_case("managedidentity") => {
                let options = azure_identity::ManagedIdentityCredentialOptions {
                    user_assigned_id: key("clientId").map(|id| azure_identity::UserAssignedId::ClientId(id.to_owned())),
                    ..Default::default()
                };
                azure_identity::ManagedIdentityCredential::new(Some(options))
                    .map_err(|e| format!("the setting `{setting}__credential`: {e}"))?
            }
            Some(other) => {
                return Err(format!(
                    "the setting `{setting}__credential` is `{other}`; only `managedidentity` is known (leave it \
                     out to sign in with the Azure CLI or Azure Developer CLI)"
                ));
            }
            None => azure_identity::DeveloperToolsCredential::new(None)
                .map_err(|e| format!("the setting `{setting}`: no developer sign-in is available ({e})"))?,
        };
        let name = blob_endpoint
            .as_ref()
            .or(queue_endpoint.as_ref())
            .and_then(|u| u.host_str().map(|h| h.split('.').next().unwrap_or(h).to_owned()))
            .unwrap_or_default();
        Ok(StorageAccount {
            setting: setting.to_owned(),
            name,
            blob_endpoint,
            queue_endpoint,
            authorization: Authorization::Token(credential),
            development: false,
        })
    }

    /// A URL under `endpoint` (path segments appended, each percent-encoded) with the SAS
    /// query when the account has one, and the credential to pass to the SDK.
    ///
    /// # Errors
    ///
    /// When the account has no endpoint for the service.
    pub fn url(&self, service: Service, segments: &[&str]) -> Result<(Url, Option<Arc<dyn TokenCredential>>), String> {
        let endpoint = match service {
            Service::Blob => &self.blob_endpoint,
            Service::Queue => &self.queue_endpoint,
        };
        let Some(endpoint) = endpoint else {
            return Err(format!(
                "the setting `{}` has no {} endpoint",
                self.setting,
                service.name()
            ));
        };
        let mut url = endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        match &self.authorization {
            Authorization::Key(key) => {
                let now = clock::unix_now();
                url.set_query(Some(&sas::account_sas(&self.name, key, now)));
                Ok((url, None))
            }
            Authorization::Sas(query) => {
                url.set_query(Some(query));
                Ok((url, None))
            }
            Authorization::Token(credential) => Ok((url, Some(credential.clone()))),
        }
    }
}

/// A storage service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Blobs.
    Blob,
    /// Queues.
    Queue,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Blob => "blob",
            Service::Queue => "queue",
        }
    }
}

fn parse_endpoint(setting: &str, key: &str, text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        let what = if key.is_empty() {
            String::new()
        } else {
            format!(" ({key})")
        };
        format!("the setting `{setting}`{what} has an endpoint that is not a URL: `{text}` ({e})")
    })?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn connection_names_resolve_like_the_host() {
        let settings = values(&[("AzureWebJobsStorage", "UseDevelopmentStorage=true"), ("Other", "x")]);
        assert_eq!(
            resolve_setting(None, &settings),
            Some(("AzureWebJobsStorage".to_owned(), Some("UseDevelopmentStorage=true")))
        );
        assert_eq!(resolve_setting(Some("Other"), &settings).unwrap().0, "Other");
        assert_eq!(resolve_setting(Some("Missing"), &settings), None);
        let identity = values(&[("MyStorage__queueServiceUri", "https://a.queue.core.windows.net")]);
        assert_eq!(
            resolve_setting(Some("MyStorage"), &identity),
            Some(("MyStorage".to_owned(), None))
        );
    }

    #[test]
    fn the_environment_wins_over_local_settings() {
        let local = values(&[("AzureWebJobsStorage", "AccountName=a;AccountKey=a2V5"), ("Other", "1")]);
        let environment = [
            (
                "AZUREWEBJOBSSTORAGE".to_owned(),
                "UseDevelopmentStorage=true".to_owned(),
            ),
            ("Other".to_owned(), String::new()),
        ];
        let merged = settings_with_environment(&local, environment);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged["AZUREWEBJOBSSTORAGE"], "UseDevelopmentStorage=true");
        assert_eq!(merged["Other"], "1");
        assert!(
            StorageAccount::from_settings(None, &merged)
                .unwrap()
                .unwrap()
                .development
        );
    }

    #[test]
    fn development_storage() {
        let account = StorageAccount::from_connection_string("S", "UseDevelopmentStorage=true").unwrap();
        assert!(account.development);
        let (url, credential) = account.url(Service::Queue, &["orders"]).unwrap();
        assert!(credential.is_none());
        assert_eq!(url.path(), "/devstoreaccount1/orders");
        assert_eq!(url.port(), Some(10001));
        assert!(url.query().unwrap().contains("sig="));
    }

    #[test]
    fn account_connection_strings() {
        let account = StorageAccount::from_connection_string(
            "AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
        )
        .unwrap();
        assert_eq!(
            account.blob_endpoint.unwrap().as_str(),
            "https://acct.blob.core.chinacloudapi.cn/"
        );
        assert_eq!(
            account.queue_endpoint.unwrap().as_str(),
            "https://acct.queue.core.chinacloudapi.cn/"
        );
        let explicit = StorageAccount::from_connection_string(
            "S",
            "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\
             QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1",
        )
        .unwrap();
        let (url, _) = explicit.url(Service::Blob, &["c", "a b.txt"]).unwrap();
        assert_eq!(url.path(), "/devstoreaccount1/c/a%20b.txt");
        let sas = StorageAccount::from_connection_string(
            "S",
            "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=1&sig=x",
        )
        .unwrap();
        assert_eq!(sas.url(Service::Blob, &["c"]).unwrap().0.query(), Some("sv=1&sig=x"));
        assert!(
            sas.url(Service::Queue, &["q"])
                .unwrap_err()
                .contains("no queue endpoint")
        );
    }

    #[test]
    fn bad_connection_strings_name_the_setting() {
        for (text, expected) in [
            ("nonsense", "`nonsense` has no `=`"),
            ("AccountName=a", "neither AccountKey nor SharedAccessSignature"),
            ("AccountName=a;AccountKey=!!", "not base64"),
            (
                "DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=a2V5",
                "must be http or https",
            ),
            ("AccountKey=a2V5", "names no account"),
        ] {
            let error = StorageAccount::from_connection_string("MySetting", text).unwrap_err();
            assert!(error.contains("`MySetting`"), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn identity_settings_need_https() {
        let settings = values(&[("S__queueServiceUri", "http://127.0.0.1:10001/devstoreaccount1")]);
        let error = StorageAccount::from_settings(Some("S"), &settings).unwrap_err();
        assert!(error.contains("https"), "{error}");
        let settings = values(&[("S__credential", "password"), ("S__accountName", "acct")]);
        let error = StorageAccount::from_settings(Some("S"), &settings).unwrap_err();
        assert!(error.contains("S__credential"), "{error}");
    }
}
