//! `--watch`: notices source changes through the operating system's file notifications
//! (`notify`: inotify, FSEvents, ReadDirectoryChangesW), and confirms each with a snapshot of
//! modification times and sizes, so that an editor touching a file without changing it does
//! not rebuild. Where notifications cannot be had (a full inotify table, say), it polls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// How often the sources are looked at when notifications are not available.
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

/// Watches `paths` (folders recursively; files through their folder, so that a file created
/// later is seen too) and sends a unit for every event that concerns them. `None` when the
/// system gives no notifications.
fn notifications(paths: &[PathBuf]) -> Option<(notify::RecommendedWatcher, mpsc::UnboundedReceiver<()>)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    // Events may name paths as the system resolves them (macOS reports `/private/var/...`
    // for `/var/...`): both spellings count.
    let watched: Vec<PathBuf> = paths.iter().flat_map(|path| [path.clone(), resolved(path)]).collect();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let concerns_us = event.is_ok_and(|event| {
            event
                .paths
                .iter()
                .any(|changed| watched.iter().any(|path| changed.starts_with(path)))
        });
        if concerns_us {
            let _ = sender.send(());
        }
    })
    .ok()?;
    let mut parents: Vec<&Path> = Vec::new();
    for path in paths {
        if path.is_dir() {
            watcher.watch(path, RecursiveMode::Recursive).ok()?;
        } else if let Some(parent) = path.parent()
            && !parents.contains(&parent)
        {
            parents.push(parent);
        }
    }
    for parent in parents {
        watcher.watch(parent, RecursiveMode::NonRecursive).ok()?;
    }
    Some((watcher, receiver))
}

/// `path` with links resolved, also when only its folder exists yet.
fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .ok()
        .or_else(|| Some(std::fs::canonicalize(path.parent()?).ok()?.join(path.file_name()?)))
        .unwrap_or_else(|| path.to_owned())
}

/// Waits until something under `paths` differs from `last` and has settled; `last` becomes
/// the new state.
pub async fn wait_for_change(paths: &[PathBuf], last: &mut Snapshot) {
    let mut events = notifications(paths);
    // A change made after `last` was taken but before the watcher started sends no event: the
    // first look is at once.
    let mut first_look = true;
    loop {
        if !std::mem::take(&mut first_look) {
            match &mut events {
                Some((_watcher, receiver)) => {
                    if receiver.recv().await.is_none() {
                        events = None;
                        continue;
                    }
                }
                None => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
        let mut current = snapshot(paths);
        if current == *last {
            continue;
        }
        loop {
            tokio::time::sleep(SETTLE_TIME).await;
            if let Some((_watcher, receiver)) = &mut events {
                while receiver.try_recv().is_ok() {}
            }
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

    #[tokio::test]
    async fn a_change_made_before_watching_began_is_noticed() {
        let dir = std::env::temp_dir().join(format!("azfn-watch-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let paths = vec![dir.join("src")];
        let mut last = snapshot(&paths);
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        tokio::time::timeout(Duration::from_secs(5), wait_for_change(&paths, &mut last))
            .await
            .expect("noticed at once");
        assert!(last.contains_key(&dir.join("src/main.rs")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_change_is_noticed_without_polling_and_an_unrelated_one_is_not() {
        let dir = std::env::temp_dir().join(format!("azfn-watch-{}", crate::clock::new_guid()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        let paths = vec![dir.join("src"), dir.join("host.json")];
        let mut last = snapshot(&paths);
        let waiting = {
            let paths = paths.clone();
            tokio::spawn(async move {
                wait_for_change(&paths, &mut last).await;
                last
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::fs::write(dir.join("unrelated.txt"), "x").unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(!waiting.is_finished(), "a file outside the sources changes nothing");
        // A file that did not exist when watching began.
        std::fs::write(dir.join("host.json"), "{}").unwrap();
        let last = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("noticed in time")
            .unwrap();
        assert!(last.contains_key(&dir.join("host.json")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
