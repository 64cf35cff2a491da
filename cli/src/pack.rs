//! `cargo azfn pack`: a zip for zip deployment (the app folder's content at the zip's root, the
//! Linux x86-64 executable recorded with Unix mode 0755), and with `--no-build --dockerfile` a
//! Dockerfile that copies the built folder onto the official Functions base image. (Without
//! `--no-build`, `--dockerfile` writes one that builds the app inside: [`crate::dockerfile`].)
//!
//! `local.settings.json` stays out of the zip and the image: it is for local runs and may hold
//! secrets (the same rule as `func azure functionapp publish`). Entries are sorted and carry a
//! fixed timestamp, so the same app folder always gives the same zip.
//!
//! Before anything is written, the executable is checked as Azure would find it: a Linux x86-64
//! ELF, needing no newer glibc than the images it runs on ([`crate::elf::MAX_GLIBC`], or the
//! Flex Consumption images' for `--native`, or what `--max-glibc` says), and, for `--native`,
//! able to speak the native runtime's gRPC protocol (azfn's `native` feature compiled in).

use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::app::FunctionApp;
use crate::elf::{self, GlibcVersion};
use crate::error::{Context, Error, Result};

/// The base image of the Dockerfile: the Functions host without a language worker.
pub const BASE_IMAGE: &str = "mcr.microsoft.com/azure-functions/base:4";

/// Files of the app folder that are never deployed.
const LOCAL_ONLY: &[&str] = &["local.settings.json", "Dockerfile", ".dockerignore"];

/// What `pack` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The zip.
    pub zip: PathBuf,
    /// The entries, in order.
    pub entries: Vec<String>,
    /// The Dockerfile, if asked for.
    pub dockerfile: Option<PathBuf>,
    /// What the glibc check found, for the console.
    pub glibc: Option<String>,
}

/// How the executable must fit the images it will run on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageLimits {
    /// The newest glibc the executable may need (default: the images of the package's kind).
    pub max_glibc: Option<GlibcVersion>,
}

/// Packs the app folder `app_dir` into `zip_path` (default: `<app_dir>.zip`).
pub fn pack(app_dir: &Path, zip_path: Option<&Path>, dockerfile: bool, limits: ImageLimits) -> Result<Packed> {
    let app = FunctionApp::load(app_dir)?;
    let executable_name = app.handler.executable.clone();
    let executable = app_dir.join(&executable_name);
    let glibc = check_executable(&executable, limits.max_glibc.unwrap_or(elf::MAX_GLIBC), false)?;
    let zip = zip_path.map_or_else(|| app_dir.with_extension("zip"), Path::to_path_buf);
    let files = deployable_files(app_dir)?;
    write_zip(app_dir, &files, &executable_name, &zip)?;
    let dockerfile = if dockerfile {
        Some(write_dockerfile(app_dir, &executable_name)?)
    } else {
        None
    };
    Ok(Packed {
        zip,
        entries: files,
        dockerfile,
        glibc: Some(glibc),
    })
}

/// Packs the app folder for Azure Functions' native runtime (Flex Consumption): a zip of
/// exactly `app` (the executable, mode 0755) and `host.json`, at the root. The native runtime
/// indexes functions over gRPC, so no function.json is shipped, and host.json loses its
/// `customHandler` section, which would make the host treat the app as a custom handler.
/// The app must be built with azfn's `native` feature.
pub fn pack_native(app_dir: &Path, zip_path: Option<&Path>, limits: ImageLimits) -> Result<Packed> {
    let app = FunctionApp::load(app_dir)?;
    let executable = app_dir.join(&app.handler.executable);
    let glibc = check_executable(
        &executable,
        limits.max_glibc.unwrap_or(elf::FLEX_CONSUMPTION_MAX_GLIBC),
        true,
    )?;
    let host_path = app_dir.join("host.json");
    let host = std::fs::read(&host_path).context(|| format!("cannot read {}", host_path.display()))?;
    let host = native_host_json(&host)?;
    let app_bytes = std::fs::read(&executable).context(|| format!("cannot read {}", executable.display()))?;
    let zip = zip_path.map_or_else(|| app_dir.with_extension("native.zip"), Path::to_path_buf);
    let entries = vec![
        ("app".to_owned(), app_bytes, 0o755),
        ("host.json".to_owned(), host, 0o644),
    ];
    write_entries(&entries, &zip)?;
    Ok(Packed {
        zip,
        entries: entries.into_iter().map(|(name, _, _)| name).collect(),
        dockerfile: None,
        glibc: Some(glibc),
    })
}

/// host.json for the native runtime: the app's, without `customHandler`.
fn native_host_json(host: &[u8]) -> Result<Vec<u8>> {
    let mut host: serde_json::Value =
        serde_json::from_slice(host).map_err(|e| Error::new(format!("host.json is not JSON: {e}")))?;
    if let Some(object) = host.as_object_mut() {
        object.remove("customHandler");
    }
    let mut bytes = serde_json::to_vec_pretty(&host).map_err(|e| Error::new(format!("cannot write host.json: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Checks the executable before it is shipped: a Linux x86-64 ELF, needing no newer glibc than
/// `max_glibc`, and with `native` able to serve the native runtime's gRPC protocol. Returns a
/// line saying what the glibc check found.
pub fn check_executable(executable: &Path, max_glibc: GlibcVersion, native: bool) -> Result<String> {
    let bytes = std::fs::read(executable).context(|| format!("cannot read {}", executable.display()))?;
    if !elf::is_linux_x86_64(&bytes) {
        return Err(Error::new(format!(
            "{} is not a Linux x86-64 executable, which Azure Functions runs: build on Linux x86-64 \
             or pass --target x86_64-unknown-linux-gnu (or x86_64-unknown-linux-musl) with that target installed",
            executable.display()
        )));
    }
    if native {
        check_transport_bytes(&bytes, executable)?;
    }
    let required = elf::glibc_requirement(&bytes).map_err(|e| Error::new(format!("{}: {e}", executable.display())))?;
    match required {
        None => Ok(format!("{} needs no glibc (statically linked)", executable.display())),
        Some(required) if required <= max_glibc => Ok(format!(
            "{} needs glibc {required}; the Azure Functions images have {max_glibc} or newer",
            executable.display()
        )),
        Some(required) => Err(Error::new(format!(
            "{} needs glibc {required}, but the Azure Functions images it would run on have glibc {max_glibc}: \
             the host could not start it (\"version `GLIBC_{required}' not found\"). Build a static executable \
             (`rustup target add x86_64-unknown-linux-musl`, then pass `--target x86_64-unknown-linux-musl`), or \
             build on a system with glibc {max_glibc} or older; if you deploy to an image with a newer glibc \
             (Flex Consumption: {}), say so with `--max-glibc <version>`",
            executable.display(),
            elf::FLEX_CONSUMPTION_MAX_GLIBC
        ))),
    }
}

/// Refuses an executable built without azfn's `native` feature for the native runtime: the
/// host would start it and it would exit at once, again and again.
pub fn check_transport(executable: &Path, native: bool) -> Result<()> {
    if !native {
        return Ok(());
    }
    let bytes = std::fs::read(executable).context(|| format!("cannot read {}", executable.display()))?;
    check_transport_bytes(&bytes, executable)
}

fn check_transport_bytes(bytes: &[u8], executable: &Path) -> Result<()> {
    if elf::contains(bytes, azfn_wire::NATIVE_TRANSPORT_MARKER.as_bytes()) {
        return Ok(());
    }
    Err(Error::new(format!(
        "{} cannot speak the native runtime's gRPC protocol: it was built without azfn's `native` feature. \
         Add it in Cargo.toml: azfn = {{ …, features = [\"native\"] }}",
        executable.display()
    )))
}

/// The app folder's files to deploy, relative, with `/` separators, sorted.
fn deployable_files(app_dir: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    collect(app_dir, "", &mut files)?;
    files.retain(|f| !LOCAL_ONLY.contains(&f.as_str()));
    files.sort();
    Ok(files)
}

fn collect(dir: &Path, prefix: &str, files: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        let kind = entry.file_type().context(|| format!("cannot read {relative}"))?;
        if kind.is_dir() {
            collect(&entry.path(), &format!("{relative}/"), files)?;
        } else if kind.is_file() {
            files.push(relative);
        }
    }
    Ok(())
}

fn write_zip(app_dir: &Path, files: &[String], executable: &str, zip_path: &Path) -> Result<()> {
    let mut entries = Vec::with_capacity(files.len());
    for name in files {
        let mode = if name == executable { 0o755 } else { 0o644 };
        let bytes = std::fs::read(app_dir.join(name)).context(|| format!("cannot read {name}"))?;
        entries.push((name.clone(), bytes, mode));
    }
    write_entries(&entries, zip_path)
}

/// Writes `(name, content, Unix mode)` entries, in order, with a fixed timestamp.
fn write_entries(entries: &[(String, Vec<u8>, u32)], zip_path: &Path) -> Result<()> {
    if let Some(parent) = zip_path.parent() {
        std::fs::create_dir_all(parent).context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = std::fs::File::create(zip_path).context(|| format!("cannot create {}", zip_path.display()))?;
    let mut zip = ZipWriter::new(file);
    for (name, bytes, mode) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(*mode);
        zip.start_file(name.as_str(), options)
            .context(|| format!("cannot add {name} to the zip"))?;
        zip.write_all(bytes)
            .context(|| format!("cannot add {name} to the zip"))?;
    }
    zip.finish()
        .context(|| format!("cannot finish {}", zip_path.display()))?;
    Ok(())
}

/// The Dockerfile for the app folder.
pub fn dockerfile_text(executable: &str) -> String {
    format!(
        r#"# Written by `cargo azfn pack --dockerfile`. Build the image from this folder:
#   docker build -t my-function-app .
# The Functions host in the image starts `{executable}` as its custom handler. The executable must
# run on the image's Debian: build it on an older glibc than the image's, or for
# x86_64-unknown-linux-musl.
FROM {BASE_IMAGE}
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=custom
COPY . /home/site/wwwroot
RUN chmod 0755 /home/site/wwwroot/{executable}
"#
    )
}

fn write_dockerfile(app_dir: &Path, executable: &str) -> Result<PathBuf> {
    let path = app_dir.join("Dockerfile");
    std::fs::write(&path, dockerfile_text(executable)).context(|| format!("cannot write {}", path.display()))?;
    let ignore = app_dir.join(".dockerignore");
    std::fs::write(&ignore, LOCAL_ONLY.join("\n") + "\n").context(|| format!("cannot write {}", ignore.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_checked_against_the_images() {
        // This test's own executable: a glibc-linked Linux x86-64 build of this crate, without
        // the marker of a native app (the marker text is in it, but only as this crate's data).
        let this = std::env::current_exe().unwrap();
        let needed = elf::glibc_requirement(&std::fs::read(&this).unwrap()).unwrap().unwrap();
        assert!(check_executable(&this, needed, false).is_ok());
        let older = GlibcVersion::new(2, 2, 5);
        let message = check_executable(&this, older, false).unwrap_err().message().to_owned();
        assert!(message.contains(&format!("needs glibc {needed}")), "{message}");
        assert!(
            message.contains("x86_64-unknown-linux-musl") && message.contains("--max-glibc"),
            "{message}"
        );
        let dir = std::env::temp_dir().join(format!("azfn-pack-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("script"), b"#!/bin/sh\n").unwrap();
        let message = check_executable(&dir.join("script"), needed, false)
            .unwrap_err()
            .message()
            .to_owned();
        assert!(message.contains("is not a Linux x86-64 executable"), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_dockerfile_uses_the_base_image() {
        let text = dockerfile_text("quickstart");
        assert!(text.contains("FROM mcr.microsoft.com/azure-functions/base:4\n"));
        assert!(text.contains("AzureWebJobsScriptRoot=/home/site/wwwroot"));
        assert!(text.contains("COPY . /home/site/wwwroot"));
        assert!(text.contains("chmod 0755 /home/site/wwwroot/quickstart"));
    }
}
