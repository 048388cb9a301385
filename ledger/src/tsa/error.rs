//! Why a timestamp could not be obtained or was refused, and why the development TSA
//! could not start.

use std::path::PathBuf;
use std::time::Duration;

use custody_verifier::timestamp::TimestampError;
use custody_verifier::x509::CertificateError;

use super::der::DerError;

/// Why no verified token came back from a TSA.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The operating system's random source failed (the nonce could not be drawn).
    #[error("no randomness for the nonce: {reason}")]
    Random {
        /// The getrandom error.
        reason: String,
    },
    /// The TSA did not answer within the time allowed.
    #[error("no answer within {after:?}")]
    Timeout {
        /// The limit that elapsed.
        after: Duration,
    },
    /// The TSA could not be reached (DNS, connection refused, TLS).
    #[error("cannot reach the TSA: {reason}")]
    Connect {
        /// What failed.
        reason: String,
    },
    /// The HTTP exchange broke off (reset, malformed HTTP).
    #[error("HTTP exchange failed: {reason}")]
    Transport {
        /// What failed.
        reason: String,
    },
    /// The TSA answered with a non-success HTTP status.
    #[error("HTTP status {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// The answer is not `application/timestamp-reply`.
    #[error("content type {}, expected application/timestamp-reply", .actual.as_deref().unwrap_or("(none)"))]
    ContentType {
        /// The Content-Type header, if any.
        actual: Option<String>,
    },
    /// The answer is larger than the configured limit.
    #[error("answer exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The answer is not a DER TimeStampResp.
    #[error("malformed TimeStampResp: {source}")]
    Malformed {
        /// Where the DER broke.
        #[source]
        source: DerError,
    },
    /// The TSA answered a status other than granted / grantedWithMods.
    #[error("the TSA refused: status {status}{}{}",
        .status_string.as_deref().map(|t| format!(" ({t})")).unwrap_or_default(),
        if .fail_info.is_empty() { String::new() } else { format!(", failInfo [{}]", .fail_info.join(", ")) })]
    Rejected {
        /// The PKIStatus (2 rejection, 3 waiting, 4 revocationWarning, 5 revocationNotification).
        status: u64,
        /// The statusString texts, joined by "; ".
        status_string: Option<String>,
        /// The PKIFailureInfo bits set, by name (`badAlg`, `badRequest`, ...).
        fail_info: Vec<&'static str>,
    },
    /// A granted TimeStampResp without a timeStampToken.
    #[error("status granted but no timeStampToken")]
    MissingToken,
    /// The token failed verification (wrong digest, nonce, signature, chain, ...): refused.
    #[error("token refused: {source}")]
    Refused {
        /// The verifier's finding.
        #[source]
        source: TimestampError,
    },
    /// The development TSA failed to build or sign a token.
    #[error("development TSA: {reason}")]
    DevTsa {
        /// What failed.
        reason: String,
    },
}

impl TsaError {
    /// Whether the TSA answered but its answer was refused (a bad or rejected token),
    /// as opposed to not answering usefully at all.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            TsaError::Refused { .. }
                | TsaError::Rejected { .. }
                | TsaError::MissingToken
                | TsaError::Malformed { .. }
        )
    }
}

/// Why the development TSA could not load or create its keys and certificates.
#[derive(Debug, thiserror::Error)]
pub enum DevTsaError {
    /// A file of the data directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A stored key is not a PKCS#8 P-256 private key in PEM.
    #[error("{}: not a PKCS#8 P-256 private key ({reason})", .path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A stored certificate does not parse or does not belong to its key.
    #[error("{}: {reason}", .path.display())]
    Certificate {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Some but not all of the development TSA's files exist.
    #[error("incomplete development TSA in {}: {missing} is missing (remove the dev-tsa-* files to start over)", .dir.display())]
    Incomplete {
        /// The data directory.
        dir: PathBuf,
        /// The first missing file.
        missing: &'static str,
    },
    /// The random source failed.
    #[error("no randomness: {reason}")]
    Random {
        /// The getrandom error.
        reason: String,
    },
    /// Parsing a freshly built certificate with the verifier failed (a bug).
    #[error("built certificate does not parse: {source}")]
    Built {
        /// The verifier's finding.
        #[source]
        source: CertificateError,
    },
}
