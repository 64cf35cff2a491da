//! The protobuf well-known types azfn's gRPC messages use (`google.protobuf.Duration`,
//! `Timestamp`, `StringValue`), written here so that no build depends on `prost-types`.

/// `google.protobuf.Duration`: a signed span of time.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Duration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds, with the sign of `seconds`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Duration {
    /// The span as a [`std::time::Duration`], negative spans as zero.
    pub fn to_std(self) -> std::time::Duration {
        if self.seconds < 0 || (self.seconds == 0 && self.nanos < 0) {
            return std::time::Duration::ZERO;
        }
        let nanos = u32::try_from(self.nanos.clamp(0, 999_999_999)).unwrap_or(0);
        std::time::Duration::new(self.seconds.unsigned_abs(), nanos)
    }

    /// The protobuf form of `duration` (saturating at `i64::MAX` seconds).
    pub fn from_std(duration: std::time::Duration) -> Self {
        Duration {
            seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(duration.subsec_nanos()).unwrap_or(0),
        }
    }
}

/// `google.protobuf.Timestamp`: a point in time since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The protobuf form of `time`; before the epoch, negative seconds and nanoseconds counting
    /// forward, as the protobuf definition says.
    pub fn from_system_time(time: std::time::SystemTime) -> Self {
        match time.duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => Timestamp {
                seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
                nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
            },
            Err(before) => {
                let before = before.duration();
                let seconds = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                match before.subsec_nanos() {
                    0 => Timestamp {
                        seconds: -seconds,
                        nanos: 0,
                    },
                    nanos => Timestamp {
                        seconds: -seconds - 1,
                        nanos: i32::try_from(1_000_000_000 - nanos).unwrap_or(0),
                    },
                }
            }
        }
    }

    /// The point in time (nanoseconds outside `0..1e9` are clamped into it).
    pub fn to_system_time(self) -> std::time::SystemTime {
        let nanos = std::time::Duration::from_nanos(u64::try_from(self.nanos.clamp(0, 999_999_999)).unwrap_or(0));
        let seconds = std::time::Duration::from_secs(self.seconds.unsigned_abs());
        if self.seconds >= 0 {
            std::time::UNIX_EPOCH + seconds + nanos
        } else {
            std::time::UNIX_EPOCH - seconds + nanos
        }
    }
}

/// `google.protobuf.StringValue`: a string with presence, as the Durable Task protocol wraps its
/// JSON payloads.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StringValue {
    /// The string.
    #[prost(string, tag = "1")]
    pub value: String,
}

impl From<String> for StringValue {
    fn from(value: String) -> Self {
        StringValue { value }
    }
}

impl From<&str> for StringValue {
    fn from(value: &str) -> Self {
        StringValue {
            value: value.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::Timestamp;

    #[test]
    fn timestamps_round_trip_on_both_sides_of_the_epoch() {
        for time in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(5, 250_000_000),
            UNIX_EPOCH - Duration::from_secs(3),
        ] {
            let ts = Timestamp::from_system_time(time);
            assert!((0..1_000_000_000).contains(&ts.nanos), "{ts:?}");
            assert_eq!(ts.to_system_time(), time);
        }
        assert_eq!(
            Timestamp::from_system_time(UNIX_EPOCH - Duration::new(5, 250_000_000)),
            Timestamp {
                seconds: -6,
                nanos: 750_000_000
            }
        );
    }
}
