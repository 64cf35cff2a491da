//! Manifest emission (`--write-app` of a 1,000-function app) and the size of the binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Settings;
use crate::binaries::{Binaries, file_size};
use crate::process::Scratch;
use crate::stats::median;
use crate::table::{self, Table};

pub fn run(binaries: &Binaries, settings: &Settings) -> Result<Vec<Table>, String> {
    Ok(vec![emission(binaries, settings)?, sizes(binaries)?])
}

fn emission(binaries: &Binaries, settings: &Settings) -> Result<Table, String> {
    // In memory: on this shared VM's disk, the same writes vary from 70 ms to 800 ms from one
    // run to the next, which would hide azfn's own work.
    let scratch = Scratch::in_memory("manifest")?;
    let out = scratch.0.join("app");
    let out_arg = out.to_string_lossy().into_owned();
    let write_app = ["--write-app", out_arg.as_str()];
    let help = ["--help"];
    // Unmeasured: page cache warm, and the folder's layout checked once.
    run_app(binaries, &write_app)?;
    let written = std::fs::read_dir(&out)
        .map_err(|e| format!("cannot read {}: {e}", out.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("function.json").is_file())
        .count();
    if written != 1000 {
        return Err(format!("`--write-app` wrote {written} function.json files, not 1,000"));
    }
    // The floor's files: exactly what azfn wrote, to write again without azfn.
    let files = read_app(&out)?;
    let floor_out = scratch.0.join("floor");
    let (mut write_ms, mut help_ms, mut floor_ms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..settings.manifest_rounds {
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_dir_all(&floor_out);
        // Rotates the order every round, so no one measurement always follows another.
        for step in 0..3 {
            match (step + round) % 3 {
                0 => write_ms.push(run_app(binaries, &write_app)?),
                1 => help_ms.push(run_app(binaries, &help)?),
                _ => floor_ms.push(write_floor(&floor_out, &files, &binaries.manifest_1000)?),
            }
        }
    }
    let method = format!(
        "`manifest-1000 --write-app <tmp>`: an app of 1,000 `#[function]`s (HTTP, queue, timer and blob \
         triggers in turn) writes host.json, 1,000 function.json files, local.settings.json and a copy of \
         its executable into an empty folder on tmpfs (`/dev/shm`, when there is one), so that the disk's \
         cost does not hide azfn's. Two baselines: the same binary with `--help` (process start and exit, \
         no manifest), and the file-system floor: the runner itself writing the same folders and bytes and \
         copying the same executable, in-process. azfn's own share is `--write-app` minus both floors. \
         {} rounds, order rotated; medians of wall-clock time.",
        settings.manifest_rounds
    );
    let mut table = Table::new(
        "Manifest emission, 1,000 functions",
        &method,
        &[
            "`--write-app`",
            "`--help` (process floor)",
            "file-system floor",
            "`--write-app` / (process + file-system floor)",
        ],
    );
    let (write, floor, fs_floor) = (median(&write_ms), median(&help_ms), median(&floor_ms));
    table.row(vec![
        table::ms(write),
        table::ms(floor),
        table::ms(fs_floor),
        table::ratio(write / (floor + fs_floor)),
    ]);
    let executable = file_size(&binaries.manifest_1000)?;
    table.note(format!(
        "The copy of the {:.1} MiB executable is part of both the emission and the floor. Rounds: \
         `--write-app` {}; floor {}.",
        executable as f64 / 1024.0 / 1024.0,
        table::rounds(&write_ms, table::ms),
        table::rounds(&floor_ms, table::ms)
    ));
    Ok(table)
}

/// Every file `--write-app` wrote except the executable, as (relative path, bytes).
fn read_app(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries =
            std::fs::read_dir(dir.join(&relative)).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let path = relative.join(entry.file_name());
            let full = dir.join(&path);
            if full.is_dir() {
                pending.push(path);
            } else if full.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))?;
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Writes `files` and a copy of `executable` under `dir` as plainly as possible: the cost of
/// the file system alone. Milliseconds.
fn write_floor(dir: &Path, files: &[(PathBuf, Vec<u8>)], executable: &Path) -> Result<f64, String> {
    let started = Instant::now();
    let io = |e: std::io::Error| format!("file-system floor: {e}");
    std::fs::create_dir_all(dir).map_err(io)?;
    for (path, bytes) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(full, bytes).map_err(io)?;
    }
    if let Some(name) = executable.file_name() {
        std::fs::copy(executable, dir.join(name)).map_err(io)?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// Runs `manifest-1000` with `args` to completion; milliseconds from spawn to exit.
fn run_app(binaries: &Binaries, args: &[&str]) -> Result<f64, String> {
    let started = Instant::now();
    let status = Command::new(&binaries.manifest_1000)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", binaries.manifest_1000.display()))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!("`manifest-1000 {}` failed: {status}", args.join(" ")));
    }
    Ok(elapsed.as_secs_f64() * 1000.0)
}

fn sizes(binaries: &Binaries) -> Result<Table, String> {
    let mut table = Table::new(
        "Binary sizes (release profile of the workspace: `codegen-units = 4`, not stripped)",
        "File sizes of the benchmark binaries as built for this run.",
        &["binary", "functions", "size", "vs baseline"],
    );
    let baseline = file_size(&binaries.baseline)? as f64;
    for (name, functions, path) in [
        ("baseline (hand-written hyper)", "—", &binaries.baseline),
        ("bench-app (azfn)", "50", &binaries.bench_app),
        ("manifest-1000 (azfn)", "1,000", &binaries.manifest_1000),
    ] {
        let size = file_size(path)? as f64;
        table.row(vec![
            name.into(),
            functions.into(),
            table::mib(size / 1024.0),
            table::ratio(size / baseline),
        ]);
    }
    Ok(table)
}
