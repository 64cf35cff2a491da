//! Build cost: an app of 200 `#[function]`s against the same 200 functions described,
//! invoked and registered by hand, without the macros.
//!
//! Both crates are generated into one scratch workspace under `target/azfn-bench/build-cost`
//! (kept between runs, so its dependency build is reused). Both share one target folder, so
//! the dependencies (azfn, tokio, hyper, serde, the proc-macro crate…) are built once, unmeasured;
//! what is timed is rebuilding the app crate alone after touching its `main.rs`: the cost the
//! macros add to every edit-compile cycle.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::Settings;
use crate::binaries::{cargo, file_size, workspace_root};
use crate::stats::median;
use crate::table::{self, Table};

const FUNCTIONS: usize = 200;
const APPS: [&str; 2] = ["with-macros", "by-hand"];

pub fn run(settings: &Settings) -> Result<Vec<Table>, String> {
    let root = workspace_root().join("target/azfn-bench/build-cost");
    generate(&root)?;
    check_same_manifest(&root)?;
    let mut table = Table::new(
        "Build cost, 200 functions",
        &format!(
            "Two generated crates: `with-macros`, 200 `#[function]`s (HTTP → text and queue → queue in \
             turn), and `by-hand`, the same functions with hand-written `static` descriptions, invokers and \
             `inventory::submit!` registrations (their `--write-app` output was checked identical). The \
             dependencies are built once and shared; each measurement touches the app's `main.rs` and \
             rebuilds that crate alone, incremental compilation off (`CARGO_INCREMENTAL=0`) so the whole \
             crate is compiled. {} rounds per profile, alternating; medians of wall-clock time.",
            settings.build_rounds
        ),
        &[
            "profile",
            "with macros",
            "by hand",
            "ratio",
            "difference",
            "binary with macros",
            "binary by hand",
        ],
    );
    for profile in ["dev", "release"] {
        // Unmeasured: dependencies and both apps, so every timed build is the app crate only.
        cargo_build(&root, profile, None)?;
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.build_rounds {
            let order = if round.is_multiple_of(2) { [0, 1] } else { [1, 0] };
            for which in order {
                touch(&root.join(APPS[which]).join("src/main.rs"))?;
                let started = Instant::now();
                cargo_build(&root, profile, Some(APPS[which]))?;
                times[which].push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let folder = if profile == "dev" { "debug" } else { "release" };
        let size = |app: &str| -> Result<String, String> {
            let bytes = file_size(&root.join("target").join(folder).join(app))?;
            Ok(table::mib(bytes as f64 / 1024.0))
        };
        let (macros, by_hand) = (median(&times[0]), median(&times[1]));
        table.row(vec![
            format!("`{profile}`"),
            table::ms(macros),
            table::ms(by_hand),
            table::ratio(macros / by_hand),
            table::ms(macros - by_hand),
            size(APPS[0])?,
            size(APPS[1])?,
        ]);
    }
    table.note(format!(
        "Generated sources: `{}`; rebuild by hand with `cargo build --release -p with-macros` there.",
        root.display()
    ));
    Ok(vec![table])
}

/// `cargo build` of the scratch workspace (every app) or of one app, in `profile`.
fn cargo_build(root: &Path, profile: &str, app: Option<&str>) -> Result<(), String> {
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .env_remove("CARGO_TARGET_DIR")
        // Without it, a dev rebuild of an untouched source reuses the previous compilation
        // almost whole; the figure would be the incremental cache's, not the crate's.
        .env("CARGO_INCREMENTAL", "0")
        .args(["build", "--profile", profile, "--target-dir", "target"]);
    match app {
        Some(app) => command.args(["-p", app]),
        None => command.arg("--workspace"),
    };
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo in {}: {e}", root.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "building {} ({profile}) failed:\n{}",
            app.unwrap_or("the build-cost workspace"),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Changes the file's modification time (by writing it again), so cargo rebuilds its crate.
fn touch(path: &Path) -> Result<(), String> {
    let content = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    std::fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes the scratch workspace; files already holding the same text are left alone, so a
/// second run reuses the first one's builds.
fn generate(root: &Path) -> Result<(), String> {
    let runtime = workspace_root().join("runtime");
    let workspace = format!(
        "# Generated by azfn-bench (bench/src/build_cost.rs); rewritten on every run.\n\
         [workspace]\nresolver = \"3\"\nmembers = [\"with-macros\", \"by-hand\"]\n\n\
         [workspace.dependencies]\nazfn = {{ path = {:?} }}\n\n\
         # As in the azfn workspace.\n[profile.release]\ncodegen-units = 4\n",
        runtime.display().to_string()
    );
    write_if_changed(&root.join("Cargo.toml"), &workspace)?;
    // The azfn workspace's lock file, so both builds use the same dependency versions and need
    // no registry look-up.
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read the workspace's Cargo.lock: {e}"))?;
    if !root.join("Cargo.lock").exists() {
        write_if_changed(&root.join("Cargo.lock"), &lock)?;
    }
    for (app, source) in [(APPS[0], with_macros()), (APPS[1], by_hand())] {
        let manifest = format!(
            "[package]\nname = \"{app}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nazfn.workspace = true\n"
        );
        write_if_changed(&root.join(app).join("Cargo.toml"), &manifest)?;
        write_if_changed(&root.join(app).join("src/main.rs"), &source)?;
    }
    Ok(())
}

pub fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Even-numbered functions are HTTP (query in, text out), odd ones queue to queue.
fn is_http(index: usize) -> bool {
    index.is_multiple_of(2)
}

/// The app with the macros.
fn with_macros() -> String {
    let mut source = String::from(
        "//! 200 functions written with `#[function]` (generated by azfn-bench).\n\n\
         use azfn::prelude::*;\n",
    );
    for index in 0..FUNCTIONS {
        let name = format!("f{index:03}");
        let _ = if is_http(index) {
            write!(
                source,
                r#"
#[function(http_trigger(methods = "get", auth_level = "anonymous"))]
async fn {name}(req: HttpRequest) -> String {{
    format!("{name}: Hello, {{}}!", req.query("name").unwrap_or("world"))
}}
"#
            )
        } else {
            write!(
                source,
                r#"
#[function(queue_trigger(queue_name = "in-{index:03}"), queue_output(queue_name = "out-{index:03}"))]
async fn {name}(message: String) -> String {{
    format!("{name}: {{message}}")
}}
"#
            )
        };
    }
    source.push_str("\nfn main() {\n    azfn::App::new().run();\n}\n");
    source
}

/// The same app without the macros: what `#[function]` saves writing.
fn by_hand() -> String {
    let mut source = String::from(
        r#"//! The 200 functions of `with-macros`, described, invoked and registered by hand (generated by
//! azfn-bench).

use azfn::__private::{Registration, inventory};
use azfn::bindings::{BindingDescription, DataType, PropertyValue, catalog};
use azfn::{
    BindingData, FunctionDescription, HttpRequest, HttpResponse, Invocation, InvocationError, InvokeFuture,
    OutputValue, Outputs,
};

static HTTP_RETURN: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::HTTP_OUTPUT,
    name: "$return",
    data_type: None,
    properties: &[],
}];

fn http_request(invocation: &Invocation) -> Result<&HttpRequest, InvocationError> {
    match invocation.trigger() {
        BindingData::Http(request) => Ok(request),
        _ => Err(InvocationError::Binding {
            binding: "req".into(),
            message: "not an HTTP request".into(),
        }),
    }
}

fn text_response(text: String) -> Outputs {
    Outputs {
        named: Vec::new(),
        return_value: Some(OutputValue::Http(HttpResponse::ok().text(text))),
        logs: Vec::new(),
    }
}

fn queue_message(invocation: &Invocation) -> Result<String, InvocationError> {
    invocation.trigger().decode::<String>().map_err(|e| InvocationError::Binding {
        binding: "message".into(),
        message: e.to_string(),
    })
}

fn queue_output(message: String) -> Outputs {
    Outputs {
        named: Vec::new(),
        return_value: Some(OutputValue::Text(message)),
        logs: Vec::new(),
    }
}
"#,
    );
    for index in 0..FUNCTIONS {
        let name = format!("f{index:03}");
        let upper = name.to_uppercase();
        let _ = if is_http(index) {
            write!(
                source,
                r#"
async fn {name}(req: &HttpRequest) -> String {{
    format!("{name}: Hello, {{}}!", req.query("name").unwrap_or("world"))
}}

static {upper}_BINDINGS: [BindingDescription; 1] = [BindingDescription {{
    kind: &catalog::HTTP_TRIGGER,
    name: "req",
    data_type: None,
    properties: &[("methods", PropertyValue::List(&["get"])), ("authLevel", PropertyValue::Str("anonymous"))],
}}];

static {upper}: FunctionDescription = FunctionDescription {{
    name: "{name}",
    rust_path: "by_hand::{name}",
    location: (file!(), line!()),
    bindings: &{upper}_BINDINGS,
    return_bindings: &HTTP_RETURN,
    retry: None,
    streams_request_body: false,
    invoke: invoke_{name},
}};

fn invoke_{name}(invocation: Invocation) -> InvokeFuture {{
    Box::pin(async move {{
        let request = http_request(&invocation)?;
        Ok(text_response({name}(request).await))
    }})
}}

inventory::submit!(Registration(&{upper}));
"#
            )
        } else {
            write!(
                source,
                r#"
async fn {name}(message: String) -> String {{
    format!("{name}: {{message}}")
}}

static {upper}_BINDINGS: [BindingDescription; 2] = [
    BindingDescription {{
        kind: &catalog::QUEUE_TRIGGER,
        name: "message",
        data_type: Some(DataType::String),
        properties: &[("queueName", PropertyValue::Str("in-{index:03}"))],
    }},
    BindingDescription {{
        kind: &catalog::QUEUE_OUTPUT,
        name: "$return",
        data_type: None,
        properties: &[("queueName", PropertyValue::Str("out-{index:03}"))],
    }},
];

static {upper}: FunctionDescription = FunctionDescription {{
    name: "{name}",
    rust_path: "by_hand::{name}",
    location: (file!(), line!()),
    bindings: &{upper}_BINDINGS,
    return_bindings: &[],
    retry: None,
    streams_request_body: false,
    invoke: invoke_{name},
}};

fn invoke_{name}(invocation: Invocation) -> InvokeFuture {{
    Box::pin(async move {{
        let message = queue_message(&invocation)?;
        Ok(queue_output({name}(message).await))
    }})
}}

inventory::submit!(Registration(&{upper}));
"#
            )
        };
    }
    source.push_str("\nfn main() {\n    azfn::App::new().run();\n}\n");
    source
}

/// Builds both apps (dev) and compares the function.json files they write: the hand-written
/// app is only a fair baseline if it describes the same functions.
fn check_same_manifest(root: &Path) -> Result<(), String> {
    cargo_build(root, "dev", None)?;
    let mut manifests = Vec::new();
    for app in APPS {
        let out = root.join("manifests").join(app);
        let _ = std::fs::remove_dir_all(&out);
        let status = Command::new(root.join("target/debug").join(app))
            .arg("--write-app")
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run {app}: {e}"))?;
        if !status.status.success() {
            return Err(format!(
                "`{app} --write-app` failed: {}",
                String::from_utf8_lossy(&status.stderr)
            ));
        }
        let mut functions = Vec::new();
        for index in 0..FUNCTIONS {
            let path = out.join(format!("f{index:03}/function.json"));
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            functions.push(text);
        }
        manifests.push(functions);
    }
    match (0..FUNCTIONS).find(|&i| manifests[0][i] != manifests[1][i]) {
        None => Ok(()),
        Some(index) => Err(format!(
            "the hand-written app describes f{index:03} differently:\n  with macros: {}\n  by hand:     {}",
            manifests[0][index], manifests[1][index]
        )),
    }
}
