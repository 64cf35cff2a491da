//! `cargo azfn start --transport grpc` end to end: the local host plays the host's side of the
//! gRPC language-worker protocol to the quickstart (and the timer fixture) built with azfn's
//! `native` feature, and the user sees what the custom-handler transport shows: the same routes,
//! keys, admin API, timers, console lines and restarts. Everything is on 127.0.0.1 and every wait
//! is bounded.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{
    LocalHost, app_copy, assert_success, cli, native_quickstart_app, native_timers_app, path_str, workspace_root,
};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn the_worker_is_started_with_the_hosts_grpc_arguments() {
    let host = LocalHost::start_grpc(native_quickstart_app());
    let started = host.wait_for("Worker process started", 5 * SECOND);
    for flag in [
        "--functions-uri http://127.0.0.1:",
        "--functions-worker-id ",
        "--functions-request-id ",
        "--functions-grpc-max-message-length 2147483647",
        "--host 127.0.0.1 --port ",
        "--workerId ",
        "--requestId ",
        "--grpcMaxMessageLength 2147483647",
    ] {
        assert!(started.contains(flag), "{flag} missing: {started}");
    }
    // The functions come from the worker (worker indexing) and are listed once it is ready.
    host.wait_for(
        &format!("hello: [GET] http://localhost:{}/api/hello", host.port),
        5 * SECOND,
    );
    host.wait_for("ship: queueTrigger", 5 * SECOND);
    let listed = host.request("GET", "/admin/functions/greet", &[], "").json();
    assert_eq!(listed["language"], "native");
    assert_eq!(
        listed["invoke_url_template"],
        format!("http://localhost:{}/api/greet/{{name:alpha}}", host.port)
    );
    let status = host.request("GET", "/admin/host/status", &[], "").json();
    assert_eq!(status["state"], "Running");
}

#[test]
fn http_routes_queries_bodies_and_unknown_routes() {
    let host = LocalHost::start_grpc(native_quickstart_app());

    let hello = host.request("GET", "/api/hello?name=Ferris", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, Ferris!"));
    assert!(hello.head.contains("content-type: text/plain"), "{}", hello.head);
    host.wait_for("Executed 'Functions.hello' (Succeeded", 5 * SECOND);

    // A route parameter, with its constraint.
    let greet = host.request("GET", "/api/greet/Bob", &[], "");
    assert_eq!(greet.status, 200, "{greet:?}");
    assert_eq!(greet.json(), json!({"greeting": "Hello, Bob!"}));
    assert_eq!(host.request("GET", "/api/greet/123", &[], "").status, 404);

    // A POST with a JSON body: the HTTP response and a queue message per order.
    let accepted = host.request(
        "POST",
        "/api/orders",
        &[("content-type", "application/json")],
        r#"[{"id": 1, "item": "tea", "quantity": 2}, {"id": 2, "item": "cake", "quantity": 1}]"#,
    );
    assert_eq!(accepted.status, 202, "{accepted:?}");
    assert_eq!(accepted.json(), json!({"accepted": 2}));
    host.wait_for(
        r#"accept → queue 'orders': {"id":1,"item":"tea","quantity":2}"#,
        5 * SECOND,
    );
    host.wait_for(
        r#"accept → queue 'orders': {"id":2,"item":"cake","quantity":1}"#,
        5 * SECOND,
    );

    // Unknown routes and methods answer 404 without reaching the worker.
    assert_eq!(host.request("GET", "/api/nothing/here", &[], "").status, 404);
    host.wait_for("404: no function matches GET /api/nothing/here", 5 * SECOND);
    assert_eq!(host.request("POST", "/api/hello", &[], "").status, 404);
    let line = host.wait_for("404: POST /api/hello", 5 * SECOND);
    assert!(line.contains("allowed: GET"), "{line}");
}

#[test]
fn keys_guard_grpc_functions_too() {
    let app = app_copy(
        native_quickstart_app(),
        "grpc-keys",
        &[("AzureWebJobs.FunctionKey", "fkey"), ("AzureWebJobs.MasterKey", "mkey")],
    );
    let host = LocalHost::start_with(
        &[
            "--no-build",
            "--dir",
            path_str(&app),
            "--transport",
            "grpc",
            "--enable-auth",
        ],
        &workspace_root(),
        std::time::Duration::from_secs(30),
    );
    let order = r#"[{"id": 7, "item": "cake", "quantity": 1}]"#;
    assert_eq!(host.request("POST", "/api/orders", &[], order).status, 401);
    assert_eq!(host.request("POST", "/api/orders?code=fkey", &[], order).status, 202);
    assert_eq!(host.request("GET", "/api/hello", &[], "").status, 200);
    assert_eq!(host.request("POST", "/admin/functions/ship", &[], "").status, 401);
}

#[test]
fn admin_invoke_of_a_queue_function() {
    let host = LocalHost::start_grpc(native_quickstart_app());
    let input = r#"{"input": "{\"id\": 3, \"item\": \"tea\", \"quantity\": 2}"}"#;
    let response = host.request("POST", "/admin/functions/ship", &[], input);
    assert_eq!(response.status, 202);
    let summary = response.json();
    assert_eq!(summary["status"], "Succeeded", "{summary}");
    assert_eq!(summary["outputs"][0]["target"], "shipping");
    assert_eq!(summary["outputs"][0]["value"], r#"{"id":3,"item":"tea","quantity":2}"#);
    host.wait_for(
        r#"ship → queue 'shipping': {"id":3,"item":"tea","quantity":2}"#,
        5 * SECOND,
    );

    // The function fails an order without items; the queue metadata (a fresh message id)
    // reached it as trigger metadata.
    let empty = r#"{"input": "{\"id\": 4, \"item\": \"tea\", \"quantity\": 0}"}"#;
    let failed = host.request("POST", "/admin/functions/ship", &[], empty).json();
    assert_eq!(failed["status"], "Failed", "{failed}");
    let error = failed["error"].as_str().expect("an error");
    assert!(
        error.contains("order 4 (message ") && error.contains("has no items"),
        "{error}"
    );
    host.wait_for("Executed 'Functions.ship' (Failed", 5 * SECOND);

    assert_eq!(host.request("POST", "/admin/functions/nope", &[], "").status, 404);
}

#[test]
fn timers_run_on_startup_and_on_schedule() {
    let host = LocalHost::start_grpc(native_timers_app());
    host.wait_for(
        "Executing 'Functions.startup' (Reason='This function was invoked at startup (runOnStartup)'",
        5 * SECOND,
    );
    host.wait_for("startup ran (past due: false)", 5 * SECOND);
    host.wait_for_nth("Executed 'Functions.every_second' (Succeeded", 2, 5 * SECOND);

    // A queue output whose text looks like base64 is not decoded on this path either.
    let echoed = host
        .request("POST", "/admin/functions/echo", &[], r#"{"input": "test"}"#)
        .json();
    assert_eq!(echoed["outputs"][0]["value"], "test", "{echoed}");
    host.wait_for("echo → queue 'echo-out': test", 5 * SECOND);
}

#[test]
fn the_worker_is_restarted_after_a_crash() {
    let host = LocalHost::start_grpc(native_timers_app());
    host.wait_for("startup ran", 5 * SECOND);
    let first = host.worker_pid();
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    host.wait_for("the worker process was killed by signal 9", 10 * SECOND);
    // The invocation waits for the restarted worker.
    let echoed = host
        .request("POST", "/admin/functions/echo", &[], r#"{"input": "again"}"#)
        .json();
    assert_eq!(echoed["status"], "Succeeded", "{echoed}");
    host.wait_for_nth("Worker process is ready", 2, 10 * SECOND);
    assert_ne!(host.worker_pid(), first);
    // The restarted worker describes the same functions: they are not listed again, and the
    // startup timer does not fire a second time.
    let console = host.console();
    assert_eq!(console.iter().filter(|l| l.contains("startup ran")).count(), 1);
    assert_eq!(console.iter().filter(|l| l.contains("Functions:")).count(), 1);
}

#[test]
fn cargo_azfn_invoke_works_against_a_grpc_host() {
    let host = LocalHost::start_grpc(native_quickstart_app());
    let port = host.port.to_string();
    let dir = workspace_root();
    let queued = cli(&dir, &["invoke", "ship", "--example", "queue", "--port", &port]);
    assert_success(&queued, "invoke ship --example queue");
    let text = String::from_utf8_lossy(&queued.stdout);
    assert!(text.starts_with("ship: Succeeded"), "{text}");
    assert!(text.contains("→ queue 'shipping': "), "{text}");

    let greeted = cli(&dir, &["invoke", "greet", "--param", "name=Ferris", "--port", &port]);
    assert_success(&greeted, "invoke greet --param name=Ferris");
    let text = String::from_utf8_lossy(&greeted.stdout);
    assert!(text.contains("Hello, Ferris!"), "{text}");
}

#[test]
fn an_app_without_the_native_feature_is_built_with_it_for_grpc() {
    // `timers` depends on azfn without `native`: `start --transport grpc` turns it on rather
    // than starting an app that would exit at once under the host.
    let out = support::scratch("grpc-feature-app");
    let host = LocalHost::start_with(
        &["--transport", "grpc", "--package", "timers", "--dir", path_str(&out)],
        support::fixture_workspace(),
        120 * SECOND,
    );
    host.wait_for("every_second ran", 10 * SECOND);
    // A plain error of an HTTP function is a Failure over gRPC too.
    let failed = host.request("GET", "/api/fail", &[], "");
    assert_eq!(failed.status, 500);
    let line = host.wait_for("Executed 'Functions.fail' (", 5 * SECOND);
    assert!(line.contains("(Failed,"), "{line}");
}
