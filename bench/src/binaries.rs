//! The servers and apps the runner starts: the package's own binaries, built in the runner's
//! profile and found next to the runner's executable.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, where `cargo build` is run.
pub const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// [`WORKSPACE`] without its `..`, for paths shown to people.
pub fn workspace_root() -> PathBuf {
    Path::new(WORKSPACE)
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(WORKSPACE))
}

pub struct Binaries {
    pub bench_app: PathBuf,
    pub baseline: PathBuf,
    pub grpc_baseline: PathBuf,
    pub manifest_1000: PathBuf,
}

impl Binaries {
    /// Builds the package's binaries (`cargo run` builds only the runner) and returns them.
    pub fn build() -> Result<Binaries, String> {
        let runner = std::env::current_exe().map_err(|e| format!("cannot find the runner's executable: {e}"))?;
        let dir = runner
            .parent()
            .ok_or_else(|| format!("{} has no parent folder", runner.display()))?;
        let release = dir.file_name().is_some_and(|name| name == "release");
        if !release {
            eprintln!("azfn-bench: not a release build; the figures will mean little (run with --release)");
        }
        let mut cargo = Command::new(cargo());
        cargo
            .current_dir(WORKSPACE)
            .args(["build", "-p", "azfn-bench", "--bins"]);
        if release {
            cargo.arg("--release");
        }
        let status = cargo
            .status()
            .map_err(|e| format!("cannot run cargo to build the benchmark binaries: {e}"))?;
        if !status.success() {
            return Err(format!("building the benchmark binaries failed: {status}"));
        }
        let binaries = Binaries {
            bench_app: dir.join("bench-app"),
            baseline: dir.join("baseline"),
            grpc_baseline: dir.join("grpc-baseline"),
            manifest_1000: dir.join("manifest-1000"),
        };
        for binary in [
            &binaries.bench_app,
            &binaries.baseline,
            &binaries.grpc_baseline,
            &binaries.manifest_1000,
        ] {
            if !binary.is_file() {
                return Err(format!("{} was not built", binary.display()));
            }
        }
        Ok(binaries)
    }
}

/// The cargo that started the runner, else the one on `PATH`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// A file's size in bytes.
pub fn file_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read the size of {}: {e}", path.display()))
}
