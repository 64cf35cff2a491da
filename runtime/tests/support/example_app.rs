//! Building one of the runtime's example apps (`runtime/examples/`) for a test that runs it as a
//! process, as the host would: with the same cargo, into the same target folder as the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the example `name` of `azfn` with `features` (comma-separated) and returns its
/// executable. Cargo's own lock serializes concurrent builds; an example already built is only
/// checked.
pub fn build_example(name: &str, features: &str) -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| manifest_dir.join("../target"), PathBuf::from);
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "azfn",
            "--example",
            name,
            "--features",
            features,
        ])
        .current_dir(manifest_dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the {name} example failed");
    target_dir.join("debug/examples").join(name)
}
