//! Steps 7 and 8: the signer certificate's profile (RFC 3161 §2.3) and the path from it to
//! a configured trust anchor.
//!
//! Chain building takes the certificates embedded in the token and the out-of-band ones
//! in any order. From each certificate it tries, anchors first, every certificate whose
//! subject is (byte for byte) the issuer name, verifies the signature, and continues
//! depth-first; it stops at a certificate that is byte-equal to an anchor or signed by
//! one. A certificate never appears twice in a path and paths are at most
//! [`MAX_CHAIN_LENGTH`] long. Issuers must be CAs within their pathLenConstraint;
//! intermediates that carry an extendedKeyUsage must allow time stamping.
//!
//! Validity: every certificate of the chain, **the anchor included** (as OpenSSL does),
//! must be valid over the whole validation window: genTime widened by the token's
//! accuracy, or the instant the caller gives.

use super::TimestampError;
use super::error::EkuProblem;
use crate::der;
use crate::time::UtcTime;
use crate::x509::{self, Certificate, KeyUsage};

/// The longest chain accepted, anchor included.
pub const MAX_CHAIN_LENGTH: usize = 8;

/// Extensions whose meaning the verifier honours (or which carry no constraint), so
/// that they may be critical: subjectKeyIdentifier, keyUsage, subjectAltName,
/// basicConstraints, certificatePolicies (no policy is required), authorityKeyIdentifier,
/// extendedKeyUsage.
const HANDLED_EXTENSIONS: [&[u8]; 7] = [
    x509::oid::CE_SUBJECT_KEY_IDENTIFIER,
    x509::oid::CE_KEY_USAGE,
    x509::oid::CE_SUBJECT_ALT_NAME,
    x509::oid::CE_BASIC_CONSTRAINTS,
    &[0x55, 0x1d, 0x20],
    &[0x55, 0x1d, 0x23],
    x509::oid::CE_EXT_KEY_USAGE,
];

/// The certificates a token's chain must end in: the auditor's configured roots (or a
/// pinned TSA certificate).
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    certificates: Vec<Certificate>,
}

impl TrustAnchors {
    /// Reads the anchors from a PEM file with one or more certificates.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TimestampError> {
        Ok(Self {
            certificates: x509::parse_pem_certificates(pem)?,
        })
    }

    /// Uses already parsed certificates as anchors.
    pub fn from_certificates(certificates: Vec<Certificate>) -> Self {
        Self { certificates }
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Whether there are none (then nothing verifies).
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    /// The anchors.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }
}

/// The instants every certificate of the chain must be valid at (inclusive).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) earliest: UtcTime,
    pub(crate) latest: UtcTime,
}

/// Step 7: EKU present, critical, exactly id-kp-timeStamping; keyUsage (if present) only
/// digitalSignature and nonRepudiation; not a CA.
pub(crate) fn check_signer_profile(signer: &Certificate) -> Result<(), TimestampError> {
    let subject = || signer.subject().to_owned();
    let problem = match signer.extended_key_usage() {
        None => Some(EkuProblem::Missing),
        Some(eku) if !eku.critical => Some(EkuProblem::NotCritical),
        Some(eku) if !eku.is_time_stamping_only() => {
            Some(EkuProblem::NotTimeStampingOnly(eku.purposes_dotted()))
        }
        Some(_) => None,
    };
    if let Some(problem) = problem {
        return Err(TimestampError::SignerExtendedKeyUsage {
            subject: subject(),
            problem,
        });
    }
    if let Some(usage) = signer.key_usage()
        && usage.bits & !(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::NON_REPUDIATION) != 0
    {
        return Err(TimestampError::SignerKeyUsage {
            subject: subject(),
            bits: usage.bits,
        });
    }
    if signer.is_ca() {
        return Err(TimestampError::SignerIsCa { subject: subject() });
    }
    Ok(())
}

struct Search<'c> {
    pool: &'c [&'c Certificate],
    anchors: &'c TrustAnchors,
    window: Window,
}

/// Step 8: a path from `signer` to an anchor through `pool`, leaf first, anchor last.
pub(crate) fn build<'c>(
    signer: &'c Certificate,
    pool: &'c [&'c Certificate],
    anchors: &'c TrustAnchors,
    window: Window,
) -> Result<Vec<&'c Certificate>, TimestampError> {
    let search = Search {
        pool,
        anchors,
        window,
    };
    let mut path = vec![signer];
    extend(&mut path, &search)?;
    Ok(path)
}

/// Completes `path` (whose last certificate is checked here) up to an anchor.
fn extend<'c>(path: &mut Vec<&'c Certificate>, search: &Search<'c>) -> Result<(), TimestampError> {
    let Some(&current) = path.last() else {
        return Err(TimestampError::ChainTooLong { max: 0 });
    };
    check_certificate(current, search.window)?;
    if search
        .anchors
        .certificates
        .iter()
        .any(|a| a.raw() == current.raw())
    {
        return Ok(());
    }
    if path.len() >= MAX_CHAIN_LENGTH {
        return Err(TimestampError::ChainTooLong {
            max: MAX_CHAIN_LENGTH,
        });
    }
    let issued = |c: &&Certificate| c.subject_der() == current.issuer_der();
    let anchors = search
        .anchors
        .certificates
        .iter()
        .filter(issued)
        .map(|a| (a, true));
    let others = search
        .pool
        .iter()
        .copied()
        .filter(issued)
        .filter(|c| !path.iter().any(|p| p.raw() == c.raw()));
    let candidates: Vec<(&Certificate, bool)> = anchors.chain(others.map(|c| (c, false))).collect();
    let mut first_error = None;
    for (candidate, is_anchor) in candidates {
        let depth = path.len();
        match try_issuer(path, candidate, is_anchor, search) {
            Ok(()) => return Ok(()),
            Err(e) => {
                path.truncate(depth);
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| TimestampError::NoChain {
        subject: current.subject().to_owned(),
        issuer: current.issuer().to_owned(),
    }))
}

fn try_issuer<'c>(
    path: &mut Vec<&'c Certificate>,
    candidate: &'c Certificate,
    is_anchor: bool,
    search: &Search<'c>,
) -> Result<(), TimestampError> {
    let intermediates_below = path.len().saturating_sub(1);
    check_issuer_profile(candidate, intermediates_below, is_anchor)?;
    let Some(&current) = path.last() else {
        return Err(TimestampError::ChainTooLong { max: 0 });
    };
    current
        .verify_issued_by(candidate)
        .map_err(|source| TimestampError::CertificateSignature {
            subject: current.subject().to_owned(),
            issuer: candidate.subject().to_owned(),
            source,
        })?;
    path.push(candidate);
    if is_anchor {
        check_certificate(candidate, search.window)
    } else {
        extend(path, search)
    }
}

/// A certificate that signs another in the chain: a CA within its pathLenConstraint; an
/// intermediate with an extendedKeyUsage must allow time stamping.
fn check_issuer_profile(
    candidate: &Certificate,
    intermediates_below: usize,
    is_anchor: bool,
) -> Result<(), TimestampError> {
    let subject = || candidate.subject().to_owned();
    let Some(constraints) = candidate.basic_constraints().filter(|b| b.ca) else {
        return Err(TimestampError::NotAnIssuer {
            subject: subject(),
            reason: "not a CA (basicConstraints cA)",
        });
    };
    if constraints
        .path_len
        .is_some_and(|max| (intermediates_below as u64) > max)
    {
        return Err(TimestampError::NotAnIssuer {
            subject: subject(),
            reason: "pathLenConstraint exceeded",
        });
    }
    if let Some(eku) = candidate.extended_key_usage().filter(|_| !is_anchor)
        && !eku.allows_time_stamping()
    {
        return Err(TimestampError::IntermediateExtendedKeyUsage {
            subject: subject(),
            purposes: eku.purposes_dotted(),
        });
    }
    Ok(())
}

/// Validity over the window, and no critical extension the verifier does not handle.
fn check_certificate(certificate: &Certificate, window: Window) -> Result<(), TimestampError> {
    let at = if certificate.not_before() > window.earliest {
        Some(window.earliest)
    } else if certificate.not_after() < window.latest {
        Some(window.latest)
    } else {
        None
    };
    if let Some(at) = at {
        return Err(TimestampError::NotValidAt {
            subject: certificate.subject().to_owned(),
            not_before: certificate.not_before(),
            not_after: certificate.not_after(),
            at,
        });
    }
    if let Some(extension) = certificate
        .extensions()
        .find(|e| e.critical && !HANDLED_EXTENSIONS.contains(&e.oid))
    {
        return Err(TimestampError::UnhandledCriticalExtension {
            subject: certificate.subject().to_owned(),
            oid: der::dotted(extension.oid),
        });
    }
    Ok(())
}
