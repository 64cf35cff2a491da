//! `cargo azfn start` end to end: the local host runs the quickstart (and a small timer app)
//! the way the real host does, and is driven over HTTP on 127.0.0.1.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{LocalHost, app_copy, path_str, quickstart_app, timers_app, workspace_root};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn http_routes_constraints_and_methods() {
    let host = LocalHost::start(quickstart_app());

    let hello = host.request("GET", "/api/hello?name=x", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, x!"));
    assert!(hello.head.contains("content-type: text/plain"), "{}", hello.head);

    let greet = host.request("GET", "/api/greet/Bob", &[], "");
    assert_eq!(greet.status, 200);
    assert_eq!(greet.json(), json!({"greeting": "Hello, Bob!"}));

    // `{name:alpha}` refuses digits, so no route matches.
    assert_eq!(host.request("GET", "/api/greet/123", &[], "").status, 404);
    assert_eq!(host.request("GET", "/api/nothing/here", &[], "").status, 404);
    assert_eq!(
        host.request("GET", "/hello", &[], "").status,
        404,
        "the route prefix is needed"
    );
    host.wait_for("404: no function matches GET /api/nothing/here", 5 * SECOND);

    // A known route with a method it does not accept: 404, as the real host answers, and the
    // console says which methods would work.
    assert_eq!(host.request("POST", "/api/hello", &[], "").status, 404);
    let line = host.wait_for("404: POST /api/hello", 5 * SECOND);
    assert!(line.contains("'hello'") && line.contains("allowed: GET"), "{line}");

    // No keys are configured: function-level routes are open, as with `func start`.
    let accepted = host.request(
        "POST",
        "/api/orders",
        &[],
        r#"[{"id": 1, "item": "tea", "quantity": 2}]"#,
    );
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.json(), json!({"accepted": 1}));
    host.wait_for(
        r#"accept → queue 'orders': {"id":1,"item":"tea","quantity":2}"#,
        5 * SECOND,
    );
}

#[test]
fn function_and_master_keys() {
    let app = app_copy(
        quickstart_app(),
        "keys",
        &[("AzureWebJobs.FunctionKey", "fkey"), ("AzureWebJobs.MasterKey", "mkey")],
    );
    let host = LocalHost::start_with(
        &["--no-build", "--dir", path_str(&app), "--enable-auth"],
        &workspace_root(),
        30 * SECOND,
    );
    host.wait_for("Keys are checked (--enable-auth)", 5 * SECOND);
    let order = r#"[{"id": 7, "item": "cake", "quantity": 1}]"#;

    assert_eq!(host.request("POST", "/api/orders", &[], order).status, 401);
    assert_eq!(host.request("POST", "/api/orders?code=wrong", &[], order).status, 401);
    let wrong_header = host.request("POST", "/api/orders", &[("x-functions-key", "nope")], order);
    assert_eq!(wrong_header.status, 401);
    host.wait_for("401: POST /api/orders", 5 * SECOND);

    let by_header = host.request("POST", "/api/orders", &[("x-functions-key", "fkey")], order);
    assert_eq!(by_header.status, 202, "{by_header:?}");
    let by_code = host.request("POST", "/api/orders?code=fkey", &[], order);
    assert_eq!(by_code.status, 202);
    let by_master = host.request("POST", "/api/orders?code=mkey", &[], order);
    assert_eq!(by_master.status, 202, "the master key opens function-level routes");

    // Anonymous routes need no key.
    assert_eq!(host.request("GET", "/api/hello", &[], "").status, 200);

    // The admin API needs the master key.
    let input = r#"{"input": "{\"id\": 1, \"item\": \"tea\", \"quantity\": 2}"}"#;
    assert_eq!(host.request("POST", "/admin/functions/ship", &[], input).status, 401);
    assert_eq!(
        host.request("POST", "/admin/functions/ship?code=fkey", &[], input)
            .status,
        401
    );
    assert_eq!(
        host.request("POST", "/admin/functions/ship", &[("x-functions-key", "mkey")], input)
            .status,
        202
    );
}

#[test]
fn admin_invoke_of_a_queue_function() {
    let host = LocalHost::start(quickstart_app());
    let input = r#"{"input": "{\"id\": 3, \"item\": \"tea\", \"quantity\": 2}"}"#;
    let response = host.request("POST", "/admin/functions/ship", &[], input);
    assert_eq!(response.status, 202);
    let summary = response.json();
    assert_eq!(summary["status"], "Succeeded", "{summary}");
    assert_eq!(summary["outputs"][0]["target"], "shipping");
    host.wait_for(
        r#"ship → queue 'shipping': {"id":3,"item":"tea","quantity":2}"#,
        5 * SECOND,
    );
    host.wait_for("Executed 'Functions.ship' (Succeeded", 5 * SECOND);

    // The function fails an order without items: the invocation fails, nothing is output.
    let empty = r#"{"input": "{\"id\": 4, \"item\": \"tea\", \"quantity\": 0}"}"#;
    let failed = host.request("POST", "/admin/functions/ship", &[], empty).json();
    assert_eq!(failed["status"], "Failed", "{failed}");
    host.wait_for("Executed 'Functions.ship' (Failed", 5 * SECOND);

    assert_eq!(host.request("POST", "/admin/functions/nope", &[], "").status, 404);
    let functions = host.request("GET", "/admin/functions/greet", &[], "").json();
    assert_eq!(
        functions["invoke_url_template"],
        format!("http://localhost:{}/api/greet/{{name:alpha}}", host.port)
    );
    let status = host.request("GET", "/admin/host/status", &[], "").json();
    assert_eq!(status["state"], "Running");
}

#[test]
fn the_worker_is_restarted_after_a_crash() {
    let host = LocalHost::start(quickstart_app());
    let first = host.worker_pid();
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    host.wait_for("the worker process was killed by signal 9", 10 * SECOND);
    // The request waits for the restarted worker.
    let hello = host.request("GET", "/api/hello?name=again", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, again!"));
    host.wait_for_nth("Worker process is ready", 2, 10 * SECOND);
    assert_ne!(host.worker_pid(), first);
}

#[test]
fn timers_fire_on_startup_and_on_schedule() {
    let host = LocalHost::start(timers_app());
    let startup = host.wait_for("Executing 'Functions.startup'", 10 * SECOND);
    assert!(startup.contains("runOnStartup"), "{startup}");
    host.wait_for("startup ran (past due: false)", 10 * SECOND);
    host.wait_for("Executed 'Functions.startup' (Succeeded", 10 * SECOND);
    // `* * * * * *` fires every second.
    host.wait_for_nth("Executed 'Functions.every_second' (Succeeded", 2, 10 * SECOND);
    assert!(host.console().iter().any(|l| l.contains("every_second ran")));
    let startups = host
        .console()
        .iter()
        .filter(|l| l.contains("Executing 'Functions.startup'"))
        .count();
    assert_eq!(startups, 1, "its yearly schedule does not fire now");
}

#[test]
fn base64_looking_text_survives_the_round_trip() {
    let host = LocalHost::start(timers_app());
    let response = host.request("POST", "/admin/functions/echo", &[], r#"{"input": "test"}"#);
    assert_eq!(response.status, 202);
    assert_eq!(response.json()["outputs"][0]["value"], "test");
    host.wait_for("echo → queue 'echo-out': test", 5 * SECOND);
}

/// A private copy of the fixture workspace for a test that edits its sources; the timer
/// package is renamed `package`, so that its build does not replace the other tests' `timers`.
fn private_fixture_workspace(name: &str, package: &str) -> std::path::PathBuf {
    let workspace = support::source_scratch(name);
    for entry in std::fs::read_dir(support::fixture_workspace()).expect("list the fixtures") {
        let entry = entry.expect("a fixture entry");
        let (from, to) = (entry.path(), workspace.join(entry.file_name()));
        if entry.file_name() == "target" {
            continue;
        } else if from.is_dir() {
            support::copy_dir(&from, &to);
        } else {
            std::fs::copy(&from, &to).expect("copy a fixture file");
        }
    }
    let manifest = workspace.join("timers/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("read the manifest");
    let text = text.replace("name = \"timers\"", &format!("name = \"{package}\""));
    std::fs::write(&manifest, text).expect("write the manifest");
    workspace
}

#[test]
fn watch_rebuilds_and_restarts_on_source_changes() {
    let workspace = private_fixture_workspace("watch-workspace", "watched");
    let out = support::scratch("watch-app");
    let host = LocalHost::start_with(
        &[
            "--watch",
            "--debug",
            "--package",
            "watched",
            "--dir",
            support::path_str(&out),
        ],
        &workspace,
        120 * SECOND,
    );
    host.wait_for("every_second ran", 10 * SECOND);
    let main = workspace.join("timers/src/main.rs");
    let source = std::fs::read_to_string(&main).expect("read main.rs");
    std::fs::write(&main, source.replace("every_second ran", "every_second ran again")).expect("edit main.rs");
    host.wait_for("Source change detected: rebuilding", 10 * SECOND);
    host.wait_for("Rebuilt: restarting the worker", 120 * SECOND);
    host.wait_for_nth("Worker process is ready", 2, 30 * SECOND);
    host.wait_for("every_second ran again", 10 * SECOND);
}

#[test]
fn watch_survives_a_first_build_that_fails() {
    let workspace = private_fixture_workspace("watch-broken-workspace", "watched_broken");
    let main = workspace.join("timers/src/main.rs");
    let source = std::fs::read_to_string(&main).expect("read main.rs");
    std::fs::write(&main, format!("{source}\nfn broken( {{\n")).expect("break main.rs");
    let out = support::scratch("watch-broken-app");
    let port = support::free_port();
    let host = LocalHost::spawn(
        &[
            "--watch",
            "--package",
            "watched_broken",
            "--dir",
            support::path_str(&out),
            "--port",
            &port.to_string(),
        ],
        &workspace,
        port,
        &support::target_dir(),
    );
    host.wait_for("Building watched_broken (profile dev)", 60 * SECOND);
    host.wait_for("`cargo build` of `watched_broken` failed", 120 * SECOND);
    host.wait_for("for changes: the build runs again on the next save", 5 * SECOND);
    std::fs::write(&main, source).expect("fix main.rs");
    host.wait_for("Worker process is ready", 120 * SECOND);
    host.wait_for("every_second ran", 10 * SECOND);
}

#[test]
fn invocations_fail_at_the_host_json_function_timeout() {
    let app = app_copy(timers_app(), "function-timeout", &[]);
    let host_json = app.join("host.json");
    let mut host: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&host_json).expect("host.json")).expect("JSON");
    host["functionTimeout"] = "00:00:01".into();
    std::fs::write(&host_json, host.to_string()).expect("write host.json");
    let host = LocalHost::start(&app);

    let quick = host.request("POST", "/admin/functions/nap", &[], r#"{"input": "10"}"#);
    assert_eq!(quick.json()["status"], "Succeeded", "{}", quick.body);
    let slow = host.request("POST", "/admin/functions/nap", &[], r#"{"input": "5000"}"#);
    let answer = slow.json();
    assert_eq!(answer["status"], "Failed", "{answer}");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("Timeout value of 00:00:01 exceeded by function 'Functions.nap'"),
        "{error}"
    );
    host.wait_for("Executed 'Functions.nap' (Failed", 5 * SECOND);
}

#[test]
fn the_host_json_route_prefix_and_log_level_are_honoured() {
    // The quickstart's own host.json logs at Information: `ship`'s line is kept.
    let host = LocalHost::start(quickstart_app());
    let order = r#"{"input": "{\"id\": 3, \"item\": \"tea\", \"quantity\": 1}"}"#;
    let shipped = host.request("POST", "/admin/functions/ship", &[], order).json();
    assert!(shipped["logs"].to_string().contains("shipping order"), "{shipped}");
    drop(host);

    let app = app_copy(quickstart_app(), "host-json-honoured", &[]);
    let host_json = app.join("host.json");
    let mut host: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&host_json).expect("host.json")).expect("JSON");
    host["extensions"]["http"]["routePrefix"] = "".into();
    host["logging"]["logLevel"]["default"] = "Warning".into();
    std::fs::write(&host_json, host.to_string()).expect("write host.json");
    let host = LocalHost::start(&app);
    let hello = host.request("GET", "/hello", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, world!"));
    assert_eq!(host.request("GET", "/api/hello", &[], "").status, 404);
    let shipped = host.request("POST", "/admin/functions/ship", &[], order).json();
    assert_eq!(shipped["status"], "Succeeded", "{shipped}");
    assert!(!shipped["logs"].to_string().contains("shipping order"), "{shipped}");
}

#[test]
fn an_http_function_returning_an_error_is_a_failed_invocation() {
    let host = LocalHost::start(timers_app());
    let failed = host.request("GET", "/api/fail", &[], "");
    assert_eq!((failed.status, failed.body.as_str()), (500, ""));
    let line = host.wait_for("Executed 'Functions.fail' (", 5 * SECOND);
    assert!(line.contains("(Failed,"), "{line}");
    host.wait_for("the fixture fails on purpose", 5 * SECOND);
    assert!(
        !host
            .console()
            .iter()
            .any(|l| l.contains("Executed 'Functions.fail' (Succeeded")),
        "{:#?}",
        host.console()
    );
}

#[test]
fn a_relative_app_folder_works() {
    let app = quickstart_app();
    let parent = app.parent().expect("the app folder has a parent");
    let name = app.file_name().and_then(|n| n.to_str()).expect("a UTF-8 name");
    let host = LocalHost::start_with(&["--no-build", "--dir", name], parent, 30 * SECOND);
    let hello = host.request("GET", "/api/hello", &[], "");
    assert_eq!((hello.status, hello.body.as_str()), (200, "Hello, world!"));
}
