//! The catalog app's function app folder, written by the binary itself, matches the reviewed
//! snapshots in `tests/expected/` (one `function.json` per function, byte for byte).
//!
//! After an intended change, rewrite the snapshots with
//! `cargo run -p catalog -- --write-app /tmp/app` and copy `*/function.json` over, then review
//! the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_catalog");

fn expected_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected")
}

#[test]
fn the_written_manifest_matches_the_snapshots() {
    let dir = std::env::temp_dir().join(format!("azfn-catalog-app-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(EXE)
        .arg("--write-app")
        .arg(&dir)
        .status()
        .expect("the app runs");
    assert!(status.success(), "--write-app failed: {status}");

    let mut expected: Vec<String> = std::fs::read_dir(expected_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("function.json").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, expected, "the app's functions differ from the snapshots");

    for name in &expected {
        let got = std::fs::read_to_string(dir.join(name).join("function.json")).unwrap();
        let want = std::fs::read_to_string(expected_dir().join(format!("{name}.json"))).unwrap();
        assert_eq!(
            got, want,
            "{name}/function.json differs from tests/expected/{name}.json"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_manifest_uses_the_services_the_app_is_about() {
    let types: Vec<String> = std::fs::read_dir(expected_dir())
        .unwrap()
        .flat_map(|e| {
            let json: serde_json::Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
            json["bindings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["type"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for wanted in [
        "serviceBusTrigger",
        "serviceBus",
        "eventHubTrigger",
        "cosmosDBTrigger",
        "cosmosDB",
        "table",
        "eventGridTrigger",
        "eventGrid",
        "sqlTrigger",
        "sql",
    ] {
        assert!(types.iter().any(|t| t == wanted), "no {wanted} binding");
    }
}
