//! Generates tonic's client and server stubs for the two services measured, from the same
//! `.proto` files as azfn (`wire/proto/`), compiled by protox (no protoc binary). The messages
//! are not generated again: `extern_path` points every type at azfn_wire's prost code, so both
//! stacks encode and decode the very same Rust types and only the transport differs.

use std::error::Error;
use std::path::Path;

use prost_types::FileDescriptorSet;

fn main() -> Result<(), Box<dyn Error>> {
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wire/proto");
    println!("cargo:rerun-if-changed={}", proto.display());

    let durable = proto.join("durable");
    let sidecar = protox::compile([durable.join("orchestrator_service.proto")], [&durable])?;
    with_azfn_types(tonic_prost_build::configure(), &sidecar, "::azfn_wire::durable")
        .build_client(true)
        .build_server(true)
        // The server implements only the methods the benchmark calls.
        .generate_default_stubs(true)
        .compile_fds(sidecar)?;

    let functions = proto.join("functions");
    let function_rpc = protox::compile([functions.join("FunctionRpc.proto")], [&functions])?;
    with_azfn_types(tonic_prost_build::configure(), &function_rpc, "::azfn_wire::rpc")
        .build_client(true)
        .build_server(false)
        .compile_fds(function_rpc)?;
    Ok(())
}

/// Maps every message and enum of `files` to azfn_wire's: packages as a whole, and the types
/// of a file without a package one by one (prost-build refuses `.` as a path). `root` is the
/// module holding the package-less types and the `AzureFunctionsRpcMessages` ones.
fn with_azfn_types(
    mut builder: tonic_prost_build::Builder,
    files: &FileDescriptorSet,
    root: &str,
) -> tonic_prost_build::Builder {
    // The well-known types are azfn_wire's too (it compiles them), not prost-types'.
    builder = builder
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::azfn_wire::wkt")
        .extern_path(".AzureFunctionsRpcMessages", root);
    for file in files.file.iter().filter(|f| f.package().is_empty()) {
        let messages = file.message_type.iter().map(|m| m.name());
        let enums = file.enum_type.iter().map(|e| e.name());
        for name in messages.chain(enums) {
            builder = builder.extern_path(format!(".{name}"), format!("{root}::{name}"));
        }
    }
    builder
}
