#![no_main]
//! `cargo fuzz run timer_schedule`: see fuzz/targets.rs.

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::timer_schedule(data));
