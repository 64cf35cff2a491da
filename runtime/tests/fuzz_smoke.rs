//! The fuzz targets of fuzz/ run on stable as an ordinary, bounded test: every seed of the
//! corpus, then a fixed number of deterministic mutations of them. `cargo fuzz` (nightly)
//! explores far more; this keeps every target exercised on every CI run, and each crash found
//! by fuzzing is kept in the corpus as a regression seed.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

/// A small xorshift generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that steer mutations towards each format's syntax.
const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b":",
    b",",
    b"/",
    b"{*",
    b"?",
    b"=",
    b"(",
    b")",
    b"%",
    b"*",
    b"-",
    b"\n",
    b"\\u0000",
    b"null",
    b"\"Data\"",
    b"\"Metadata\"",
    b"\"Body\"",
    b"99999999999999999999",
    b"\xff\xfe",
    b"\xc3\xa9",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if !data.is_empty() => {
                let at = at.min(data.len() - 1);
                data[at] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let end = (at + rng.below(8)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, piece.iter().copied());
            }
            3 if !data.is_empty() => {
                let from = rng.below(data.len());
                let piece: Vec<u8> = data[from..(from + rng.below(16)).min(data.len())].to_vec();
                data.splice(at..at, piece);
            }
            _ => data.truncate(at),
        }
    }
    data
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds
}

fn run(target: &str, body: fn(&[u8]), rounds: usize) {
    let seeds = seeds(target);
    for seed in &seeds {
        body(seed);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for _ in 0..rounds {
        let seed = &seeds[rng.below(seeds.len())];
        body(&mutate(&mut rng, seed));
    }
}

#[test]
fn invocation_payloads_never_panic() {
    run("invocation_payload", targets::invocation_payload, 20_000);
}

#[test]
fn route_templates_never_panic() {
    run("route_template", targets::route_template, 50_000);
}

#[test]
fn timer_schedules_never_panic() {
    run("timer_schedule", targets::timer_schedule, 50_000);
}
