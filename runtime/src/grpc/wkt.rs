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
