//! Wall-clock time for signatures.

use std::time::{SystemTime, UNIX_EPOCH};

use azfn_bindings::schedule::CivilTime;

/// Seconds since the Unix epoch (zero if the clock is before it).
pub fn unix_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// `2024-02-29T13:05:00Z`: whole seconds in UTC, as storage signatures write times.
pub fn iso_utc_seconds(unix_seconds: i64) -> String {
    CivilTime::from_unix(unix_seconds).to_string()
}
