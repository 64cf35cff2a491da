//! `cargo azfn kubernetes`: the objects for an app with every trigger KEDA can scale, read back
//! with an independent YAML parser and checked against the vendored schemas (Kubernetes'
//! Deployment, Service and Secret, KEDA's ScaledObject CRD; see `tests/schemas/README.md`), and
//! against the metadata each KEDA scaler requires (`kedacore/keda` `pkg/scalers/*_scaler.go`).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use cargo_azfn::app::FunctionApp;
use cargo_azfn::kubernetes::{self, KubernetesOptions};
use cargo_azfn::settings::LocalSettings;
use serde_json::{Value, json};
use support::{CLI, scratch};
use yaml_rust2::{Yaml, YamlLoader};

/// Writes an app folder with one function per trigger.
fn write_app(dir: &Path) {
    let host = json!({
        "version": "2.0",
        "customHandler": {"description": {"defaultExecutablePath": "app"}, "enableForwardingHttpRequest": false}
    });
    std::fs::write(dir.join("host.json"), host.to_string()).unwrap();
    std::fs::write(dir.join("app"), b"").unwrap();
    let functions = [
        (
            "Hello",
            json!({"type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get"], "authLevel": "anonymous"}),
        ),
        (
            "Orders",
            json!({"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "%OrdersQueue%"}),
        ),
        (
            "Uploads",
            json!({"type": "blobTrigger", "direction": "in", "name": "blob", "path": "uploads/in/{name}.csv", "connection": "UploadStorage"}),
        ),
        (
            "Invoices",
            json!({"type": "serviceBusTrigger", "direction": "in", "name": "msg", "queueName": "invoices", "connection": "InvoiceBus"}),
        ),
        (
            "Audit",
            json!({"type": "serviceBusTrigger", "direction": "in", "name": "msg", "topicName": "events", "subscriptionName": "audit"}),
        ),
        (
            "Telemetry",
            json!({"type": "eventHubTrigger", "direction": "in", "name": "events", "eventHubName": "telemetry", "consumerGroup": "azfn", "connection": "EventHubs", "cardinality": "many"}),
        ),
        (
            "Clicks",
            json!({"type": "kafkaTrigger", "direction": "in", "name": "event", "brokerList": "%KafkaBrokers%", "topic": "clicks", "consumerGroup": "azfn"}),
        ),
        (
            "Jobs",
            json!({"type": "rabbitMQTrigger", "direction": "in", "name": "msg", "queueName": "jobs", "connectionStringSetting": "RabbitMQ"}),
        ),
    ];
    for (name, trigger) in functions {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        let mut bindings = vec![trigger];
        if name == "Hello" {
            bindings.push(json!({"type": "http", "direction": "out", "name": "res"}));
        }
        std::fs::write(folder.join("function.json"), json!({"bindings": bindings}).to_string()).unwrap();
    }
    let settings = json!({
        "IsEncrypted": false,
        "Values": {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "UploadStorage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5;EndpointSuffix=core.windows.net",
            "InvoiceBus": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
            "AzureWebJobsServiceBus": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
            "EventHubs": "Endpoint=sb://hubs.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
            "OrdersQueue": "orders",
            "KafkaBrokers": "kafka-0.kafka:9092",
            "RabbitMQ": "amqp://user:pass@rabbitmq.default:5672",
            "FeatureFlag": "true"
        }
    });
    std::fs::write(dir.join("local.settings.json"), settings.to_string()).unwrap();
}

fn options() -> KubernetesOptions {
    KubernetesOptions {
        name: "shop".to_owned(),
        image: "registry.example/shop:1.0".to_owned(),
        namespace: Some("apps".to_owned()),
        min_replicas: None,
        max_replicas: Some(20),
        polling_interval: None,
        cooldown_period: Some(120),
        secret_name: None,
        service_type: None,
        pull_secret: Some("registry-credentials".to_owned()),
    }
}

/// YAML as JSON values, so the schemas can check it.
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::String(text) => Value::String(text.clone()),
        Yaml::Integer(number) => json!(number),
        Yaml::Real(text) => json!(text.parse::<f64>().expect("a number")),
        Yaml::Boolean(value) => Value::Bool(*value),
        Yaml::Null => Value::Null,
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key.as_str().expect("string keys").to_owned(), to_json(value)))
                .collect(),
        ),
        other => panic!("unexpected YAML node {other:?}"),
    }
}

fn schema(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas").join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Checks `document` against its kind's schema and returns the errors.
fn schema_errors(document: &Value, kubernetes_schema: &Value, keda_schema: &Value) -> Vec<String> {
    let kind = document["kind"].as_str().expect("a kind");
    let schema = if kind == "ScaledObject" {
        keda_schema.clone()
    } else {
        let mut schema = kubernetes_schema.clone();
        schema["$ref"] = json!(format!("#/$defs/{kind}"));
        schema
    };
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let mut errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{kind} {}: {e}", e.instance_path()))
        .collect();
    if kind == "ScaledObject" {
        // A CRD schema lets unknown fields through (the API server prunes them), so look for
        // fields the schema does not know as the strict Kubernetes schemas do.
        unknown_fields(document, keda_schema, "", &mut errors);
    }
    errors
}

fn unknown_fields(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    match value {
        Value::Object(entries) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (key, child) in entries {
                match properties.get(key) {
                    Some(child_schema) => unknown_fields(child, child_schema, &format!("{path}/{key}"), errors),
                    None => errors.push(format!("ScaledObject {path}/{key}: not in the CRD")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    unknown_fields(item, item_schema, &format!("{path}/{index}"), errors);
                }
            }
        }
        _ => {}
    }
}

/// The metadata keys each KEDA scaler refuses to start without, with the Functions-style
/// connection (a setting named by `…FromEnv`), from `kedacore/keda` `pkg/scalers/`.
fn required_metadata(scaler: &str, metadata: &serde_json::Map<String, Value>) -> Vec<&'static str> {
    let required: &[&str] = match scaler {
        // `queueName` has no `optional`; "no connection setting given" without a connection.
        "azure-queue" => &["queueName", "connectionFromEnv"],
        // `blobContainerName` has no `optional`; a connection unless pod identity.
        "azure-blob" => &["blobContainerName", "connectionFromEnv"],
        // "no storage connection string given", "no event hub connection string given".
        "azure-eventhub" => &["connectionFromEnv", "storageConnectionFromEnv"],
        // `bootstrapServers` and `consumerGroup` have no `optional`.
        "kafka" => &["bootstrapServers", "consumerGroup"],
        // `host` (here from the env) and `queueName` have no `optional`.
        "rabbitmq" => &["hostFromEnv", "queueName"],
        // A queue, or a topic with its subscription ("no service bus entity type set").
        "azure-servicebus" if metadata.contains_key("topicName") => {
            &["topicName", "subscriptionName", "connectionFromEnv"]
        }
        "azure-servicebus" => &["queueName", "connectionFromEnv"],
        other => panic!("no requirements known for {other}"),
    };
    required
        .iter()
        .copied()
        .filter(|key| !metadata.contains_key(*key))
        .collect()
}

#[test]
fn manifests_for_every_scaler_match_the_kubernetes_and_keda_schemas() {
    let dir = scratch("kubernetes-app");
    write_app(&dir);
    let app = FunctionApp::load(&dir).unwrap();
    let local = LocalSettings::read_with_environment(&dir.join("local.settings.json"), |_| None).unwrap();
    let manifests = kubernetes::manifests(&app, &local, &options()).unwrap();
    let text = manifests.to_yaml();
    let documents: Vec<Value> = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("the YAML does not parse: {e}\n{text}"))
        .iter()
        .map(to_json)
        .collect();

    let kinds: Vec<(&str, &str)> = documents
        .iter()
        .map(|d| (d["kind"].as_str().unwrap(), d["metadata"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Secret", "shop"),
            ("Service", "shop-http"),
            ("Deployment", "shop-http"),
            ("Deployment", "shop"),
            ("ScaledObject", "shop")
        ]
    );
    let kubernetes_schema = schema("kubernetes-v1.33-strict.json");
    let keda_schema = schema("keda-scaledobject-v1alpha1.json");
    for document in &documents {
        assert_eq!(document["metadata"]["namespace"], "apps");
        let errors = schema_errors(document, &kubernetes_schema, &keda_schema);
        assert!(errors.is_empty(), "{errors:#?}\n{text}");
    }

    // The Secret: every value, base64, plus the worker runtime; "true" stays a string.
    let secret = &documents[0]["data"];
    assert_eq!(secret["FUNCTIONS_WORKER_RUNTIME"], "Y3VzdG9t");
    assert_eq!(secret["FeatureFlag"], "dHJ1ZQ==");
    assert!(text.contains("FeatureFlag: \"dHJ1ZQ==\""), "{text}");

    // The HTTP Deployment runs Hello only, exposes port 80 and reads the Secret.
    let http = &documents[2]["spec"];
    assert_eq!(http["replicas"], 1);
    let container = &http["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.example/shop:1.0");
    assert_eq!(
        container["env"],
        json!([{"name": "AzureFunctionsJobHost__functions__0", "value": "Hello"}])
    );
    assert_eq!(container["ports"], json!([{"containerPort": 80}]));
    assert_eq!(container["envFrom"], json!([{"secretRef": {"name": "shop"}}]));
    assert_eq!(
        http["template"]["spec"]["imagePullSecrets"],
        json!([{"name": "registry-credentials"}])
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/");
    assert_eq!(documents[1]["spec"]["type"], "LoadBalancer");
    assert_eq!(documents[1]["spec"]["selector"], json!({"app": "shop-http"}));

    // The other Deployment runs the rest from zero, and KEDA scales it.
    let workers = &documents[3]["spec"];
    assert_eq!(workers["replicas"], 0);
    assert_eq!(
        workers["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    let scaled = &documents[4]["spec"];
    assert_eq!(scaled["scaleTargetRef"]["name"], "shop");
    assert_eq!(scaled["pollingInterval"], 30);
    assert_eq!(scaled["cooldownPeriod"], 120);
    assert_eq!(scaled["minReplicaCount"], 0);
    assert_eq!(scaled["maxReplicaCount"], 20);
    let triggers: BTreeMap<&str, &Value> = scaled["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t))
        .collect();
    for trigger in triggers.values() {
        let metadata = trigger["metadata"].as_object().unwrap();
        let missing = required_metadata(trigger["type"].as_str().unwrap(), metadata);
        assert!(missing.is_empty(), "{} lacks {missing:?}", trigger["name"]);
        assert!(metadata.values().all(Value::is_string));
    }
    let metadata = |name: &str| triggers[name]["metadata"].clone();
    assert_eq!(triggers["orders"]["type"], "azure-queue");
    assert_eq!(
        metadata("orders"),
        json!({"queueName": "orders", "connectionFromEnv": "AzureWebJobsStorage"})
    );
    assert_eq!(
        metadata("uploads"),
        json!({"blobContainerName": "uploads", "blobPrefix": "in/", "connectionFromEnv": "UploadStorage"})
    );
    assert_eq!(
        metadata("invoices"),
        json!({"queueName": "invoices", "connectionFromEnv": "InvoiceBus"})
    );
    assert_eq!(
        metadata("audit"),
        json!({"topicName": "events", "subscriptionName": "audit", "connectionFromEnv": "AzureWebJobsServiceBus"})
    );
    assert_eq!(
        metadata("telemetry"),
        json!({"connectionFromEnv": "EventHubs", "eventHubName": "telemetry", "consumerGroup": "azfn",
               "storageConnectionFromEnv": "AzureWebJobsStorage", "checkpointStrategy": "azureFunction"})
    );
    assert_eq!(
        metadata("clicks"),
        json!({"bootstrapServers": "kafka-0.kafka:9092", "topic": "clicks", "consumerGroup": "azfn"})
    );
    assert_eq!(
        metadata("jobs"),
        json!({"hostFromEnv": "RabbitMQ", "queueName": "jobs"})
    );
    // No secret value is copied into the ScaledObject.
    assert!(
        !serde_json::to_string(&documents[4])
            .unwrap()
            .contains("SharedAccessKey")
    );

    assert!(
        manifests
            .warnings
            .iter()
            .any(|w| w.contains("UseDevelopmentStorage=true")),
        "{:?}",
        manifests.warnings
    );
}

#[test]
fn the_schemas_catch_a_broken_document() {
    // The check above could pass with schemas that accept anything: these must fail.
    let kubernetes_schema = schema("kubernetes-v1.33-strict.json");
    let keda_schema = schema("keda-scaledobject-v1alpha1.json");
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"replicas": "1", "selector": {}, "template": {"spec": {"containers": [{"name": "x", "imagee": "y"}]}}}});
    let errors = schema_errors(&deployment, &kubernetes_schema, &keda_schema);
    assert!(errors.iter().any(|e| e.contains("/spec/replicas")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("imagee")), "{errors:#?}");
    let scaled = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [{"type": "kafka", "metadata": {"lagThreshold": 5}}], "polling": 1}});
    let errors = schema_errors(&scaled, &kubernetes_schema, &keda_schema);
    assert!(errors.iter().any(|e| e.contains("lagThreshold")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("/spec/polling")), "{errors:#?}");
}

#[test]
fn timers_need_a_replica_and_get_no_scaled_object() {
    let dir = scratch("kubernetes-timers");
    write_app(&dir);
    for name in [
        "Orders",
        "Uploads",
        "Invoices",
        "Audit",
        "Telemetry",
        "Clicks",
        "Jobs",
        "Hello",
    ] {
        std::fs::remove_dir_all(dir.join(name)).unwrap();
    }
    std::fs::create_dir_all(dir.join("Tick")).unwrap();
    std::fs::write(
        dir.join("Tick/function.json"),
        json!({"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *"}]})
            .to_string(),
    )
    .unwrap();
    let app = FunctionApp::load(&dir).unwrap();
    let local = LocalSettings::read_with_environment(&dir.join("local.settings.json"), |_| None).unwrap();
    let error = kubernetes::manifests(&app, &local, &options()).unwrap_err();
    assert!(
        error.message().contains("Tick (timerTrigger)") && error.message().contains("--min-replicas 1"),
        "{error}"
    );
    let kept = KubernetesOptions {
        min_replicas: Some(1),
        secret_name: Some("shop-settings".to_owned()),
        ..options()
    };
    let manifests = kubernetes::manifests(&app, &local, &kept).unwrap();
    let kinds: Vec<&str> = manifests
        .documents
        .iter()
        .map(|d| match d.get("kind") {
            Some(kubernetes::yaml::Node::Text(kind)) => kind.as_str(),
            other => panic!("no kind: {other:?}"),
        })
        .collect();
    // The settings come from the given Secret, so none is written.
    assert_eq!(kinds, ["Deployment"]);
    assert!(manifests.to_yaml().contains("name: \"shop-settings\""));
}

#[test]
fn the_command_prints_the_objects_with_dry_run() {
    let dir = scratch("kubernetes-command");
    write_app(&dir);
    let output = Command::new(CLI)
        .args(["azfn", "kubernetes", "--no-build", "--dir"])
        .arg(&dir)
        .args([
            "--name",
            "shop",
            "--image-name",
            "registry.example/shop:1.0",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.matches("\n---\n").count(), 4, "{stdout}");
    assert!(stdout.contains("kind: \"ScaledObject\""), "{stdout}");
    assert!(
        stderr.contains("warning: the setting `AzureWebJobsStorage`"),
        "{stderr}"
    );

    let output = Command::new(CLI)
        .args(["azfn", "kubernetes", "--no-build", "--dir"])
        .arg(&dir)
        .args(["--name", "Shop", "--image-name", "x", "--dry-run"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a Kubernetes name"));
}

#[test]
fn pack_dockerfile_writes_a_multi_stage_build_at_the_workspace_root() {
    let dir = support::source_scratch("dockerfile-app");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         azfn = { git = \"https://example.com/azfn.git\", tag = \"v0.1.0\" }\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    let output = Command::new(CLI)
        .current_dir(&dir)
        .args(["azfn", "pack", "--dockerfile"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert!(
        text.contains("cargo install --locked --git 'https://example.com/azfn.git' --tag 'v0.1.0' cargo-azfn"),
        "{text}"
    );
    assert!(text.contains("cargo azfn build --package 'shop' --out /app"), "{text}");
    assert!(
        std::fs::read_to_string(dir.join(".dockerignore"))
            .unwrap()
            .contains("**/local.settings.json")
    );
    // Nothing was built here: the image builds the app.
    assert!(!dir.join("target").exists());
}

#[test]
fn without_dry_run_the_objects_go_to_kubectl_apply() {
    let dir = scratch("kubernetes-apply");
    write_app(&dir);
    // A stand-in kubectl that records its arguments and input.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kubectl = bin.join("kubectl");
    std::fs::write(
        &kubectl,
        format!(
            "#!/bin/sh\necho \"$@\" > '{0}/args'\ncat > '{0}/stdin'\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&kubectl).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&kubectl, permissions).unwrap();
    let run = |path: &std::ffi::OsStr| {
        Command::new(CLI)
            .env("PATH", path)
            .args(["azfn", "kubernetes", "--no-build", "--dir"])
            .arg(&dir)
            .args(["--name", "shop", "--image-name", "registry.example/shop:1.0"])
            .output()
            .unwrap()
    };
    // The stand-in first, then the system's folders for `sh` and `cat`.
    let mut path = bin.clone().into_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let output = run(&path);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("args")).unwrap(), "apply -f -\n");
    let applied = std::fs::read_to_string(dir.join("stdin")).unwrap();
    assert_eq!(YamlLoader::load_from_str(&applied).unwrap().len(), 5);

    // A cluster without KEDA: kubectl fails, and the error says what to install.
    std::fs::write(
        &kubectl,
        "#!/bin/sh\ncat > /dev/null\necho 'no matches for kind \"ScaledObject\"' >&2\nexit 1\n",
    )
    .unwrap();
    let output = run(&path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("install KEDA first"), "{stderr}");

    let output = run(dir.join("no-such-folder").as_os_str());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("kubectl is not on PATH"), "{stderr}");
}

#[test]
fn an_azfn_apps_own_function_json_maps_to_its_scalers() {
    // The storage fixture, built by `cargo azfn build`: the property names the scalers read are
    // the ones azfn's macros write.
    let app = support::fixture_app("storage");
    let output = Command::new(CLI)
        .args(["azfn", "kubernetes", "--no-build", "--dir"])
        .arg(app)
        .args([
            "--name",
            "store",
            "--image-name",
            "registry.example/store:1",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let documents: Vec<Value> = YamlLoader::load_from_str(&String::from_utf8_lossy(&output.stdout))
        .unwrap()
        .iter()
        .map(to_json)
        .collect();
    let scaled = documents
        .iter()
        .find(|d| d["kind"] == "ScaledObject")
        .expect("a ScaledObject");
    let triggers: Vec<(&str, &Value)> = scaled["spec"]["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), &t["metadata"]))
        .collect();
    assert!(
        triggers.contains(&(
            "azure-queue",
            &json!({"queueName": "orders", "connectionFromEnv": "AzureWebJobsStorage"})
        )),
        "{triggers:?}"
    );
    assert!(
        triggers.contains(&(
            "azure-blob",
            &json!({"blobContainerName": "shipments", "connectionFromEnv": "AzureWebJobsStorage"})
        )),
        "{triggers:?}"
    );
    let kubernetes_schema = schema("kubernetes-v1.33-strict.json");
    let keda_schema = schema("keda-scaledobject-v1alpha1.json");
    for document in &documents {
        let errors = schema_errors(document, &kubernetes_schema, &keda_schema);
        assert!(errors.is_empty(), "{errors:#?}");
    }
}
