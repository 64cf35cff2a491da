//! SDK clients as parameters, without storage: which blob, container or queue each client
//! points at, from the host's reference (gRPC deferred binding) or from the trigger's metadata
//! and the binding's keys (content), and the errors when a connection cannot be resolved.
//!
//! App settings are the process environment, which a test cannot set safely; so each test
//! runs itself again in a child process with the settings in its environment.

use std::process::Command;

use azfn::prelude::*;
use azfn::storage::blob::{BlobClient, BlobContainerClient};
use azfn::storage::queue::QueueClient;
use azfn::testing::{TestApp, Trigger};
use serde_json::json;

/// The child's marker: set in the child's environment.
const CHILD: &str = "AZFN_SDK_CLIENTS_CHILD";

/// Runs `test` in a child with the settings, or, in the child, returns `true` to run the body.
fn in_child(test: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let output = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        .env("Uploads", "UseDevelopmentStorage=true")
        .env("Broken", "AccountName=acct")
        .env("JobsQueue", "Jobs")
        .output()
        .expect("the child runs");
    assert!(
        output.status.success(),
        "{test} failed in the child:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "the child ran the test"
    );
    false
}

#[function(
    blob_trigger(path = "inbox/{name}", connection = "Uploads"),
    queue_output(queue_name = "urls")
)]
async fn on_upload(blob: BlobClient) -> String {
    blob.url().to_string()
}

#[function(blob_trigger(path = "inbox/{name}"), queue_output(queue_name = "urls"))]
async fn on_upload_container(container: BlobContainerClient) -> String {
    container.url().to_string()
}

#[function(queue_trigger(queue_name = "%JobsQueue%"), queue_output(queue_name = "urls"))]
async fn on_job(
    _job: String,
    queue: QueueClient,
    #[blob_input(path = "archive/{queueTrigger}.txt")] archived: BlobClient,
) -> String {
    format!("{} {}", queue.url(), archived.url())
}

#[function(
    queue_trigger(queue_name = "orders", connection = "Missing"),
    queue_output(queue_name = "urls")
)]
async fn unconfigured(queue: QueueClient) -> String {
    queue.url().to_string()
}

#[function(
    queue_trigger(queue_name = "orders", connection = "Broken"),
    queue_output(queue_name = "urls")
)]
async fn misconfigured(queue: QueueClient) -> String {
    queue.url().to_string()
}

/// The host's reference as the gRPC transport hands it over (`model_binding_data`).
fn reference(content: serde_json::Value) -> serde_json::Value {
    json!({"version": "1.0", "source": "AzureStorageBlobs", "contentType": "application/json", "content": content.to_string()})
}

/// The URL the function's client points at, without its query (the SAS).
async fn url(app: &TestApp, function: &str, trigger: Trigger) -> String {
    let outputs = app.invoke(function, trigger).await.expect("the invocation succeeds");
    let text: String = outputs.return_value().unwrap().unwrap();
    text.split_once('?').map_or(text.clone(), |(url, _)| url.to_owned())
}

#[tokio::test]
async fn blob_clients_follow_the_reference_or_the_metadata() {
    if !in_child("blob_clients_follow_the_reference_or_the_metadata") {
        return;
    }
    let app = TestApp::new(azfn::App::new());
    // gRPC with deferred binding: the reference names the blob and the connection.
    let by_reference = Trigger::json(&reference(
        json!({"Connection": "Uploads", "ContainerName": "inbox", "BlobName": "a b.txt"}),
    ));
    let outputs = app
        .invoke("on_upload", by_reference)
        .await
        .expect("the invocation succeeds");
    let blob: String = outputs.return_value().unwrap().unwrap();
    assert!(
        blob.starts_with("http://127.0.0.1:10000/devstoreaccount1/inbox/a%20b.txt?"),
        "{blob}"
    );
    assert!(blob.contains("&sig="), "an account SAS signs the URL: {blob}");
    // The content (custom handler, or gRPC when the host skips deferred binding): the
    // metadata's `BlobTrigger` names the blob.
    let by_content = Trigger::bytes(b"hello".to_vec()).with_metadata("BlobTrigger", "inbox/c.txt");
    assert_eq!(
        url(&app, "on_upload", by_content).await,
        "http://127.0.0.1:10000/devstoreaccount1/inbox/c.txt"
    );
    // The custom handler's host drops `BlobTrigger`: the path's captures name the blob.
    let captures = Trigger::bytes(b"hello".to_vec()).with_metadata("name", "e.txt");
    assert_eq!(
        url(&app, "on_upload", captures).await,
        "http://127.0.0.1:10000/devstoreaccount1/inbox/e.txt"
    );
    let container = Trigger::bytes(b"hello".to_vec()).with_metadata("BlobTrigger", "inbox/c.txt");
    assert_eq!(
        url(&app, "on_upload_container", container).await,
        "http://127.0.0.1:10000/devstoreaccount1/inbox"
    );
    // A reference to something else is refused, naming both ways tried.
    let other = Trigger::json(&json!({"version": "1.0", "source": "AzureStorageQueues", "content": "{}"}));
    let error = app.invoke("on_upload", other).await.unwrap_err().to_string();
    assert!(
        error.contains("AzureStorageQueues") && error.contains("{name}"),
        "{error}"
    );
}

#[tokio::test]
async fn queue_clients_and_blob_inputs_resolve_settings_and_expressions() {
    if !in_child("queue_clients_and_blob_inputs_resolve_settings_and_expressions") {
        return;
    }
    let app = TestApp::new(azfn::App::new());
    let trigger = Trigger::queue(&"job-7").with_metadata("QueueTrigger", "job-7");
    let outputs = app.invoke("on_job", trigger).await.expect("the invocation succeeds");
    let text: String = outputs.return_value().unwrap().unwrap();
    let (queue, blob) = text.split_once(' ').unwrap();
    assert!(
        queue.starts_with("http://127.0.0.1:10001/devstoreaccount1/jobs?"),
        "%JobsQueue% resolved, lower case: {queue}"
    );
    assert!(
        blob.starts_with("http://127.0.0.1:10000/devstoreaccount1/archive/job-7.txt?"),
        "{blob}"
    );
}

#[tokio::test]
async fn a_connection_that_does_not_resolve_fails_only_that_invocation() {
    if !in_child("a_connection_that_does_not_resolve_fails_only_that_invocation") {
        return;
    }
    let app = TestApp::new(azfn::App::new());
    let error = app
        .invoke("unconfigured", Trigger::queue(&"m"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`AzureWebJobsMissing`") && error.contains("`Missing`"),
        "{error}"
    );
    let error = app
        .invoke("misconfigured", Trigger::queue(&"m"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("`Broken`"), "{error}");
    // The app goes on: the next invocation binds.
    let trigger = Trigger::bytes(b"x".to_vec()).with_metadata("BlobTrigger", "inbox/d.txt");
    assert_eq!(
        url(&app, "on_upload", trigger).await,
        "http://127.0.0.1:10000/devstoreaccount1/inbox/d.txt"
    );
}
