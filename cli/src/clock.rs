//! Wall-clock time in UTC and random identifiers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azfn_bindings::schedule::CivilTime;

/// The time since the Unix epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The current UTC time as the host writes `sys.UtcNow`: `2022-08-15T07:52:01.8861913Z`
/// (seven fractional digits, .NET's tick resolution).
pub fn utc_now_iso() -> String {
    iso_with_ticks(since_epoch())
}

/// `since_epoch` as ISO-8601 with seven fractional digits and `Z`.
pub fn iso_with_ticks(since_epoch: Duration) -> String {
    azfn_bindings::schedule::round_trip(since_epoch)
}

/// `2022-06-13T06:00:06+00:00`, the way the host writes a `DateTimeOffset` in queue metadata.
pub fn iso_offset(unix_seconds: i64) -> String {
    format!("{}+00:00", iso_seconds(&CivilTime::from_unix(unix_seconds)))
}

/// `2024-02-29T13:05:00Z`: whole seconds in UTC, as storage signatures and listings write times.
pub fn iso_utc_seconds(unix_seconds: i64) -> String {
    CivilTime::from_unix(unix_seconds).to_string()
}

/// A short local-console timestamp: `2024-05-01T12:00:00.123Z`.
pub fn console_timestamp() -> String {
    let now = since_epoch();
    let civil = CivilTime::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
    format!("{}.{:03}Z", iso_seconds(&civil), now.subsec_millis())
}

/// `2024-02-29T13:05:00`: the time as `CivilTime` writes it, without the `Z`.
fn iso_seconds(t: &CivilTime) -> String {
    let text = t.to_string();
    text.strip_suffix('Z').unwrap_or(&text).to_owned()
}

/// A random (version 4) GUID in the lowercase hyphenated form the host uses.
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_the_hosts_shape() {
        let t = Duration::new(1_660_549_921, 886_191_300);
        assert_eq!(iso_with_ticks(t), "2022-08-15T07:52:01.8861913Z");
        assert_eq!(iso_offset(1_655_100_006), "2022-06-13T06:00:06+00:00");
        assert_eq!(iso_offset(-1), "1969-12-31T23:59:59+00:00");
    }

    #[test]
    fn guids_are_version_4_and_differ() {
        let a = new_guid();
        let b = new_guid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
