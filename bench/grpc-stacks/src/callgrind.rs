//! `callgrind`: the client's instructions per call, which the machine's load does not move.
//! Each stack runs `calls <stack> <port> N` under `valgrind --tool=callgrind` with N = 0 (start,
//! connect, one call) and N = `CALLS`; the difference over N is one call's cost. The sidecar
//! runs natively. ABBA order, twice per stack.

use std::process::Command;

use crate::clients::{Stack, calls_args};
use crate::sidecar::SidecarProcess;
use crate::stats::median;

/// The stacks compared, the first the reference of the ratios.
const STACKS: &[Stack] = &[Stack::Hand, Stack::Tonic, Stack::TonicOnHyper];

pub fn run(quick: bool) -> Result<(), String> {
    let calls = if quick { 100 } else { 2_000 };
    let sidecar = SidecarProcess::start()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out_dir = std::env::temp_dir().join(format!("grpc-stacks-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let instructions = |stack: Stack, count: usize| -> Result<u64, String> {
        let output = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}/callgrind.%p", out_dir.display()))
            .arg(&exe)
            .args(calls_args(stack, sidecar.port, count))
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
    let mut per_call = Vec::new();
    for stack in Stack::abba(STACKS, 2) {
        let baseline = instructions(stack, 0)?;
        let total = instructions(stack, calls)?;
        let each = total.saturating_sub(baseline) as f64 / calls as f64;
        eprintln!(
            "  {:>12}: {total} − {baseline} instructions over {calls} calls = {each:.0} per call",
            stack.name()
        );
        per_call.push((stack, each));
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    let of = |stack: Stack| {
        median(
            &per_call
                .iter()
                .filter(|(s, _)| *s == stack)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>(),
        )
    };
    println!("## Client instructions per GetInstance call (callgrind, {calls} calls minus 0, ABBA)\n");
    println!("| stack | instructions per call | ÷ hand-written |");
    println!("|---|---|---|");
    for &stack in STACKS {
        let each = of(stack);
        println!("| {} | {each:.0} | {:.2}× |", stack.name(), each / of(Stack::Hand));
    }
    println!();
    Ok(())
}
