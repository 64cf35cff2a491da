//! Honest statuses, on the wire, from a real app run as the host runs it (`examples/statuses_app.rs`):
//! a function that fails (plain `Err`, panic) is a failed invocation — a non-2xx answer to the
//! host's JSON invocation, a bare 500 to a forwarded request's caller, a line on stderr that the
//! host logs at Error — while an error with a status, or a failure a middleware turns into a
//! response on purpose, is a handled response.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/example_app.rs"]
mod example_app;

#[path = "support/raw_http.rs"]
mod raw_http;

/// The example app, built once.
fn statuses_app() -> PathBuf {
    // The `native` feature only to share the library's build with the native transport's test
    // app; the example serves the custom-handler protocol either way.
    example_app::build_example("statuses_app", "native")
}

/// What a running app printed, read as it prints: a pipe left unread fills (a panic's backtrace
/// alone is kilobytes) and blocks the app.
struct Console {
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Console {
    fn read(child: &mut Child) -> Self {
        fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        }
        Self {
            stdout: drain(child.stdout.take().expect("stdout is piped")),
            stderr: drain(child.stderr.take().expect("stderr is piped")),
        }
    }

    /// Everything printed, once the app has exited: (stdout, stderr).
    fn finish(self) -> (String, String) {
        (self.stdout.join().unwrap(), self.stderr.join().unwrap())
    }
}

/// The app, serving the custom-handler protocol on a free port, its console, and that port.
fn start() -> (Child, Console, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // An empty folder: no host.json, so the route prefix is the default `api`.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("statuses-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(statuses_app())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("RUST_LOG", "info")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the app starts");
    let console = Console::read(&mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the app never listened");
        std::thread::sleep(Duration::from_millis(25));
    }
    (child, console, port)
}

/// Sends one request (`head`: its request line, then any headers of the test's own) and
/// returns the status and the body.
fn send(port: u16, head: &str, invocation_id: &str, body: &str) -> (u16, String) {
    let headers = [("Host", "127.0.0.1"), ("X-Azure-Functions-InvocationId", invocation_id)];
    let raw = raw_http::request(head, &headers, body.as_bytes());
    let answer = raw_http::exchange_blocking(("127.0.0.1", port), &raw);
    (answer.status, answer.text())
}

/// A JSON invocation of `brew`, as the host sends it.
fn invoke(port: u16, invocation_id: &str, mode: &str, rescue: bool) -> (u16, Value) {
    let headers = if rescue {
        json!({"x-rescue": ["yes"]})
    } else {
        json!({})
    };
    let envelope = json!({
        "Data": {"req": {"Url": format!("http://localhost/api/brew/{mode}"), "Method": "GET",
                         "Headers": headers, "Params": {"mode": mode}}},
        "Metadata": {"mode": serde_json::to_string(mode).unwrap()}
    });
    let (status, body) = send(
        port,
        "POST /brew HTTP/1.1\r\nContent-Type: application/json",
        invocation_id,
        &envelope.to_string(),
    );
    (status, serde_json::from_str(&body).unwrap())
}

#[test]
fn failures_are_failed_invocations_and_handled_errors_are_responses() {
    let (mut child, console, port) = start();

    // Through the JSON envelope: a failure is a non-2xx answer, so the host records a failed
    // invocation (and answers the HTTP caller its own 500); the body says why, for the host.
    let (status, body) = invoke(port, "env-fail", "fail", false);
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"error": "the function returned an error: no water (the tank's password is hunter2)"})
    );
    let (status, body) = invoke(port, "env-panic", "panic", false);
    assert_eq!(status, 500);
    assert_eq!(body, json!({"error": "the function panicked: the kettle exploded"}));

    // An error with a status is the function's answer: 200 to the host, that response inside.
    let (status, body) = invoke(port, "env-missing", "missing", false);
    assert_eq!(status, 200);
    assert_eq!(body["ReturnValue"]["statusCode"], 404);
    assert_eq!(body["ReturnValue"]["body"], "no such tea");

    // A middleware that turns a failure into a response on purpose: a handled response.
    for (id, mode, said) in [
        (
            "env-rescued-fail",
            "fail",
            "rescued: the function returned an error: no water (the tank's password is hunter2)",
        ),
        (
            "env-rescued-panic",
            "panic",
            "rescued: the function panicked: the kettle exploded",
        ),
    ] {
        let (status, body) = invoke(port, id, mode, true);
        assert_eq!(status, 200, "{mode}: {body}");
        assert_eq!(body["ReturnValue"]["statusCode"], 503);
        assert_eq!(body["ReturnValue"]["body"], said);
    }

    // Forwarded requests: the worker answers the caller itself, with no details.
    for (id, mode) in [("fwd-fail", "fail"), ("fwd-panic", "panic")] {
        let (status, body) = send(port, &format!("GET /api/brew/{mode} HTTP/1.1"), id, "");
        assert_eq!((status, body.as_str()), (500, "internal server error"), "{mode}");
    }
    let (status, body) = send(port, "GET /api/brew/missing HTTP/1.1", "fwd-missing", "");
    assert_eq!((status, body.as_str()), (404, "no such tea"));
    let (status, body) = send(port, "GET /api/brew/fail HTTP/1.1\r\nx-rescue: yes", "fwd-rescued", "");
    assert_eq!(status, 503);
    assert!(body.starts_with("rescued: "), "{body}");

    // A forwarded invocation that succeeds has no envelope to carry its log lines: they go to
    // the console, which the host keeps.
    let (status, body) = send(port, "GET /api/brew/green HTTP/1.1", "fwd-green", "");
    assert_eq!((status, body.as_str()), (200, "tea"));

    child.kill().expect("the app is stopped");
    let _ = child.wait();
    let (stdout, stderr) = console.finish();
    assert!(
        stdout.contains("[brew fwd-green]") && stdout.contains("brewing green"),
        "no log line of fwd-green in:\n{stdout}"
    );
    // Every failure, forwarded ones included, has its line on stderr (the host's Error level);
    // handled responses have none.
    for (id, why) in [
        ("env-fail", "the function returned an error: no water"),
        ("env-panic", "the function panicked: the kettle exploded"),
        ("fwd-fail", "the function returned an error: no water"),
        ("fwd-panic", "the function panicked: the kettle exploded"),
    ] {
        let line = format!("azfn: function `brew` invocation {id} failed: {why}");
        assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
    }
    for id in [
        "env-missing",
        "env-rescued-fail",
        "env-rescued-panic",
        "fwd-missing",
        "fwd-rescued",
    ] {
        assert!(
            !stderr.contains(&format!("invocation {id} failed")),
            "{id} is not a failure:\n{stderr}"
        );
    }
}
