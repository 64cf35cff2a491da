//! The memory measure of the load tests (load.rs over the custom handler, native_load.rs over
//! gRPC): this process's resident set, and the median of samples.

/// This process's resident set (`VmRSS` of /proc/self/status), in KiB.
pub fn resident_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .expect("VmRSS in /proc/self/status")
}

/// The middle value of `values`.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
