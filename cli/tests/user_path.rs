//! A user's first hour, outside this repository: `cargo azfn new` in a temporary folder with no
//! flags, then `cargo test`, `cargo azfn build`, `start`, calls, `invoke` and `pack` in it, as a
//! user types them. The only thing the test adds is a target folder of its own (an environment
//! variable), kept between runs so that repeated runs are incremental; the project resolves its
//! dependencies itself, as a user's would.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{CLI, LocalHost, assert_success, free_port, http, target_dir};

/// `cargo-azfn azfn <args>` in `dir`, as cargo runs a subcommand.
fn cargo_azfn(dir: &Path, target: &Path, args: &[&str]) -> Output {
    Command::new(CLI)
        .arg("azfn")
        .args(args)
        .current_dir(dir)
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo-azfn")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A folder outside the repository (and outside any Cargo workspace), one per test (`name`), as
/// the tests run at once and each removes its folder.
fn outside_the_repository(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("azfn-user-path-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a folder");
    assert!(!dir.starts_with(support::workspace_root()));
    dir
}

#[test]
fn a_new_project_builds_starts_answers_and_packs_with_no_flags() {
    let parent = outside_the_repository("new-project");
    let target = target_dir().join("user-path");

    // new
    let created = cargo_azfn(&parent, &target, &["new", "demo"]);
    assert_success(&created, "cargo azfn new demo");
    let app = parent.join("demo");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).expect("Cargo.toml");
    let runtime = std::fs::canonicalize(support::workspace_root().join("runtime")).expect("runtime/");
    assert!(
        manifest.contains(&format!("azfn = {{ path = \"{}\" }}", runtime.display())),
        "a tool built from a checkout points new apps at that checkout:\n{manifest}"
    );
    for file in [
        "host.json",
        "local.settings.json",
        "src/main.rs",
        ".gitignore",
        "README.md",
    ] {
        assert!(app.join(file).is_file(), "{file} is missing");
    }

    // The user's own settings: a port, a master key, a setting the environment overrides.
    let port = free_port();
    let settings = serde_json::json!({
        "IsEncrypted": false,
        "Values": {
            "FUNCTIONS_WORKER_RUNTIME": "custom",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "AzureWebJobs.MasterKey": "master-from-settings"
        },
        "Host": {"LocalHttpPort": port, "CORS": "http://localhost:3000"}
    });
    std::fs::write(app.join("local.settings.json"), settings.to_string()).expect("write local.settings.json");

    // cargo test
    let tested = Command::new(env!("CARGO"))
        .arg("test")
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run cargo test");
    assert_success(&tested, "cargo test in the new project");
    assert!(text(&tested).contains("test result: ok. 2 passed"), "{}", text(&tested));

    // cargo azfn build: the release profile, the user's host.json kept with azfn's section.
    let built = cargo_azfn(&app, &target, &["build"]);
    assert_success(&built, "cargo azfn build");
    assert!(
        text(&built).contains("Building demo (profile azfn-release)"),
        "{}",
        text(&built)
    );
    let app_dir = target.join("azfn/demo");
    let host: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(app_dir.join("host.json")).expect("host.json")).expect("JSON");
    assert_eq!(host["functionTimeout"], "00:05:00", "{host}");
    assert_eq!(host["logging"]["logLevel"]["default"], "Information", "{host}");
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"], "demo",
        "{host}"
    );

    // cargo azfn start: the dev profile, the port and keys from local.settings.json.
    let server = LocalHost::start_as_user(&["--enable-auth"], &app, port, &target, Duration::from_secs(300));
    server.wait_for("Building demo (profile dev)", Duration::from_secs(1));
    server.wait_for("Keys are checked (--enable-auth)", Duration::from_secs(5));
    let hello = http(port, "GET", "/api/hello?name=Ferris", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, Ferris!"));
    let greet = http(port, "POST", "/api/greet", &[], r#"{"name":"Ferris"}"#);
    assert_eq!(greet.json(), serde_json::json!({"greeting": "Hello, Ferris!"}));
    let cors = http(port, "GET", "/api/hello", &[("Origin", "http://localhost:3000")], "");
    assert!(
        cors.head.contains("access-control-allow-origin: http://localhost:3000"),
        "{}",
        cors.head
    );
    let foreign = http(
        port,
        "GET",
        "/api/hello",
        &[("Origin", "https://elsewhere.example")],
        "",
    );
    assert!(
        !foreign.head.contains("access-control-allow-origin"),
        "{}",
        foreign.head
    );

    // cargo azfn invoke: the port and the master key come from local.settings.json.
    let invoked = cargo_azfn(&app, &target, &["invoke", "hello"]);
    assert_success(&invoked, "cargo azfn invoke hello");
    assert!(text(&invoked).contains("Hello, world!"), "{}", text(&invoked));
    drop(server);

    // cargo azfn pack: this machine's glibc is newer than the oldest Functions images', and
    // pack says so rather than shipping an app that cannot start; then the user says which
    // images they deploy to.
    let packed = cargo_azfn(&app, &target, &["pack"]);
    let zip_path = target.join("azfn/demo.zip");
    if !packed.status.success() {
        let said = text(&packed);
        assert!(said.contains("needs glibc") && said.contains("--max-glibc"), "{said}");
        let packed = cargo_azfn(&app, &target, &["pack", "--max-glibc", "2.36"]);
        assert_success(&packed, "cargo azfn pack --max-glibc 2.36");
    }
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("the zip")).expect("a zip");
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        ["demo", "greet/function.json", "hello/function.json", "host.json"]
    );
    let mut packed_host = String::new();
    archive
        .by_name("host.json")
        .expect("host.json")
        .read_to_string(&mut packed_host)
        .expect("read host.json");
    assert!(
        packed_host.contains("\"functionTimeout\": \"00:05:00\""),
        "{packed_host}"
    );

    // Toward Kubernetes: a Dockerfile that builds inside the image cannot install the
    // cargo-azfn of a path dependency, and says what to do instead; the objects for the
    // cluster come from the built folder.
    let inside = cargo_azfn(&app, &target, &["pack", "--dockerfile"]);
    assert!(!inside.status.success(), "{}", text(&inside));
    assert!(text(&inside).contains("--no-build --dir"), "{}", text(&inside));
    let folder = target.join("azfn/demo");
    let folder = folder.to_str().expect("a UTF-8 path");
    let objects = cargo_azfn(
        &app,
        &target,
        &[
            "kubernetes",
            "--name",
            "demo",
            "--image-name",
            "example/demo:1",
            "--dry-run",
            "--no-build",
            "--dir",
            folder,
        ],
    );
    assert_success(&objects, "cargo azfn kubernetes --dry-run");
    let yaml = String::from_utf8_lossy(&objects.stdout);
    for line in [
        "kind: \"Secret\"",
        "kind: \"Service\"",
        "name: \"demo-http\"",
        "image: \"example/demo:1\"",
    ] {
        assert!(yaml.contains(line), "{line} missing from:\n{yaml}");
    }
    assert!(
        text(&objects).contains("UseDevelopmentStorage=true"),
        "{}",
        text(&objects)
    );

    // Toward Azure: with no way to sign in, deploy says how to, before anything is built.
    let deploy = Command::new(CLI)
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", &target)
        .env("PATH", "/usr/bin:/bin")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("MSI_ENDPOINT")
        .args(["azfn", "deploy", "--app", "demo", "--no-build", "--dir", folder])
        .output()
        .expect("run cargo-azfn deploy");
    assert!(!deploy.status.success());
    assert!(text(&deploy).contains("az login"), "{}", text(&deploy));

    let _ = std::fs::remove_dir_all(&parent);
}

#[test]
fn a_mistake_in_the_users_host_json_fails_the_build_naming_the_file_and_key() {
    let parent = outside_the_repository("bad-host");
    std::fs::create_dir_all(&parent).expect("create a folder");
    let target = target_dir().join("user-path");
    assert_success(&cargo_azfn(&parent, &target, &["new", "badhost"]), "cargo azfn new");
    let app = parent.join("badhost");
    std::fs::write(
        app.join("host.json"),
        r#"{"version": "2.0", "extensions": {"queues": {"batchSize": "many"}}}"#,
    )
    .expect("write host.json");
    let built = cargo_azfn(&app, &target, &["build", "--debug"]);
    assert!(!built.status.success());
    let said = text(&built);
    assert!(
        said.contains(&format!(
            "{} does not follow the host.json schema",
            app.join("host.json").display()
        )),
        "{said}"
    );
    assert!(said.contains("`extensions.queues.batchSize`"), "{said}");
    assert!(
        !said.contains("Compiling badhost"),
        "the file is checked before the build: {said}"
    );

    std::fs::write(
        app.join("host.json"),
        r#"{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "other"}}}"#,
    )
    .expect("write host.json");
    let built = cargo_azfn(&app, &target, &["build", "--debug"]);
    assert!(!built.status.success());
    let said = text(&built);
    assert!(
        said.contains("`customHandler.description.defaultExecutablePath` is \"other\""),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&parent);
}
