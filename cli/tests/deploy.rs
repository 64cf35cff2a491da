//! `cargo azfn deploy` against a local stand-in for Entra ID, ARM and the SCM site
//! (`support/azure.rs`), with the real `cargo-azfn` binary and one built test app. The Linux
//! Consumption test stores the package in a real Azurite (installed by scripts/setup-azurite).

#[path = "support/azure.rs"]
mod azure;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// An Azurite blob service on a port of its own, with its data in a scratch folder; stopped
/// when dropped.
struct AzuriteBlob {
    child: Child,
    port: u16,
}

impl AzuriteBlob {
    fn start(name: &str) -> AzuriteBlob {
        let dir = cargo_azfn::storage::azurite::install_dir().expect("a cache folder for Azurite");
        let launcher = dir.join("node_modules").join(".bin").join("azurite-blob");
        assert!(
            launcher.exists(),
            "{} is missing: run scripts/setup-azurite",
            launcher.display()
        );
        let data = support::scratch(name);
        let port = support::free_port();
        let child = Command::new(&launcher)
            .args(["--silent", "--location", path_str(&data)])
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--skipApiVersionCheck", "--disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite-blob");
        let azurite = AzuriteBlob { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Azurite did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        azurite
    }

    /// A connection string with Azurite's well-known account key.
    fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint=http://127.0.0.1:{}/{};",
            azfn_storage::account::DEVELOPMENT_ACCOUNT,
            azfn_storage::account::DEVELOPMENT_KEY,
            self.port,
            azfn_storage::account::DEVELOPMENT_ACCOUNT
        )
    }
}

impl Drop for AzuriteBlob {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET` of `path_and_query` on 127.0.0.1:`port` with no credential: the status and, for a
/// success, the body (Azurite answers blob downloads with a `Content-Length`, errors chunked).
fn get_bytes(port: u16, path_and_query: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to Azurite");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a timeout");
    write!(
        stream,
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    if status != 200 {
        return (status, Vec::new());
    }
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    (status, raw[split + 4..].to_vec())
}

#[test]
fn linux_consumption_runs_from_a_package_blob_with_a_read_only_sas() {
    let dir = app("deploy-linux-consumption", &[]);
    let azurite = AzuriteBlob::start("deploy-linux-consumption-azurite");
    let scenario = Scenario::linux_consumption("azfn-test-app", Some(&azurite.connection_string()));
    let before = scenario.settings.clone();
    let fake = FakeAzure::start(scenario);
    // The test machine's glibc is newer than the Linux Consumption images'.
    let output = deploy_dir(&fake, &dir, &["--max-glibc", "2.36"]);
    support::assert_success(&output, "deploy to Linux Consumption");
    let err = stderr(&output);
    assert!(
        !err.contains(azfn_storage::account::DEVELOPMENT_KEY),
        "the key is never printed: {err}"
    );
    assert!(err.contains("function-releases/"), "{err}");
    assert!(err.contains("    100 % "), "the progress reaches the end: {err}");
    let requests = fake.requests();
    assert_signed(&requests);
    assert!(
        !requests.iter().any(|r| r.path.starts_with("/api/")),
        "no SCM call: {:#?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let site =
        format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/azfn-test-app");
    let put = requests
        .iter()
        .position(|r| r.method == "PUT" && r.path == format!("{site}/config/appsettings"))
        .expect("the settings are written");
    let sync = requests
        .iter()
        .position(|r| r.method == "POST" && r.path == format!("{site}/syncfunctiontriggers"))
        .expect("the triggers are synced");
    assert!(put < sync, "the triggers are synced after the package is set");

    // Every other setting kept; the package URL and the mount flag added.
    let mut after = fake.settings();
    let package = after
        .remove("WEBSITE_RUN_FROM_PACKAGE")
        .expect("WEBSITE_RUN_FROM_PACKAGE");
    assert_eq!(after.remove("WEBSITE_MOUNT_ENABLED").as_deref(), Some("1"));
    assert_eq!(after, before);

    // The URL names a new blob of function-releases, `yyyyMMddHHmmss-<guid>.zip`.
    let prefix = format!("http://127.0.0.1:{}/devstoreaccount1/function-releases/", azurite.port);
    let rest = package.strip_prefix(&prefix).unwrap_or_else(|| panic!("{package}"));
    let (name, query) = rest.split_once('?').expect("a SAS");
    let (stamp, guid) = name
        .strip_suffix(".zip")
        .and_then(|n| n.split_once('-'))
        .unwrap_or_else(|| panic!("{name}"));
    assert!(stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()), "{name}");
    assert_eq!(guid.len(), 36, "{name}");
    assert!(query.contains("sr=b") && query.contains("&sp=r&"), "read-only: {query}");

    // The SAS alone downloads the zip's bytes; without it, or with another permission, no.
    let zip = std::fs::read(dir.with_extension("deploy.zip")).expect("the packed zip");
    let path = format!("/devstoreaccount1/function-releases/{name}");
    let (status, body) = get_bytes(azurite.port, &format!("{path}?{query}"));
    assert_eq!(status, 200, "the SAS URL downloads the blob");
    assert!(
        body == zip,
        "the blob is the zip ({} bytes, {} uploaded)",
        zip.len(),
        body.len()
    );
    assert!(zip_names(&body).iter().any(|n| n == "host.json"));
    let (status, _) = get_bytes(azurite.port, &path);
    assert_ne!(status, 200, "the container is private");
    let widened = query.replace("&sp=r&", "&sp=rw&");
    let (status, _) = get_bytes(azurite.port, &format!("{path}?{widened}"));
    assert_eq!(status, 403, "the signature covers the permissions");

    let out = stdout(&output);
    assert!(out.contains("    hello - [httpTrigger]"), "{out}");
}

#[test]
fn linux_consumption_with_identity_based_storage_is_refused_before_any_upload() {
    let dir = app("deploy-linux-consumption-identity", &[]);
    let mut scenario = Scenario::linux_consumption("azfn-test-app", None);
    scenario
        .settings
        .insert("AzureWebJobsStorage__accountName".to_owned(), "azfnstore".to_owned());
    let before = scenario.settings.clone();
    let fake = FakeAzure::start(scenario);
    let output = deploy_dir(&fake, &dir, &[]);
    assert!(!output.status.success(), "refused");
    let err = stderr(&output);
    assert!(
        err.contains("by identity (AzureWebJobsStorage__accountName)") && err.contains("AccountKey"),
        "{err}"
    );
    let requests = fake.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.method == "PUT" || r.path.starts_with("/api/") || r.path.ends_with("/syncfunctiontriggers")),
        "nothing is changed: {:#?}",
        requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert_eq!(fake.settings(), before);
    assert!(
        !dir.with_extension("deploy.zip").exists(),
        "refused before anything is packed"
    );
}
