//! `cargo azfn kubernetes`: the Kubernetes objects that run an app's image with KEDA scaling,
//! as `func kubernetes deploy` writes them (Core Tools' `Kubernetes/KubernetesHelper.cs` and
//! `Kubernetes/KEDA/V2/KedaV2Resource.cs`), printed (`--dry-run`), written to a file
//! (`--write-configs`) or applied with `kubectl apply -f -`.
//!
//! The documents, in Core Tools' order:
//!
//! 1. the settings Secret `<name>`: local.settings.json `Values` plus
//!    `FUNCTIONS_WORKER_RUNTIME=custom`, given to every container through `envFrom` (with
//!    `--secret-name` an existing Secret is used instead and none is written);
//! 2. for HTTP functions, the Service `<name>-http` (`LoadBalancer` unless `--service-type`);
//! 3. the Deployment `<name>-http` (one replica) running only the HTTP functions, and the
//!    Deployment `<name>` (`--min-replicas`, default 0) running the others;
//! 4. the KEDA `ScaledObject` `<name>` with one trigger per non-HTTP function
//!    ([`scalers`] says which scaler and metadata).
//!
//! Not written: the function-keys Secret and the ServiceAccount, Role and RoleBinding Core Tools
//! adds so the host keeps its keys in a Kubernetes Secret; the host in the image keeps them where
//! it does by default (the `azure-webjobs-secrets` container of `AzureWebJobsStorage`).

pub mod model;
pub mod scalers;
pub mod yaml;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::app::{FunctionApp, Trigger};
use crate::error::{Context, Error, Result};
use crate::settings::LocalSettings;

use model::{DeploymentSpec, Placement, Scaling};
use scalers::ScaleRule;
use yaml::Node;

/// `pollingInterval` when none is given: KEDA's default, written so the user sees it.
pub const DEFAULT_POLLING_INTERVAL: u32 = 30;
/// `cooldownPeriod` when none is given: KEDA's default.
pub const DEFAULT_COOLDOWN_PERIOD: u32 = 300;
/// The worker runtime of azfn apps, added to the settings Secret when local.settings.json
/// does not set it.
pub const WORKER_RUNTIME: (&str, &str) = ("FUNCTIONS_WORKER_RUNTIME", "custom");
/// The Service types Kubernetes has.
pub const SERVICE_TYPES: &[&str] = &["LoadBalancer", "ClusterIP", "NodePort"];

/// What `cargo azfn kubernetes` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesOptions {
    /// The base name of every object (`--name`).
    pub name: String,
    /// The image the Deployments run (`--image-name`).
    pub image: String,
    /// `metadata.namespace` of every object (default: kubectl's current namespace).
    pub namespace: Option<String>,
    /// `--min-replicas` of the non-HTTP Deployment (default 0).
    pub min_replicas: Option<u32>,
    /// `--max-replicas` (default: KEDA's, 100).
    pub max_replicas: Option<u32>,
    /// `--polling-interval`, seconds.
    pub polling_interval: Option<u32>,
    /// `--cooldown-period`, seconds.
    pub cooldown_period: Option<u32>,
    /// `--secret-name`: an existing Secret with the settings; none is written.
    pub secret_name: Option<String>,
    /// `--service-type` of the HTTP Service (default `LoadBalancer`).
    pub service_type: Option<String>,
    /// `--pull-secret`: the Secret with the image registry's credentials.
    pub pull_secret: Option<String>,
}

/// The objects for an app, and what the user should know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifests {
    /// The objects, in the order they are written.
    pub documents: Vec<Node>,
    /// Warnings for the console: settings that cannot work in a cluster, scaling caveats.
    pub warnings: Vec<String>,
}

impl Manifests {
    /// The documents as one YAML stream.
    pub fn to_yaml(&self) -> String {
        yaml::write_stream(&self.documents)
    }
}

/// The objects that run `app` with the settings `local` (its `Values`, as written in the file).
pub fn manifests(app: &FunctionApp, local: &LocalSettings, options: &KubernetesOptions) -> Result<Manifests> {
    check_options(options)?;
    let mut warnings: Vec<String> = app
        .problems
        .iter()
        .map(|problem| format!("{problem} (left out of the Deployments)"))
        .collect();
    let placement = Placement {
        namespace: options.namespace.as_deref(),
    };
    let mut http_functions = Vec::new();
    let mut other_functions = Vec::new();
    let mut rules: Vec<ScaleRule> = Vec::new();
    let mut unscaled = Vec::new();
    for function in &app.functions {
        if matches!(function.trigger, Trigger::Http(_)) {
            http_functions.push(function.name.clone());
            continue;
        }
        other_functions.push(function.name.clone());
        match scalers::scale_rule(function, &local.values)? {
            Some(rule) => rules.push(rule),
            None => {
                let kind = scalers::trigger_binding(function).map_or("no trigger", |b| b.kind.as_str());
                unscaled.push(format!("{} ({kind})", function.name));
            }
        }
    }
    if app.functions.is_empty() {
        return Err(Error::new(format!("{} has no functions to deploy", app.root.display())));
    }
    let min_replicas = options.min_replicas.unwrap_or(0);
    if !unscaled.is_empty() {
        if min_replicas == 0 {
            return Err(Error::new(format!(
                "KEDA has no scaler for {}: with --min-replicas 0 the Deployment `{}` would scale to zero and \
                 never run them. Pass --min-replicas 1 (or more) to keep it running",
                unscaled.join(", "),
                options.name
            )));
        }
        warnings.push(format!(
            "KEDA has no scaler for {}: they run on the {min_replicas} replica(s) that --min-replicas keeps",
            unscaled.join(", ")
        ));
    }

    let secret_name = options.secret_name.clone().unwrap_or_else(|| options.name.clone());
    let mut documents = Vec::new();
    if options.secret_name.is_none() {
        let values = secret_values(local, &mut warnings)?;
        for rule in &rules {
            check_named_settings(rule, &values, &mut warnings);
        }
        documents.push(model::secret(&secret_name, placement, &values));
    }
    for rule in &rules {
        warnings.extend(rule.notes.iter().cloned());
    }
    let http_name = format!("{}-http", options.name);
    if !http_functions.is_empty() {
        let service_type = options.service_type.as_deref().unwrap_or(SERVICE_TYPES[0]);
        documents.push(model::service(&http_name, placement, service_type));
        documents.push(model::deployment(
            &DeploymentSpec {
                name: &http_name,
                image: &options.image,
                replicas: 1,
                functions: &http_functions,
                http: true,
                settings_secret: &secret_name,
                pull_secret: options.pull_secret.as_deref(),
            },
            placement,
        ));
    }
    if !other_functions.is_empty() {
        documents.push(model::deployment(
            &DeploymentSpec {
                name: &options.name,
                image: &options.image,
                replicas: min_replicas,
                functions: &other_functions,
                http: false,
                settings_secret: &secret_name,
                pull_secret: options.pull_secret.as_deref(),
            },
            placement,
        ));
        // KEDA refuses a ScaledObject without triggers; a Deployment of timers alone just runs.
        if !rules.is_empty() {
            documents.push(model::scaled_object(
                &Scaling {
                    name: &options.name,
                    polling_interval: options.polling_interval.unwrap_or(DEFAULT_POLLING_INTERVAL),
                    cooldown_period: options.cooldown_period.unwrap_or(DEFAULT_COOLDOWN_PERIOD),
                    min_replicas,
                    max_replicas: options.max_replicas,
                    rules: &rules,
                },
                placement,
            ));
        }
    }
    Ok(Manifests { documents, warnings })
}

/// Refuses names Kubernetes would refuse, before anything is written.
fn check_options(options: &KubernetesOptions) -> Result<()> {
    // A Service name is a DNS-1035 label of at most 63 characters, and `-http` is added.
    check_label("--name", &options.name, 63 - "-http".len(), true)?;
    if let Some(namespace) = &options.namespace {
        check_label("--namespace", namespace, 63, false)?;
    }
    if let Some(secret) = &options.secret_name {
        check_label("--secret-name", secret, 253, false)?;
    }
    if let Some(secret) = &options.pull_secret {
        check_label("--pull-secret", secret, 253, false)?;
    }
    if options.image.trim().is_empty() || options.image.chars().any(char::is_whitespace) {
        return Err(Error::new(format!(
            "--image-name `{}` is not an image reference (such as myregistry.azurecr.io/my-app:1.0)",
            options.image
        )));
    }
    if let (Some(min), Some(max)) = (options.min_replicas, options.max_replicas)
        && min > max
    {
        return Err(Error::new(format!(
            "--min-replicas {min} is more than --max-replicas {max}"
        )));
    }
    if options.max_replicas == Some(0) {
        return Err(Error::new("--max-replicas must be at least 1"));
    }
    if let Some(service_type) = &options.service_type
        && !SERVICE_TYPES.contains(&service_type.as_str())
    {
        return Err(Error::new(format!(
            "--service-type `{service_type}` is not one of {}",
            SERVICE_TYPES.join(", ")
        )));
    }
    Ok(())
}

/// A lower-case DNS label: letters, digits and `-`, starting with a letter when `letter_first`
/// (DNS-1035), else with a letter or digit (DNS-1123), ending with a letter or digit.
fn check_label(option: &str, value: &str, max: usize, letter_first: bool) -> Result<()> {
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || (!letter_first && c.is_ascii_digit()));
    let valid = first_ok
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.ends_with('-');
    if valid {
        return Ok(());
    }
    Err(Error::new(format!(
        "{option} `{value}` is not a Kubernetes name: at most {max} lower-case letters, digits and `-`, \
         starting with a {} and ending with a letter or digit \
         (https://kubernetes.io/docs/concepts/overview/working-with-objects/names)",
        if letter_first { "letter" } else { "letter or digit" }
    )))
}

/// The settings Secret's entries: local.settings.json `Values` with `:` in names written as
/// `__` (the same key for .NET's configuration, and a valid Secret key), plus the worker
/// runtime. Values that only work on this machine are warned about.
fn secret_values(local: &LocalSettings, warnings: &mut Vec<String>) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (name, value) in &local.values {
        let key = name.replace(':', "__");
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::new(format!(
                "the setting `{name}` cannot be a Kubernetes Secret key (letters, digits, `-`, `_`, `.`): \
                 rename it in local.settings.json, or pass --secret-name with a Secret you made"
            )));
        }
        if let Some(why) = local_only(value) {
            warnings.push(format!(
                "the setting `{name}` {why}, which a pod in the cluster cannot reach: set a real value in the Secret"
            ));
        }
        values.insert(key, value.clone());
    }
    if !values.contains_key(WORKER_RUNTIME.0) {
        values.insert(WORKER_RUNTIME.0.to_owned(), WORKER_RUNTIME.1.to_owned());
    }
    Ok(values)
}

/// Why a setting's value only works on this machine, if it does.
fn local_only(value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    if lower.contains("usedevelopmentstorage=true") {
        Some("is `UseDevelopmentStorage=true` (Azurite on this machine)")
    } else if lower.contains("127.0.0.1") || lower.contains("localhost") {
        Some("points at this machine (localhost)")
    } else {
        None
    }
}

/// Warns about a setting a scaler names that the Secret does not have, or has only as an
/// identity-based connection (`<name>__accountName`, …), which KEDA reads only through a
/// TriggerAuthentication with workload identity.
fn check_named_settings(rule: &ScaleRule, values: &BTreeMap<String, String>, warnings: &mut Vec<String>) {
    for setting in &rule.settings {
        if values.keys().any(|k| k.eq_ignore_ascii_case(setting)) {
            continue;
        }
        let prefix = format!("{}__", setting.to_ascii_lowercase());
        let identity = values.keys().any(|k| k.to_ascii_lowercase().starts_with(&prefix));
        warnings.push(if identity {
            format!(
                "{}: `{setting}` is an identity-based connection; KEDA's {} scaler then needs a \
                 TriggerAuthentication with workload identity, which is not written",
                rule.function, rule.scaler
            )
        } else {
            format!(
                "{}: the {} scaler reads the setting `{setting}`, which local.settings.json does not have: \
                 add it to the Secret",
                rule.function, rule.scaler
            )
        });
    }
}

/// Applies `yaml` with `kubectl apply -f -`, kubectl's output shown as it comes.
pub fn apply(yaml: &str) -> Result<()> {
    let mut child = Command::new("kubectl")
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::new(
                    "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/), \
                     or write the objects with --dry-run or --write-configs and apply them yourself",
                )
            } else {
                Error::new(format!("cannot run kubectl: {e}"))
            }
        })?;
    // Dropping stdin closes it, so kubectl sees the end of the input.
    let written = child
        .stdin
        .take()
        .map_or(Ok(()), |mut stdin| stdin.write_all(yaml.as_bytes()));
    let status = child.wait().context(|| "kubectl did not finish".to_owned())?;
    // kubectl's own failure (shown above) says more than the pipe it closed early.
    if !status.success() {
        return Err(Error::new(format!(
            "`kubectl apply` failed ({status}); if it says there is no kind ScaledObject, install KEDA first \
             (https://keda.sh/docs/deploy/)"
        )));
    }
    written.context(|| "cannot give the objects to kubectl".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_kubernetes_does() {
        assert!(check_label("--name", "orders-app", 58, true).is_ok());
        for bad in ["", "Orders", "1app", "app-", "a_b", &"a".repeat(59)] {
            let error = check_label("--name", bad, 58, true).unwrap_err();
            assert!(error.message().contains("--name"), "{error}");
        }
        assert!(check_label("--namespace", "1team", 63, false).is_ok());
    }

    #[test]
    fn secret_values_add_the_worker_runtime_and_warn_about_local_values() {
        let local = LocalSettings {
            values: BTreeMap::from([
                (
                    "AzureWebJobsStorage".to_owned(),
                    "UseDevelopmentStorage=true".to_owned(),
                ),
                ("Section:Key".to_owned(), "x".to_owned()),
            ]),
            ..LocalSettings::default()
        };
        let mut warnings = Vec::new();
        let values = secret_values(&local, &mut warnings).unwrap();
        assert_eq!(
            values.keys().collect::<Vec<_>>(),
            ["AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "Section__Key"]
        );
        assert_eq!(values["FUNCTIONS_WORKER_RUNTIME"], "custom");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("UseDevelopmentStorage=true"), "{warnings:?}");
        let bad = LocalSettings {
            values: BTreeMap::from([("has space".to_owned(), "x".to_owned())]),
            ..LocalSettings::default()
        };
        assert!(secret_values(&bad, &mut warnings).is_err());
    }

    #[test]
    fn settings_a_scaler_names_must_be_in_the_secret() {
        let rule = ScaleRule {
            function: "Orders".to_owned(),
            scaler: "azure-queue",
            metadata: Vec::new(),
            settings: vec!["Storage".to_owned(), "Missing".to_owned()],
            notes: Vec::new(),
        };
        let values = BTreeMap::from([("Storage__accountName".to_owned(), "acct".to_owned())]);
        let mut warnings = Vec::new();
        check_named_settings(&rule, &values, &mut warnings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("identity-based"), "{warnings:?}");
        assert!(warnings[1].contains("does not have"), "{warnings:?}");
    }

    #[test]
    fn options_out_of_range_are_refused() {
        let options = KubernetesOptions {
            name: "app".to_owned(),
            image: "registry/app:1".to_owned(),
            namespace: None,
            min_replicas: Some(3),
            max_replicas: Some(2),
            polling_interval: None,
            cooldown_period: None,
            secret_name: None,
            service_type: None,
            pull_secret: None,
        };
        assert!(
            check_options(&options)
                .unwrap_err()
                .message()
                .contains("--min-replicas")
        );
        let options = KubernetesOptions {
            min_replicas: None,
            service_type: Some("Ingress".to_owned()),
            ..options
        };
        assert!(
            check_options(&options)
                .unwrap_err()
                .message()
                .contains("--service-type")
        );
    }
}
