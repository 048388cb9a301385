//! RFC 3161 timestamping of checkpoints: the request, the peers that answer it, and the
//! checks an answer must pass before it is stored.
//!
//! - [`TimeStampReq`]: the DER request (SHA-256 imprint, 64-bit random nonce, certReq).
//! - [`TimestampAuthority`]: the contract every TSA peer meets; [`HttpTsa`] speaks RFC 3161
//!   over HTTP (DigiCert by default in production), [`DevTsa`] is the built-in development
//!   TSA of the embedded default, whose tokens verify only against its own root.
//! - [`accept_response`] / [`TsaTrust::accept`]: a response is kept only if its status is
//!   granted, its nonce echoes the request's, and `custody-verifier` accepts the token over
//!   the expected digest against the configured roots.
//! - [`request_token`]: the three together, as the stamper uses them.

mod der;
mod dev;
mod error;
mod http;
mod oid;
mod request;
mod response;

use std::future::Future;
use std::pin::Pin;

pub use der::DerError;
pub use dev::{DEV_TSA_ROOT_FILE, DevTsa};
pub use error::{DevTsaError, TsaError};
pub use http::{DIGICERT_URL, HttpTsa, HttpTsaConfig};
pub use request::{Sha256Digest, TimeStampReq};
pub(crate) use response::granted_response;
pub use response::{AcceptedToken, TsaTrust, accept_response};

/// The future a [`TimestampAuthority`] returns: the TSA's answer, as received.
pub type StampFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, TsaError>> + Send + 'a>>;

/// A time-stamping authority: something that answers a [`TimeStampReq`].
///
/// Contract:
/// - [`stamp`](Self::stamp) sends the request once and resolves to the TSA's
///   `TimeStampResp` DER exactly as received. It does not verify, retry or parse the
///   answer: the caller verifies every answer ([`TsaTrust::accept`]) and owns retries.
/// - It fails with a transport-level [`TsaError`] (timeout, connection, HTTP status,
///   content type, size) when no answer body is available; it resolves within its own
///   timeout, and dropping the future abandons the request (cancel-safe).
/// - [`name`](Self::name) is stable across restarts: tokens are stored under it.
pub trait TimestampAuthority: Send + Sync {
    /// The TSA's configured name (e.g. `digicert`, `dev`), under which tokens are stored.
    fn name(&self) -> &str;

    /// Sends `request` and returns the raw `TimeStampResp`.
    fn stamp(&self, request: TimeStampReq) -> StampFuture<'_>;
}

/// Requests a token over `digest` from `authority` and keeps it only if `trust` accepts
/// it; a refused answer is logged (`tracing::warn`) with the reason and never returned.
pub async fn request_token(
    authority: &dyn TimestampAuthority,
    trust: &TsaTrust,
    digest: Sha256Digest,
) -> Result<AcceptedToken, TsaError> {
    let request = TimeStampReq::new(digest)?;
    let nonce = request.nonce_bytes();
    let response = authority.stamp(request).await?;
    trust.accept(&response, &digest, &nonce).inspect_err(|e| {
        if e.is_refusal() {
            tracing::warn!(
                tsa = authority.name(),
                digest = %hex::encode(digest),
                reason = %e,
                "timestamp refused, not stored"
            );
        }
    })
}
