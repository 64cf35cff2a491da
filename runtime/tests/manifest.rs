//! The function app folder: every file valid against the published schemas, the host's own
//! rules honoured, and the output deterministic.

use std::path::PathBuf;

use azfn::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize)]
struct Order {
    id: u32,
}

#[function(http_trigger(route = "orders/{id:int}", methods = "get, post", auth_level = "function"))]
async fn order(req: HttpRequest, #[blob_input(path = "orders/{id}.json")] doc: Option<String>) -> String {
    doc.unwrap_or_else(|| req.url().to_owned())
}

#[function(timer_trigger(schedule = "0 */5 * * * *", run_on_startup = true, use_monitor = false))]
async fn tick(_timer: TimerInfo) {}

#[function(
    queue_trigger(queue_name = "orders", connection = "Storage"),
    queue_output(queue_name = "shipping")
)]
async fn ship(order: Order) -> Order {
    order
}

#[function(
    name = "blob-copy",
    blob_trigger(path = "inbox/{name}"),
    blob_output(path = "outbox/{name}")
)]
async fn copy(content: Vec<u8>) -> Vec<u8> {
    content
}

#[derive(FunctionOutput)]
struct Accepted {
    #[http_output]
    response: HttpResponse,
    #[queue_output(queue_name = "orders")]
    orders: Vec<Order>,
}

#[function(http_trigger(methods = "post"))]
async fn accept(Json(orders): Json<Vec<Order>>) -> Accepted {
    Accepted {
        response: HttpResponse::ok(),
        orders,
    }
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} is not valid: {errors:#?}\n{instance:#}");
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("azfn-manifest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fake_executable(dir: &std::path::Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let exe = dir.join("handler");
    std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
    exe
}

fn registry() -> &'static azfn::Registry {
    azfn::Registry::global().expect("no duplicate names")
}

#[test]
fn every_written_file_is_valid_against_the_published_schemas() {
    let functions = schema("function.schema.json");
    let host = schema("host.schema.json");
    let dir = fresh_dir("schemas");
    let exe = fake_executable(&dir.join("bin"));
    let written = azfn::manifest::write_app(&dir.join("app"), registry(), &exe, Default::default()).unwrap();
    let mut checked = 0;
    for file in &written.files {
        let path = written.dir.join(file);
        if file.file_name().is_some_and(|n| n == "function.json") {
            let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_valid(&functions, &file.display().to_string(), &value);
            checked += 1;
        } else if file == std::path::Path::new("host.json") {
            let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_valid(&host, "host.json", &value);
        }
    }
    assert_eq!(checked, 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_schemas_do_reject_wrong_files() {
    // A validator that accepts everything would make the test above worthless.
    let functions = schema("function.schema.json");
    let bad = json!({"bindings": [{"type": "httpTrigger", "direction": "sideways", "name": "req"}]});
    assert!(!functions.is_valid(&bad));
    let bad_auth =
        json!({"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "root"}]});
    assert!(!functions.is_valid(&bad_auth));
    let host = schema("host.schema.json");
    assert!(!host.is_valid(&json!({"version": "2.0", "customHandler": {"nope": 1}})));
}

#[test]
fn function_json_is_what_the_host_expects() {
    let order = registry().get("order").unwrap();
    assert_eq!(
        azfn::manifest::function_json(order),
        json!({"bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req", "route": "orders/{id:int}",
             "methods": ["get", "post"], "authLevel": "function"},
            {"type": "blob", "direction": "in", "name": "doc", "dataType": "string", "path": "orders/{id}.json"},
            {"type": "http", "direction": "out", "name": "$return"}
        ]})
    );
    assert_eq!(
        azfn::manifest::function_json(registry().get("tick").unwrap()),
        json!({"bindings": [
            {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *",
             "runOnStartup": true, "useMonitor": false}
        ]})
    );
    assert_eq!(
        azfn::manifest::function_json(registry().get("ship").unwrap()),
        json!({"bindings": [
            {"type": "queueTrigger", "direction": "in", "name": "message", "dataType": "string",
             "queueName": "orders", "connection": "Storage"},
            {"type": "queue", "direction": "out", "name": "$return", "queueName": "shipping"}
        ]})
    );
    assert_eq!(
        azfn::manifest::function_json(registry().get("blob-copy").unwrap()),
        json!({"bindings": [
            {"type": "blobTrigger", "direction": "in", "name": "blob", "dataType": "binary", "path": "inbox/{name}"},
            {"type": "blob", "direction": "out", "name": "$return", "path": "outbox/{name}"}
        ]})
    );
    assert_eq!(
        azfn::manifest::function_json(registry().get("accept").unwrap()),
        json!({"bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["post"]},
            {"type": "http", "direction": "out", "name": "response"},
            {"type": "queue", "direction": "out", "name": "orders", "queueName": "orders"}
        ]})
    );
}

#[test]
fn host_rules_hold_for_every_function() {
    for function in registry().functions() {
        azfn::bindings::validate::check_function_name(function.name).unwrap();
        let bindings: Vec<_> = function.all_bindings().collect();
        assert_eq!(
            bindings
                .iter()
                .filter(|b| b.kind.role == azfn::bindings::Role::Trigger)
                .count(),
            1
        );
        for (i, b) in bindings.iter().enumerate() {
            azfn::bindings::validate::check_binding_name(b.name).unwrap();
            assert!(
                bindings[i + 1..].iter().all(|o| !o.name.eq_ignore_ascii_case(b.name)),
                "{}",
                b.name
            );
        }
    }
}

#[test]
fn the_app_folder_is_deterministic_and_complete() {
    let dir = fresh_dir("determinism");
    let exe = fake_executable(&dir.join("bin"));
    let first = azfn::manifest::write_app(&dir.join("one"), registry(), &exe, Default::default()).unwrap();
    let second = azfn::manifest::write_app(&dir.join("two"), registry(), &exe, Default::default()).unwrap();
    assert_eq!(first.files, second.files);
    for file in &first.files {
        assert_eq!(
            std::fs::read(first.dir.join(file)).unwrap(),
            std::fs::read(second.dir.join(file)).unwrap(),
            "{}",
            file.display()
        );
    }
    let host: Value = serde_json::from_slice(&std::fs::read(first.dir.join("host.json")).unwrap()).unwrap();
    assert_eq!(host["version"], "2.0");
    assert_eq!(host["customHandler"]["description"]["defaultExecutablePath"], "handler");
    assert_eq!(
        host["extensionBundle"]["id"],
        "Microsoft.Azure.Functions.ExtensionBundle"
    );
    let settings: Value =
        serde_json::from_slice(&std::fs::read(first.dir.join("local.settings.json")).unwrap()).unwrap();
    assert_eq!(settings["Values"]["FUNCTIONS_WORKER_RUNTIME"], "custom");
    assert_eq!(settings["Values"]["AzureWebJobsStorage"], "UseDevelopmentStorage=true");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(first.dir.join("handler"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
    }

    // A function folder from an earlier build is removed; the user's settings are kept.
    std::fs::create_dir_all(first.dir.join("gone")).unwrap();
    std::fs::write(first.dir.join("gone/function.json"), b"{}").unwrap();
    std::fs::write(first.dir.join("local.settings.json"), b"{\"mine\": true}").unwrap();
    let again = azfn::manifest::write_app(&first.dir, registry(), &exe, Default::default()).unwrap();
    assert_eq!(again.removed, vec!["gone".to_owned()]);
    assert!(!first.dir.join("gone").exists());
    assert_eq!(
        std::fs::read(first.dir.join("local.settings.json")).unwrap(),
        b"{\"mine\": true}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
