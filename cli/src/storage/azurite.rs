//! Azurite, the Azure Storage emulator, for `UseDevelopmentStorage=true`.
//!
//! `start` uses an Azurite already listening on 127.0.0.1 (blob 10000, queue 10001, table
//! 10002), or starts one: from the tool's cache folder (`$AZFN_CACHE_DIR/azurite`, else
//! `$XDG_CACHE_HOME/azfn/azurite`, else `~/.cache/azfn/azurite`), installed there from npm on
//! first use. The data lives in a folder the caller chooses (beside the app folder), so queued
//! messages and blobs survive a restart; the emulator stops with the host.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::account::{DEVELOPMENT_BLOB_PORT, DEVELOPMENT_QUEUE_PORT};
use crate::console;

/// The Azurite release the tool installs (`scripts/setup-azurite` installs the same).
pub const AZURITE_VERSION: &str = "3.37.0";
/// Azurite's table port: started too, so that a Core Tools habit (tables on 10002) finds it.
pub const TABLE_PORT: u16 = 10002;
/// How long a starting Azurite may take to listen.
const START_WAIT: Duration = Duration::from_secs(60);

/// An Azurite this host started; stopped when dropped or by [`Azurite::stop`].
#[derive(Debug)]
pub struct Azurite {
    child: Child,
}

/// How long a stopping Azurite may take to save its data.
const STOP_WAIT: Duration = Duration::from_secs(10);

impl Azurite {
    /// Stops the emulator and waits for it to end. It gets SIGINT first, on which it saves its
    /// metadata (a kill would lose what it has not saved yet, such as the last messages).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await;
            if tokio::time::timeout(STOP_WAIT, self.child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The tool's cache folder for Azurite.
pub fn install_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let cache = non_empty("AZFN_CACHE_DIR")
        .or_else(|| non_empty("XDG_CACHE_HOME").map(|d| d.join("azfn")))
        .or_else(|| non_empty("HOME").map(|d| d.join(".cache").join("azfn")))?;
    Some(cache.join("azurite"))
}

/// The `azurite` launcher in an install folder.
fn launcher(dir: &Path) -> PathBuf {
    dir.join("node_modules").join(".bin").join("azurite")
}

async fn listening(port: u16) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(("127.0.0.1", port))).await,
        Ok(Ok(_))
    )
}

/// Makes sure Azurite serves blobs and queues on the standard ports: `Ok(None)` when one
/// already does, else the one started here with its data in `data_dir`.
///
/// # Errors
///
/// When only some of the ports are taken, when Node.js or npm is missing, or when the install
/// or the start fails.
pub async fn ensure_running(data_dir: &Path) -> Result<Option<Azurite>, String> {
    let blob = listening(DEVELOPMENT_BLOB_PORT).await;
    let queue = listening(DEVELOPMENT_QUEUE_PORT).await;
    match (blob, queue) {
        (true, true) => {
            console::line(format!(
                "Using the storage emulator already listening on 127.0.0.1:{DEVELOPMENT_BLOB_PORT} (blob) and \
                 :{DEVELOPMENT_QUEUE_PORT} (queue)"
            ));
            return Ok(None);
        }
        (false, false) => {}
        _ => {
            let (taken, free) = if blob {
                (DEVELOPMENT_BLOB_PORT, DEVELOPMENT_QUEUE_PORT)
            } else {
                (DEVELOPMENT_QUEUE_PORT, DEVELOPMENT_BLOB_PORT)
            };
            return Err(format!(
                "UseDevelopmentStorage=true needs Azurite on 127.0.0.1:{DEVELOPMENT_BLOB_PORT} and \
                 :{DEVELOPMENT_QUEUE_PORT}, but port {taken} is taken and {free} is free: stop what holds {taken}, \
                 or start Azurite with both services"
            ));
        }
    }
    let dir = install_dir().ok_or("cannot find a cache folder for Azurite: set HOME or AZFN_CACHE_DIR")?;
    if !launcher(&dir).exists() {
        install(&dir).await?;
    }
    match start(&dir, data_dir).await {
        Ok(azurite) => Ok(Some(azurite)),
        Err(e) if e == ANOTHER_STARTED => Ok(None),
        Err(e) => Err(e),
    }
}

/// What [`start`] says when its emulator could not listen because another one just started.
const ANOTHER_STARTED: &str = "another Azurite started meanwhile";

/// `npm install --prefix DIR azurite@VERSION`, with a progress line.
async fn install(dir: &Path) -> Result<(), String> {
    let missing = |tool: &str| {
        format!(
            "AzureWebJobsStorage is UseDevelopmentStorage=true, and no Azurite listens on 127.0.0.1:{DEVELOPMENT_BLOB_PORT}; \
             installing it needs {tool}, which is not installed. Install Node.js and npm (Debian/Ubuntu: \
             `apt-get install nodejs npm`, others: https://nodejs.org), or start Azurite yourself"
        )
    };
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if !found {
            return Err(missing(tool));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    console::line(format!(
        "Installing the storage emulator Azurite {AZURITE_VERSION} from npm into {} (first use only)…",
        dir.display()
    ));
    let output = Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(dir)
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .arg(format!("azurite@{AZURITE_VERSION}"))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !output.status.success() || !launcher(dir).exists() {
        return Err(format!(
            "`npm install --prefix {} azurite@{AZURITE_VERSION}` failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    console::line("Azurite installed");
    Ok(())
}

async fn start(dir: &Path, data_dir: &Path) -> Result<Azurite, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let errors_file = data_dir.join("azurite.err");
    let errors =
        std::fs::File::create(&errors_file).map_err(|e| format!("cannot create {}: {e}", errors_file.display()))?;
    let mut child = Command::new(launcher(dir))
        .arg("--silent")
        .arg("--location")
        .arg(data_dir)
        .args(["--blobPort", &DEVELOPMENT_BLOB_PORT.to_string()])
        .args(["--queuePort", &DEVELOPMENT_QUEUE_PORT.to_string()])
        .args(["--tablePort", &TABLE_PORT.to_string()])
        // The SDK speaks a newer service version than some Azurite releases list.
        .args(["--skipApiVersionCheck", "--disableTelemetry", "--loose"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(errors)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launcher(dir).display()))?;
    let started = tokio::time::Instant::now();
    while started.elapsed() < START_WAIT {
        if listening(DEVELOPMENT_BLOB_PORT).await && listening(DEVELOPMENT_QUEUE_PORT).await {
            console::line(format!(
                "Started the storage emulator Azurite on 127.0.0.1:{DEVELOPMENT_BLOB_PORT}-{TABLE_PORT} (data in {})",
                data_dir.display()
            ));
            return Ok(Azurite { child });
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another host started one at the same moment: use it.
            if listening(DEVELOPMENT_BLOB_PORT).await && listening(DEVELOPMENT_QUEUE_PORT).await {
                console::line("Using the storage emulator another process started meanwhile");
                return Err(ANOTHER_STARTED.into());
            }
            let stderr = std::fs::read_to_string(&errors_file).unwrap_or_default();
            return Err(format!("Azurite exited at start ({status}): {}", stderr.trim()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.start_kill();
    Err(format!(
        "Azurite did not listen on 127.0.0.1:{DEVELOPMENT_BLOB_PORT} within {} s",
        START_WAIT.as_secs()
    ))
}
