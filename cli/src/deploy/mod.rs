//! `cargo azfn deploy`: from the package to a function app in Azure.
//!
//! The path: sign in ([`credential`]), find the app through ARM ([`arm`]), decide the package
//! from the app's plan and runtime and check what would fail in Azure ([`checks`]), build and
//! pack ([`crate::build`], [`crate::pack`]), upload to the app's SCM site with a progress bar
//! ([`scm`], [`progress`]) and follow the deployment until it ends — or, on Linux Consumption,
//! upload to the app's storage account and point `WEBSITE_RUN_FROM_PACKAGE` at the blob
//! ([`run_from_package`]) — then list the functions with
//! their URLs as Core Tools does. Every request goes through the `azure_core` pipeline of
//! [`http`], which signs it and retries throttling, server errors and dropped connections.
//!
//! | module | concern |
//! |---|---|
//! | [`credential`] | which Entra ID credential signs in |
//! | [`arm`] | Azure Resource Manager: the app, its settings, its functions |
//! | [`scm`] | the SCM (Kudu) site: upload and deployment status |
//! | [`run_from_package`] | Linux Consumption: the package as a blob URL with a read-only SAS |
//! | [`checks`] | package kind and missing settings, before anything is uploaded |
//! | [`progress`] | the upload body and its progress bar |
//! | [`http`] | the signed HTTP pipeline |
//! | [`retry`] | its retry policy: the server's wait on every retried status |

pub mod arm;
pub mod checks;
pub mod credential;
pub mod http;
pub mod progress;
pub mod retry;
pub mod run_from_package;
pub mod scm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use azure_core::Bytes;
use azure_core::http::Url;

use crate::app::FunctionApp;
use crate::build::{self, BuildOptions, status};
use crate::elf;
use crate::error::{Context, Error, Result};
use crate::pack::{self, ImageLimits};
use crate::settings::{self, LocalSettings};

use arm::{Arm, Plan, Site};
use checks::PackageKind;
use credential::CredentialKind;
use http::AzureClient;
use run_from_package::PackageStorage;
use scm::{DeployMethod, Scm};

/// Where the app folder comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Build it with these options (the native feature is added when the app needs it).
    Build(BuildOptions),
    /// An app folder already written (`--no-build --dir`).
    Dir(PathBuf),
}

/// Everything `cargo azfn deploy` was asked.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The function app's name.
    pub app: String,
    /// `--resource-group`.
    pub resource_group: Option<String>,
    /// `--subscription` (or `AZURE_SUBSCRIPTION_ID`).
    pub subscription: Option<String>,
    /// `--native` / `--custom-handler`.
    pub package_kind: Option<PackageKind>,
    /// `--sync-settings`.
    pub sync_settings: bool,
    /// The app folder.
    pub source: Source,
    /// `--credential`.
    pub credential: CredentialKind,
    /// The ARM endpoint.
    pub arm_endpoint: Url,
    /// How often the deployment's status is read.
    pub poll_interval: Duration,
    /// How long to wait for the deployment to end.
    pub timeout: Duration,
    /// `--max-glibc`: overrides the plan's images' glibc.
    pub max_glibc: Option<elf::GlibcVersion>,
}

/// What the deploy did, for the caller.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The app.
    pub site: Site,
    /// The functions Azure lists after the deploy.
    pub functions: Vec<arm::RemoteFunction>,
}

/// Runs the whole deploy on a runtime of its own (the build in the middle is blocking).
///
/// # Errors
///
/// Any step's failure, with what to do about it.
pub fn deploy(options: &DeployOptions) -> Result<Deployed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context(|| "cannot start the async runtime".to_owned())?;

    // 1. Who, which app, what it runs.
    let Found {
        arm,
        client,
        site,
        target,
        settings: remote_settings,
        kind,
    } = runtime.block_on(find_app(options))?;

    // 2. The package, built for what the app runs.
    let app_dir = match &options.source {
        Source::Dir(dir) => dir.clone(),
        Source::Build(build_options) => {
            let build_options = match kind {
                PackageKind::Native => build_options.clone().with_native(),
                PackageKind::CustomHandler => build_options.clone(),
            };
            build::build(&build_options)?.app_dir
        }
    };
    let flex = site.plan() == Plan::FlexConsumption;
    let app = FunctionApp::load(&app_dir)?;

    // 3. What would fail in Azure.
    let zip_path = app_dir.with_extension(match kind {
        PackageKind::Native => "deploy.native.zip",
        PackageKind::CustomHandler => "deploy.zip",
    });
    let limits = ImageLimits {
        max_glibc: Some(options.max_glibc.unwrap_or(if flex {
            elf::FLEX_CONSUMPTION_MAX_GLIBC
        } else {
            elf::MAX_GLIBC
        })),
    };
    let needed = checks::needed_settings(&app);
    let missing = checks::missing(&needed, &remote_settings);
    let push = if missing.is_empty() {
        BTreeMap::new()
    } else if options.sync_settings {
        settings_from_local(&app_dir, &missing, flex)?
    } else {
        return Err(Error::new(format!(
            "the app `{}` lacks settings its functions' bindings name:\n{}\nAdd them in Azure (az functionapp config \
             appsettings set …), or pass --sync-settings to push them from local.settings.json",
            site.name,
            list_needed(&missing)
        )));
    };
    let packed = match kind {
        PackageKind::Native => pack::pack_native(&app_dir, Some(&zip_path), limits)?,
        PackageKind::CustomHandler => pack::pack(&app_dir, Some(&zip_path), false, limits)?,
    };
    status(
        "Checked",
        format!(
            "a {} package for {}; {} needed setting(s) present{}",
            kind.describe(),
            plan_name(&site),
            needed.len() - missing.len(),
            packed.glibc.as_deref().map(|g| format!("; {g}")).unwrap_or_default()
        ),
    );
    status(
        "Packed",
        format!("{} ({} files)", packed.zip.display(), packed.entries.len()),
    );

    // 4. Settings, upload, deployment, functions.
    runtime.block_on(async {
        match target {
            Target::Scm(scm_host) => {
                if !push.is_empty() {
                    let mut all = remote_settings.clone();
                    all.extend(push.clone());
                    arm.put_app_settings(&site, &all).await?;
                    report_synced(&push);
                }
                let scm = Scm::new(client, &scm_host)?;
                upload_and_wait(&scm, &site, &scm_host, &packed.zip, options).await?;
                if !flex {
                    // Flex Consumption's one deploy syncs the triggers itself; zip deploy leaves it to us.
                    arm.sync_triggers(&site).await?;
                }
            }
            Target::Blob(storage) => {
                let url = upload_package(&storage, &packed.zip).await?;
                // One settings update: the pushed settings and the package URL together.
                let mut all = remote_settings.clone();
                all.extend(push.clone());
                let all = run_from_package::settings_with_package(&all, &url);
                arm.put_app_settings(&site, &all).await?;
                if !push.is_empty() {
                    report_synced(&push);
                }
                status(
                    "Deployed",
                    format!(
                        "{} runs from {} ({} set, with a read-only SAS valid {} years)",
                        site.name,
                        url.as_str().split('?').next().unwrap_or_default(),
                        run_from_package::RUN_FROM_PACKAGE_SETTING,
                        run_from_package::SAS_VALIDITY_YEARS
                    ),
                );
                arm.sync_triggers(&site).await?;
            }
        }
        let functions = list_functions(&arm, &site, options.poll_interval).await?;
        print_functions(&arm, &site, &functions).await;
        Ok(Deployed { site, functions })
    })
}

fn report_synced(push: &BTreeMap<String, String>) {
    status(
        "Synced",
        format!(
            "{} setting(s) from local.settings.json (values hidden): {}",
            push.len(),
            push.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    );
}

/// Where the package goes.
enum Target {
    /// The SCM site at this host (Flex Consumption, Premium, Dedicated).
    Scm(String),
    /// A blob of the app's storage account (Linux Consumption).
    Blob(Box<PackageStorage>),
}

/// Uploads the zip as a new package blob and returns its URL with a read-only SAS.
async fn upload_package(storage: &PackageStorage, zip: &Path) -> Result<Url> {
    let data = Bytes::from(std::fs::read(zip).context(|| format!("cannot read {}", zip.display()))?);
    let now = i64::try_from(crate::clock::since_epoch().as_secs()).unwrap_or(i64::MAX);
    let name = run_from_package::blob_name(now, &crate::clock::new_guid());
    status(
        "Uploading",
        format!(
            "{} ({}) to {}/{name} in the storage account {}",
            zip.display(),
            progress::bytes(data.len() as u64),
            run_from_package::CONTAINER,
            storage.account_name()
        ),
    );
    let progress = progress::Progress::new(data.len() as u64);
    storage.upload(&name, data, progress, now).await
}

/// What is known once the app is found, before anything is built.
struct Found {
    arm: Arm,
    client: AzureClient,
    site: Site,
    target: Target,
    settings: BTreeMap<String, String>,
    kind: PackageKind,
}

async fn find_app(options: &DeployOptions) -> Result<Found> {
    let scope = Arm::scope(&options.arm_endpoint);
    let candidates = credential::candidates(options.credential, |name| std::env::var(name).ok())?;
    let signed_in = credential::sign_in(candidates, &scope).await?;
    status("Authenticated", signed_in.candidate.describe());
    let client = AzureClient::new(signed_in.credential, scope);
    let arm = Arm::new(client.clone(), options.arm_endpoint.clone());
    let site = arm
        .find_site(
            &options.app,
            options.resource_group.as_deref(),
            options.subscription.as_deref(),
        )
        .await?;
    status(
        "Found",
        format!(
            "{} ({}, resource group {}, subscription {})",
            site.name,
            plan_name(&site),
            site.resource_group(),
            site.subscription()
        ),
    );
    let settings = arm.app_settings(&site).await?;
    let kind = checks::package_kind(&site, &settings, options.package_kind)?;
    // Linux Consumption's package goes to the app's storage account: its key is checked now,
    // before anything is built or uploaded.
    let target = if site.plan() == Plan::LinuxConsumption {
        Target::Blob(Box::new(run_from_package::package_storage(&site.name, &settings)?))
    } else {
        Target::Scm(site.scm_host()?)
    };
    Ok(Found {
        arm,
        client,
        site,
        target,
        settings,
        kind,
    })
}

fn plan_name(site: &Site) -> String {
    let os = if site.is_linux() { "Linux" } else { "Windows" };
    match site.plan() {
        Plan::FlexConsumption => "Flex Consumption".to_owned(),
        Plan::LinuxConsumption => format!("{os} Consumption"),
        Plan::PremiumOrDedicated => format!("{os}, plan SKU {}", site.sku()),
    }
}

fn list_needed(missing: &[checks::Needed]) -> String {
    missing
        .iter()
        .map(|n| format!("  {} — used by {}", n.describe(), n.functions.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The settings `--sync-settings` pushes: the missing ones, from the app's local.settings.json
/// (the file's values only; the shell's environment is not pushed).
fn settings_from_local(app_dir: &Path, missing: &[checks::Needed], flex: bool) -> Result<BTreeMap<String, String>> {
    let file = app_dir.join(settings::FILE_NAME);
    let local = LocalSettings::read_with_environment(&file, |_| None)?;
    let (push, unfilled) = checks::settings_to_push(missing, &local.values, flex);
    if !unfilled.is_empty() {
        let lines = unfilled
            .iter()
            .map(|(n, why)| format!("  {} — {why}", n.describe()))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Error::new(format!(
            "--sync-settings cannot push every missing setting from {}:\n{lines}\nSet these in Azure yourself \
             (az functionapp config appsettings set …)",
            file.display()
        )));
    }
    Ok(push)
}

async fn upload_and_wait(scm: &Scm, site: &Site, scm_host: &str, zip: &Path, options: &DeployOptions) -> Result<()> {
    let data = Bytes::from(std::fs::read(zip).context(|| format!("cannot read {}", zip.display()))?);
    let method = if site.plan() == Plan::FlexConsumption {
        DeployMethod::Publish
    } else {
        DeployMethod::ZipDeploy
    };
    status(
        "Uploading",
        format!(
            "{} ({}) to {}",
            zip.display(),
            progress::bytes(data.len() as u64),
            scm_host
        ),
    );
    let progress = progress::Progress::new(data.len() as u64);
    let tracking = scm.upload(method, data, progress).await?;
    let last = scm
        .wait(&tracking, options.poll_interval, options.timeout, |s| {
            status("Deploying", s.describe());
        })
        .await?;
    if last.succeeded() {
        status("Deployed", format!("{} ({})", site.name, last.describe()));
        return Ok(());
    }
    let id = match (&tracking, &last.id) {
        (_, Some(id)) => Some(id.clone()),
        (scm::Tracking::Id(id), None) => Some(id.clone()),
        _ => None,
    };
    let log = match &id {
        Some(id) => match scm.log(id).await {
            Ok(lines) => lines.join("\n    "),
            Err(e) => format!("(the log could not be read: {e})"),
        },
        None => "(no deployment id to read the log of)".to_owned(),
    };
    Err(Error::new(format!(
        "the deployment {} {}; its log:\n    {log}",
        id.as_deref().unwrap_or_default(),
        last.describe()
    )))
}

/// How many times the function list is read while it is still empty after a deploy (the
/// platform indexes the functions after the host restarts).
const FUNCTION_LIST_TRIES: u32 = 6;

async fn list_functions(arm: &Arm, site: &Site, interval: Duration) -> Result<Vec<arm::RemoteFunction>> {
    let mut functions = Vec::new();
    for attempt in 1..=FUNCTION_LIST_TRIES {
        functions = arm.functions(site).await?;
        if !functions.is_empty() || attempt == FUNCTION_LIST_TRIES {
            break;
        }
        tokio::time::sleep(interval * attempt).await;
    }
    Ok(functions)
}

/// Prints the functions as `func azure functionapp publish` does: each HTTP function's URL,
/// with its function key when it takes one.
async fn print_functions(arm: &Arm, site: &Site, functions: &[arm::RemoteFunction]) {
    if functions.is_empty() {
        status(
            "Functions",
            format!(
                "none listed yet for {}; the host may still be starting (az functionapp function list -n {} -g {})",
                site.name,
                site.name,
                site.resource_group()
            ),
        );
        return;
    }
    status("Functions", format!("in {}:", site.name));
    for function in functions {
        println!("    {} - [{}]", function.name, function.trigger);
        if let Some(url) = &function.invoke_url {
            let key = if function.needs_key() {
                arm.function_key(site, &function.name).await
            } else {
                Ok(None)
            };
            match key {
                Ok(Some(key)) => {
                    let separator = if url.contains('?') { '&' } else { '?' };
                    println!("        Invoke url: {url}{separator}code={key}");
                }
                Ok(None) => println!("        Invoke url: {url}"),
                Err(e) => {
                    println!("        Invoke url: {url}");
                    println!("        (it takes a function key, which could not be read: {e})");
                }
            }
        }
        println!();
    }
}
