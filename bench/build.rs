//! Writes the invocation of `generated_functions!` for the `manifest-1000` app: 1,000 distinct
//! identifiers, which `macro_rules!` cannot build itself.

use std::fmt::Write as _;
use std::path::PathBuf;

const FUNCTIONS: usize = 1000;

fn main() {
    let mut names = String::from("generated_functions! {\n");
    for index in 0..FUNCTIONS {
        // Four to a line: the macro takes them as (http, queue, timer, blob) groups.
        let separator = if index % 4 == 3 { "\n" } else { " " };
        let _ = write!(names, "m{index:04}{separator}");
    }
    names.push_str("}\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    std::fs::write(out_dir.join("manifest_1000_functions.rs"), names).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
