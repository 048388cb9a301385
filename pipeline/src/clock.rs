//! The service's clock. The verifier never reads a clock; the service does, to stamp
//! `recorded_at` and token creation times.

use std::time::{SystemTime, UNIX_EPOCH};

use custody_verifier::time::UtcTime;

/// Seconds since the Unix epoch (0 if the system clock is before 1970).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The current instant, millisecond precision.
pub fn now() -> UtcTime {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    // subsec_millis() is below 1,000, so the nanoseconds are always in range.
    UtcTime::from_unix(secs, d.subsec_millis() * 1_000_000).unwrap_or(UtcTime::EPOCH)
}

/// Microseconds since the Unix epoch (the engine's queue times).
pub fn now_us() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
