//! `TimeStampReq` (RFC 3161 §2.4.1), as custody sends it: version 1, a SHA-256 message
//! imprint, no reqPolicy (the TSA's default policy), a 64-bit random nonce, certReq TRUE
//! (DigiCert embeds no certificate at all without it; conformance notes §2).
//!
//! ```text
//! TimeStampReq ::= SEQUENCE {
//!    version          INTEGER { v1(1) },
//!    messageImprint   MessageImprint,
//!    reqPolicy        TSAPolicyId      OPTIONAL,
//!    nonce            INTEGER          OPTIONAL,
//!    certReq          BOOLEAN          DEFAULT FALSE,
//!    extensions   [0] IMPLICIT Extensions OPTIONAL }
//! MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
//! ```

use super::TsaError;
use super::der;
use super::oid;

/// A SHA-256 digest to be stamped.
pub type Sha256Digest = [u8; 32];

/// One timestamp request: what is stamped and the nonce the answer must echo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampReq {
    digest: Sha256Digest,
    nonce: u64,
}

impl TimeStampReq {
    /// A request over `digest` with a fresh random nonce (from the operating system).
    pub fn new(digest: Sha256Digest) -> Result<Self, TsaError> {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| TsaError::Random {
            reason: e.to_string(),
        })?;
        Ok(Self::with_nonce(digest, u64::from_be_bytes(bytes)))
    }

    /// A request with a caller-chosen nonce (tests, replays of a logged request).
    pub fn with_nonce(digest: Sha256Digest, nonce: u64) -> Self {
        Self { digest, nonce }
    }

    /// The digest to be stamped.
    pub fn digest(&self) -> &Sha256Digest {
        &self.digest
    }

    /// The nonce.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The nonce as big-endian unsigned bytes, as `TimestampOptions::expected_nonce` takes it.
    pub fn nonce_bytes(&self) -> [u8; 8] {
        self.nonce.to_be_bytes()
    }

    /// Whether the request asks for the TSA's certificate (always true).
    pub fn cert_req(&self) -> bool {
        true
    }

    /// The DER encoding sent as `application/timestamp-query`.
    pub fn to_der(&self) -> Vec<u8> {
        der::sequence(&[
            &der::small_integer(1),
            &message_imprint(&self.digest),
            &der::unsigned_integer(&self.nonce_bytes()),
            &der::boolean_true(),
        ])
    }
}

/// `MessageImprint` over a SHA-256 digest; the AlgorithmIdentifier carries NULL
/// parameters, which every TSA seen accepts (DigiCert and openssl take absent ones too).
pub(crate) fn message_imprint(digest: &Sha256Digest) -> Vec<u8> {
    der::sequence(&[&sha256_algorithm(), &der::octet_string(digest)])
}

/// `AlgorithmIdentifier { id-sha256, NULL }`.
pub(crate) fn sha256_algorithm() -> Vec<u8> {
    der::sequence(&[&der::oid(oid::SHA256), &der::null()])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn encodes_the_rfc_3161_structure() {
        let request = TimeStampReq::with_nonce([0xab; 32], 0x8000_0000_0000_0001);
        let der = request.to_der();
        let expected = [
            &[0x30, 0x44, 0x02, 0x01, 0x01][..],
            &[0x30, 0x31, 0x30, 0x0d, 0x06, 0x09],
            oid::SHA256,
            &[0x05, 0x00, 0x04, 0x20],
            &[0xab; 32],
            &[0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0x01],
            &[0x01, 0x01, 0xff],
        ]
        .concat();
        assert_eq!(der, expected);
    }

    #[test]
    fn nonces_are_random() {
        let a = TimeStampReq::new([0; 32]).unwrap();
        let b = TimeStampReq::new([0; 32]).unwrap();
        assert_ne!(a.nonce(), b.nonce());
        assert_eq!(a.nonce_bytes(), a.nonce().to_be_bytes());
    }
}
