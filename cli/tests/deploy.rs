//! `cargo azfn deploy` against a local stand-in for Entra ID, ARM and the SCM site
//! (`support/azure.rs`), with the real `cargo-azfn` binary and one built test app.

#[path = "support/azure.rs"]
mod azure;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use azure::{FakeAzure, GROUP, Recorded, SUBSCRIPTION, Scenario, TOKEN, UploadAnswer};
use support::path_str;

/// A copy of the quickstart built with the `native` feature (it serves both transports), with
/// `settings` in its local.settings.json.
fn app(name: &str, settings: &[(&str, &str)]) -> PathBuf {
    support::app_copy(support::native_quickstart_app(), name, settings)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn uploads(requests: &[Recorded]) -> Vec<&Recorded> {
    requests
        .iter()
        .filter(|r| r.path == "/api/publish" || r.path == "/api/zipdeploy")
        .collect()
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the body is a zip");
    archive.file_names().map(str::to_owned).collect()
}

fn deploy_dir(fake: &FakeAzure, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--app", "azfn-test-app", "--no-build", "--dir", path_str(dir)];
    args.extend_from_slice(extra);
    fake.deploy(&args)
}

/// Every request after the token's carries the bearer token; every ARM request its api-version.
fn assert_signed(requests: &[Recorded]) {
    assert!(
        requests[0].path.ends_with("/oauth2/v2.0/token"),
        "{:?}",
        requests[0].path
    );
    let form = String::from_utf8_lossy(&requests[0].body);
    assert!(
        form.contains("grant_type=client_credentials") && form.contains("client_id=test-client"),
        "{form}"
    );
    for request in &requests[1..] {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {}",
            request.method,
            request.path
        );
        if request.path.starts_with("/subscriptions") {
            assert!(
                request.query.contains("api-version="),
                "{} {}",
                request.path,
                request.query
            );
        }
    }
}

#[test]
fn flex_native_happy_path() {
    let dir = app("deploy-flex", &[]);
    let fake = FakeAzure::start(Scenario::flex_native("azfn-test-app"));
    let output = deploy_dir(&fake, &dir, &[]);
    support::assert_success(&output, "deploy to Flex Consumption");
    let requests = fake.requests();
    assert_signed(&requests);
    let paths: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let site =
        format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/azfn-test-app");
    // Without a resource group the app is looked up in every subscription, then read.
    for expected in [
        "GET /subscriptions".to_owned(),
        format!("GET /subscriptions/{SUBSCRIPTION}/providers/Microsoft.Web/sites"),
        format!("GET {site}"),
        format!("POST {site}/config/appsettings/list"),
        "POST /api/publish".to_owned(),
        "GET /api/deployments/5f0c9d2e-deploy".to_owned(),
        format!("GET {site}/functions"),
    ] {
        assert!(paths.contains(&expected), "{expected} missing from {paths:#?}");
    }
    assert!(
        !paths.iter().any(|p| p.ends_with("/syncfunctiontriggers")),
        "Flex syncs by itself"
    );
    let upload = uploads(&requests);
    assert_eq!(upload.len(), 1);
    assert_eq!(upload[0].query, "RemoteBuild=false&Deployer=cargo_azfn");
    assert_eq!(upload[0].header("content-type"), Some("application/zip"));
    let zip = std::fs::read(dir.with_extension("deploy.native.zip")).expect("the packed zip");
    assert!(upload[0].body == zip, "the body is the native zip");
    assert_eq!(zip_names(&upload[0].body), ["app", "host.json"]);
    let err = stderr(&output);
    assert!(
        err.contains("Authenticated with the service principal test-client"),
        "{err}"
    );
    assert!(
        err.contains("Deploying building") && err.contains("Deployed azfn-test-app"),
        "{err}"
    );
    let out = stdout(&output);
    assert!(
        out.contains(
            "    hello - [httpTrigger]\n        Invoke url: https://azfn-test-app.azurewebsites.net/api/hello?code=fn-key-1==\n"
        ),
        "{out}"
    );
    assert!(out.contains("    forward - [queueTrigger]"), "{out}");
    let listings = requests.iter().filter(|r| r.path.ends_with("/functions")).count();
    assert_eq!(listings, 2, "the list is read again while it is still empty");
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/functions/hello/listkeys")),
        "the key of the function-level HTTP function is read"
    );
}

#[test]
fn a_deployment_already_running_is_a_clear_error() {
    let dir = app("deploy-conflict", &[]);
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.upload_answers = [UploadAnswer::Status(409, None)].into();
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("another deployment is already running on this app (HTTP 409"),
        "{err}"
    );
    assert_eq!(uploads(&fake.requests()).len(), 1, "a conflict is not retried");
}

#[test]
fn premium_custom_handler_through_zip_deploy() {
    let dir = app("deploy-premium", &[]);
    let fake = FakeAzure::start(Scenario::premium_custom("azfn-test-app"));
    let output = deploy_dir(
        &fake,
        &dir,
        &["-g", GROUP, "--subscription", SUBSCRIPTION, "--max-glibc", "2.36"],
    );
    support::assert_success(&output, "deploy to Premium");
    let requests = fake.requests();
    assert_signed(&requests);
    assert!(
        !requests.iter().any(|r| r.path == "/subscriptions"),
        "the app is read directly"
    );
    let upload = uploads(&requests);
    assert_eq!(upload.len(), 1);
    assert_eq!(upload[0].path, "/api/zipdeploy");
    assert_eq!(upload[0].query, "isAsync=true&Deployer=cargo_azfn");
    let zip = std::fs::read(dir.with_extension("deploy.zip")).expect("the packed zip");
    assert!(upload[0].body == zip);
    let names = zip_names(&zip);
    assert!(
        names.contains(&"host.json".to_owned()) && names.iter().any(|n| n.ends_with("/function.json")),
        "{names:?}"
    );
    assert!(!names.contains(&"local.settings.json".to_owned()));
    // The Location was polled until the deployment ended, then the triggers synced.
    let polls = requests.iter().filter(|r| r.path == "/api/deployments/latest").count();
    assert_eq!(polls, 3, "building, deploying, succeeded");
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/syncfunctiontriggers"))
    );
    assert!(stdout(&output).contains("Invoke url: https://azfn-test-app.azurewebsites.net/api/hello?code=fn-key-1=="));
}

#[test]
fn throttling_and_server_errors_are_retried_after_the_servers_wait() {
    let dir = app("deploy-throttled", &[]);
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.upload_answers = [
        UploadAnswer::Status(429, Some("1".to_owned())),
        UploadAnswer::Status(503, None),
        UploadAnswer::Status(500, Some("1".to_owned())),
    ]
    .into();
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    support::assert_success(&output, "deploy through throttling");
    let requests = fake.requests();
    let upload = uploads(&requests);
    assert_eq!(upload.len(), 4, "429, 503, 500, then accepted");
    let waited = upload[1].at - upload[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 on the 429 was honoured ({waited:?})"
    );
    eprintln!(
        "waits before each retry: {:?}",
        upload.windows(2).map(|w| w[1].at - w[0].at).collect::<Vec<_>>()
    );
    let waited = upload[3].at - upload[2].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 on the 500 was honoured ({waited:?})"
    );
    let zip = std::fs::read(dir.with_extension("deploy.native.zip")).expect("the packed zip");
    assert!(upload.iter().all(|u| u.body == zip), "each try sends the whole zip");
}

#[test]
fn a_failed_remote_deployment_shows_its_log() {
    let dir = app("deploy-failed", &[]);
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.statuses = vec![1, 3];
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("the deployment 5f0c9d2e-deploy failed (Deployment failed)"),
        "{err}"
    );
    assert!(err.contains("Received package"), "{err}");
    assert!(
        err.contains("Host failed to start: app exited with code 127"),
        "the details_url entry: {err}"
    );
    assert!(!fake.requests().iter().any(|r| r.path.ends_with("/functions")));
}

#[test]
fn an_interrupted_upload_is_sent_again_whole() {
    let dir = app("deploy-dropped", &[]);
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.upload_answers = [UploadAnswer::Drop].into();
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    support::assert_success(&output, "deploy after a dropped upload");
    let requests = fake.requests();
    let upload = uploads(&requests);
    assert_eq!(upload.len(), 2);
    let zip = std::fs::read(dir.with_extension("deploy.native.zip")).expect("the packed zip");
    assert!(upload[0].body.len() < zip.len(), "the first try was cut short");
    assert!(upload[1].body == zip, "the retry sent the zip from its first byte");
    let err = stderr(&output);
    assert!(err.contains("sending the zip again from the start (try 2"), "{err}");
}

#[test]
fn a_runtime_mismatch_is_refused_before_anything_is_uploaded() {
    let dir = app("deploy-mismatch", &[]);
    let fake = FakeAzure::start(Scenario::flex_native("azfn-test-app"));
    let output = deploy_dir(&fake, &dir, &["--custom-handler"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("--custom-handler asks for a custom handler package")
            && err.contains("native runtime (gRPC) (functionAppConfig.runtime `go`)"),
        "{err}"
    );
    assert!(uploads(&fake.requests()).is_empty());

    let mut node = Scenario::premium_custom("azfn-test-app");
    node.settings
        .insert("FUNCTIONS_WORKER_RUNTIME".to_owned(), "node".to_owned());
    let fake = FakeAzure::start(node);
    let output = deploy_dir(&fake, &dir, &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("FUNCTIONS_WORKER_RUNTIME=node"),
        "{}",
        stderr(&output)
    );
    assert!(uploads(&fake.requests()).is_empty());
}

#[test]
fn a_missing_setting_is_refused_before_anything_is_uploaded() {
    let dir = app("deploy-missing", &[]);
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.settings.remove("AzureWebJobsStorage__accountName");
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("lacks settings") && err.contains("AzureWebJobsStorage"),
        "{err}"
    );
    assert!(err.contains("--sync-settings"), "{err}");
    let requests = fake.requests();
    assert!(uploads(&requests).is_empty());
    assert!(!requests.iter().any(|r| r.method == "PUT"));
}

#[test]
fn sync_settings_pushes_the_missing_ones_with_the_rest() {
    let connection =
        "DefaultEndpointsProtocol=https;AccountName=azfnstore;AccountKey=a2V5;EndpointSuffix=core.windows.net";
    let dir = app(
        "deploy-sync",
        &[("AzureWebJobsStorage", connection), ("LOCAL_ONLY_THING", "x")],
    );
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.settings.remove("AzureWebJobsStorage__accountName");
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &["--sync-settings"]);
    support::assert_success(&output, "deploy --sync-settings");
    let requests = fake.requests();
    let put = requests
        .iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT of the settings");
    assert!(put.path.ends_with("/config/appsettings") && put.query.contains("api-version="));
    let body: serde_json::Value = serde_json::from_slice(&put.body).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({"properties": {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=x",
            "AzureWebJobsStorage": connection,
        }}),
        "the current settings and the missing one, nothing else"
    );
    // The PUT comes before the upload, and the values stay off the console.
    let put_index = requests.iter().position(|r| r.method == "PUT").unwrap_or(usize::MAX);
    let upload_index = requests.iter().position(|r| r.path == "/api/publish").unwrap_or(0);
    assert!(put_index < upload_index);
    let err = stderr(&output);
    assert!(
        err.contains("Synced 1 setting(s) from local.settings.json (values hidden): AzureWebJobsStorage"),
        "{err}"
    );
    assert!(!err.contains("a2V5"), "{err}");

    // The emulator's connection is never pushed.
    let dir = app(
        "deploy-sync-emulator",
        &[("AzureWebJobsStorage", "UseDevelopmentStorage=true")],
    );
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.settings.remove("AzureWebJobsStorage__accountName");
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &["--sync-settings"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("UseDevelopmentStorage=true"),
        "{}",
        stderr(&output)
    );
    assert!(!fake.requests().iter().any(|r| r.method == "PUT"));
}

#[test]
fn an_app_that_is_not_there_is_named_in_the_error() {
    let dir = app("deploy-unknown", &[]);
    let fake = FakeAzure::start(Scenario::flex_native("azfn-test-app"));
    let output = fake.deploy(&[
        "--app",
        "no-such-app",
        "-g",
        GROUP,
        "--subscription",
        SUBSCRIPTION,
        "--no-build",
        "--dir",
        path_str(&dir),
    ]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("no function app `no-such-app` in the resource group `rg-azfn`")
            && err.contains("ResourceNotFound"),
        "{err}"
    );
    // Searched by name instead, the one app it sees is not it either.
    let output = fake.deploy(&["--app", "no-such-app", "--no-build", "--dir", path_str(&dir)]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no function app named `no-such-app` in the 1 subscription(s)"),
        "{}",
        stderr(&output)
    );
    assert!(uploads(&fake.requests()).is_empty());
}

#[test]
fn a_refused_service_principal_is_an_error_not_a_fall_through() {
    let dir = app("deploy-bad-secret", &[]);
    let mut scenario = Scenario::flex_native("azfn-test-app");
    scenario.refuse_secret = true;
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("cannot sign in with the service principal test-client"),
        "{err}"
    );
    assert!(
        !err.contains("Azure CLI"),
        "no fall-through to the developer tools: {err}"
    );
    assert!(
        fake.requests().iter().all(|r| r.path.ends_with("/oauth2/v2.0/token")),
        "nothing but the token endpoint was called"
    );
}
