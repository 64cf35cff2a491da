#![no_main]
//! `cargo fuzz run worker_stream`: see fuzz/targets.rs.

// Each target uses one body of the shared file.
#[allow(dead_code)]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::worker_stream(data));
