//! `callgrind`: the client's instructions per operation, which the machine's load does not
//! move. Each stack runs a fixed count of operations in one process (`calls` for unary
//! `GetInstance`, `round-trips` for the worker's EventStream) under `valgrind --tool=callgrind`,
//! with N = 0 (start, connect, one operation) and N = `count`; the difference over N is one
//! operation's cost. The server runs natively. ABBA order, twice per stack.

use std::path::Path;
use std::process::Command;

use crate::clients::{Stack, calls_args};
use crate::sidecar::SidecarProcess;
use crate::stats::median;
use crate::stream::{HostProcess, round_trips_args};

pub fn run(quick: bool) -> Result<(), String> {
    let count = if quick { 100 } else { 2_000 };
    let out_dir = std::env::temp_dir().join(format!("grpc-stacks-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;

    let sidecar = SidecarProcess::start()?;
    let unary = per_operation(
        &out_dir,
        &[Stack::Hand, Stack::Tonic, Stack::TonicOnHyper],
        count,
        |stack, n| calls_args(stack, sidecar.port, n),
    )?;
    drop(sidecar);
    print_table(
        &format!("Client instructions per unary GetInstance call (callgrind, {count} calls minus 0, ABBA)"),
        &unary,
    );

    let host = HostProcess::start()?;
    for lanes in [1, 32] {
        let stream = per_operation(
            &out_dir,
            &[Stack::Hand, Stack::Tonic, Stack::HandCoalescing],
            count,
            |stack, n| round_trips_args(stack, host.port, lanes, n),
        )?;
        print_table(
            &format!(
                "Worker instructions per EventStream round trip, {lanes} in flight (callgrind, {count} round trips minus 0, ABBA)"
            ),
            &stream,
        );
    }
    drop(host);
    let _ = std::fs::remove_dir_all(&out_dir);
    Ok(())
}

/// The median instructions per operation of each of `stacks`, `args(stack, n)` being the
/// command line that makes n operations.
fn per_operation(
    out_dir: &Path,
    stacks: &[Stack],
    count: usize,
    args: impl Fn(Stack, usize) -> Vec<String>,
) -> Result<Vec<(Stack, f64)>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let instructions = |stack: Stack, n: usize| -> Result<u64, String> {
        let output = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}/callgrind.%p", out_dir.display()))
            .arg(&exe)
            .args(args(stack, n))
            .output()
            .map_err(|e| format!("cannot run valgrind: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("{} under callgrind failed: {stderr}", stack.name()));
        }
        // `==pid== Collected : 123456789`
        stderr
            .lines()
            .find_map(|line| line.split("Collected :").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("no instruction count in callgrind's output: {stderr}"))
    };
    let mut samples = Vec::new();
    for stack in Stack::abba(stacks, 2) {
        let baseline = instructions(stack, 0)?;
        let total = instructions(stack, count)?;
        let each = total.saturating_sub(baseline) as f64 / count as f64;
        eprintln!(
            "  {:>14}: ({total} − {baseline}) / {count} = {each:.0} instructions each",
            stack.name()
        );
        samples.push((stack, each));
    }
    Ok(stacks
        .iter()
        .map(|&stack| {
            let of_stack: Vec<f64> = samples.iter().filter(|(s, _)| *s == stack).map(|(_, n)| *n).collect();
            (stack, median(&of_stack))
        })
        .collect())
}

/// The first of `per_operation` is the reference of the ratios.
fn print_table(title: &str, per_operation: &[(Stack, f64)]) {
    let reference = per_operation.first().map(|(_, n)| *n).unwrap_or(f64::NAN);
    println!("## {title}\n");
    println!("| stack | instructions each | ÷ hand-written |");
    println!("|---|---|---|");
    for (stack, each) in per_operation {
        println!("| {} | {each:.0} | {:.2}× |", stack.name(), each / reference);
    }
    println!();
}
