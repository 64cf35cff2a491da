//! What would fail in Azure, found before anything is uploaded: the package kind against the
//! app's runtime, and the settings the functions' connections name that the app lacks.

use std::collections::BTreeMap;

use azfn_bindings::expression::resolve_app_settings;
use azfn_bindings::{ValueRule, catalog};
use azfn_storage::account::resolve_setting;

use crate::app::{FUNCTION_KEY_SETTING, FunctionApp, MASTER_KEY_SETTING};
use crate::error::{Error, Result};

use super::arm::{Plan, Site};

/// What the package holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKind {
    /// The native runtime's package (`app` + host.json), gRPC.
    Native,
    /// A custom handler's package (the app folder), `FUNCTIONS_WORKER_RUNTIME=custom`.
    CustomHandler,
}

impl PackageKind {
    /// The flag that asks for it.
    pub fn flag(self) -> &'static str {
        match self {
            PackageKind::Native => "--native",
            PackageKind::CustomHandler => "--custom-handler",
        }
    }

    /// For the console.
    pub fn describe(self) -> &'static str {
        match self {
            PackageKind::Native => "native runtime (gRPC)",
            PackageKind::CustomHandler => "custom handler",
        }
    }
}

/// The setting that names the worker runtime on plans other than Flex Consumption.
pub const WORKER_RUNTIME_SETTING: &str = "FUNCTIONS_WORKER_RUNTIME";

/// The package the app runs, from its plan and runtime, checked against the flag the user gave.
///
/// # Errors
///
/// A Windows app, a runtime azfn cannot provide, or a flag that disagrees.
pub fn package_kind(
    site: &Site,
    settings: &BTreeMap<String, String>,
    flag: Option<PackageKind>,
) -> Result<PackageKind> {
    if !site.is_function_app() {
        return Err(Error::new(format!(
            "`{}` is not a function app (its kind is `{}`)",
            site.name, site.kind
        )));
    }
    if !site.is_linux() {
        return Err(Error::new(format!(
            "`{}` is a Windows function app; an azfn app is a Linux x86-64 executable, so it needs a Linux app \
             (Flex Consumption, Linux Consumption, or a Linux Premium or Dedicated plan; see docs/deploy.md)",
            site.name
        )));
    }
    let (kind, source) = match site.plan() {
        Plan::FlexConsumption => {
            let (name, version) = site.flex_runtime().unwrap_or_default();
            let kind = match name.to_ascii_lowercase().as_str() {
                "custom" => PackageKind::CustomHandler,
                // The native runtime does not check the language of `app`; the Go stack is the
                // one Flex offers for it.
                "go" | "native" => PackageKind::Native,
                _ => {
                    return Err(Error::new(format!(
                        "`{}` runs the `{name}` {version} stack (functionAppConfig.runtime); an azfn app runs as \
                         `custom` (custom handler) or `go` (native runtime): create the app with \
                         `--runtime custom` or `--runtime go`",
                        site.name
                    )));
                }
            };
            (kind, format!("functionAppConfig.runtime `{name}`"))
        }
        // Linux Consumption runs the package from a blob URL, Premium and Dedicated take zip
        // deploy; both name the runtime in the setting.
        Plan::PremiumOrDedicated | Plan::LinuxConsumption => {
            let runtime = settings
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(WORKER_RUNTIME_SETTING))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default();
            let kind = match runtime.to_ascii_lowercase().as_str() {
                "custom" => PackageKind::CustomHandler,
                // The platform offers the native runtime (the Go stack) on Flex Consumption only
                // (Azure/azure-dev#8307).
                "native" => {
                    return Err(Error::new(format!(
                        "`{}` has {WORKER_RUNTIME_SETTING}=native, but the native runtime runs on Flex Consumption \
                         only; on this plan set {WORKER_RUNTIME_SETTING}=custom and deploy a custom handler",
                        site.name
                    )));
                }
                "" => {
                    return Err(Error::new(format!(
                        "`{}` has no {WORKER_RUNTIME_SETTING} setting; set it to `custom` (az functionapp config \
                         appsettings set --settings {WORKER_RUNTIME_SETTING}=custom …)",
                        site.name
                    )));
                }
                other => {
                    return Err(Error::new(format!(
                        "`{}` has {WORKER_RUNTIME_SETTING}={other}; an azfn app runs as `custom`: set it to `custom`",
                        site.name
                    )));
                }
            };
            (kind, format!("{WORKER_RUNTIME_SETTING}={runtime}"))
        }
    };
    match flag {
        Some(asked) if asked != kind => Err(Error::new(format!(
            "{} asks for a {} package, but `{}` runs a {} ({source}); leave out the flag, or deploy to an app \
             created for the other kind",
            asked.flag(),
            asked.describe(),
            site.name,
            kind.describe()
        ))),
        _ => Ok(kind),
    }
}

/// What a binding needs from the app's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// A connection, as function.json names it (`None`: the storage default), resolved as the
    /// host does: `AzureWebJobsN`, `N`, or identity-based `N__…` keys.
    Connection(Option<String>),
    /// A setting a `%Name%` reference in a binding property reads.
    Setting(String),
}

/// A setting the app's functions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    /// What is needed.
    pub requirement: Requirement,
    /// The functions that need it.
    pub functions: Vec<String>,
}

impl Needed {
    /// The settings that would satisfy it, for messages.
    pub fn describe(&self) -> String {
        match &self.requirement {
            Requirement::Connection(None) => {
                "AzureWebJobsStorage (or AzureWebJobsStorage__accountName / __serviceUri)".to_owned()
            }
            Requirement::Connection(Some(name)) => {
                format!("{name} (or AzureWebJobs{name}, or identity-based {name}__…)")
            }
            Requirement::Setting(name) => format!("{name} (a %{name}% reference)"),
        }
    }

    /// The setting (or section) in `settings` that satisfies it, and its value when it is a
    /// single value rather than `__` section keys.
    fn resolve<'a>(&self, settings: &'a BTreeMap<String, String>) -> Option<(String, Option<&'a str>)> {
        match &self.requirement {
            Requirement::Connection(name) => resolve_setting(name.as_deref(), settings),
            Requirement::Setting(name) => settings
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), Some(v.as_str()))),
        }
    }
}

/// Binding types that read `AzureWebJobsStorage` when they name no connection.
const STORAGE_DEFAULT_TYPES: &[&str] = &[
    "queueTrigger",
    "queue",
    "blobTrigger",
    "blob",
    "orchestrationTrigger",
    "activityTrigger",
    "entityTrigger",
    "durableClient",
];

/// What the app's bindings need from its settings: every connection a key the binding catalog
/// marks as an app setting name (`connection`, `connectionStringSetting`, …) names, the storage
/// default for storage and Durable bindings that name none, and every `%Name%` reference in a
/// binding property (the host fails to index a function whose reference is unset).
pub fn needed_settings(app: &FunctionApp) -> Vec<Needed> {
    let mut needed: Vec<Needed> = Vec::new();
    let mut add =
        |requirement: Requirement, function: &str| match needed.iter_mut().find(|n| n.requirement == requirement) {
            Some(entry) => {
                if !entry.functions.iter().any(|f| f == function) {
                    entry.functions.push(function.to_owned());
                }
            }
            None => needed.push(Needed {
                requirement,
                functions: vec![function.to_owned()],
            }),
        };
    for function in &app.functions {
        for binding in &function.bindings {
            let setting_keys: Vec<&str> = catalog::ALL
                .iter()
                .filter(|kind| kind.json_type.eq_ignore_ascii_case(&binding.kind))
                .flat_map(|kind| kind.keys.iter())
                .filter(|key| key.rule == ValueRule::AppSettingName)
                .map(|key| key.json)
                .collect();
            let mut named = false;
            for key in setting_keys {
                if let Some(value) = binding.text(key).map(str::trim).filter(|v| !v.is_empty()) {
                    add(Requirement::Connection(Some(value.to_owned())), &function.name);
                    named = true;
                }
            }
            if !named
                && STORAGE_DEFAULT_TYPES
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(&binding.kind))
            {
                add(Requirement::Connection(None), &function.name);
            }
            for value in binding.properties.values().filter_map(serde_json::Value::as_str) {
                // The binding crate's resolver parses the references; a malformed one is the
                // build's to report, not the deploy's.
                let mut referenced = Vec::new();
                let _ = resolve_app_settings(value, |name| {
                    referenced.push(name.to_owned());
                    Some(String::new())
                });
                for name in referenced {
                    add(Requirement::Setting(name), &function.name);
                }
            }
        }
    }
    needed
}

/// The needed settings the app's settings do not satisfy.
pub fn missing(needed: &[Needed], settings: &BTreeMap<String, String>) -> Vec<Needed> {
    needed
        .iter()
        .filter(|n| n.resolve(settings).is_none())
        .cloned()
        .collect()
}

/// Keys that only mean something on a developer's machine, never pushed.
const LOCAL_ONLY_SETTINGS: &[&str] = &[MASTER_KEY_SETTING, FUNCTION_KEY_SETTING, "AzureWebJobsScriptRoot"];

/// What `--sync-settings` would push for the missing settings, from local.settings.json
/// `values`; and the missing ones it cannot fill, with why.
pub fn settings_to_push(
    missing: &[Needed],
    local: &BTreeMap<String, String>,
    flex: bool,
) -> (BTreeMap<String, String>, Vec<(Needed, String)>) {
    let mut push = BTreeMap::new();
    let mut unfilled = Vec::new();
    for needed in missing {
        let Some((setting, value)) = needed.resolve(local) else {
            unfilled.push((
                needed.clone(),
                "local.settings.json has no value for it either".to_owned(),
            ));
            continue;
        };
        let keys: Vec<(&String, &String)> = match value {
            Some(_) => local.iter().filter(|(k, _)| k.eq_ignore_ascii_case(&setting)).collect(),
            None => {
                let prefix = format!("{setting}__").to_ascii_lowercase();
                local
                    .iter()
                    .filter(|(k, _)| k.to_ascii_lowercase().starts_with(&prefix))
                    .collect()
            }
        };
        let mut refused = None;
        let mut chosen = BTreeMap::new();
        for (key, value) in keys {
            if let Some(reason) = refusal(key, value, flex) {
                refused = Some(format!("{key}: {reason}"));
                break;
            }
            chosen.insert(key.clone(), value.clone());
        }
        match refused {
            Some(reason) => unfilled.push((needed.clone(), reason)),
            None => push.extend(chosen),
        }
    }
    (push, unfilled)
}

fn refusal(key: &str, value: &str, flex: bool) -> Option<&'static str> {
    if value
        .to_ascii_lowercase()
        .replace(' ', "")
        .contains("usedevelopmentstorage=true")
    {
        return Some("`UseDevelopmentStorage=true` is the local emulator, which Azure cannot reach");
    }
    if flex && key.eq_ignore_ascii_case(WORKER_RUNTIME_SETTING) {
        return Some("Flex Consumption sets the runtime in functionAppConfig and refuses this setting");
    }
    if LOCAL_ONLY_SETTINGS.iter().any(|k| k.eq_ignore_ascii_case(key))
        || key.to_ascii_uppercase().starts_with("FUNCTIONS_CLI_")
    {
        return Some("a local-only setting");
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    use crate::deploy::arm::test_site as site;

    #[test]
    fn the_package_follows_the_app_and_a_disagreeing_flag_is_refused() {
        let flex_go = site(
            "functionapp,linux",
            json!({"sku": "FlexConsumption", "functionAppConfig": {"runtime": {"name": "go", "version": "1.0"}}}),
        );
        assert_eq!(
            package_kind(&flex_go, &settings(&[]), None).unwrap(),
            PackageKind::Native
        );
        let message = package_kind(&flex_go, &settings(&[]), Some(PackageKind::CustomHandler))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("--custom-handler") && message.contains("native runtime"),
            "{message}"
        );
        let premium = site("functionapp,linux", json!({"sku": "ElasticPremium", "reserved": true}));
        let custom = settings(&[("FUNCTIONS_WORKER_RUNTIME", "custom")]);
        assert_eq!(
            package_kind(&premium, &custom, None).unwrap(),
            PackageKind::CustomHandler
        );
        let native = settings(&[("FUNCTIONS_WORKER_RUNTIME", "native")]);
        assert!(
            package_kind(&premium, &native, None)
                .unwrap_err()
                .to_string()
                .contains("Flex Consumption only")
        );
        let node = settings(&[("FUNCTIONS_WORKER_RUNTIME", "node")]);
        assert!(
            package_kind(&premium, &node, None)
                .unwrap_err()
                .to_string()
                .contains("=node")
        );
        let windows = site("functionapp", json!({"sku": "ElasticPremium"}));
        assert!(
            package_kind(&windows, &custom, None)
                .unwrap_err()
                .to_string()
                .contains("Windows")
        );
        // Linux Consumption runs a custom handler (from a package URL), not the native runtime.
        let dynamic = site("functionapp,linux", json!({"sku": "Dynamic", "reserved": true}));
        assert_eq!(
            package_kind(&dynamic, &custom, None).unwrap(),
            PackageKind::CustomHandler
        );
        assert!(
            package_kind(&dynamic, &native, None)
                .unwrap_err()
                .to_string()
                .contains("Flex Consumption only")
        );
    }

    #[test]
    fn identity_based_connections_count_and_emulator_values_are_never_pushed() {
        let needed = vec![
            Needed {
                requirement: Requirement::Connection(None),
                functions: vec!["a".into()],
            },
            Needed {
                requirement: Requirement::Connection(Some("ServiceBus".into())),
                functions: vec!["b".into()],
            },
            Needed {
                requirement: Requirement::Connection(Some("Orders".into())),
                functions: vec!["c".into()],
            },
        ];
        let remote = settings(&[
            ("AzureWebJobsStorage__accountName", "store1"),
            ("ServiceBus__fullyQualifiedNamespace", "sb1.servicebus.windows.net"),
        ]);
        let missing = missing(&needed, &remote);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].requirement, Requirement::Connection(Some("Orders".into())));
        let local = settings(&[("Orders", "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=v")]);
        let (push, unfilled) = settings_to_push(&missing, &local, true);
        assert_eq!(push.keys().collect::<Vec<_>>(), vec!["Orders"]);
        assert!(unfilled.is_empty());
        let storage_missing = vec![needed[0].clone()];
        let local = settings(&[("AzureWebJobsStorage", "UseDevelopmentStorage=true")]);
        let (push, unfilled) = settings_to_push(&storage_missing, &local, true);
        assert!(push.is_empty());
        assert!(unfilled[0].1.contains("UseDevelopmentStorage"), "{unfilled:?}");
    }

    #[test]
    fn bindings_name_connections_and_setting_references() {
        let dir = std::env::temp_dir().join(format!("azfn-deploy-checks-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(dir.join("forward")).unwrap();
        std::fs::write(
            dir.join("host.json"),
            r#"{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "app"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("forward/function.json"),
            r#"{"bindings": [
                {"type": "serviceBusTrigger", "direction": "in", "name": "message", "queueName": "%OrdersQueue%", "connection": "Bus"},
                {"type": "queue", "direction": "out", "name": "shipping", "queueName": "shipping"}
            ]}"#,
        )
        .unwrap();
        let app = FunctionApp::load(&dir).unwrap();
        let needed = needed_settings(&app);
        let requirements: Vec<&Requirement> = needed.iter().map(|n| &n.requirement).collect();
        assert_eq!(
            requirements,
            [
                &Requirement::Connection(Some("Bus".into())),
                &Requirement::Setting("OrdersQueue".into()),
                &Requirement::Connection(None),
            ]
        );
        assert!(needed.iter().all(|n| n.functions == ["forward"]));
        let remote = settings(&[
            ("Bus__fullyQualifiedNamespace", "bus.servicebus.windows.net"),
            ("AzureWebJobsStorage", "x"),
        ]);
        let missing = missing(&needed, &remote);
        assert_eq!(missing.len(), 1);
        assert!(missing[0].describe().contains("%OrdersQueue%"));
        let (push, unfilled) = settings_to_push(&missing, &settings(&[("OrdersQueue", "orders")]), false);
        assert_eq!(push, settings(&[("OrdersQueue", "orders")]));
        assert!(unfilled.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
