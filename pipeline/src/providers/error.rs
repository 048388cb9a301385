//! How a revocation fails. Messages name the provider, the operation and the HTTP
//! status; they never contain a credential.

use std::time::Duration;

/// A revocation that did not finish.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Transient (timeouts, `429`, `5xx`) and still failing after the in-call retries:
    /// the engine should run the step again later, not before `retry_after` if given.
    #[error("temporarily unavailable: {reason}")]
    Retryable {
        /// What failed last, e.g. `OpenAI GET /organization/projects: HTTP 503`.
        reason: String,
        /// The provider's last `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// A person must act: credentials rejected (`401`/`403`), a leaver the API cannot
    /// remove (an admin), access granted outside the configured scopes, a
    /// configuration that cannot work.
    #[error("needs attention: {reason}")]
    NeedsAttention {
        /// What the person must do or know.
        reason: String,
    },
    /// The provider answered something this client does not understand (an
    /// unexpected status or body). Retrying will not help without a code change.
    #[error("unexpected provider response: {reason}")]
    Protocol {
        /// What was unexpected.
        reason: String,
    },
}

impl ProviderError {
    /// A [`ProviderError::NeedsAttention`] with this reason.
    pub(crate) fn attention(reason: impl Into<String>) -> Self {
        ProviderError::NeedsAttention {
            reason: reason.into(),
        }
    }

    /// A [`ProviderError::Protocol`] with this reason.
    pub(crate) fn protocol(reason: impl Into<String>) -> Self {
        ProviderError::Protocol {
            reason: reason.into(),
        }
    }

    /// Whether running the step again later may succeed without a person.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProviderError::Retryable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_kind_of_failure() {
        let cases = [
            (
                ProviderError::Retryable {
                    reason: "x".into(),
                    retry_after: None,
                },
                "temporarily unavailable: x",
                true,
            ),
            (ProviderError::attention("y"), "needs attention: y", false),
            (
                ProviderError::protocol("z"),
                "unexpected provider response: z",
                false,
            ),
        ];
        for (error, message, retryable) in cases {
            assert_eq!(error.to_string(), message);
            assert_eq!(error.is_retryable(), retryable);
        }
    }
}
