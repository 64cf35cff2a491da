//! The compile-time checks of azfn's macros: each file under `fail/` is one misuse with the exact
//! diagnostics in its `.stderr`; each file under `pass/` must compile and run.
//!
//! The `.stderr` files are written by the compiler version in `rust-toolchain` of the machine
//! (see CONTRIBUTING.md): after an intended change to a message, regenerate them with
//! `TRYBUILD=overwrite cargo test -p azfn-ui-tests` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/fail/*.rs");
    cases.pass("tests/pass/*.rs");
}
