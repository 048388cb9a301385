//! UTC instants, as the evidence format writes them.
//!
//! The verifier never reads the clock: every instant it works with comes from the
//! input (a node, a token's genTime, a certificate's validity) or from the caller
//! (`--at TIME`). This module converts between the textual forms those inputs use
//! and one comparable value.

use std::fmt;

/// An instant in UTC with nanosecond precision, counted from the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime {
    secs: i64,
    nanos: u32,
}

/// Why a textual time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {form} time")]
pub struct TimeParseError {
    /// The text as received (truncated to 64 characters).
    pub text: String,
    /// Which form was expected.
    pub form: &'static str,
}

impl TimeParseError {
    fn new(text: &[u8], form: &'static str) -> Self {
        let text = String::from_utf8_lossy(&text[..text.len().min(64)]).into_owned();
        Self { text, form }
    }
}

impl UtcTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: UtcTime = UtcTime { secs: 0, nanos: 0 };

    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch.
    /// Returns `None` if `nanos` is not below one second.
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Self> {
        (nanos < 1_000_000_000).then_some(Self { secs, nanos })
    }

    /// Seconds since the Unix epoch (floor).
    pub fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// The sub-second part, in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// This instant moved by a signed number of seconds, saturating at the ends of the range.
    pub fn offset_seconds(self, delta: i64) -> Self {
        Self {
            secs: self.secs.saturating_add(delta),
            nanos: self.nanos,
        }
    }

    /// Builds an instant from calendar fields, checking each field's range.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
            || nanos >= 1_000_000_000
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Some(Self { secs, nanos })
    }

    /// Calendar fields `(year, month, day, hour, minute, second)` of this instant.
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// Parses the RFC 3339 profile the evidence format uses:
    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (upper-case `T` and `Z`, UTC only, a fraction
    /// without trailing zeros), so every instant has exactly one spelling.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeParseError> {
        let err = || TimeParseError::new(text.as_bytes(), "RFC 3339 (UTC, `Z`)");
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(err());
        }
        let rest = b[19..].strip_suffix(b"Z").ok_or_else(err)?;
        if rest.ends_with(b"0") {
            return Err(err());
        }
        let nanos = parse_fraction(rest).ok_or_else(err)?;
        let year = digits(&b[0..4]).ok_or_else(err)?;
        let field = |r: std::ops::Range<usize>| digits(&b[r]).ok_or_else(err);
        Self::from_civil(
            i64::from(year),
            field(5..7)?,
            field(8..10)?,
            field(11..13)?,
            field(14..16)?,
            field(17..19)?,
            nanos,
        )
        .ok_or_else(err)
    }

    /// Parses an ASN.1 GeneralizedTime value (`YYYYMMDDHHMMSS[.fff]Z`) as RFC 3161 and
    /// RFC 5280 use it: UTC, seconds present, an optional fraction without trailing zeros.
    pub fn parse_generalized_time(bytes: &[u8]) -> Result<Self, TimeParseError> {
        let err = || TimeParseError::new(bytes, "GeneralizedTime");
        if bytes.len() < 15 {
            return Err(err());
        }
        let rest = bytes[14..].strip_suffix(b"Z").ok_or_else(err)?;
        if rest.len() > 1 && rest.ends_with(b"0") {
            return Err(err());
        }
        let nanos = parse_fraction(rest).ok_or_else(err)?;
        let f = |r: std::ops::Range<usize>| digits(&bytes[r]).ok_or_else(err);
        let year = f(0..4)?;
        Self::from_civil(
            i64::from(year),
            f(4..6)?,
            f(6..8)?,
            f(8..10)?,
            f(10..12)?,
            f(12..14)?,
            nanos,
        )
        .ok_or_else(err)
    }

    /// Parses an ASN.1 UTCTime value (`YYMMDDHHMMSSZ`) with the RFC 5280 century rule
    /// (50–99 → 19xx, 00–49 → 20xx).
    pub fn parse_utc_time(bytes: &[u8]) -> Result<Self, TimeParseError> {
        let err = || TimeParseError::new(bytes, "UTCTime");
        if bytes.len() != 13 || bytes[12] != b'Z' {
            return Err(err());
        }
        let f = |r: std::ops::Range<usize>| digits(&bytes[r]).ok_or_else(err);
        let yy = f(0..2)?;
        let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
        Self::from_civil(
            i64::from(year),
            f(2..4)?,
            f(4..6)?,
            f(6..8)?,
            f(8..10)?,
            f(10..12)?,
            0,
        )
        .ok_or_else(err)
    }
}

/// Formats as RFC 3339 in UTC; the fraction is printed only when non-zero, without
/// trailing zeros.
impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// Parses an optional `.ddd` fraction (1–9 digits) into nanoseconds.
fn parse_fraction(rest: &[u8]) -> Option<u32> {
    match rest {
        [] => Some(0),
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
            let value = digits(frac)?;
            Some(value * 10u32.pow(9 - frac.len() as u32))
        }
        _ => None,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2025-03-24T11:17:47Z",
            "2024-02-29T23:59:59.884Z",
            "1969-12-31T23:59:59.5Z",
        ] {
            let t = UtcTime::parse_rfc3339(text).expect(text);
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(
            UtcTime::parse_rfc3339("1970-01-01T00:00:01Z").map(UtcTime::unix_seconds),
            Ok(1)
        );
    }

    #[test]
    fn rejects_malformed_times() {
        for text in [
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01 00:00:00Z",
            "2025-01-01T00:00:00+01:00",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00.50Z",
            "2025-01-01T00:00:00.0Z",
            "2025-01-01T00:00:00.1234567890Z",
            "+025-01-01T00:00:00Z",
        ] {
            assert!(UtcTime::parse_rfc3339(text).is_err(), "{text}");
        }
    }

    #[test]
    fn asn1_times() {
        let g = UtcTime::parse_generalized_time(b"20191211084017.75Z").expect("fractional");
        assert_eq!(g.to_string(), "2019-12-11T08:40:17.75Z");
        assert!(UtcTime::parse_generalized_time(b"20191211084017.750Z").is_err());
        assert!(UtcTime::parse_generalized_time(b"201912110840Z").is_err());
        let u = UtcTime::parse_utc_time(b"491231235959Z").expect("utc");
        assert_eq!(u.to_string(), "2049-12-31T23:59:59Z");
        let u = UtcTime::parse_utc_time(b"500101000000Z").expect("utc");
        assert_eq!(u.to_string(), "1950-01-01T00:00:00Z");
    }
}
