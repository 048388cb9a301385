//! X.509 certificates (RFC 5280) as the timestamp verifier needs them, keeping raw bytes.
//!
//! A [`Certificate`] owns its DER encoding and remembers where each field sits in it:
//! the tbsCertificate that the issuer signed, names as raw DER (compared byte for byte when
//! building chains) and as a one-line rendering for reports, validity, the public key, and
//! the extensions a TSA certificate is judged by. [`parse_pem_certificates`] reads PEM
//! bundles (trust anchors, out-of-band TSA certificates).
//!
//! `certificate` parses the Certificate and tbsCertificate structures; `extensions` reads the
//! extensions a TSA certificate is judged by; `key` decodes public keys and checks signatures.

mod certificate;
mod extensions;
mod key;
mod montgomery;
mod name;
pub(crate) mod oid;
mod pem;

use std::ops::Range;

pub use crate::der::DerError;
use crate::der::{self, Tlv};
use crate::time::TimeParseError;
pub use certificate::Certificate;
pub use extensions::{BasicConstraints, ExtendedKeyUsage, Extension, KeyUsage};
pub use key::{DigestAlgorithm, KeyError, PublicKey, RsaKey, SignatureError, SignatureScheme};
pub(crate) use name::render as render_name;

/// Why bytes are not a certificate this verifier can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The DER structure is broken.
    #[error("malformed certificate: {0}")]
    Der(#[from] DerError),
    /// A version other than v1, v2 or v3.
    #[error("unsupported certificate version {version}")]
    UnsupportedVersion {
        /// The version number as encoded (0 = v1).
        version: u64,
    },
    /// tbsCertificate.signature differs from Certificate.signatureAlgorithm (RFC 5280 §4.1.1.2).
    #[error("inner and outer signature algorithms differ")]
    AlgorithmMismatch,
    /// notBefore or notAfter is not a valid time.
    #[error("bad validity time: {0}")]
    Time(#[from] TimeParseError),
    /// An extension appears twice (RFC 5280 §4.2).
    #[error("extension {oid} appears more than once")]
    DuplicateExtension {
        /// The extension OID, dotted.
        oid: String,
    },
    /// An extension this verifier interprets does not decode.
    #[error("malformed extension {oid}: {source}")]
    Extension {
        /// The extension OID, dotted.
        oid: String,
        /// The decoding failure.
        source: DerError,
    },
    /// A PEM block that is not terminated or not base64.
    #[error("PEM block {block}: {reason}")]
    Pem {
        /// Zero-based index of the block in the file.
        block: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A PEM input without any `CERTIFICATE` block.
    #[error("no PEM CERTIFICATE block found")]
    NoCertificates,
    /// One certificate of a PEM bundle failed.
    #[error("certificate {index} of the PEM input: {source}")]
    InBundle {
        /// Zero-based index of the certificate in the file.
        index: usize,
        /// Why it failed.
        source: Box<CertificateError>,
    },
}

/// Reads every `CERTIFICATE` block of a PEM input; at least one is required.
pub fn parse_pem_certificates(input: &[u8]) -> Result<Vec<Certificate>, CertificateError> {
    let blocks =
        pem::certificate_blocks(input).map_err(|(block, problem)| CertificateError::Pem {
            block,
            reason: match problem {
                pem::PemProblem::Unterminated => "no END CERTIFICATE line",
                pem::PemProblem::Base64 => "body is not base64",
            },
        })?;
    if blocks.is_empty() {
        return Err(CertificateError::NoCertificates);
    }
    blocks
        .iter()
        .enumerate()
        .map(|(index, der)| {
            Certificate::from_der(der).map_err(|e| CertificateError::InBundle {
                index,
                source: Box::new(e),
            })
        })
        .collect()
}

/// An `AlgorithmIdentifier`: OID content octets and the raw parameters element, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgorithmIdentifier<'a> {
    /// The OID's content octets.
    pub oid: &'a [u8],
    /// The whole parameters element (tag included), if present.
    pub parameters: Option<&'a [u8]>,
}

impl AlgorithmIdentifier<'_> {
    /// The OID, dotted.
    pub fn oid_dotted(&self) -> String {
        der::dotted(self.oid)
    }
}

/// A `SubjectPublicKeyInfo` as slices of the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubjectPublicKeyInfo<'a> {
    /// The key algorithm and its parameters (the curve for EC keys).
    pub algorithm: AlgorithmIdentifier<'a>,
    /// The subjectPublicKey BIT STRING's bytes (after the unused-bits octet).
    pub key: &'a [u8],
}

fn whole(t: &Tlv<'_>) -> Range<usize> {
    t.offset..t.offset + t.raw.len()
}

fn inner(t: &Tlv<'_>) -> Range<usize> {
    t.content_offset()..t.content_offset() + t.content.len()
}

fn slice(raw: &[u8], range: Range<usize>) -> &[u8] {
    raw.get(range).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_pem() {
        assert_eq!(
            parse_pem_certificates(b"").err(),
            Some(CertificateError::NoCertificates)
        );
        let broken = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_pem_certificates(broken),
            Err(CertificateError::InBundle { index: 0, .. })
        ));
    }
}
