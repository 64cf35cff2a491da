#![no_main]
//! `cargo fuzz run route_template`: see fuzz/targets.rs.

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::route_template(data));
