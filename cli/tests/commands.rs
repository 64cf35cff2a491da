//! `cargo azfn invoke`, `pack` and `new` end to end.

mod support;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use support::{
    LocalHost, assert_success, cli, path_str, quickstart_app, scratch, target_dir, timers_app, workspace_root,
};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn invoke_sends_payloads_to_a_running_host() {
    let host = LocalHost::start(quickstart_app());
    let port = host.port.to_string();
    let dir = workspace_root();

    let queued = cli(&dir, &["invoke", "ship", "--example", "queue", "--port", &port]);
    assert_success(&queued, "invoke ship --example queue");
    let text = stdout(&queued);
    assert!(text.starts_with("ship: Succeeded"), "{text}");
    assert!(
        text.contains(r#"→ queue 'shipping': {"id":1,"item":"widget","quantity":2}"#),
        "{text}"
    );

    let data = cli(
        &dir,
        &[
            "invoke",
            "ship",
            "--data",
            r#"{"id": 9, "item": "pie", "quantity": 1}"#,
            "--port",
            &port,
        ],
    );
    assert!(stdout(&data).contains(r#""id":9"#), "{}", stdout(&data));

    let failed = cli(
        &dir,
        &[
            "invoke",
            "ship",
            "--data",
            r#"{"id": 9, "item": "pie", "quantity": 0}"#,
            "--port",
            &port,
        ],
    );
    assert!(!failed.status.success(), "a failed invocation fails the command");
    assert!(stdout(&failed).contains("ship: Failed"), "{}", stdout(&failed));

    let timer = cli(&dir, &["invoke", "tick", "--example", "timer", "--port", &port]);
    assert_success(&timer, "invoke tick");

    let greeting = cli(&dir, &["invoke", "greet", "--param", "name=Ferris", "--port", &port]);
    assert_success(&greeting, "invoke greet");
    let text = stdout(&greeting);
    assert!(text.starts_with("GET /api/greet/Ferris → HTTP 200"), "{text}");
    assert!(text.contains(r#"{"greeting":"Hello, Ferris!"}"#), "{text}");

    let missing = cli(&dir, &["invoke", "greet", "--port", &port]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--param name=<value>"));

    let unknown = cli(&dir, &["invoke", "nope", "--port", &port]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("has no function `nope`"));
}

#[test]
fn invoke_without_a_host_says_how_to_start_one() {
    let port = support::free_port().to_string();
    let output = cli(&workspace_root(), &["invoke", "ship", "--port", &port]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cargo azfn start"), "{stderr}");
}

#[test]
fn pack_writes_a_deployable_zip_and_a_dockerfile() {
    let app = support::app_copy(timers_app(), "pack-app", &[]);
    let zip_path = scratch("pack-out").join("timers.zip");
    let output = cli(
        &workspace_root(),
        &[
            "pack",
            // A build on this machine (glibc 2.36) needs newer symbols than the oldest images'.
            "--max-glibc",
            "2.36",
            "--no-build",
            "--dir",
            path_str(&app),
            "--output",
            path_str(&zip_path),
            "--dockerfile",
        ],
    );
    assert_success(&output, "cargo azfn pack");

    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("open the zip")).expect("a zip");
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "echo/function.json",
            "every_second/function.json",
            "fail/function.json",
            "host.json",
            "nap/function.json",
            "startup/function.json",
            "timers"
        ]
    );
    let mut executable = archive.by_name("timers").expect("the executable");
    assert_eq!(executable.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut head = [0u8; 4];
    executable.read_exact(&mut head).expect("read the executable");
    assert_eq!(&head, b"\x7fELF");
    drop(executable);
    let host_json = archive.by_name("host.json").expect("host.json");
    assert_eq!(host_json.unix_mode().map(|m| m & 0o777), Some(0o644));
    drop(host_json);

    let dockerfile = std::fs::read_to_string(app.join("Dockerfile")).expect("a Dockerfile");
    assert!(
        dockerfile.contains("FROM mcr.microsoft.com/azure-functions/base:4"),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains("ENV AzureWebJobsScriptRoot=/home/site/wwwroot"),
        "{dockerfile}"
    );
    let ignored = std::fs::read_to_string(app.join(".dockerignore")).expect("a .dockerignore");
    assert!(ignored.contains("local.settings.json"));
}

#[test]
fn pack_native_writes_app_and_a_host_json_without_custom_handler() {
    let app = support::app_copy(support::native_timers_app(), "pack-native-app", &[]);
    let zip_path = scratch("pack-native-out").join("timers-native.zip");
    let output = cli(
        &workspace_root(),
        &[
            "pack",
            "--native",
            "--no-build",
            "--dir",
            path_str(&app),
            "--output",
            path_str(&zip_path),
        ],
    );
    assert_success(&output, "cargo azfn pack --native");

    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("open the zip")).expect("a zip");
    let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    assert_eq!(names, ["app", "host.json"]);
    let mut executable = archive.by_name("app").expect("app");
    assert_eq!(executable.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut head = [0u8; 20];
    executable.read_exact(&mut head).expect("read app");
    assert_eq!(&head[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([head[18], head[19]]), 0x3e, "x86-64");
    drop(executable);
    let mut host = String::new();
    archive
        .by_name("host.json")
        .expect("host.json")
        .read_to_string(&mut host)
        .expect("read host.json");
    let host: serde_json::Value = serde_json::from_str(&host).expect("JSON");
    assert_eq!(host["version"], "2.0");
    assert!(host.get("customHandler").is_none(), "{host}");
    assert!(host.get("extensionBundle").is_some(), "{host}");
}

#[test]
fn pack_native_refuses_an_app_without_the_native_feature() {
    let app = support::app_copy(timers_app(), "pack-not-native-app", &[]);
    let zip_path = scratch("pack-not-native-out").join("timers-native.zip");
    let output = cli(
        &workspace_root(),
        &[
            "pack",
            "--native",
            "--no-build",
            "--dir",
            path_str(&app),
            "--output",
            path_str(&zip_path),
        ],
    );
    assert!(
        !output.status.success(),
        "an app without the gRPC transport is not packed"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("built without azfn's `native` feature"), "{stderr}");
    assert!(stderr.contains(r#"features = ["native"]"#), "{stderr}");
    assert!(!zip_path.exists(), "no zip is written");
}

#[test]
fn pack_refuses_an_executable_that_needs_a_newer_glibc() {
    let app = support::app_copy(timers_app(), "pack-glibc-app", &[]);
    let zip_path = scratch("pack-glibc-out").join("timers.zip");
    let output = cli(
        &workspace_root(),
        &[
            "pack",
            "--max-glibc",
            "2.17",
            "--no-build",
            "--dir",
            path_str(&app),
            "--output",
            path_str(&zip_path),
        ],
    );
    assert!(!output.status.success(), "a glibc mismatch is refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("needs glibc 2.") && stderr.contains("have glibc 2.17"),
        "{stderr}"
    );
    assert!(stderr.contains("x86_64-unknown-linux-musl"), "{stderr}");
    assert!(!zip_path.exists(), "no zip is written");
}

#[test]
fn new_creates_an_app_that_builds_and_passes_its_test() {
    let parent = support::source_scratch("new-app");
    let runtime = workspace_root().join("runtime");
    let output = cli(&parent, &["new", "hello-app", "--azfn-path", path_str(&runtime)]);
    assert_success(&output, "cargo azfn new");
    let app = parent.join("hello-app");
    for file in ["Cargo.toml", "src/main.rs", "README.md", ".gitignore"] {
        assert!(app.join(file).is_file(), "{file} is missing");
    }
    let again = cli(&parent, &["new", "hello-app"]);
    assert!(!again.status.success(), "an existing folder is not overwritten");

    // The main Cargo.lock pins the same dependency versions, so the shared target folder
    // already holds them.
    std::fs::copy(workspace_root().join("Cargo.lock"), app.join("Cargo.lock")).expect("copy Cargo.lock");
    let cargo = |args: &[&str]| {
        Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&app)
            .env("CARGO_TARGET_DIR", target_dir())
            .output()
            .expect("run cargo")
    };
    assert_success(&cargo(&["build"]), "cargo build of the new app");
    assert_success(&cargo(&["test"]), "cargo test of the new app");

    // And it runs under the local host at once.
    let out = scratch("new-app-folder");
    let built = cli(&app, &["build", "--debug", "--out", path_str(&out)]);
    assert_success(&built, "cargo azfn build of the new app");
    let host = LocalHost::start(&out);
    let hello = host.request("GET", "/api/hello?name=Ferris", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, Ferris!"));
    host.wait_for("Executed 'Functions.hello' (Succeeded", Duration::from_secs(5));
}
