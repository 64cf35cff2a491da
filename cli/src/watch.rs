//! `--watch`: notices source changes by polling file modification times. Polling keeps the
//! tool free of platform file-notification dependencies and is cheap for a crate's sources.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often the sources are looked at.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long the sources must stay unchanged before a rebuild starts (editors save in steps).
const SETTLE_TIME: Duration = Duration::from_millis(300);

/// Every file under the given paths with its modification time and size.
pub type Snapshot = BTreeMap<PathBuf, (Option<SystemTime>, u64)>;

/// Reads the current state of `paths` (files, or folders walked recursively; hidden entries
/// and `target` folders are skipped).
pub fn snapshot(paths: &[PathBuf]) -> Snapshot {
    let mut files = Snapshot::new();
    for path in paths {
        collect(path, &mut files);
    }
    files
}

fn collect(path: &Path, files: &mut Snapshot) {
    let Ok(metadata) = std::fs::metadata(path) else { return };
    if metadata.is_file() {
        files.insert(path.to_owned(), (metadata.modified().ok(), metadata.len()));
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        collect(&entry.path(), files);
    }
}

/// Waits until something under `paths` differs from `last` and has settled; `last` becomes
/// the new state.
pub async fn wait_for_change(paths: &[PathBuf], last: &mut Snapshot) {
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        let mut current = snapshot(paths);
        if current == *last {
            continue;
        }
        loop {
            tokio::time::sleep(SETTLE_TIME).await;
            let settled = snapshot(paths);
            if settled == current {
                break;
            }
            current = settled;
        }
        *last = current;
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_see_new_and_changed_files() {
        let dir = std::env::temp_dir().join(format!("azfn-watch-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(dir.join("src/.hidden")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(dir.join("src/.hidden/x"), "x").unwrap();
        let paths = [dir.join("src"), dir.join("Cargo.toml")];
        let before = snapshot(&paths);
        assert_eq!(before.len(), 1);
        std::fs::write(dir.join("src/lib.rs"), "").unwrap();
        assert_ne!(snapshot(&paths), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
