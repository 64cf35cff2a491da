//! `cargo azfn pack --dockerfile`: a multi-stage Dockerfile that builds the app inside the
//! image, so an image can be built anywhere Docker runs, with no Rust on the machine.
//!
//! - The build context is the Cargo workspace root (the package root for a single-package
//!   app): the Dockerfile and a `.dockerignore` are written there, since the build needs
//!   Cargo.lock and every workspace member.
//! - The build stage is the official `rust` image on Debian bullseye (glibc 2.31), no newer than
//!   the Functions images ([`crate::elf::MAX_GLIBC`]), so the executable runs on them. It
//!   installs `cargo-azfn` from where the app's azfn comes from (the registry version in
//!   Cargo.lock, or the same git repository and reference), then runs `cargo azfn build`, which
//!   runs the app with `--write-app` for the function.json files and merges host.json, as on
//!   the user's machine.
//! - The final stage is [`crate::pack::BASE_IMAGE`] with the app folder in
//!   `/home/site/wwwroot` and the environment Core Tools' `Dockerfile.custom` sets
//!   (`AzureWebJobsScriptRoot`, `AzureFunctionsJobHost__Logging__Console__IsEnabled`), plus
//!   `FUNCTIONS_WORKER_RUNTIME=custom`. (Core Tools starts from `azure-functions/dotnet:4`; a
//!   custom handler needs no language worker, so the smaller `base:4` is enough.)
//!
//! What cannot be built inside is refused before anything is written: azfn as a path
//! dependency, unless it is an azfn checkout inside the workspace (its `cli/` is then built in
//! the image), and path dependencies outside the workspace root (outside the build context).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::build::{self, Package};
use crate::error::{Context, Error, Result};
use crate::pack::BASE_IMAGE;

/// The first line of every Dockerfile this module writes: a file without it is the user's and
/// is never overwritten.
pub const MARKER: &str = "# Written by `cargo azfn pack --dockerfile`";

/// The default build image: the newest Rust on Debian bullseye, whose glibc (2.31) the
/// Functions images have. `--build-arg RUST_IMAGE=rust:<version>-bullseye` pins a version.
pub const RUST_IMAGE: &str = "rust:1-bullseye";

/// What `.dockerignore` leaves out of the build context: build output, git's history, and
/// local settings, which may hold secrets and belong in app settings, never in an image.
pub const IGNORED: &[&str] = &["target", ".git", "**/local.settings.json", "**/*.zip"];

/// Where the image gets `cargo-azfn` from: the source of the app's azfn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliSource {
    /// crates.io, this version requirement (`=0.1.0` when Cargo.lock has the version).
    Registry(String),
    /// The workspace's own member, at this folder relative to the root (an app inside an azfn
    /// checkout, whose azfn is a path dependency).
    Path(String),
    /// A git repository, with `--rev`, `--tag` or `--branch` and its value, if the app gives one.
    Git {
        /// The repository URL.
        url: String,
        /// `("rev" | "tag" | "branch", value)`.
        reference: Option<(String, String)>,
    },
}

/// What the Dockerfile builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    /// The workspace root: the build context, where the Dockerfile goes.
    pub root: PathBuf,
    /// The app's package.
    pub package: String,
    /// Where `cargo-azfn` is installed from in the build stage.
    pub cli: CliSource,
}

/// Finds the build context of the app package (`--package`, or the one `cargo azfn build`
/// would choose) with `cargo metadata`.
pub fn locate(requested: Option<&str>) -> Result<BuildContext> {
    let output = build::cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context(|| "cannot run `cargo metadata`".to_owned())?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context(|| "cannot read `cargo metadata` output".to_owned())?;
    let cwd = std::env::current_dir().context(|| "cannot read the current folder".to_owned())?;
    let package = build::choose_package(&metadata, requested, &cwd)?;
    let root = metadata["workspace_root"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| Error::new("`cargo metadata` gave no workspace root"))?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).ok();
    context_from_metadata(&metadata, &package, lock.as_deref())
}

/// [`locate`]'s work on `cargo metadata --no-deps` output and the Cargo.lock text, if any.
pub fn context_from_metadata(metadata: &Value, package: &Package, lock: Option<&str>) -> Result<BuildContext> {
    let root = metadata["workspace_root"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| Error::new("`cargo metadata` gave no workspace root"))?;
    let packages = metadata["packages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let outside: Vec<String> = packages
        .iter()
        .flat_map(|p| p["dependencies"].as_array().map(Vec::as_slice).unwrap_or_default())
        .filter_map(|d| d["path"].as_str())
        .filter(|path| !Path::new(path).starts_with(&root))
        .map(str::to_owned)
        .collect();
    let app = packages
        .iter()
        .find(|p| p["id"] == package.id.as_str())
        .ok_or_else(|| Error::new(format!("`cargo metadata` does not list {}", package.name)))?;
    let azfn = app["dependencies"]
        .as_array()
        .and_then(|deps| deps.iter().find(|d| d["name"] == "azfn" && d["kind"].is_null()))
        .ok_or_else(|| Error::new(format!("{} does not depend on azfn", package.name)))?;
    let source = azfn["source"].as_str().unwrap_or_default();
    let cli = if let Some(path) = azfn["path"].as_str() {
        checkout_cli(packages, Path::new(path), &root).ok_or_else(|| {
            Error::new(format!(
                "{} depends on azfn by path ({path}), and cargo-azfn is not beside it in this workspace, so the \
                 image cannot install the matching cargo-azfn. Depend on azfn by version or git to build inside \
                 the image, or build here and write a Dockerfile that copies the built folder: `cargo azfn build`, \
                 then `cargo azfn pack --no-build --dir <app folder> --dockerfile`",
                package.name
            ))
        })?
    } else if let Some(git) = source.strip_prefix("git+") {
        git_source(git)
    } else {
        let locked = lock.and_then(locked_registry_version);
        let requirement = azfn["req"].as_str().unwrap_or("*");
        CliSource::Registry(locked.map_or_else(|| requirement.to_owned(), |v| format!("={v}")))
    };
    if !outside.is_empty() {
        return Err(Error::new(format!(
            "path dependencies outside {} cannot be in the image's build context: {}. Move them into the \
             workspace, depend on them by version or git, or build here and use \
             `cargo azfn pack --no-build --dir <app folder> --dockerfile`",
            root.display(),
            outside.join(", ")
        )));
    }
    Ok(BuildContext {
        root,
        package: package.name.clone(),
        cli,
    })
}

/// The cargo-azfn of an azfn checkout that is part of the workspace: the member `cargo-azfn`
/// in the folder beside azfn's (`<checkout>/cli` beside `<checkout>/runtime`), relative to the
/// workspace root.
fn checkout_cli(packages: &[Value], azfn: &Path, root: &Path) -> Option<CliSource> {
    let checkout = azfn.parent()?;
    packages.iter().find_map(|p| {
        let dir = Path::new(p["manifest_path"].as_str()?).parent()?;
        let relative = dir.strip_prefix(root).ok()?;
        (p["name"] == "cargo-azfn" && dir.parent() == Some(checkout))
            .then(|| CliSource::Path(relative.to_string_lossy().replace('\\', "/")))
    })
}

/// `https://host/repo?rev=abc#locked` as cargo writes a git source.
fn git_source(text: &str) -> CliSource {
    let text = text.split('#').next().unwrap_or(text);
    let (url, query) = text.split_once('?').unwrap_or((text, ""));
    let reference = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| matches!(*key, "rev" | "tag" | "branch"))
        .map(|(key, value)| (key.to_owned(), value.to_owned()));
    CliSource::Git {
        url: url.to_owned(),
        reference,
    }
}

/// The version of the registry `azfn` in a Cargo.lock.
fn locked_registry_version(lock: &str) -> Option<String> {
    lock.split("[[package]]").find_map(|entry| {
        let field = |key: &str| {
            entry.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        let registry = field("source").is_some_and(|s| s.starts_with("registry+"));
        (field("name").as_deref() == Some("azfn") && registry)
            .then(|| field("version"))
            .flatten()
    })
}

/// The Dockerfile for `context`.
pub fn dockerfile_text(context: &BuildContext) -> String {
    // A published or git cargo-azfn is installed before the sources are copied, so its layer
    // survives source edits; the workspace's own is built from the copied sources.
    let (install_first, install_from_sources) = match &context.cli {
        CliSource::Registry(version) => (
            format!("RUN cargo install --locked cargo-azfn --version '{version}'\n"),
            String::new(),
        ),
        CliSource::Git { url, reference } => {
            let reference = reference
                .as_ref()
                .map(|(kind, value)| format!(" --{kind} '{value}'"))
                .unwrap_or_default();
            (
                format!("RUN cargo install --locked --git '{url}'{reference} cargo-azfn\n"),
                String::new(),
            )
        }
        CliSource::Path(folder) => (
            String::new(),
            format!("cargo install --locked --path '{folder}' \\\n    && "),
        ),
    };
    let package = &context.package;
    format!(
        r#"{MARKER}: builds the app `{package}` inside the image.
# Build from this folder (the Cargo workspace root, the build context):
#   docker build -t <image> .
# The build stage is Debian bullseye, whose glibc the Functions images have; to pin Rust, pass
#   --build-arg RUST_IMAGE=rust:<version>-bullseye
ARG RUST_IMAGE={RUST_IMAGE}

FROM ${{RUST_IMAGE}} AS build
# cargo-azfn writes the function app folder (function.json files, host.json) from the same azfn
# as the app's.
{install_first}WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    {install_from_sources}cargo azfn build --package '{package}' --out /app \
    && rm -f /app/local.settings.json

FROM {BASE_IMAGE}
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=custom
COPY --from=build /app /home/site/wwwroot
"#
    )
}

/// Writes the Dockerfile and `.dockerignore` at the context's root; returns the Dockerfile's
/// path. A Dockerfile (or `.dockerignore`) the user wrote is left alone, with an error.
pub fn write(context: &BuildContext) -> Result<PathBuf> {
    let dockerfile = context.root.join("Dockerfile");
    let ignore = context.root.join(".dockerignore");
    let ignore_text = format!("# {}\n{}\n", &MARKER[2..], IGNORED.join("\n"));
    for (path, mark) in [
        (&dockerfile, MARKER),
        (&ignore, ignore_text.lines().next().unwrap_or(MARKER)),
    ] {
        if let Ok(existing) = std::fs::read_to_string(path)
            && !existing.starts_with(mark)
        {
            return Err(Error::new(format!(
                "{} exists and was not written by cargo azfn: move it away to let `pack --dockerfile` write one",
                path.display()
            )));
        }
    }
    std::fs::write(&dockerfile, dockerfile_text(context))
        .context(|| format!("cannot write {}", dockerfile.display()))?;
    std::fs::write(&ignore, ignore_text).context(|| format!("cannot write {}", ignore.display()))?;
    Ok(dockerfile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package() -> Package {
        Package {
            name: "shop".to_owned(),
            id: "shop-id".to_owned(),
            bin: "shop".to_owned(),
            dir: PathBuf::from("/ws/shop"),
            target_dir: PathBuf::from("/ws/target"),
        }
    }

    fn metadata(azfn: Value, other: Value) -> Value {
        json!({
            "workspace_root": "/ws",
            "packages": [
                {"id": "shop-id", "name": "shop", "dependencies": [azfn, {"name": "serde", "kind": null, "source": "registry+x", "req": "^1"}]},
                {"id": "lib-id", "name": "lib", "dependencies": [other]}
            ]
        })
    }

    const LOCK: &str = "[[package]]\nname = \"azfn\"\nversion = \"0.3.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"zip\"\n";

    #[test]
    fn the_cli_comes_from_where_azfn_comes_from() {
        let registry = json!({"name": "azfn", "kind": null, "source": "registry+https://github.com/rust-lang/crates.io-index", "req": "^0.3"});
        let inside = json!({"name": "shared", "kind": null, "path": "/ws/shared"});
        let context =
            context_from_metadata(&metadata(registry.clone(), inside.clone()), &package(), Some(LOCK)).unwrap();
        assert_eq!(context.cli, CliSource::Registry("=0.3.1".to_owned()));
        assert_eq!(context.root, PathBuf::from("/ws"));
        let unlocked = context_from_metadata(&metadata(registry, inside.clone()), &package(), None).unwrap();
        assert_eq!(unlocked.cli, CliSource::Registry("^0.3".to_owned()));
        let git =
            json!({"name": "azfn", "kind": null, "source": "git+https://example.com/azfn.git?rev=abc123", "req": "*"});
        let context = context_from_metadata(&metadata(git, inside), &package(), None).unwrap();
        assert_eq!(
            context.cli,
            CliSource::Git {
                url: "https://example.com/azfn.git".to_owned(),
                reference: Some(("rev".to_owned(), "abc123".to_owned()))
            }
        );
        let text = dockerfile_text(&context);
        assert!(
            text.contains("RUN cargo install --locked --git 'https://example.com/azfn.git' --rev 'abc123' cargo-azfn"),
            "{text}"
        );
    }

    #[test]
    fn an_app_inside_an_azfn_checkout_builds_the_checkouts_cli() {
        let metadata = json!({
            "workspace_root": "/ws",
            "packages": [
                {"id": "shop-id", "name": "shop", "manifest_path": "/ws/examples/shop/Cargo.toml",
                 "dependencies": [{"name": "azfn", "kind": null, "path": "/ws/runtime", "req": "*"}]},
                {"id": "cli-id", "name": "cargo-azfn", "manifest_path": "/ws/cli/Cargo.toml", "dependencies": []}
            ]
        });
        let context = context_from_metadata(&metadata, &package(), None).unwrap();
        assert_eq!(context.cli, CliSource::Path("cli".to_owned()));
        let text = dockerfile_text(&context);
        assert!(
            text.contains("COPY . .\nRUN --mount=type=cache,target=/usr/local/cargo/registry \\\n    --mount=type=cache,target=/src/target \\\n    cargo install --locked --path 'cli' \\\n    && cargo azfn build --package 'shop' --out /app"),
            "{text}"
        );
        assert!(!text.contains("RUN cargo install"), "{text}");
    }

    #[test]
    fn what_cannot_be_built_inside_is_refused() {
        let by_path = json!({"name": "azfn", "kind": null, "path": "/elsewhere/azfn/runtime", "req": "*"});
        let none = json!({"name": "serde", "kind": null, "source": "registry+x", "req": "^1"});
        let error = context_from_metadata(&metadata(by_path, none.clone()), &package(), None).unwrap_err();
        assert!(
            error.message().contains("by path") && error.message().contains("--no-build"),
            "{error}"
        );
        let registry = json!({"name": "azfn", "kind": null, "source": "registry+x", "req": "^0.3"});
        let outside = json!({"name": "shared", "kind": null, "path": "/elsewhere/shared"});
        let error = context_from_metadata(&metadata(registry, outside), &package(), None).unwrap_err();
        assert!(error.message().contains("/elsewhere/shared"), "{error}");
    }

    #[test]
    fn the_dockerfile_builds_in_bullseye_and_runs_on_the_base_image() {
        let context = BuildContext {
            root: PathBuf::from("/ws"),
            package: "shop".to_owned(),
            cli: CliSource::Registry("=0.3.1".to_owned()),
        };
        let text = dockerfile_text(&context);
        assert!(text.starts_with(MARKER));
        let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
        assert_eq!(
            stages,
            [
                "FROM ${RUST_IMAGE} AS build",
                "FROM mcr.microsoft.com/azure-functions/base:4"
            ]
        );
        assert!(text.contains("ARG RUST_IMAGE=rust:1-bullseye\n"));
        assert!(text.contains("RUN cargo install --locked cargo-azfn --version '=0.3.1'\n"));
        assert!(text.contains("cargo azfn build --package 'shop' --out /app"));
        assert!(text.contains("COPY --from=build /app /home/site/wwwroot\n"));
        assert!(text.contains("AzureWebJobsScriptRoot=/home/site/wwwroot"));
        assert!(text.contains("AzureFunctionsJobHost__Logging__Console__IsEnabled=true"));
        // The install comes before the sources, so its layer survives source edits.
        assert!(text.find("cargo install").unwrap() < text.find("COPY . .").unwrap());
    }

    #[test]
    fn a_users_dockerfile_is_not_overwritten() {
        let root = std::env::temp_dir().join(format!("azfn-dockerfile-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(&root).unwrap();
        let context = BuildContext {
            root: root.clone(),
            package: "shop".to_owned(),
            cli: CliSource::Registry("=0.3.1".to_owned()),
        };
        let written = write(&context).unwrap();
        // Ours may be written again.
        assert_eq!(write(&context).unwrap(), written);
        let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
        assert!(
            ignore.contains("**/local.settings.json") && ignore.contains("target"),
            "{ignore}"
        );
        std::fs::write(&written, "FROM scratch\n").unwrap();
        let error = write(&context).unwrap_err();
        assert!(error.message().contains("not written by cargo azfn"), "{error}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
