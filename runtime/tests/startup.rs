//! Async start-up and per-invocation services.
//!
//! Start-up, on the wire, from a real app run as the host runs it (`examples/startup_app.rs`):
//! its async state factory runs before the worker reports ready (the custom handler's port
//! answers; over gRPC, the `WorkerInitResponse`), and a failure stops start-up with
//! `azfn: start-up failed: <type>: <error>` on stderr and a non-zero exit. In process, through
//! `TestApp`: factories' values as `State<T>`, and `Scoped<T>` values built per invocation,
//! distinct between concurrent invocations and dropped when the invocation ends.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use azfn::prelude::*;
use azfn::testing::{TestApp, Trigger};
use azfn::{App, Invocation, InvocationError, Scoped};
use serde_json::{Value, json};

#[path = "support/example_app.rs"]
mod example_app;

#[path = "support/raw_http.rs"]
mod raw_http;

// ---------------------------------------------------------------------------------------------
// The app as the host runs it.
// ---------------------------------------------------------------------------------------------

/// The example app, built once (with `native`, so both transports are in it).
fn startup_app() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| example_app::build_example("startup_app", "native"))
        .clone()
}

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("startup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the app as the custom-handler host does, with `env` added; returns it and its port.
fn start_custom_handler(dir: &Path, env: &[(&str, &str)]) -> (Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(startup_app())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the app starts");
    (child, port)
}

/// Waits for the process to exit (at most 30 s) and returns what it wrote.
fn exited(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the app did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Whether something answers on the port.
fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The host's JSON invocation of `greet`; returns the status and the body.
fn invoke_greet(port: u16) -> (u16, Value) {
    let envelope =
        json!({"Data": {"req": {"Url": "http://localhost/api/greet", "Method": "GET", "Headers": {}}}, "Metadata": {}});
    let headers = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("X-Azure-Functions-InvocationId", "s-1"),
    ];
    let raw = raw_http::request("POST /greet HTTP/1.1", &headers, envelope.to_string().as_bytes());
    let answer = raw_http::exchange_blocking(("127.0.0.1", port), &raw);
    (answer.status, serde_json::from_str(&answer.text()).unwrap())
}

#[test]
fn the_custom_handler_answers_only_once_its_factories_have_run() {
    let dir = scratch("gate");
    let gate = dir.join("open");
    let (mut child, port) = start_custom_handler(&dir, &[("STARTUP_APP_GATE", gate.to_str().unwrap())]);
    // The factory waits on the gate: the host's readiness probe must find nothing listening.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!answers(port), "the port answered before the factory finished");
    assert!(child.try_wait().unwrap().is_none(), "the app exited while starting");

    std::fs::write(&gate, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers(port) {
        assert!(Instant::now() < deadline, "the app never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, body) = invoke_greet(port);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ReturnValue"]["body"], "hello from start-up");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_failing_factory_stops_the_custom_handler_with_the_message() {
    for (mode, said) in [
        ("error", "the greeting service answered 503"),
        ("panic", "the factory panicked: the greeting service is gone"),
    ] {
        let dir = scratch(mode);
        let (child, port) = start_custom_handler(&dir, &[("STARTUP_APP_FAIL", mode)]);
        let output = exited(child);
        assert!(!output.status.success(), "{mode}: the app exited successfully");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = format!("azfn: start-up failed: startup_app::Greeting: {said}");
        assert!(
            stderr.lines().any(|l| l == line),
            "{mode}: expected `{line}` in:\n{stderr}"
        );
        assert!(!answers(port), "{mode}: something listens on the port");
    }
}

#[cfg(feature = "native")]
mod grpc {
    use super::*;
    use azfn::native::proto::{StreamingMessage, WorkerInitRequest, status_result::Status, streaming_message::Content};
    use azfn::native::server::{Server, Stream};

    /// Starts the app as the gRPC host does, with `env` added, and takes its stream once it has
    /// sent `StartStream`.
    async fn start_grpc(dir: &Path, env: &[(&str, &str)]) -> (Child, Stream) {
        let mut server = Server::start(64 << 20).await.expect("the host listens");
        let uri = format!("http://127.0.0.1:{}/", server.port);
        let child = Command::new(startup_app())
            .args([
                "--functions-uri",
                &uri,
                "--functions-worker-id",
                "w-1",
                "--functions-request-id",
                "r-1",
            ])
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the app starts");
        let mut stream = tokio::time::timeout(Duration::from_secs(30), server.calls.recv())
            .await
            .expect("the app connects in time")
            .expect("a call");
        let first = next(&mut stream, Duration::from_secs(30))
            .await
            .expect("a first message");
        assert!(matches!(first.content, Some(Content::StartStream(_))), "{first:?}");
        // The stream ends when the server goes: keep it for the test's length.
        std::mem::forget(server);
        (child, stream)
    }

    async fn next(stream: &mut Stream, patience: Duration) -> Option<StreamingMessage> {
        match tokio::time::timeout(patience, stream.inbound.recv()).await {
            Ok(Some(message)) => Some(message.expect("a well-formed message")),
            Ok(None) | Err(_) => None,
        }
    }

    fn send_init(stream: &Stream) {
        let init = StreamingMessage {
            request_id: "init-1".to_owned(),
            content: Some(Content::WorkerInitRequest(WorkerInitRequest {
                host_version: "4.1049.0".to_owned(),
                ..WorkerInitRequest::default()
            })),
        };
        stream.outbound.send(init).expect("the stream is open");
    }

    /// The `WorkerInitResponse`, skipping log lines.
    async fn init_response(stream: &mut Stream) -> azfn::native::proto::WorkerInitResponse {
        loop {
            let message = next(stream, Duration::from_secs(30))
                .await
                .expect("an answer to the init");
            match message.content {
                Some(Content::WorkerInitResponse(response)) => return response,
                Some(Content::RpcLog(_)) => {}
                other => panic!("expected WorkerInitResponse, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_grpc_worker_answers_its_init_only_once_its_factories_have_run() {
        let dir = scratch("grpc-gate");
        let gate = dir.join("open");
        let (mut child, mut stream) = start_grpc(&dir, &[("STARTUP_APP_GATE", gate.to_str().unwrap())]).await;
        send_init(&stream);
        // While the factory waits, no answer comes.
        assert!(next(&mut stream, Duration::from_millis(500)).await.is_none());
        std::fs::write(&gate, "").unwrap();
        let response = init_response(&mut stream).await;
        let result = response.result.expect("a result");
        assert_eq!(result.status, Status::Success as i32, "{result:?}");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[tokio::test]
    async fn a_placeholder_runs_its_factories_only_with_the_apps_settings() {
        let dir = scratch("grpc-placeholder");
        // The placeholder's own environment would fail start-up; it must not run it.
        let (child, mut stream) = start_grpc(
            &dir,
            &[("WEBSITE_PLACEHOLDER_MODE", "1"), ("STARTUP_APP_FAIL", "error")],
        )
        .await;
        send_init(&stream);
        let response = init_response(&mut stream).await;
        assert_eq!(response.result.expect("a result").status, Status::Success as i32);

        // Specialized with settings that fail: the restarted app runs its factory, and the
        // reload's answer carries the failure.
        let reload = StreamingMessage {
            request_id: "reload-1".to_owned(),
            content: Some(Content::FunctionEnvironmentReloadRequest(
                azfn::native::proto::FunctionEnvironmentReloadRequest {
                    environment_variables: [("STARTUP_APP_FAIL".to_owned(), "error".to_owned())].into(),
                    function_app_directory: dir.display().to_string(),
                },
            )),
        };
        stream.outbound.send(reload).expect("the stream is open");
        let result = loop {
            let message = next(&mut stream, Duration::from_secs(60))
                .await
                .expect("an answer to the reload");
            match message.content {
                Some(Content::FunctionEnvironmentReloadResponse(response)) => break response.result.expect("a result"),
                Some(Content::RpcLog(_)) => {}
                other => panic!("expected FunctionEnvironmentReloadResponse, got {other:?}"),
            }
        };
        assert_eq!(result.status, Status::Failure as i32);
        let said = "start-up failed: startup_app::Greeting: the greeting service answered 503";
        assert_eq!(result.exception.expect("an exception").message, said);
        let output = tokio::task::spawn_blocking(move || exited(child)).await.unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.lines().any(|l| l == format!("azfn: {said}")), "{stderr}");
    }

    #[tokio::test]
    async fn a_failing_factory_fails_the_grpc_init_and_stops_the_worker() {
        let dir = scratch("grpc-fail");
        let (child, mut stream) = start_grpc(&dir, &[("STARTUP_APP_FAIL", "error")]).await;
        send_init(&stream);
        let response = init_response(&mut stream).await;
        let result = response.result.expect("a result");
        assert_eq!(result.status, Status::Failure as i32);
        let said = "start-up failed: startup_app::Greeting: the greeting service answered 503";
        assert_eq!(result.exception.expect("an exception").message, said);
        let output = tokio::task::spawn_blocking(move || exited(child)).await.unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.lines().any(|l| l == format!("azfn: {said}")), "{stderr}");
    }
}

// ---------------------------------------------------------------------------------------------
// In process, through TestApp.
// ---------------------------------------------------------------------------------------------

/// Built by an async state factory.
struct Catalog(Vec<&'static str>);

impl Catalog {
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[function(
    queue_trigger(queue_name = "startup-catalog"),
    queue_output(queue_name = "startup-catalog-out")
)]
fn catalog_size(_message: String, catalog: State<Catalog>) -> usize {
    catalog.len()
}

#[tokio::test]
async fn test_app_start_runs_the_factories_and_reports_the_first_failure() {
    let app = App::new().state_async(|| async {
        tokio::task::yield_now().await;
        Ok::<_, String>(Catalog(vec!["tea", "cake"]))
    });
    let app = TestApp::start(app).await.expect("start-up succeeds");
    let outputs = app.invoke("catalog_size", Trigger::queue(&"count")).await.unwrap();
    assert_eq!(outputs.return_value::<usize>().unwrap().unwrap(), 2);

    let failing = App::new()
        .state_async(|| async { Ok::<_, String>(Catalog(Vec::new())) })
        .state_async(|| async { Err::<u32, _>("the token endpoint refused: 401") });
    let error = TestApp::start(failing).await.unwrap_err();
    assert_eq!(error.service, "u32");
    assert_eq!(
        error.to_string(),
        "start-up failed: u32: the token endpoint refused: 401"
    );
}

#[test]
#[should_panic(expected = "create the TestApp with `TestApp::start(app).await`")]
fn test_app_new_refuses_an_app_with_async_factories() {
    let _ = TestApp::new(App::new().state_async(|| async { Ok::<_, String>(Catalog(Vec::new())) }));
}

/// A unit of work: records when it is built and dropped.
struct UnitOfWork {
    serial: usize,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(format!("dropped {}", self.serial));
    }
}

/// A request-scoped tag, built by a synchronous factory.
struct RequestTag(String);

/// Both concurrent invocations wait here, so each holds its unit of work while the other does.
static BOTH_RUNNING: std::sync::LazyLock<tokio::sync::Barrier> =
    std::sync::LazyLock::new(|| tokio::sync::Barrier::new(2));

#[function(
    queue_trigger(queue_name = "startup-work"),
    queue_output(queue_name = "startup-work-out")
)]
async fn do_work(message: String, work: Scoped<UnitOfWork>) -> String {
    if message == "together" {
        BOTH_RUNNING.wait().await;
    }
    work.log.lock().unwrap().push(format!("ran {}", work.serial));
    format!("{}", work.serial)
}

#[function(
    queue_trigger(queue_name = "startup-tag"),
    queue_output(queue_name = "startup-tag-out")
)]
fn tagged(_message: String, tag: Scoped<RequestTag>) -> String {
    let RequestTag(text) = tag.into_inner();
    text
}

#[function(
    queue_trigger(queue_name = "startup-plain"),
    queue_output(queue_name = "startup-plain-out")
)]
fn plain(message: String) -> String {
    message
}

/// An app whose unit of work is built asynchronously (for `do_work` only, or for every function
/// with `everywhere`), numbered from 1, logging into `log`; its tag synchronously.
fn scoped_app(log: &Arc<Mutex<Vec<String>>>, everywhere: bool) -> (App, Arc<AtomicUsize>) {
    let serial = Arc::new(AtomicUsize::new(0));
    let tags_built = Arc::new(AtomicUsize::new(0));
    let factory = {
        let (log, serial) = (Arc::clone(log), Arc::clone(&serial));
        move |invocation: &Invocation| {
            let log = Arc::clone(&log);
            let serial = serial.fetch_add(1, Ordering::SeqCst) + 1;
            let fail = invocation.trigger().to_json() == json!("fail");
            async move {
                tokio::task::yield_now().await;
                if fail {
                    return Err("the database refused the transaction".to_owned());
                }
                log.lock().unwrap().push(format!("built {serial}"));
                Ok(UnitOfWork { serial, log })
            }
        }
    };
    let app = if everywhere {
        App::new().scoped_async(factory)
    } else {
        App::new().scoped_async_for(|f| f.name == "do_work", factory)
    };
    let counted = Arc::clone(&tags_built);
    let app = app.scoped(move |invocation: &Invocation| {
        counted.fetch_add(1, Ordering::SeqCst);
        match invocation.trigger().to_json() {
            Value::String(text) if text == "no tag" => Err("the caller sent no tag"),
            Value::String(text) => Ok(RequestTag(format!("tag:{text}"))),
            _ => Err("not text"),
        }
    });
    (app, tags_built)
}

#[tokio::test]
async fn scoped_values_are_per_invocation_and_dropped_at_its_end() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (app, _) = scoped_app(&log, false);
    let app = TestApp::start(app).await.unwrap();

    let (first, second) = tokio::join!(
        app.invoke("do_work", Trigger::queue(&"together")),
        app.invoke("do_work", Trigger::queue(&"together")),
    );
    let mut serials = [first, second].map(|o| o.unwrap().return_value::<String>().unwrap().unwrap());
    serials.sort();
    assert_eq!(serials, ["1", "2"], "each invocation gets its own value");
    // Both were built before either ran (they met at the barrier), and each was dropped by the
    // time its invocation answered.
    let lines = log.lock().unwrap().clone();
    for serial in ["1", "2"] {
        let ran = lines.iter().position(|l| *l == format!("ran {serial}")).unwrap();
        let dropped = lines.iter().position(|l| *l == format!("dropped {serial}")).unwrap();
        assert!(ran < dropped, "{lines:?}");
    }
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("dropped")).count(),
        2,
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_failing_factory_fails_only_its_invocation() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (app, _) = scoped_app(&log, false);
    let app = TestApp::start(app).await.unwrap();

    let error = app.invoke("do_work", Trigger::queue(&"fail")).await.unwrap_err();
    assert!(matches!(error, InvocationError::Scoped { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the scoped service `startup::UnitOfWork` could not be built: the database refused the transaction"
    );
    let outputs = app.invoke("do_work", Trigger::queue(&"alone")).await.unwrap();
    assert_eq!(outputs.return_value::<String>().unwrap().unwrap(), "2");

    let error = app.invoke("tagged", Trigger::queue(&"no tag")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the scoped service `startup::RequestTag` could not be built: the caller sent no tag"
    );
}

#[tokio::test]
async fn sync_factories_run_only_for_functions_that_take_the_value() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (app, tags_built) = scoped_app(&log, false);
    let app = TestApp::start(app).await.unwrap();

    app.invoke("plain", Trigger::queue(&"hi")).await.unwrap();
    assert_eq!(tags_built.load(Ordering::SeqCst), 0);
    let outputs = app.invoke("tagged", Trigger::queue(&"gold")).await.unwrap();
    assert_eq!(outputs.return_value::<String>().unwrap().unwrap(), "tag:gold");
    assert_eq!(tags_built.load(Ordering::SeqCst), 1);
    // `scoped_async_for` left `plain` alone.
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_async_value_no_parameter_takes_is_dropped_with_the_invocation() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (app, _) = scoped_app(&log, true);
    let app = TestApp::start(app).await.unwrap();

    app.invoke("plain", Trigger::queue(&"hi")).await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["built 1", "dropped 1"]);
}

#[tokio::test]
async fn a_missing_or_excluded_factory_is_an_error_naming_the_type_and_the_fix() {
    let app = TestApp::new(App::new());
    let error = app.invoke("tagged", Trigger::queue(&"x")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the scoped service `startup::RequestTag` could not be built: no factory was registered for it: add one with `App::new().scoped(...)` or `App::new().scoped_async(...)`"
    );

    let log = Arc::new(Mutex::new(Vec::new()));
    let app = App::new().scoped_async_for(|f| f.name == "plain", {
        let log = Arc::clone(&log);
        move |_: &Invocation| {
            let log = Arc::clone(&log);
            async move { Ok::<_, String>(UnitOfWork { serial: 0, log }) }
        }
    });
    let app = TestApp::start(app).await.unwrap();
    let error = app.invoke("do_work", Trigger::queue(&"x")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the scoped service `startup::UnitOfWork` could not be built: its `App::scoped_async_for` factory does not apply to the function `do_work`"
    );
}
