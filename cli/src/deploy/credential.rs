//! Signing in to Entra ID with `azure_identity`, in the order the Azure SDKs'
//! `DefaultAzureCredential` tries: a service principal in the environment, workload identity,
//! managed identity (only when running in Azure), the Azure CLI, the Azure Developer CLI.
//!
//! No password is ever read from a file: the secret of a service principal comes from the
//! environment, everything else from a token file the platform writes, the platform's identity
//! endpoint, or the developer tools' own sign-in.

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    AzureCliCredential, AzureDeveloperCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
};

use crate::error::{Error, Result};

use super::http::describe;

/// Which credential `--credential` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CredentialKind {
    /// The first that applies, in the order of the SDKs' `DefaultAzureCredential`.
    #[default]
    Auto,
    /// A service principal: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    Environment,
    /// Workload identity: `AZURE_FEDERATED_TOKEN_FILE` with `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`.
    WorkloadIdentity,
    /// The managed identity of the Azure resource this runs on (`AZURE_CLIENT_ID` for a
    /// user-assigned one).
    ManagedIdentity,
    /// `az login`.
    AzureCli,
    /// `azd auth login`.
    AzureDeveloperCli,
}

/// One credential to try, as the environment configures it.
#[derive(Clone, PartialEq, Eq)]
pub enum Candidate {
    /// A client secret.
    ClientSecret {
        /// `AZURE_TENANT_ID`.
        tenant: String,
        /// `AZURE_CLIENT_ID`.
        client: String,
        /// `AZURE_CLIENT_SECRET`.
        secret: String,
    },
    /// Workload identity (the token file and ids are read from the environment by the credential).
    WorkloadIdentity,
    /// Managed identity, user-assigned when a client id is given.
    ManagedIdentity {
        /// `AZURE_CLIENT_ID`, if set.
        client: Option<String>,
    },
    /// The Azure CLI.
    AzureCli,
    /// The Azure Developer CLI.
    AzureDeveloperCli,
}

impl fmt::Debug for Candidate {
    // Never print the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Candidate {
    /// What the console says was used.
    pub fn describe(&self) -> String {
        match self {
            Candidate::ClientSecret { client, .. } => {
                format!("with the service principal {client} (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)")
            }
            Candidate::WorkloadIdentity => "with workload identity (AZURE_FEDERATED_TOKEN_FILE)".to_owned(),
            Candidate::ManagedIdentity { client: Some(client) } => {
                format!("with the user-assigned managed identity {client}")
            }
            Candidate::ManagedIdentity { client: None } => "with the managed identity".to_owned(),
            Candidate::AzureCli => "with the Azure CLI (az login)".to_owned(),
            Candidate::AzureDeveloperCli => "with the Azure Developer CLI (azd auth login)".to_owned(),
        }
    }

    /// Whether a failure of this one should let the next be tried: only the developer tools
    /// (not installed, not signed in). A service principal or identity the environment sets up
    /// and that fails is an error, as with `DefaultAzureCredential`.
    fn falls_through(&self) -> bool {
        matches!(self, Candidate::AzureCli | Candidate::AzureDeveloperCli)
    }

    fn credential(&self) -> azure_core::Result<Arc<dyn TokenCredential>> {
        Ok(match self {
            Candidate::ClientSecret { tenant, client, secret } => {
                ClientSecretCredential::new(tenant, client.clone(), Secret::new(secret.clone()), None)?
            }
            Candidate::WorkloadIdentity => WorkloadIdentityCredential::new(None)?,
            Candidate::ManagedIdentity { client } => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: client.clone().map(UserAssignedId::ClientId),
                    ..Default::default()
                }))?
            }
            Candidate::AzureCli => AzureCliCredential::new(None)?,
            Candidate::AzureDeveloperCli => AzureDeveloperCliCredential::new(None)?,
        })
    }
}

/// The credentials to try for `kind`, in order, from the environment `env` describes.
///
/// # Errors
///
/// When `kind` names a credential the environment does not configure.
pub fn candidates(kind: CredentialKind, env: impl Fn(&str) -> Option<String>) -> Result<Vec<Candidate>> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let client_secret = match (
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) {
        (Some(tenant), Some(client), Some(secret)) => Some(Candidate::ClientSecret { tenant, client, secret }),
        _ => None,
    };
    let workload = (var("AZURE_FEDERATED_TOKEN_FILE").is_some()
        && var("AZURE_TENANT_ID").is_some()
        && var("AZURE_CLIENT_ID").is_some())
    .then_some(Candidate::WorkloadIdentity);
    let in_azure = var("IDENTITY_ENDPOINT").is_some() || var("MSI_ENDPOINT").is_some();
    let managed = Candidate::ManagedIdentity {
        client: var("AZURE_CLIENT_ID"),
    };
    let required = |candidate: Option<Candidate>, what: &str| {
        candidate
            .map(|c| vec![c])
            .ok_or_else(|| Error::new(format!("--credential {what}: {}", missing_for(what))))
    };
    match kind {
        CredentialKind::Auto => {
            let mut list: Vec<Candidate> = client_secret.into_iter().chain(workload).collect();
            if in_azure {
                list.push(managed);
            }
            list.push(Candidate::AzureCli);
            list.push(Candidate::AzureDeveloperCli);
            Ok(list)
        }
        CredentialKind::Environment => required(client_secret, "environment"),
        CredentialKind::WorkloadIdentity => required(workload, "workload-identity"),
        // Asked for by name, managed identity is tried even where the platform's variables are
        // absent (a VM's IMDS endpoint has none).
        CredentialKind::ManagedIdentity => Ok(vec![managed]),
        CredentialKind::AzureCli => Ok(vec![Candidate::AzureCli]),
        CredentialKind::AzureDeveloperCli => Ok(vec![Candidate::AzureDeveloperCli]),
    }
}

fn missing_for(what: &str) -> &'static str {
    if what == "environment" {
        "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
    } else {
        "set AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID"
    }
}

/// A credential that gave a token, and how the console names it.
pub struct SignedIn {
    /// The credential, for the pipeline's bearer policy.
    pub credential: Arc<dyn TokenCredential>,
    /// Which one it was.
    pub candidate: Candidate,
}

/// Tries the candidates in order and keeps the first that gets a token for `scope`.
///
/// # Errors
///
/// Every failure, one line each, when none gets a token.
pub async fn sign_in(candidates: Vec<Candidate>, scope: &str) -> Result<SignedIn> {
    let mut failures = Vec::new();
    for candidate in candidates {
        let attempt = match candidate.credential() {
            Ok(credential) => credential.get_token(&[scope], None).await.map(|_| credential),
            Err(e) => Err(e),
        };
        match attempt {
            Ok(credential) => return Ok(SignedIn { credential, candidate }),
            Err(e) => {
                // The SDK's messages run over several lines; keep each under its credential.
                let line = format!("{}: {}", candidate.describe(), describe(&e).replace('\n', "\n    "));
                if !candidate.falls_through() {
                    return Err(Error::new(format!("cannot sign in {line}")));
                }
                failures.push(line);
            }
        }
    }
    Err(Error::new(format!(
        "cannot sign in to Azure; tried:\n  {}\nSign in with `az login` (or `azd auth login`), or set AZURE_TENANT_ID, \
         AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal",
        failures.join("\n  ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn auto_follows_the_default_azure_credential_order() {
        let all = env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
            ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
        ]);
        let list = candidates(CredentialKind::Auto, all).unwrap();
        assert_eq!(
            list,
            vec![
                Candidate::ClientSecret {
                    tenant: "t".into(),
                    client: "c".into(),
                    secret: "s".into()
                },
                Candidate::WorkloadIdentity,
                Candidate::ManagedIdentity {
                    client: Some("c".into())
                },
                Candidate::AzureCli,
                Candidate::AzureDeveloperCli,
            ]
        );
        // Outside Azure, on a developer's machine: the developer tools only.
        let list = candidates(CredentialKind::Auto, env(&[])).unwrap();
        assert_eq!(list, vec![Candidate::AzureCli, Candidate::AzureDeveloperCli]);
    }

    #[test]
    fn a_named_credential_needs_its_variables_and_never_shows_the_secret() {
        let message = candidates(CredentialKind::Environment, env(&[("AZURE_TENANT_ID", "t")]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("AZURE_CLIENT_SECRET"), "{message}");
        let secret = candidates(
            CredentialKind::Environment,
            env(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_CLIENT_SECRET", "hush"),
            ]),
        )
        .unwrap();
        assert!(!format!("{secret:?}").contains("hush"));
    }
}
