//! What the integration tests share: building the test apps once, starting `cargo azfn start`
//! on a free port and reading its console, and a tiny HTTP/1.1 client. Everything stays on
//! 127.0.0.1, and every wait has a time limit.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The `cargo-azfn` binary under test.
pub const CLI: &str = env!("CARGO_BIN_EXE_cargo-azfn");

/// The repository root (the main workspace).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_owned()
}

/// The main workspace's target folder, shared by every build the tests make so that
/// dependencies are compiled once.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A fresh folder for one test, under cargo's scratch folder for integration tests.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cargo-azfn")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

/// A fresh folder for sources that cargo builds, outside the target folder.
///
/// Sources inside the target folder would be recorded by cargo relative to it, so every copy
/// would share one fingerprint and edits to a copy would go unnoticed. Folders left by earlier
/// runs whose process is gone are removed.
pub fn source_scratch(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join("cargo-azfn-tests");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let pid = file_name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a source folder");
    dir
}

/// `cargo-azfn <args>` in `dir`, with the test's cargo and the shared target folder.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(CLI)
        .args(args)
        .current_dir(dir)
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run cargo-azfn")
}

/// Panics with the command's output unless it succeeded.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The quickstart's app folder, built once with `cargo azfn build --debug`.
pub fn quickstart_app() -> &'static Path {
    static APP: OnceLock<PathBuf> = OnceLock::new();
    APP.get_or_init(|| {
        let out = scratch("quickstart-app");
        let output = cli(
            &workspace_root(),
            &["build", "--debug", "--package", "quickstart", "--out", path_str(&out)],
        );
        assert_success(&output, "cargo azfn build --package quickstart");
        out
    })
}

/// The fixture workspace (`tests/fixtures/apps`), copied to a scratch folder with its azfn
/// dependency pointing at this repository's runtime and the main Cargo.lock, so that it
/// resolves the same dependency versions as the main workspace.
pub fn fixture_workspace() -> &'static Path {
    static WORKSPACE: OnceLock<PathBuf> = OnceLock::new();
    WORKSPACE.get_or_init(|| {
        let dir = source_scratch("fixture-apps");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps");
        copy_dir(&source, &dir);
        // Paths into this repository (the runtime, the quickstart's sources) become absolute.
        let root = format!("{}/", path_str(&workspace_root()));
        for member in [
            "timers",
            "empty",
            "native-quickstart",
            "native-timers",
            "routes",
            "storage",
            "sdk-clients",
            "streaming",
        ] {
            let manifest = dir.join(member).join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).expect("read a fixture manifest");
            let text = text.replace("../../../../../", &root);
            std::fs::write(&manifest, text).expect("write a fixture manifest");
        }
        std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
        dir
    })
}

/// The timer fixture's app folder, built once.
pub fn timers_app() -> &'static Path {
    static APP: OnceLock<PathBuf> = OnceLock::new();
    APP.get_or_init(|| {
        let out = scratch("timers-app");
        let output = cli(
            fixture_workspace(),
            &["build", "--debug", "--package", "timers", "--out", path_str(&out)],
        );
        assert_success(&output, "cargo azfn build --package timers");
        out
    })
}

/// The app folder of a fixture package, built once per package with `cargo azfn build --debug`.
pub fn fixture_app(package: &'static str) -> &'static Path {
    static APPS: Mutex<Vec<(&'static str, &'static Path)>> = Mutex::new(Vec::new());
    let mut apps = APPS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, dir)) = apps.iter().find(|(name, _)| *name == package) {
        return dir;
    }
    let out = scratch(&format!("{package}-app"));
    let output = cli(
        fixture_workspace(),
        &["build", "--debug", "--package", package, "--out", path_str(&out)],
    );
    assert_success(&output, &format!("cargo azfn build --package {package}"));
    let dir: &'static Path = Box::leak(out.into_boxed_path());
    apps.push((package, dir));
    dir
}

/// The quickstart built with azfn's `native` feature, for `start --transport grpc`.
pub fn native_quickstart_app() -> &'static Path {
    fixture_app("native-quickstart")
}

/// The overlapping-routes fixture.
pub fn routes_app() -> &'static Path {
    fixture_app("routes")
}

/// The timer fixture built with azfn's `native` feature.
pub fn native_timers_app() -> &'static Path {
    fixture_app("native-timers")
}

/// `path` as text (test paths are UTF-8).
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("list a folder") {
        let entry = entry.expect("read a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// A copy of `app` for one test, with `settings` added to local.settings.json `Values`.
pub fn app_copy(app: &Path, name: &str, settings: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(name);
    copy_dir(app, &dir);
    let path = dir.join("local.settings.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read local.settings.json")).expect("JSON");
    for (key, value) in settings {
        json["Values"][*key] = (*value).into();
    }
    std::fs::write(&path, json.to_string()).expect("write local.settings.json");
    dir
}

/// A port nothing listens on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The console lines of a running host, filled by a reader thread.
#[derive(Default)]
struct Console {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// `cargo azfn start --no-build` on a free port; stopped with SIGTERM when dropped.
pub struct LocalHost {
    child: Child,
    /// The host's port.
    pub port: u16,
    console: Arc<Console>,
}

impl LocalHost {
    /// Starts the host on the app folder `app` (`--no-build`) and waits until its worker is
    /// ready.
    pub fn start(app: &Path) -> LocalHost {
        LocalHost::start_with(
            &["--no-build", "--dir", path_str(app)],
            &workspace_root(),
            Duration::from_secs(30),
        )
    }

    /// Starts the host on the app folder `app` over the gRPC transport and waits until its
    /// worker is ready.
    pub fn start_grpc(app: &Path) -> LocalHost {
        LocalHost::start_with(
            &["--no-build", "--dir", path_str(app), "--transport", "grpc"],
            &workspace_root(),
            Duration::from_secs(30),
        )
    }

    /// Runs `cargo azfn start <args> --port <free port>` in `dir` and waits up to `limit` until
    /// its worker is ready.
    pub fn start_with(args: &[&str], dir: &Path, limit: Duration) -> LocalHost {
        let port = free_port();
        let port_text = port.to_string();
        let args: Vec<&str> = args.iter().copied().chain(["--port", port_text.as_str()]).collect();
        LocalHost::start_as_user(&args, dir, port, &target_dir(), limit)
    }

    /// Runs `cargo azfn start <args>` in `dir` as a user would (the port comes from `args` or
    /// the project's local.settings.json, and is `port`), building into `target`, and waits up
    /// to `limit` until its worker is ready.
    pub fn start_as_user(args: &[&str], dir: &Path, port: u16, target: &Path, limit: Duration) -> LocalHost {
        let host = LocalHost::spawn(args, dir, port, target);
        host.wait_for("Worker process is ready", limit);
        host
    }

    /// Runs `cargo azfn start <args> --no-storage` in `dir` (serving on `port`, building into
    /// `target`) without waiting for anything. Storage stays off so that tests which are not
    /// about it need no emulator and do not share queues with each other.
    pub fn spawn(args: &[&str], dir: &Path, port: u16, target: &Path) -> LocalHost {
        let args: Vec<&str> = args.iter().copied().chain(["--no-storage"]).collect();
        LocalHost::spawn_with_storage(&args, dir, port, target)
    }

    /// Runs `cargo azfn start <args>` in `dir` with the storage the app's settings name.
    pub fn spawn_with_storage(args: &[&str], dir: &Path, port: u16, target: &Path) -> LocalHost {
        let mut child = Command::new(CLI)
            .arg("start")
            .args(args)
            .current_dir(dir)
            .env("CARGO", env!("CARGO"))
            .env("CARGO_TARGET_DIR", target)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cargo-azfn");
        let console = Arc::new(Console::default());
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let console = console.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut lines) = console.lines.lock() {
                        lines.push(line);
                    }
                    console.changed.notify_all();
                }
            });
        }
        LocalHost { child, port, console }
    }

    /// Waits for a console line containing `text` and returns it.
    pub fn wait_for(&self, text: &str, limit: Duration) -> String {
        self.wait_for_nth(text, 1, limit)
    }

    /// Waits for the `n`th console line containing `text` and returns it.
    pub fn wait_for_nth(&self, text: &str, n: usize, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut lines = self.console.lines.lock().expect("console lock");
        loop {
            if let Some(line) = lines.iter().filter(|l| l.contains(text)).nth(n - 1) {
                return line.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "no console line #{n} containing {text:?} within {limit:?}; console:\n{}",
                    lines.join("\n")
                );
            }
            lines = self
                .console
                .changed
                .wait_timeout(lines, deadline - now)
                .expect("console lock")
                .0;
        }
    }

    /// Every console line so far.
    pub fn console(&self) -> Vec<String> {
        self.console.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The worker's process id, from the latest "ready" line.
    pub fn worker_pid(&self) -> u32 {
        let lines = self.console();
        let line = lines
            .iter()
            .rev()
            .find(|l| l.contains("Worker process is ready (pid "))
            .expect("a ready line");
        let after = &line[line.find("(pid ").expect("pid") + 5..];
        after[..after.find(',').expect("comma")].parse().expect("a pid")
    }

    /// Sends a request to the host.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        http(self.port, method, path, headers, body)
    }
}

impl LocalHost {
    /// Stops the host with SIGTERM and waits up to `limit` for it to end.
    pub fn stop(mut self, limit: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the host did not stop within {limit:?}; console:\n{}",
            self.console().join("\n")
        );
    }
}

impl Drop for LocalHost {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM lets the host stop its worker; kill it outright if it does not stop in time.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read by [`http`].
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The head, lowercased.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`, read to the end (10 s limit).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the host");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Response {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}
