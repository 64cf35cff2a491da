//! The user's build: the quickstart (`examples/quickstart`, written with azfn) against the
//! same five functions written by hand as a custom handler on the crates azfn itself uses
//! (tokio, hyper, serde_json, base64, tracing), with no azfn at all.
//!
//! Both crates are generated into one scratch workspace under `target/azfn-bench/user-build`,
//! each with a target folder of its own. Three figures:
//!
//! - a clean `dev` build (the target folder removed first): what a user waits for once;
//! - an incremental `dev` rebuild after editing one function (the greeting of `hello`), cargo's
//!   default incremental compilation on: what a user waits for on every edit;
//! - where the quickstart's clean build goes, from `cargo build --timings`: the proc-macro
//!   crates and the crates only they use, and macro expansion inside the app crate itself
//!   (`-Z time-passes`, through `RUSTC_BOOTSTRAP` on the app crate alone);
//! - what each of azfn's heavy features (`opentelemetry`, `storage-clients`, `native`) adds to
//!   the quickstart's clean build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::Settings;
use crate::binaries::{cargo, workspace_root};
use crate::build_cost::write_if_changed;
use crate::stats::median;
use crate::table::{self, Table};

/// The target of issue 19: an edit-and-rebuild at most 1.5× the hand-written handler's.
const INCREMENTAL_TARGET: f64 = 1.5;
const APPS: [&str; 2] = ["quickstart", "handwritten"];
/// The two texts of `hello`'s greeting an edit switches between, in both crates.
const GREETINGS: [&str; 2] = ["\"Hello, {}!\"", "\"Hello again, {}!\""];

pub fn run(settings: &Settings) -> Result<Vec<Table>, String> {
    let root = workspace_root().join("target/azfn-bench/user-build");
    generate(&root)?;
    let rounds = settings.build_rounds.clamp(1, 2);
    let mut clean: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut incremental: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round.is_multiple_of(2) { [0, 1] } else { [1, 0] };
        for which in order {
            let target = target_dir(&root, which);
            if target.exists() {
                std::fs::remove_dir_all(&target).map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
            }
            clean[which].push(timed(|| build(&root, which, &[]))?);
        }
        for which in order {
            edit_hello(&root, which, round)?;
            incremental[which].push(timed(|| build(&root, which, &[]))?);
        }
    }
    let mut table = Table::new(
        "The user's build: the quickstart against a hand-written custom handler",
        &format!(
            "`quickstart` is `examples/quickstart/src/main.rs` with azfn; `handwritten` is the same five functions \
             (HTTP text, HTTP route + JSON, timer, queue → queue, HTTP → response + queue messages) as a custom \
             handler on hyper, tokio, serde_json, base64 and tracing, parsing and writing the host's envelope by \
             hand. Each has its own target folder; `dev` profile. Clean: the target folder removed, then `cargo \
             build`. Incremental: `hello`'s greeting edited, then `cargo build` (incremental compilation on, as \
             cargo's default). {rounds} rounds, alternating which goes first; medians of wall-clock time."
        ),
        &[
            "build",
            "quickstart",
            "handwritten",
            "ratio",
            "target",
            "",
            "quickstart rounds",
            "handwritten rounds",
        ],
    );
    for (label, times, target) in [
        ("clean", &clean, None),
        (
            "incremental, one function edited",
            &incremental,
            Some(INCREMENTAL_TARGET),
        ),
    ] {
        let (ours, theirs) = (median(&times[0]), median(&times[1]));
        table.row(vec![
            label.into(),
            table::ms(ours),
            table::ms(theirs),
            table::ratio(ours / theirs),
            target.map_or_else(String::new, |t| format!("≤ {t}×")),
            target.map_or_else(String::new, |t| table::verdict(ours / theirs <= t)),
            table::rounds(&times[0], table::ms),
            table::rounds(&times[1], table::ms),
        ]);
    }
    let shares = timings(&root)?;
    table.note(shares);
    table.note(format!("Generated sources: `{}`.", root.display()));
    Ok(vec![table, features(&root, rounds)?])
}

/// The quickstart's features that each turn on one of azfn's optional parts, and what they cost
/// a clean build.
const FEATURES: [(&str, &str); 4] = [
    ("none", ""),
    ("opentelemetry", "otel"),
    ("storage-clients", "clients"),
    ("native", "native"),
];

/// Clean `dev` builds of the quickstart with each of azfn's heavy features, in turn.
fn features(root: &Path, rounds: usize) -> Result<Table, String> {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); FEATURES.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..FEATURES.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for which in order {
            let target = root.join(format!("target-features-{}", FEATURES[which].0));
            if target.exists() {
                std::fs::remove_dir_all(&target).map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
            }
            let mut extra = vec!["--target-dir".to_owned(), target.display().to_string()];
            if !FEATURES[which].1.is_empty() {
                extra.extend(["--features".to_owned(), FEATURES[which].1.to_owned()]);
            }
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            times[which].push(timed(|| cargo_in(root, &["build", "-p", APPS[0]], &extra))?);
        }
    }
    let mut table = Table::new(
        "What each of azfn's optional parts adds to the quickstart's clean build",
        &format!(
            "The quickstart of the table above, built clean (`dev`, a fresh target folder each time) with no \
             azfn feature and with each of `opentelemetry` (OTLP export: opentelemetry, tracing-opentelemetry, \
             reqwest, rustls), `storage-clients` (the Azure SDK's storage crates, azure_identity) and `native` \
             (the gRPC transport: prost, HTTP/2) on its own. {rounds} rounds, the order reversed every other \
             round; medians of wall-clock time."
        ),
        &["azfn feature", "clean build", "added", "ratio to none", "rounds"],
    );
    let none = median(&times[0]);
    for (which, (feature, _)) in FEATURES.iter().enumerate() {
        let time = median(&times[which]);
        table.row(vec![
            format!("`{feature}`"),
            table::ms(time),
            if which == 0 {
                String::new()
            } else {
                table::ms(time - none)
            },
            table::ratio(time / none),
            table::rounds(&times[which], table::ms),
        ]);
    }
    Ok(table)
}

/// `cargo` with `args` then `extra`, in the scratch workspace.
fn cargo_in(root: &Path, args: &[&str], extra: &[&str]) -> Result<(), String> {
    let output = Command::new(cargo())
        .current_dir(root)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_INCREMENTAL")
        .args(args)
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run cargo in {}: {e}", root.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn target_dir(root: &Path, which: usize) -> PathBuf {
    root.join(format!("target-{}", APPS[which]))
}

fn timed(build: impl FnOnce() -> Result<(), String>) -> Result<f64, String> {
    let started = Instant::now();
    build()?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// `cargo build` of one app in its own target folder, with `extra` arguments.
fn build(root: &Path, which: usize, extra: &[&str]) -> Result<(), String> {
    let target = target_dir(root, which).display().to_string();
    cargo_in(root, &["build", "-p", APPS[which], "--target-dir", &target], extra)
}

/// Switches `hello`'s greeting to the other text.
fn edit_hello(root: &Path, which: usize, round: usize) -> Result<(), String> {
    let path = root.join(APPS[which]).join("src/main.rs");
    let source = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (from, to) = (GREETINGS[round % 2], GREETINGS[(round + 1) % 2]);
    if !source.contains(from) {
        return Err(format!("{} has no {from} to edit", path.display()));
    }
    std::fs::write(&path, source.replacen(from, to, 1)).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A clean build of the quickstart with `--timings`, read back: the compile time of the
/// proc-macro crates and of the crates only they use, and the app crate's macro expansion.
fn timings(root: &Path) -> Result<String, String> {
    let target = target_dir(root, 0);
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
    }
    build(root, 0, &["--timings"])?;
    let report = target.join("cargo-timings/cargo-timing.html");
    let html = std::fs::read_to_string(&report).map_err(|e| format!("cannot read {}: {e}", report.display()))?;
    let units = unit_data(&html).ok_or_else(|| format!("no UNIT_DATA in {}", report.display()))?;
    let proc_macros = proc_macro_packages(root)?;
    let mut total = 0.0;
    let mut macro_side = 0.0;
    let mut azfn_macros = 0.0;
    let mut wall: f64 = 0.0;
    for unit in &units {
        let name = unit.get("name").and_then(|v| v.as_str()).unwrap_or_default();
        let duration = unit.get("duration").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        let start = unit.get("start").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        wall = wall.max(start + duration);
        total += duration;
        if proc_macros.iter().any(|p| p == name) {
            macro_side += duration;
        }
        if name == "azfn-macros" {
            azfn_macros += duration;
        }
    }
    let expansion = expansion_time(root)?;
    Ok(format!(
        "`cargo build --timings` of the quickstart, clean: {wall:.1} s wall clock, {total:.1} s of compile time over \
         {} units. The proc-macro crates and the crates only they use ({}) take {macro_side:.1} s of it ({:.0} %); \
         `azfn-macros` itself {azfn_macros:.2} s. Macro expansion inside the quickstart crate (`-Z time-passes`, \
         `expand_crate`): {expansion}.",
        units.len(),
        proc_macros.join(", "),
        100.0 * macro_side / total.max(f64::EPSILON),
    ))
}

/// The units of cargo's timing report (`const UNIT_DATA = [...];`).
fn unit_data(html: &str) -> Option<Vec<serde_json::Value>> {
    let start = html.find("UNIT_DATA = ")? + "UNIT_DATA = ".len();
    let rest = &html[start..];
    let end = rest.find(";\n")?;
    serde_json::from_str(&rest[..end]).ok()
}

/// The quickstart's proc-macro packages and the packages only proc macros depend on, from
/// `cargo metadata`'s resolved graph.
fn proc_macro_packages(root: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(cargo())
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--offline"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata's output: {e}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let name_of = |id: &str| -> Option<String> {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str().map(str::to_owned))
    };
    let is_proc_macro = |id: &str| {
        packages.iter().any(|p| {
            p["id"] == id
                && p["targets"].as_array().is_some_and(|targets| {
                    targets.iter().any(|t| {
                        t["kind"]
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k == "proc-macro"))
                    })
                })
        })
    };
    let nodes = metadata["resolve"]["nodes"].as_array().cloned().unwrap_or_default();
    let depends_on = |id: &str| -> Vec<String> {
        nodes
            .iter()
            .find(|n| n["id"] == id)
            .and_then(|n| n["dependencies"].as_array())
            .map(|deps| deps.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    // What the quickstart reaches at run time: from its root, not through a proc macro.
    let root_id = nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
        .find(|id| name_of(id).as_deref() == Some("quickstart"))
        .ok_or("no quickstart package in the scratch workspace")?;
    let mut run_time = vec![root_id.clone()];
    let mut proc_macros = Vec::new();
    let mut queue = vec![root_id];
    while let Some(id) = queue.pop() {
        for dependency in depends_on(&id) {
            if is_proc_macro(&dependency) {
                if !proc_macros.contains(&dependency) {
                    proc_macros.push(dependency);
                }
            } else if !run_time.contains(&dependency) {
                run_time.push(dependency.clone());
                queue.push(dependency);
            }
        }
    }
    // Everything a proc macro needs that the run-time graph does not.
    let mut macro_side = proc_macros.clone();
    let mut queue = proc_macros;
    while let Some(id) = queue.pop() {
        for dependency in depends_on(&id) {
            if !run_time.contains(&dependency) && !macro_side.contains(&dependency) {
                macro_side.push(dependency.clone());
                queue.push(dependency);
            }
        }
    }
    let mut names: Vec<String> = macro_side.iter().filter_map(|id| name_of(id)).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The quickstart crate's `expand_crate` pass, from `-Z time-passes` on that crate alone.
fn expansion_time(root: &Path) -> Result<String, String> {
    let output = Command::new(cargo())
        .current_dir(root)
        .env_remove("CARGO_TARGET_DIR")
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["rustc", "-p", APPS[0], "--target-dir"])
        .arg(target_dir(root, 0))
        .args(["--", "-Z", "time-passes", "-C", "incremental=false"])
        .output()
        .map_err(|e| format!("cannot run cargo rustc: {e}"))?;
    let text = String::from_utf8_lossy(&output.stderr);
    let seconds = |pass: &str| -> Option<f64> {
        text.lines()
            .find(|line| line.trim_end().ends_with(pass) && line.contains("time:"))
            .and_then(|line| line.split("time:").nth(1))
            .and_then(|rest| rest.trim_start().split(';').next())
            .and_then(|value| value.trim().parse().ok())
    };
    match (seconds("expand_crate"), seconds("total")) {
        (Some(expand), Some(total)) => Ok(format!(
            "{:.0} ms of the crate's {:.0} ms ({:.0} %)",
            expand * 1e3,
            total * 1e3,
            100.0 * expand / total
        )),
        _ => Err(format!("no expand_crate or total in -Z time-passes' output:\n{text}")),
    }
}

/// Writes the scratch workspace: the quickstart as it is in the repository, and its
/// hand-written twin.
fn generate(root: &Path) -> Result<(), String> {
    let workspace = format!(
        "# Generated by azfn-bench (bench/src/user_build.rs); rewritten on every run.\n\
         [workspace]\nresolver = \"3\"\nmembers = [\"quickstart\", \"handwritten\"]\n\n\
         [workspace.dependencies]\nazfn = {{ path = {:?} }}\n",
        workspace_root().join("runtime").display().to_string()
    );
    write_if_changed(&root.join("Cargo.toml"), &workspace)?;
    // The azfn workspace's lock file: both use the same versions, no registry look-up.
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read the workspace's Cargo.lock: {e}"))?;
    write_if_changed(&root.join("Cargo.lock"), &lock)?;
    let quickstart = workspace_root().join("examples/quickstart/src/main.rs");
    let quickstart =
        std::fs::read_to_string(&quickstart).map_err(|e| format!("cannot read {}: {e}", quickstart.display()))?;
    if !quickstart.contains(GREETINGS[0]) {
        return Err(format!("the quickstart's `hello` no longer says {}", GREETINGS[0]));
    }
    write_if_changed(
        &root.join("quickstart/Cargo.toml"),
        "[package]\nname = \"quickstart\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nazfn.workspace = true\nserde = { version = \"1\", features = [\"derive\"] }\n\
         serde_json = \"1\"\ntracing = \"0.1\"\n\n\
         [features]\notel = [\"azfn/opentelemetry\"]\nclients = [\"azfn/storage-clients\"]\nnative = [\"azfn/native\"]\n",
    )?;
    write_if_changed(&root.join("quickstart/src/main.rs"), &quickstart)?;
    write_if_changed(
        &root.join("handwritten/Cargo.toml"),
        "[package]\nname = \"handwritten\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\n\
         tokio = { version = \"1\", features = [\"rt-multi-thread\", \"net\", \"macros\", \"signal\"] }\n\
         hyper = { version = \"1\", features = [\"server\", \"http1\"] }\n\
         hyper-util = { version = \"0.1\", features = [\"tokio\"] }\n\
         http-body-util = \"0.1\"\nbytes = \"1\"\nbase64 = \"0.22\"\n\
         serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\ntracing = \"0.1\"\n",
    )?;
    write_if_changed(&root.join("handwritten/src/main.rs"), HANDWRITTEN)?;
    Ok(())
}

/// The quickstart's functions as a hand-written custom handler.
const HANDWRITTEN: &str = r#"//! The quickstart's five functions as a custom handler written by hand on hyper, tokio and
//! serde_json (generated by azfn-bench, bench/src/user_build.rs). The host's function.json
//! files would be written by hand too; they are not part of what is compiled.

use std::convert::Infallible;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Data", default)]
    data: Map<String, Value>,
    #[serde(rename = "Metadata", default)]
    metadata: Map<String, Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Order {
    id: u32,
    item: String,
    quantity: u32,
}

#[derive(Serialize, Deserialize)]
struct Greeting {
    greeting: String,
}

#[derive(Deserialize)]
struct TimerInfo {
    #[serde(rename = "IsPastDue", default)]
    is_past_due: bool,
}

/// A value the host encodes once more as a JSON string.
fn decode<T: DeserializeOwned>(value: Option<&Value>) -> Result<T, String> {
    match value {
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| e.to_string()),
        Some(other) => T::deserialize(other).map_err(|e| e.to_string()),
        None => Err("missing".to_owned()),
    }
}

/// Text outputs go as base64, which the host decodes back to the bytes.
fn text_output(value: &impl Serialize) -> Value {
    Value::String(BASE64.encode(serde_json::to_vec(value).unwrap_or_default()))
}

fn http(status: u16, content_type: &str, body: String) -> Value {
    json!({ "statusCode": status, "headers": { "Content-Type": content_type }, "body": body })
}

fn query<'a>(envelope: &'a Envelope, name: &str) -> Option<&'a str> {
    envelope.data.get("req")?.get("Query")?.get(name)?.as_str()
}

fn hello(envelope: &Envelope) -> Result<Value, String> {
    let name = query(envelope, "name").unwrap_or("world");
    let text = format!("Hello, {}!", name);
    Ok(json!({ "ReturnValue": http(200, "text/plain; charset=utf-8", text) }))
}

fn greet(envelope: &Envelope) -> Result<Value, String> {
    let name = envelope
        .data
        .get("req")
        .and_then(|r| r.get("Params"))
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("world");
    let body = serde_json::to_string(&Greeting { greeting: format!("Hello, {name}!") }).map_err(|e| e.to_string())?;
    Ok(json!({ "ReturnValue": http(200, "application/json", body) }))
}

fn tick(envelope: &Envelope) -> Result<Value, String> {
    let timer: TimerInfo = decode(envelope.data.get("timer"))?;
    if timer.is_past_due {
        println!("tick is running late");
    }
    Ok(json!({ "Outputs": {}, "Logs": [] }))
}

fn ship(envelope: &Envelope) -> Result<Value, String> {
    let order: Order = decode(envelope.data.get("order"))?;
    let id: String = decode(envelope.metadata.get("Id")).unwrap_or_default();
    if order.quantity == 0 {
        return Err(format!("order {} (message {id}) has no items", order.id));
    }
    tracing::info!(id = order.id, "shipping order");
    Ok(json!({ "ReturnValue": text_output(&order) }))
}

fn accept(envelope: &Envelope) -> Result<Value, String> {
    let body = envelope.data.get("req").and_then(|r| r.get("Body")).cloned().unwrap_or(Value::Null);
    let orders: Vec<Order> = match body {
        Value::String(text) => serde_json::from_str(&text).map_err(|e| e.to_string())?,
        other => serde_json::from_value(other).map_err(|e| e.to_string())?,
    };
    let count = orders.len();
    let messages: Vec<Value> = orders.iter().map(text_output).collect();
    let response = http(202, "application/json", json!({ "accepted": count }).to_string());
    Ok(json!({ "Outputs": { "response": response, "orders": messages } }))
}

async fn invoke(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let function = request.uri().path().trim_start_matches('/').to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return Ok(answer(StatusCode::BAD_REQUEST, error.to_string())),
    };
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(error) => return Ok(answer(StatusCode::BAD_REQUEST, error.to_string())),
    };
    let result = match function.as_str() {
        "hello" => hello(&envelope),
        "greet" => greet(&envelope),
        "tick" => tick(&envelope),
        "ship" => ship(&envelope),
        "accept" => accept(&envelope),
        _ => return Ok(answer(StatusCode::NOT_FOUND, format!("no function {function}"))),
    };
    Ok(match result {
        Ok(value) => answer(StatusCode::OK, value.to_string()),
        Err(error) => answer(StatusCode::INTERNAL_SERVER_ERROR, error),
    })
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free");
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(invoke))
                .await;
        });
    }
}
"#;
