//! Deterministic GUIDs: name-based UUIDs (version 5, SHA-1), computed exactly as the .NET
//! Durable Task SDK does so that an instance replayed by either produces the same values.
//!
//! The name is `"<instance id>_<current time>_<counter>"`, the time formatted as .NET's
//! round-trip format `"o"` (`2024-01-02T03:04:05.1234567Z`, seven fractional digits), the
//! namespace `9e952958-5e33-4daf-827f-2fa12937b875`. The hashing and the text forms are the
//! `uuid` crate's.

use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

/// The namespace the Durable Task SDKs hash orchestration GUID names under.
const NAMESPACE: Uuid = Uuid::from_u128(0x9e95_2958_5e33_4daf_827f_2fa1_2937_b875);

/// The deterministic GUID number `counter` of `instance_id` at `now`, lower-case and hyphenated.
pub(crate) fn deterministic_guid(instance_id: &str, now: SystemTime, counter: u64) -> String {
    let name = format!("{instance_id}_{}_{counter}", format_round_trip(now));
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).hyphenated().to_string()
}

/// A GUID's 16 bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case.
pub(crate) fn hyphenated(bytes: &[u8; 16]) -> String {
    Uuid::from_bytes(*bytes).hyphenated().to_string()
}

/// A GUID's 16 bytes as 32 lower-case hex digits.
pub(crate) fn simple(bytes: &[u8; 16]) -> String {
    Uuid::from_bytes(*bytes).simple().to_string()
}

/// `now` in .NET's round-trip format for a UTC `DateTime`: `yyyy-MM-ddTHH:mm:ss.fffffffZ`
/// (100-nanosecond precision, truncated). Times before 1970 are written as 1970-01-01.
pub(crate) fn format_round_trip(now: SystemTime) -> String {
    azfn_bindings::schedule::round_trip(now.duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// Reads a UTC time written in .NET's round-trip format (`yyyy-MM-ddTHH:mm:ss[.f…]Z`, up to
/// seven fractional digits), as [`format_round_trip`] writes it; `None` for anything else or a
/// time before 1970.
pub(crate) fn parse_round_trip(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let bytes = whole.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok || fraction.len() > 7 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| whole[range].parse::<u8>().ok();
    let civil = azfn_bindings::schedule::CivilTime {
        year: whole[0..4].parse().ok()?,
        month: field(5..7).filter(|m| (1..=12).contains(m))?,
        day: field(8..10).filter(|d| (1..=31).contains(d))?,
        hour: field(11..13).filter(|h| *h < 24)?,
        minute: field(14..16).filter(|m| *m < 60)?,
        second: field(17..19).filter(|s| *s < 60)?,
    };
    let seconds = u64::try_from(civil.to_unix()).ok()?;
    let ticks: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<7}").parse().ok()?
    };
    Some(UNIX_EPOCH + std::time::Duration::new(seconds, ticks * 100))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn uuid_v5_matches_the_rfc_dns_example() {
        let dns = Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8);
        assert_eq!(
            Uuid::new_v5(&dns, b"python.org").hyphenated().to_string(),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn round_trip_times_parse_back() {
        let t = UNIX_EPOCH + Duration::new(1_704_164_645, 123_456_700);
        assert_eq!(parse_round_trip(&format_round_trip(t)), Some(t));
        assert_eq!(
            parse_round_trip("2024-01-02T03:04:05Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645))
        );
        assert_eq!(
            parse_round_trip("2024-01-02T03:04:05.5Z"),
            Some(UNIX_EPOCH + Duration::from_millis(1_704_164_645_500))
        );
        for bad in [
            "",
            "2024-01-02T03:04:05",
            "2024-01-02 03:04:05Z",
            "2024-13-02T03:04:05Z",
            "2024-01-02T03:04:05.12345678Z",
            "1969-12-31T23:59:59Z",
            "2024-01-02T03:04:5xZ",
        ] {
            assert_eq!(parse_round_trip(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_forms_are_lower_case() {
        let bytes = [
            0x9e, 0x95, 0x29, 0x58, 0x5e, 0x33, 0x4d, 0xaf, 0x82, 0x7f, 0x2f, 0xa1, 0x29, 0x37, 0xb8, 0x75,
        ];
        assert_eq!(hyphenated(&bytes), "9e952958-5e33-4daf-827f-2fa12937b875");
        assert_eq!(simple(&bytes), "9e9529585e334daf827f2fa12937b875");
        assert_eq!(NAMESPACE.as_bytes(), &bytes);
    }

    #[test]
    fn times_use_the_dotnet_round_trip_format() {
        let t = UNIX_EPOCH + Duration::new(1_704_164_645, 123_456_789);
        assert_eq!(format_round_trip(t), "2024-01-02T03:04:05.1234567Z");
        assert_eq!(format_round_trip(UNIX_EPOCH), "1970-01-01T00:00:00.0000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_round_trip(leap), "2000-02-29T00:00:00.0000000Z");
    }

    #[test]
    fn guids_are_the_dotnet_sdk_values() {
        // Expected values computed independently (Python's uuid.uuid5 over the same names).
        let t = UNIX_EPOCH + Duration::new(1_704_164_645, 123_456_789);
        assert_eq!(
            deterministic_guid("order-1", t, 0),
            "9eb62ece-ddc4-5ada-9d06-97e19118c4c6"
        );
        assert_eq!(
            deterministic_guid("order-1", t, 1),
            "3d8739a9-6a79-54cd-ba87-93f9ce88be44"
        );
        let t = UNIX_EPOCH + Duration::from_secs(1_748_779_200);
        assert_eq!(deterministic_guid("inst", t, 0), "f79aa441-30b8-5247-8eea-8d64e8486ca1");
    }
}
