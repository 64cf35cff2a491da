//! `build`: what each stack costs to build. A clean `cargo build --release` of a tiny client
//! on each stack (`probes/`), each into a fresh target directory, ABBA: the crates compiled,
//! the wall time, and the binary's size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::clients::Stack;
use crate::stats::median;

struct Build {
    stack: Stack,
    crates: usize,
    wall: Duration,
    binary_bytes: u64,
}

fn probe(stack: Stack) -> &'static str {
    match stack {
        Stack::Hand | Stack::HandCoalescing => "probe-hand-client",
        // The build of tonic on hyper is tonic's, less nothing: it shares the tonic probe.
        Stack::Tonic | Stack::TonicOnHyper => "probe-tonic-client",
    }
}

/// The stacks compared (tonic on a bare hyper connection is a unary-only variant).
const STACKS: &[Stack] = &[Stack::Hand, Stack::Tonic];

pub fn run(quick: bool) -> Result<(), String> {
    let rounds = if quick { 1 } else { 2 };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    // Beside this binary's own target directory: <target>/release/grpc-stacks.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let scratch = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the binary is not in a target directory")?
        .join("grpc-stacks-build-cost");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut builds = Vec::new();
    for (round, stack) in Stack::abba(STACKS, rounds).into_iter().enumerate() {
        let target = scratch.join(format!("{round}-{}", probe(stack)));
        let build = clean_build(&cargo, &manifest, &target, stack)?;
        eprintln!(
            "  {:>12}: {} crates in {:.1} s, binary {} KiB",
            stack.name(),
            build.crates,
            build.wall.as_secs_f64(),
            build.binary_bytes / 1024
        );
        let _ = std::fs::remove_dir_all(&target);
        builds.push(build);
    }
    let of = |stack: Stack, figure: fn(&Build) -> f64| {
        median(
            &builds
                .iter()
                .filter(|b| b.stack == stack)
                .map(figure)
                .collect::<Vec<_>>(),
        )
    };
    let figures: [fn(&Build) -> f64; 3] = [
        |b| b.crates as f64,
        |b| b.wall.as_secs_f64(),
        |b| b.binary_bytes as f64 / 1024.0,
    ];
    println!("## Clean release build of a tiny unary client ({rounds} builds per stack, ABBA)\n");
    println!("| stack | crates compiled | wall time | binary |");
    println!("|---|---|---|---|");
    for stack in [Stack::Hand, Stack::Tonic] {
        let [crates, wall, kib] = figures.map(|f| of(stack, f));
        println!("| {} | {crates:.0} | {wall:.1} s | {kib:.0} KiB |", stack.name());
    }
    let [crates, wall, kib] = figures.map(|f| of(Stack::Tonic, f) / of(Stack::Hand, f));
    println!("\ntonic ÷ hand-written: crates {crates:.2}×, wall time {wall:.2}×, binary {kib:.2}×\n");
    Ok(())
}

fn clean_build(cargo: &str, manifest: &Path, target: &PathBuf, stack: Stack) -> Result<Build, String> {
    let _ = std::fs::remove_dir_all(target);
    let started = Instant::now();
    let output = Command::new(cargo)
        .args(["build", "--release", "--locked", "-p", probe(stack), "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target)
        .env_remove("RUSTC_WRAPPER")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("building {} failed: {stderr}", probe(stack)));
    }
    let crates = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count();
    let binary = target.join("release").join(probe(stack));
    let binary_bytes = std::fs::metadata(&binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?
        .len();
    Ok(Build {
        stack,
        crates,
        wall,
        binary_bytes,
    })
}
