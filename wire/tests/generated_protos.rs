//! The protocol code in `src/generated/` is generated from the `.proto` files in `proto/`
//! (see `proto/README.md`) and committed, so that building azfn never runs a code generator. This
//! test generates it again, into a temporary folder, and fails when a committed file differs from
//! the generator's output byte for byte, is missing, or is not generated at all.
//!
//! After changing a `.proto` file (or the generator's versions), write the new files with
//!
//! ```text
//! AZFN_UPDATE_GENERATED=1 cargo test -p azfn-wire --test generated_protos
//! ```
//!
//! and commit them with the `.proto` change.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};

/// The environment variable that makes the test write the generated files instead of comparing.
const UPDATE: &str = "AZFN_UPDATE_GENERATED";

/// The well-known types the protocols import. protox has its own copies of these files, so
/// they are not kept in `proto/`.
const WELL_KNOWN_TYPES: &[&str] = &[
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/wrappers.proto",
];

/// The generated code's Rust path of the well-known types: the hand-written `wkt` module
/// re-exports them with their helper methods.
const WELL_KNOWN_TYPES_PATH: &str = "crate::wkt";

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

fn generated_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated")
}

/// The options every run shares: maps as `BTreeMap` (ordered, as azfn's code expects), and the
/// well-known types treated as any other package rather than mapped to `prost-types`.
fn config(out: &Path) -> prost_build::Config {
    let mut config = prost_build::Config::new();
    config.out_dir(out).btree_map(["."]).compile_well_known_types();
    config
}

/// Writes every generated file into `out`.
///
/// One run per protocol, because the language-worker protocol's shared files, the Durable Task
/// protocol and the Service Bus settlement service all declare their messages without a package:
/// compiled together, prost-build would write them all into one root module.
fn generate(out: &Path) -> Result<(), Box<dyn Error>> {
    let proto = proto_dir();

    // `google.protobuf` (google.protobuf.rs), from protox's copies of the files. Their comments
    // are dropped: the generated code carries no text but the definitions, and the hand-written
    // `wkt` documents what it re-exports.
    let mut well_known = protox::compile(WELL_KNOWN_TYPES, [&proto])?;
    for file in &mut well_known.file {
        file.source_code_info = None;
    }
    config(out).compile_fds(well_known)?;

    // The language-worker protocol: `AzureFunctionsRpcMessages` (azure_functions_rpc_messages.rs)
    // and the package-less messages it imports (function_rpc_root.rs).
    let functions = proto.join("functions");
    let function_rpc = protox::compile([functions.join("FunctionRpc.proto")], [&functions])?;
    config(out)
        .extern_path(".google.protobuf", WELL_KNOWN_TYPES_PATH)
        .default_package_filename("function_rpc_root")
        .compile_fds(function_rpc)?;

    // The Durable Task protocol, which has no package (orchestrator_service.rs).
    let durable = proto.join("durable");
    let orchestrator = protox::compile([durable.join("orchestrator_service.proto")], [&durable])?;
    config(out)
        .extern_path(".google.protobuf", WELL_KNOWN_TYPES_PATH)
        .default_package_filename("orchestrator_service")
        .compile_fds(orchestrator)?;

    // The Service Bus extension's settlement service, which has no package either
    // (settlement.rs).
    let servicebus = proto.join("servicebus");
    let settlement = protox::compile([servicebus.join("settlement.proto")], [&servicebus])?;
    config(out)
        .extern_path(".google.protobuf", WELL_KNOWN_TYPES_PATH)
        .default_package_filename("settlement")
        .compile_fds(settlement)?;
    Ok(())
}

/// The `.rs` files of a folder, by name.
fn rust_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (name, bytes)
        })
        .collect()
}

/// What differs between the committed files and the generator's, one line per file.
fn differences(committed: &BTreeMap<String, Vec<u8>>, generated: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut differences = Vec::new();
    for (name, bytes) in generated {
        match committed.get(name) {
            None => differences.push(format!("{name}: generated, but not committed")),
            Some(old) if old != bytes => {
                let line = old
                    .split(|b| *b == b'\n')
                    .zip(bytes.split(|b| *b == b'\n'))
                    .position(|(a, b)| a != b)
                    .map_or_else(|| "at its end".to_owned(), |i| format!("from line {}", i + 1));
                differences.push(format!("{name}: differs from the generator's output {line}"));
            }
            Some(_) => {}
        }
    }
    for name in committed.keys().filter(|name| !generated.contains_key(*name)) {
        differences.push(format!("{name}: committed, but no longer generated"));
    }
    differences
}

#[test]
fn the_committed_protocol_code_is_what_the_proto_files_generate() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("azfn-generated-protos");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("a temporary folder");
    generate(&out).unwrap_or_else(|e| panic!("generating the protocol code from {}: {e}", proto_dir().display()));

    let generated = rust_files(&out);
    assert!(
        generated.contains_key("azure_functions_rpc_messages.rs") && generated.contains_key("orchestrator_service.rs"),
        "the generator wrote {:?}",
        generated.keys().collect::<Vec<_>>()
    );
    let target = generated_dir();
    let committed = rust_files(&target);
    let differences = differences(&committed, &generated);
    if differences.is_empty() {
        return;
    }

    if std::env::var_os(UPDATE).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&target).expect("the generated folder");
        for name in committed.keys().filter(|name| !generated.contains_key(*name)) {
            std::fs::remove_file(target.join(name)).expect("a stale generated file removed");
        }
        for (name, bytes) in &generated {
            std::fs::write(target.join(name), bytes).expect("a generated file written");
        }
        eprintln!(
            "{UPDATE}=1: wrote {}:\n  {}",
            target.display(),
            differences.join("\n  ")
        );
        return;
    }
    panic!(
        "the protocol code in {} is not what {} generates:\n  {}\n\
         Write it with `{UPDATE}=1 cargo test -p azfn-wire --test generated_protos` and commit it \
         with the .proto change.",
        target.display(),
        proto_dir().display(),
        differences.join("\n  ")
    );
}

#[test]
fn differences_name_every_changed_missing_and_stale_file() {
    let file = |name: &str, text: &str| (name.to_owned(), text.as_bytes().to_vec());
    let committed = BTreeMap::from([file("a.rs", "x\ny\n"), file("b.rs", "same"), file("old.rs", "")]);
    let generated = BTreeMap::from([file("a.rs", "x\nz\n"), file("b.rs", "same"), file("new.rs", "")]);
    assert_eq!(
        differences(&committed, &generated),
        [
            "a.rs: differs from the generator's output from line 2",
            "new.rs: generated, but not committed",
            "old.rs: committed, but no longer generated",
        ]
    );
    assert!(differences(&generated, &generated).is_empty());
}
