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
    assert!(stderr.contains("with 3 functions"), "{stderr}");
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
