//! `cargo azfn build` end to end: the app folder it writes, and its errors.

mod support;

use support::{assert_success, cli, fixture_workspace, path_str, scratch, workspace_root};

#[test]
fn build_writes_the_app_folder() {
    let out = scratch("build-timers");
    let output = cli(
        fixture_workspace(),
        &["build", "--debug", "--package", "timers", "--out", path_str(&out)],
    );
    assert_success(&output, "cargo azfn build");
    for file in [
        "host.json",
        "local.settings.json",
        "startup/function.json",
        "every_second/function.json",
        "echo/function.json",
        "nap/function.json",
        "fail/function.json",
    ] {
        assert!(out.join(file).is_file(), "{file} is missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("timers")).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "the executable is executable");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Building timers (profile dev)"), "{stderr}");
    assert!(stderr.contains("with 5 functions"), "{stderr}");
}

#[test]
fn an_app_without_functions_is_refused_clearly() {
    let out = scratch("build-empty");
    let output = cli(
        fixture_workspace(),
        &["build", "--debug", "--package", "empty", "--out", path_str(&out)],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: the app has no functions"), "{stderr}");
    assert!(stderr.contains("#[azfn::function"), "{stderr}");
}

#[test]
fn packages_that_are_not_apps_are_refused() {
    // cargo-azfn itself depends on azfn (for the gRPC protocol types), so a library is the
    // example of a package that does not.
    let output = cli(&workspace_root(), &["build", "--package", "azfn-bindings"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not depend on azfn"), "{stderr}");
    let output = cli(&workspace_root(), &["build", "--package", "no-such-package"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no package `no-such-package`"), "{stderr}");
}

/// A linker that links as `cc` does, then takes the exec bit off every file it writes for the
/// explicit target (under `<target dir>/x86_64-unknown-linux-gnu/`), so that the target's
/// executable cannot be run, as a Linux executable cannot be run on macOS or Windows.
const UNRUNNABLE_LINKER: &str = r#"#!/bin/sh
cc "$@" || exit $?
previous=
for argument in "$@"; do
    if [ "$previous" = "-o" ]; then
        case "$argument" in
            */x86_64-unknown-linux-gnu/*) chmod a-x "$argument" ;;
        esac
    fi
    previous=$argument
done
"#;

#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
fn a_cross_build_writes_the_manifest_without_running_the_target_executable() {
    use std::os::unix::fs::PermissionsExt;

    let tools = scratch("unrunnable-linker");
    // Named like a gcc driver, so that rustc passes it gcc-style arguments.
    let linker = tools.join("unrunnable-gcc");
    std::fs::write(&linker, UNRUNNABLE_LINKER).unwrap();
    std::fs::set_permissions(&linker, std::fs::Permissions::from_mode(0o755)).unwrap();

    // The same package built for this machine, its folder written by running it.
    let native = scratch("cross-native");
    let output = cli(
        fixture_workspace(),
        &["build", "--debug", "--package", "timers", "--out", path_str(&native)],
    );
    assert_success(&output, "cargo azfn build");

    let crossed = scratch("cross-target");
    let output = std::process::Command::new(support::CLI)
        .args([
            "build",
            "--debug",
            "--package",
            "timers",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .args(["--out", path_str(&crossed)])
        .current_dir(fixture_workspace())
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", support::target_dir())
        .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER", &linker)
        .output()
        .unwrap();
    assert_success(&output, "cargo azfn build --target x86_64-unknown-linux-gnu");

    // The target's executable could not have been run...
    let built = support::target_dir().join("x86_64-unknown-linux-gnu/debug/timers");
    let mode = std::fs::metadata(&built).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0, "{} is not executable", built.display());
    assert!(
        std::process::Command::new(&built)
            .arg("--write-app")
            .arg(scratch("never"))
            .status()
            .is_err(),
        "running it fails"
    );
    // ...yet the manifest is the one `--write-app` writes, and the folder holds that executable.
    let written = scratch("cross-write-app");
    let status = std::process::Command::new(native.join("timers"))
        .arg("--write-app")
        .arg(&written)
        .status()
        .unwrap();
    assert!(status.success());
    for file in [
        "host.json",
        "startup/function.json",
        "every_second/function.json",
        "echo/function.json",
    ] {
        let read = |dir: &std::path::Path| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
        };
        assert_eq!(read(&crossed), read(&written), "{file} differs from --write-app's");
        assert_eq!(read(&crossed), read(&native), "{file} differs from a native build's");
    }
    assert_eq!(
        std::fs::read(crossed.join("timers")).unwrap(),
        std::fs::read(&built).unwrap(),
        "the app folder holds the target's executable"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("for this machine too, to read its manifest"),
        "{stderr}"
    );
}
