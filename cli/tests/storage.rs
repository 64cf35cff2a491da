//! `cargo azfn start` with real storage: the host starts Azurite (installing it from npm into
//! the tool's cache on first use, or using one already listening), and the fixture `storage`
//! runs HTTP → queue output → queue trigger → blob output → blob trigger through it.
//! Needs Node.js and npm (CI installs Azurite with scripts/setup-azurite); without them the
//! host's start fails and so does the test, saying what to install.

mod support;

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::{
    CLI, LocalHost, assert_success, cli, fixture_app, free_port, path_str, scratch, target_dir, workspace_root,
};

const SECOND: Duration = Duration::from_secs(1);

/// The tests share Azurite's fixed ports: one at a time.
static AZURITE_PORTS: Mutex<()> = Mutex::new(());

fn start_with_storage(app: &std::path::Path) -> LocalHost {
    start_with_storage_over(app, &[])
}

/// Starts the host with storage on `app`, with `extra` arguments (`--transport grpc`).
fn start_with_storage_over(app: &std::path::Path, extra: &[&str]) -> LocalHost {
    let port = free_port();
    let port_text = port.to_string();
    let mut args = vec!["--no-build", "--dir", path_str(app), "--port", &port_text];
    args.extend_from_slice(extra);
    let host = LocalHost::spawn_with_storage(&args, &workspace_root(), port, &target_dir());
    // A first run may install Azurite from npm.
    host.wait_for("Host started on", 300 * SECOND);
    host.wait_for("Worker process is ready", 60 * SECOND);
    host
}

#[test]
fn queue_and_blob_functions_chain_through_azurite_and_survive_a_restart() {
    let _ports = AZURITE_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let app = fixture_app("storage");
    let host = start_with_storage(app);
    assert!(
        host.console().iter().any(|l| l.contains("storage emulator")),
        "the host says which emulator it uses:\n{}",
        host.console().join("\n")
    );

    // HTTP → queue → blob → blob trigger.
    let body = r#"[{"id": 1, "item": "tea", "quantity": 2}, {"id": 2, "item": "air", "quantity": 0}]"#;
    let response = host.request("POST", "/api/orders", &[("content-type", "application/json")], body);
    assert_eq!(response.status, 202, "{response:?}");
    let delivered = host.wait_for("delivered: 1 = ", 30 * SECOND);
    assert!(delivered.contains(r#""item":"tea""#), "{delivered}");
    assert!(
        host.console()
            .iter()
            .any(|l| l.contains("Reason='New queue message detected on 'orders'.'")),
        "the queue trigger fired"
    );

    // A blob input reads the blob; a missing one is null (`None`).
    let found = host.request("GET", "/api/shipments/1", &[], "");
    assert_eq!(found.status, 200, "{found:?}");
    assert!(found.body.contains(r#""item":"tea""#), "{found:?}");
    let missing = host.request("GET", "/api/shipments/404", &[], "");
    assert_eq!(missing.status, 404, "{missing:?}");

    // A function that always fails: tried maxDequeueCount (2) times, then poisoned.
    host.wait_for("ship: order 2 try 2", 30 * SECOND);
    host.wait_for("moving it to queue 'orders-poison'", 30 * SECOND);
    assert!(
        !host.console().iter().any(|l| l.contains("ship: order 2 try 3")),
        "no third try"
    );
    assert!(!host.console().iter().any(|l| l.contains("delivered: 2 ")));

    // A message whose invocation is cut short by a stop comes back after the restart.
    let body = r#"[{"id": 3, "item": "slow", "quantity": 1}]"#;
    let response = host.request("POST", "/api/orders", &[("content-type", "application/json")], body);
    assert_eq!(response.status, 202, "{response:?}");
    host.wait_for("ship: order 3 try 1", 30 * SECOND);
    host.stop(20 * SECOND);

    let host = start_with_storage(app);
    host.wait_for("ship: order 3 try 2", 30 * SECOND);
    host.wait_for("delivered: 3 = ", 30 * SECOND);

    // `invoke --via-storage` enqueues a real message and uploads a real blob, which the
    // running host's listeners pick up.
    let port = host.port.to_string();
    let message = r#"{"id": 4, "item": "jam", "quantity": 1}"#;
    let output = cli(
        app,
        &["invoke", "ship", "--via-storage", "--port", &port, "--data", message],
    );
    assert_success(&output, "cargo azfn invoke ship --via-storage");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Enqueued"),
        "{output:?}"
    );
    host.wait_for("delivered: 4 = ", 30 * SECOND);
    let output = cli(
        app,
        &[
            "invoke",
            "delivered",
            "--via-storage",
            "--port",
            &port,
            "--param",
            "name=direct",
            "--data",
            "hello",
        ],
    );
    assert_success(&output, "cargo azfn invoke delivered --via-storage");
    host.wait_for("delivered: direct = hello", 30 * SECOND);

    // A blob whose function always fails: tried poisonBlobThreshold (5) times, then its
    // trigger message goes to webjobs-blobtrigger-poison.
    let output = cli(
        app,
        &[
            "invoke",
            "delivered",
            "--via-storage",
            "--port",
            &port,
            "--param",
            "name=bad",
            "--data",
            "broken",
        ],
    );
    assert_success(&output, "cargo azfn invoke delivered --via-storage (broken)");
    host.wait_for("Blob shipments/bad.json failed 5 times", 40 * SECOND);
    let tries = host
        .console()
        .iter()
        .filter(|l| l.contains("Executing 'Functions.delivered'") && l.contains("shipments/bad.json"))
        .count();
    assert_eq!(tries, 5, "{}", host.console().join("\n"));

    // A message that is not base64 (sent by a project whose host.json says
    // messageEncoding none, to this base64 host) goes to the poison queue unrun.
    let plain = scratch("plain-sender");
    std::fs::write(
        plain.join("host.json"),
        r#"{"version": "2.0", "extensions": {"queues": {"messageEncoding": "none"}}}"#,
    )
    .expect("write host.json");
    std::fs::write(
        plain.join("local.settings.json"),
        r#"{"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}"#,
    )
    .expect("write local.settings.json");
    let output = cli(
        &plain,
        &[
            "invoke",
            "ship",
            "--via-storage",
            "--port",
            &port,
            "--data",
            "not base64!",
        ],
    );
    assert_success(&output, "cargo azfn invoke ship --via-storage (messageEncoding none)");
    let poisoned = host.wait_for("is not base64", 30 * SECOND);
    assert!(poisoned.contains("'orders'"), "{poisoned}");
    host.wait_for("moving it to the poison queue", 5 * SECOND);

    // Receipts keep the blobs delivered before the restart from firing again.
    assert!(
        !host.console().iter().any(|l| l.contains("delivered: 1 = ")),
        "blob 1 fired once:\n{}",
        host.console().join("\n")
    );
    // The host stops its Azurite with it, so that the ports are free again.
    host.stop(20 * SECOND);
}

/// A blob trigger taking a `BlobClient` reads its blob and writes a copy through a
/// `BlobContainerClient` input; a queue trigger taking a `QueueClient` answers on its queue.
/// Over the custom handler the host sends the content and the worker builds the clients from
/// the trigger's metadata; over gRPC it sends references (deferred binding).
fn sdk_clients_work_over(transport: &[&str], tag: &str) {
    let _ports = AZURITE_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let app = fixture_app("sdk-clients");
    let host = start_with_storage_over(app, transport);
    let name = format!("note-{tag}.txt");
    let response = host.request("POST", &format!("/api/upload/{name}"), &[], &format!("hello {tag}"));
    assert!(response.status < 300, "{response:?}");
    let rewrote = host.wait_for(&format!("rewrote: {name} = "), 60 * SECOND);
    assert!(rewrote.contains(&format!("HELLO {}", tag.to_uppercase())), "{rewrote}");

    let response = host.request("POST", "/api/ask", &[], &format!("ping {tag}"));
    assert!(response.status < 300, "{response:?}");
    host.wait_for(&format!("answered: ping {tag}"), 30 * SECOND);
    // The reply went through the trigger's own queue, so the trigger sees it.
    host.wait_for(&format!("got reply: ping {tag}"), 30 * SECOND);
    assert!(
        !host
            .console()
            .iter()
            .any(|l| l.contains("Failed") && l.contains("Functions.rewrite")),
        "{}",
        host.console().join("\n")
    );
    host.stop(20 * SECOND);
}

#[test]
fn sdk_clients_over_the_custom_handler() {
    sdk_clients_work_over(&[], "envelope");
}

#[test]
fn sdk_clients_over_grpc_with_deferred_binding() {
    sdk_clients_work_over(&["--transport", "grpc"], "grpc");
}

#[test]
fn without_node_the_start_fails_naming_what_to_install() {
    let _ports = AZURITE_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", 10000)).is_err(),
        "something listens on 127.0.0.1:10000 (an Azurite of your own?): this test needs the port free"
    );
    let app = fixture_app("storage");
    let empty_cache = scratch("no-azurite-cache");
    let mut child = Command::new(CLI)
        .args([
            "start",
            "--no-build",
            "--dir",
            path_str(app),
            "--port",
            &free_port().to_string(),
        ])
        // No node and no npm on the PATH, and no Azurite in the cache.
        .env("PATH", empty_cache.join("no-bin"))
        .env("AZFN_CACHE_DIR", &empty_cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cargo-azfn");
    let deadline = Instant::now() + 60 * SECOND;
    while child.try_wait().expect("wait for cargo-azfn").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the start did not fail within 60 s");
        }
        std::thread::sleep(SECOND / 10);
    }
    let output = child.wait_with_output().expect("cargo-azfn's output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{said}");
    assert!(said.contains("UseDevelopmentStorage=true"), "{said}");
    assert!(said.contains("Install Node.js and npm"), "{said}");
    assert!(said.contains("apt-get install nodejs npm"), "{said}");
}
