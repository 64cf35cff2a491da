//! `cargo azfn build`: compiles the app and writes its function app folder.
//!
//! 1. `cargo metadata` finds the package (`--package`, else the package of the current folder,
//!    else the one workspace member with a binary that depends on `azfn`) and the target folder.
//! 2. `cargo build --message-format=json-render-diagnostics` compiles it; the executable's path
//!    is read from cargo's `compiler-artifact` message, never guessed. Cargo's own progress and
//!    diagnostics are shown as usual.
//! 3. The manifest comes from an executable of the same package built for this machine: the
//!    executable itself, or with `--target` a second build without it, since a Linux executable
//!    cannot run on macOS or Windows. It runs with `--write-app` into a staging folder.
//! 4. The app folder gets the function.json files from there, host.json merged from the user's
//!    file at the package root ([`crate::host_json`]) and checked against the published schema,
//!    the project's local.settings.json (for tools run in the folder, such as `func start`) and
//!    the target executable, which is never run.
//!
//! Release builds (the default of `build` and `pack`) use the `azfn-release` profile: `release`
//! with `lto = "thin"`, `codegen-units = 1`, `strip = true`, `debug = false` and
//! `incremental = false`, for a small executable that starts fast. A workspace that declares its
//! own `[profile.azfn-release]` in its root Cargo.toml gets exactly that profile instead. Dev
//! builds (the default of `start`, and `--debug`) use the `dev` profile.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::app::FunctionApp;
use crate::error::{Context, Error, Result};
use crate::json_file::read_json;
use crate::{host_json, settings};

/// The cargo profile of release builds.
pub const PROFILE: &str = "azfn-release";

/// The settings of [`PROFILE`] given to cargo with `--config`, unless the workspace defines it.
pub const PROFILE_SETTINGS: &[(&str, &str)] = &[
    ("inherits", "\"release\""),
    ("lto", "\"thin\""),
    ("codegen-units", "1"),
    ("strip", "true"),
    ("debug", "false"),
    ("incremental", "false"),
];

/// What to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// `--package`.
    pub package: Option<String>,
    /// [`PROFILE`] instead of `dev`.
    pub release: bool,
    /// `--out`: the app folder (default `<target dir>/azfn/<package>`).
    pub out: Option<PathBuf>,
    /// `--target`: a target triple to cross-compile for.
    pub target: Option<String>,
    /// Features to enable besides the package's defaults, such as `azfn/native`.
    pub features: Vec<String>,
}

impl BuildOptions {
    /// The feature that gives the app the native runtime's gRPC transport.
    pub const NATIVE_FEATURE: &'static str = "azfn/native";

    /// These options with azfn's `native` feature on.
    pub fn with_native(mut self) -> BuildOptions {
        if !self.features.iter().any(|f| f == Self::NATIVE_FEATURE) {
            self.features.push(Self::NATIVE_FEATURE.to_owned());
        }
        self
    }
}

/// The package chosen for a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// Cargo's package id, as in build messages.
    pub id: String,
    /// The binary target to build.
    pub bin: String,
    /// The folder of its Cargo.toml.
    pub dir: PathBuf,
    /// The workspace's target folder.
    pub target_dir: PathBuf,
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct BuiltApp {
    /// The package.
    pub package: Package,
    /// The app folder.
    pub app_dir: PathBuf,
    /// The executable in the app folder.
    pub executable: PathBuf,
}

impl Package {
    /// The files and folders `--watch` watches: the package's `src/`, `build.rs`, `Cargo.toml`,
    /// host.json and local.settings.json.
    pub fn sources(&self) -> Vec<PathBuf> {
        [
            "src",
            "build.rs",
            "Cargo.toml",
            host_json::FILE_NAME,
            settings::FILE_NAME,
        ]
        .iter()
        .map(|name| self.dir.join(name))
        .collect()
    }

    /// The user's local.settings.json, at the package root as Core Tools reads it.
    pub fn settings_file(&self) -> PathBuf {
        self.dir.join(settings::FILE_NAME)
    }

    /// The user's host.json, at the package root.
    pub fn host_json_file(&self) -> PathBuf {
        self.dir.join(host_json::FILE_NAME)
    }

    /// The default app folder: `<target dir>/azfn/<package>`.
    pub fn default_app_dir(&self) -> PathBuf {
        self.target_dir.join("azfn").join(&self.name)
    }
}

/// The executables of one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The app's executable, for the target.
    pub executable: PathBuf,
    /// An executable of the same package that runs on this machine, which writes the manifest:
    /// the same file unless the build was for another `--target`.
    pub manifest_writer: PathBuf,
}

/// Prints a progress line the way cargo does: `   Verb message`.
pub fn status(verb: &str, message: impl AsRef<str>) {
    eprintln!("{verb:>12} {}", message.as_ref());
}

/// The cargo to run: the one that started us (`$CARGO`), else `cargo` on PATH.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the app and writes its folder, showing progress.
pub fn build(options: &BuildOptions) -> Result<BuiltApp> {
    let package = locate(options.package.as_deref())?;
    build_package(&package, options)
}

/// [`build`] for a package already located.
pub fn build_package(package: &Package, options: &BuildOptions) -> Result<BuiltApp> {
    let started = Instant::now();
    // A mistake in the user's host.json fails before the long part.
    host_json::check_user(&package.host_json_file())?;
    let compiled = compile_app(package, options)?;
    let app_dir = options.out.clone().unwrap_or_else(|| package.default_app_dir());
    status("Writing", format!("the function app folder {}", app_dir.display()));
    let executable = write_app(package, &compiled, &app_dir)?;
    let app = FunctionApp::load(&app_dir)?;
    let size = std::fs::metadata(&executable).map(|m| m.len()).unwrap_or(0);
    status(
        "Finished",
        format!(
            "{} with {} function{} ({:.1} MB executable) in {:.1}s",
            app_dir.display(),
            app.functions.len(),
            if app.functions.len() == 1 { "" } else { "s" },
            size as f64 / 1_048_576.0,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(BuiltApp {
        package: package.clone(),
        app_dir,
        executable,
    })
}

/// Compiles the app for the target and, for another `--target`, once more for this machine so
/// that the manifest can be read without running the target's executable.
pub fn compile_app(package: &Package, options: &BuildOptions) -> Result<Compiled> {
    let executable = compile(package, options)?;
    let manifest_writer = match &options.target {
        None => executable.clone(),
        Some(target) => {
            status(
                "Building",
                format!(
                    "{} for this machine too, to read its manifest without running the {target} executable",
                    package.name
                ),
            );
            let host = BuildOptions {
                target: None,
                ..options.clone()
            };
            compile(package, &host)?
        }
    };
    Ok(Compiled {
        executable,
        manifest_writer,
    })
}

/// Finds the package to build with `cargo metadata`.
pub fn locate(requested: Option<&str>) -> Result<Package> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .context(|| "cannot run `cargo metadata`".to_owned())?;
    if !output.status.success() {
        return Err(Error::new(
            "`cargo metadata` failed: run `cargo azfn` inside a Cargo project (see the error above)",
        ));
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context(|| "cannot read `cargo metadata` output".to_owned())?;
    let cwd = std::env::current_dir().context(|| "cannot read the current folder".to_owned())?;
    choose_package(&metadata, requested, &cwd)
}

/// Picks the package from `cargo metadata --no-deps` output.
pub fn choose_package(metadata: &Value, requested: Option<&str>, cwd: &Path) -> Result<Package> {
    let target_dir = metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| Error::new("`cargo metadata` gave no target directory"))?;
    let packages: Vec<&Value> = metadata["packages"]
        .as_array()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let name_of = |p: &Value| p["name"].as_str().unwrap_or_default().to_owned();
    let dir_of = |p: &Value| {
        p["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let uses_azfn = |p: &Value| {
        p["dependencies"]
            .as_array()
            .is_some_and(|deps| deps.iter().any(|d| d["name"] == "azfn" && d["kind"].is_null()))
    };
    let has_bin = |p: &Value| bin_target(p).is_some();

    let chosen: &Value = if let Some(requested) = requested {
        packages
            .iter()
            .copied()
            .find(|p| name_of(p) == requested)
            .ok_or_else(|| {
                let names: Vec<String> = packages.iter().map(|p| name_of(p)).collect();
                Error::new(format!(
                    "no package `{requested}` in this workspace; its packages are: {}",
                    names.join(", ")
                ))
            })?
    } else if let Some(here) = packages
        .iter()
        .copied()
        .filter(|p| cwd.starts_with(dir_of(p)) && uses_azfn(p) && has_bin(p))
        .max_by_key(|p| dir_of(p).components().count())
    {
        here
    } else {
        let apps: Vec<&Value> = packages
            .iter()
            .copied()
            .filter(|p| uses_azfn(p) && has_bin(p))
            .collect();
        match apps.as_slice() {
            [one] => one,
            [] => {
                return Err(Error::new(
                    "no package here has a binary that depends on azfn; create one with `cargo azfn new <name>` \
                     or pass --package",
                ));
            }
            several => {
                let names: Vec<String> = several.iter().map(|p| name_of(p)).collect();
                return Err(Error::new(format!(
                    "several packages could be the app ({}): pass --package <name>",
                    names.join(", ")
                )));
            }
        }
    };
    let name = name_of(chosen);
    if !uses_azfn(chosen) {
        return Err(Error::new(format!(
            "package `{name}` does not depend on azfn, so it is not an azfn app"
        )));
    }
    let bin = bin_target(chosen).ok_or_else(|| {
        Error::new(format!(
            "package `{name}` has no single binary to build: give it one `[[bin]]` named `{name}` with `fn main() {{ azfn::App::new().run() }}`"
        ))
    })?;
    Ok(Package {
        id: chosen["id"].as_str().unwrap_or_default().to_owned(),
        bin,
        dir: dir_of(chosen),
        name,
        target_dir,
    })
}

/// The binary target: the one named like the package, else the only one.
fn bin_target(package: &Value) -> Option<String> {
    let bins: Vec<&str> = package["targets"]
        .as_array()?
        .iter()
        .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
        .filter_map(|t| t["name"].as_str())
        .collect();
    let name = package["name"].as_str()?;
    if bins.contains(&name) {
        return Some(name.to_owned());
    }
    match bins.as_slice() {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// Whether the workspace root's Cargo.toml declares `[profile.azfn-release]` itself.
fn workspace_defines_profile(package: &Package) -> bool {
    let mut dir = Some(package.dir.as_path());
    while let Some(current) = dir {
        if let Ok(text) = std::fs::read_to_string(current.join("Cargo.toml"))
            && text.contains(&format!("[profile.{PROFILE}]"))
        {
            return true;
        }
        dir = current.parent();
    }
    false
}

/// The arguments of `cargo build` for `package`.
pub fn cargo_build_args(package: &Package, options: &BuildOptions) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "build".into(),
        "--package".into(),
        package.name.clone(),
        "--bin".into(),
        package.bin.clone(),
        "--message-format=json-render-diagnostics".into(),
    ];
    if !options.features.is_empty() {
        args.extend(["--features".into(), options.features.join(",")]);
    }
    if options.release {
        args.extend(["--profile".into(), PROFILE.into()]);
        if !workspace_defines_profile(package) {
            for (key, value) in PROFILE_SETTINGS {
                args.extend(["--config".into(), format!("profile.{PROFILE}.{key}={value}")]);
            }
        }
    }
    if let Some(target) = &options.target {
        args.extend(["--target".into(), target.clone()]);
    }
    args
}

/// Runs `cargo build` and returns the executable cargo reports.
fn compile(package: &Package, options: &BuildOptions) -> Result<PathBuf> {
    let profile = if options.release { PROFILE } else { "dev" };
    status("Building", format!("{} (profile {profile})", package.name));
    let output = cargo()
        .args(cargo_build_args(package, options))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context(|| "cannot run `cargo build`".to_owned())?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "`cargo build` of `{}` failed (see its errors above)",
            package.name
        )));
    }
    executable_from_messages(&String::from_utf8_lossy(&output.stdout), package).ok_or_else(|| {
        Error::new(format!(
            "cargo built `{}` but reported no executable for its binary `{}`",
            package.name, package.bin
        ))
    })
}

/// The executable of `package`'s binary in cargo's JSON messages (the last one reported).
pub fn executable_from_messages(messages: &str, package: &Package) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["package_id"] == package.id.as_str())
        .filter(|m| m["target"]["name"] == package.bin.as_str())
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
}

/// Writes the app folder `app_dir` of `package` from a build, and returns the executable in it.
pub fn write_app(package: &Package, compiled: &Compiled, app_dir: &Path) -> Result<PathBuf> {
    // One staging folder per process: two builds of the same package may run at once.
    let staging =
        package
            .target_dir
            .join("azfn")
            .join(".manifest")
            .join(format!("{}-{}", package.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    run_write_app(&compiled.manifest_writer, &staging)?;
    let result = fill_app_dir(package, compiled, &staging, app_dir);
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn fill_app_dir(package: &Package, compiled: &Compiled, staging: &Path, app_dir: &Path) -> Result<PathBuf> {
    let executable_name = compiled
        .executable
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(format!("{} has no file name", compiled.executable.display())))?
        .to_owned();
    let generated = read_json(&staging.join(host_json::FILE_NAME))?;
    let user_file = package.host_json_file();
    let host = host_json::merge(
        host_json::read_user(&user_file)?,
        &generated,
        &executable_name,
        &user_file,
    )?;
    host_json::validate(&host, &user_file)?;

    std::fs::create_dir_all(app_dir).context(|| format!("cannot create {}", app_dir.display()))?;
    let mut host_text = serde_json::to_vec_pretty(&host).context(|| "cannot write host.json".to_owned())?;
    host_text.push(b'\n');
    write_file(&app_dir.join(host_json::FILE_NAME), &host_text)?;

    let functions = function_folders(staging)?;
    for name in &functions {
        let relative = Path::new(name).join("function.json");
        let text = std::fs::read(staging.join(&relative)).context(|| format!("cannot read {}", relative.display()))?;
        std::fs::create_dir_all(app_dir.join(name))
            .context(|| format!("cannot create {}", app_dir.join(name).display()))?;
        write_file(&app_dir.join(&relative), &text)?;
    }
    for stale in function_folders(app_dir)? {
        if !functions.contains(&stale) {
            std::fs::remove_dir_all(app_dir.join(&stale)).context(|| format!("cannot remove {stale}"))?;
            status("Removed", format!("`{stale}`, which the app no longer has"));
        }
    }

    // The project's settings, for tools run in the app folder (`func start`); without them,
    // the defaults the app wrote, unless the folder has settings already.
    let settings_target = app_dir.join(settings::FILE_NAME);
    if package.settings_file().is_file() {
        std::fs::copy(package.settings_file(), &settings_target)
            .context(|| format!("cannot copy {}", package.settings_file().display()))?;
    } else if !settings_target.exists() && staging.join(settings::FILE_NAME).is_file() {
        std::fs::copy(staging.join(settings::FILE_NAME), &settings_target)
            .context(|| format!("cannot write {}", settings_target.display()))?;
    }

    let target = app_dir.join(&executable_name);
    if !same_file(&compiled.executable, &target) {
        // A running executable cannot be overwritten on every system, but it can be replaced.
        let _ = std::fs::remove_file(&target);
        std::fs::copy(&compiled.executable, &target)
            .context(|| format!("cannot copy the executable to {}", target.display()))?;
    }
    make_executable(&target)?;
    Ok(target)
}

/// The names of the folders under `dir` that hold a function.json, sorted.
fn function_folders(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(Error::new(format!("cannot list {}: {e}", dir.display()))),
    };
    for entry in entries.flatten() {
        if entry.path().join("function.json").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).context(|| format!("cannot write {}", path.display()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)
        .context(|| format!("cannot read {}", path.display()))?
        .permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions).context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

/// Runs `executable --write-app <dir>`: the app describes itself (functions, host options).
pub fn run_write_app(executable: &Path, dir: &Path) -> Result<()> {
    let output = Command::new(executable)
        .arg("--write-app")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .context(|| format!("cannot run {}", executable.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if stderr.contains("has no functions") {
            return Err(Error::new(format!(
                "the app has no functions: mark at least one fn with `#[azfn::function(...)]` ({})",
                stderr.trim()
            )));
        }
        return Err(Error::new(format!(
            "`{} --write-app {}` failed: {}",
            executable.display(),
            dir.display(),
            stderr.trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata() -> Value {
        let package = |name: &str, dir: &str, deps: Value, bins: &[&str]| {
            let targets: Vec<Value> = bins
                .iter()
                .map(|b| json!({"name": b, "kind": ["bin"]}))
                .chain([json!({"name": name, "kind": ["lib"]})])
                .collect();
            json!({"name": name, "id": format!("path+file://{dir}#{name}@0.1.0"),
                   "manifest_path": format!("{dir}/Cargo.toml"), "dependencies": deps, "targets": targets})
        };
        json!({
            "target_directory": "/ws/target",
            "packages": [
                package("azfn", "/ws/runtime", json!([]), &[]),
                package("quickstart", "/ws/examples/quickstart", json!([{"name": "azfn", "kind": null}]), &["quickstart"]),
                package("tool", "/ws/tool", json!([]), &["tool"]),
                package("tested", "/ws/tested", json!([{"name": "azfn", "kind": "dev"}]), &["tested"]),
            ]
        })
    }

    #[test]
    fn the_only_app_is_chosen_from_the_root() {
        let chosen = choose_package(&metadata(), None, Path::new("/ws")).unwrap();
        assert_eq!(chosen.name, "quickstart");
        assert_eq!(chosen.bin, "quickstart");
        assert_eq!(chosen.dir, PathBuf::from("/ws/examples/quickstart"));
        assert_eq!(chosen.target_dir, PathBuf::from("/ws/target"));
    }

    #[test]
    fn requested_packages_must_exist_and_use_azfn() {
        let error = choose_package(&metadata(), Some("nope"), Path::new("/ws")).unwrap_err();
        assert!(error.message().contains("quickstart"), "{error}");
        let error = choose_package(&metadata(), Some("tool"), Path::new("/ws")).unwrap_err();
        assert!(error.message().contains("does not depend on azfn"), "{error}");
        assert!(choose_package(&metadata(), Some("tested"), Path::new("/ws")).is_err());
    }

    #[test]
    fn release_builds_use_the_tuned_profile() {
        let package = choose_package(&metadata(), None, Path::new("/ws")).unwrap();
        let release = BuildOptions {
            release: true,
            ..BuildOptions::default()
        };
        let release = cargo_build_args(&package, &release).join(" ");
        assert!(release.contains("--profile azfn-release"), "{release}");
        assert!(release.contains("--config profile.azfn-release.inherits=\"release\""));
        assert!(release.contains("--config profile.azfn-release.lto=\"thin\""));
        let debug = cargo_build_args(&package, &BuildOptions::default()).join(" ");
        assert!(!debug.contains("--profile"), "{debug}");
        assert!(!debug.contains("--features"), "{debug}");
        let native = cargo_build_args(&package, &BuildOptions::default().with_native().with_native()).join(" ");
        assert!(native.ends_with("--features azfn/native"), "{native}");
    }

    #[test]
    fn the_executable_comes_from_cargo_messages() {
        let package = choose_package(&metadata(), None, Path::new("/ws")).unwrap();
        let messages = format!(
            "{}\n{}\nnot json\n{}\n",
            json!({"reason": "compiler-artifact", "package_id": "other", "target": {"name": "quickstart"},
                   "executable": "/wrong"}),
            json!({"reason": "compiler-artifact", "package_id": package.id, "target": {"name": "quickstart"},
                   "executable": "/ws/target/azfn-release/quickstart"}),
            json!({"reason": "build-finished", "success": true}),
        );
        assert_eq!(
            executable_from_messages(&messages, &package),
            Some(PathBuf::from("/ws/target/azfn-release/quickstart"))
        );
    }
}
