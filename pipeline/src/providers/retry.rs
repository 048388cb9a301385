//! Retry policy for one `revoke` call: per-request timeout, bounded attempts,
//! exponential backoff with jitter, and `Retry-After` (RFC 9110 §10.2.3: seconds or
//! an HTTP date). Pure functions; the clock and the randomness are arguments.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ProviderError;

/// How hard one `revoke` call tries before handing a transient failure back to the
/// engine as [`super::ProviderError::Retryable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Timeout of each HTTP request (connect, send and read the whole answer).
    pub request_timeout: Duration,
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Longest backoff between two attempts.
    pub max_delay: Duration,
    /// Longest `Retry-After` waited inside the call; a longer one ends the call at
    /// once as `Retryable` so the engine reschedules instead of holding a worker.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            request_timeout: Duration::from_secs(15),
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next_attempt` (2, 3, …) when the provider gave no
    /// `Retry-After`: "equal jitter", half the capped exponential delay plus a random
    /// share of the other half, so concurrent cases do not retry in lockstep.
    pub fn backoff(&self, next_attempt: u32, random: u64) -> Duration {
        let doublings = next_attempt.saturating_sub(2).min(20);
        let exponential = self
            .base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay);
        let half = exponential / 2;
        let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(random % spread.saturating_add(1))
    }
}

/// What one attempt of a request produced.
pub(crate) enum Attempt<T> {
    /// An answer to keep: success, or a failure retrying cannot help.
    Final(Result<T, ProviderError>),
    /// A failure worth another attempt (timeout, `429`, `5xx`), with the provider's
    /// `Retry-After` if it gave one.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
}

impl RetryPolicy {
    /// Runs `attempt` until it gives a final answer or the attempts run out, waiting
    /// between tries as [`RetryPolicy::backoff`] or `Retry-After` say. A `Retry-After`
    /// longer than [`RetryPolicy::max_retry_after`] ends the call at once. Transient
    /// failures end as [`ProviderError::Retryable`]. `what` names the request in logs.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        what: &str,
        mut attempt: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let attempts = self.max_attempts.max(1);
        let mut last = (String::new(), None);
        for n in 1..=attempts {
            match attempt().await {
                Attempt::Final(result) => return result,
                Attempt::Transient {
                    reason,
                    retry_after,
                } => {
                    if retry_after.is_some_and(|wait| wait > self.max_retry_after) {
                        return Err(ProviderError::Retryable {
                            reason,
                            retry_after,
                        });
                    }
                    if n < attempts {
                        let wait =
                            retry_after.unwrap_or_else(|| self.backoff(n + 1, jitter_seed()));
                        tracing::warn!(what, attempt = n, ?wait, %reason, "retrying");
                        tokio::time::sleep(wait).await;
                    }
                    last = (reason, retry_after);
                }
            }
        }
        let (reason, retry_after) = last;
        Err(ProviderError::Retryable {
            reason: format!("{reason} (after {attempts} attempts)"),
            retry_after,
        })
    }
}

/// A random number for jitter (0 if the system has no randomness to give).
pub fn jitter_seed() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => 0,
    }
}

/// Parse a `Retry-After` value: delay-seconds or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`). A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = parse_imf_fixdate(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the Unix epoch of an IMF-fixdate.
fn parse_imf_fixdate(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [weekday, day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if !weekday.ends_with(',') || *zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = u64::try_from(MONTHS.iter().position(|m| m == month)? + 1).ok()?;
    let day: u64 = day.parse().ok()?;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || year < 1970 || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm),
/// for years from 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_forms() {
        // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
        let cases: [(&str, u64, Option<u64>); 8] = [
            ("7", 0, Some(7)),
            (" 120 ", 0, Some(120)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777 - 5, Some(5)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777 + 5, Some(0)),
            ("Thu, 01 Jan 1970 00:00:00 GMT", 0, Some(0)),
            (
                "Tue, 29 Feb 2028 12:00:00 GMT",
                1_835_438_400 - 60,
                Some(60),
            ),
            ("-3", 0, None),
            ("Sun, 06 Nov 1994 08:49:37 PST", 0, None),
        ];
        for (value, now, expected) in cases {
            assert_eq!(
                parse_retry_after(value, at(now)),
                expected.map(Duration::from_secs),
                "{value}"
            );
        }
    }

    #[test]
    fn backoff_grows_caps_and_stays_in_range() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        let table = [(2, 50, 100), (3, 100, 200), (4, 175, 350), (30, 175, 350)];
        for (attempt, low, high) in table {
            for random in [0, 1, 49, 10_000, u64::MAX] {
                let wait = policy.backoff(attempt, random).as_millis();
                assert!((low..=high).contains(&wait), "{attempt} {random} {wait}");
            }
        }
    }
}
