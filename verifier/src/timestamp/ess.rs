//! Step 6: the ESS signing-certificate attributes bind the signature to the signer
//! certificate (RFC 2634 §5.4 ESSCertID with SHA-1, RFC 5035 / RFC 5816 ESSCertIDv2).
//!
//! At least one of signingCertificate and signingCertificateV2 must be signed; each one
//! present is checked: its first ESSCertID's hash must be the hash of the signer
//! certificate's DER, and its issuerSerial, when present, must name the signer.

use super::TimestampError;
use super::oid;
use super::token::{SignerInfo, read_algorithm};
use crate::der::{DerError, Tlv, tag};
use crate::x509::{Certificate, DigestAlgorithm};

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Copy, Debug)]
struct IssuerSerial<'a> {
    issuer: Tlv<'a>,
    serial: &'a [u8],
}

/// The first `ESSCertID` or `ESSCertIDv2` of a signing-certificate attribute.
#[derive(Clone, Copy, Debug)]
struct EssCertIdV2<'a> {
    /// SHA-1 for ESSCertID; for v2 the hashAlgorithm (DEFAULT id-sha256).
    hash_algorithm: DigestAlgorithm,
    cert_hash: &'a [u8],
    issuer_serial: Option<IssuerSerial<'a>>,
}

/// Checks signingCertificateV2 and signingCertificate against the signer certificate.
pub(crate) fn check(
    signer_info: &SignerInfo<'_>,
    signer: &Certificate,
) -> Result<(), TimestampError> {
    let v2 =
        signer_info.single_attribute(oid::AA_SIGNING_CERTIFICATE_V2, "signingCertificateV2")?;
    let v1 = signer_info.single_attribute(oid::AA_SIGNING_CERTIFICATE, "signingCertificate")?;
    if v1.is_none() && v2.is_none() {
        return Err(TimestampError::MissingSigningCertificate);
    }
    if let Some(value) = v2 {
        let id = first_cert_id(&value, 2)?;
        compare(&id, 2, signer)?;
    }
    if let Some(value) = v1 {
        let id = first_cert_id(&value, 1)?;
        compare(&id, 1, signer)?;
    }
    Ok(())
}

fn compare(id: &EssCertIdV2<'_>, version: u8, signer: &Certificate) -> Result<(), TimestampError> {
    let expected = id.hash_algorithm.digest(signer.raw());
    if expected != id.cert_hash {
        return Err(TimestampError::EssCertIdMismatch {
            version,
            algorithm: id.hash_algorithm.name(),
            expected: hex::encode(expected),
            actual: hex::encode(id.cert_hash),
        });
    }
    if let Some(issuer_serial) = id.issuer_serial
        && !names_signer(&issuer_serial, signer)
    {
        return Err(TimestampError::EssIssuerSerialMismatch {
            version,
            subject: signer.subject().to_owned(),
        });
    }
    Ok(())
}

/// Whether `issuer` is exactly one directoryName equal to the signer's issuer, and the serial matches.
fn names_signer(issuer_serial: &IssuerSerial<'_>, signer: &Certificate) -> bool {
    let mut names = issuer_serial.issuer.reader();
    let directory_name = names
        .read(tag::context_constructed(4))
        .ok()
        .filter(|_| names.is_empty());
    let name = directory_name.and_then(|d| {
        let mut inner = d.reader();
        inner.read(tag::SEQUENCE).ok().filter(|_| inner.is_empty())
    });
    name.is_some_and(|n| n.raw == signer.issuer_der()) && issuer_serial.serial == signer.serial()
}

/// Reads `SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }`
/// and returns the first entry.
fn first_cert_id<'a>(value: &Tlv<'a>, version: u8) -> Result<EssCertIdV2<'a>, TimestampError> {
    let structure = if version == 2 {
        "SigningCertificateV2"
    } else {
        "SigningCertificate"
    };
    let m = |source| TimestampError::Malformed { structure, source };
    value.check_tag(tag::SEQUENCE).map_err(m)?;
    let mut fields = value.reader();
    let certs = fields.read(tag::SEQUENCE).map_err(m)?;
    fields.read_optional(tag::SEQUENCE).map_err(m)?;
    fields.finish().map_err(m)?;
    let mut entries = certs.reader();
    let first = entries.read(tag::SEQUENCE).map_err(m)?;
    while !entries.is_empty() {
        entries.read(tag::SEQUENCE).map_err(m)?;
    }
    let mut id = first.reader();
    let hash_algorithm = if version == 2 {
        read_v2_algorithm(&mut id)?
    } else {
        DigestAlgorithm::Sha1
    };
    let cert_hash = id.read(tag::OCTET_STRING).map_err(m)?.content;
    let issuer_serial = id
        .read_optional(tag::SEQUENCE)
        .map_err(m)?
        .map(|s| read_issuer_serial(&s))
        .transpose();
    id.finish().map_err(m)?;
    Ok(EssCertIdV2 {
        hash_algorithm,
        cert_hash,
        issuer_serial: issuer_serial.map_err(m)?,
    })
}

/// `hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256}`: SHA-256/384/512 only.
fn read_v2_algorithm(id: &mut crate::der::Reader<'_>) -> Result<DigestAlgorithm, TimestampError> {
    if id.peek_tag() != Some(tag::SEQUENCE) {
        return Ok(DigestAlgorithm::Sha256);
    }
    let algorithm = read_algorithm(id).map_err(|source| TimestampError::Malformed {
        structure: "ESSCertIDv2",
        source,
    })?;
    let unsupported = || TimestampError::UnsupportedDigest {
        step: 6,
        usage: "ESSCertIDv2",
        oid: algorithm.oid.to_string(),
    };
    let digest = DigestAlgorithm::from_oid(algorithm.oid.as_bytes()).ok_or_else(unsupported)?;
    if digest == DigestAlgorithm::Sha1 {
        return Err(unsupported());
    }
    if !algorithm.has_null_or_absent_parameters() {
        return Err(TimestampError::AlgorithmParameters {
            step: 6,
            usage: "ESSCertIDv2",
            oid: algorithm.oid.to_string(),
        });
    }
    Ok(digest)
}

fn read_issuer_serial<'a>(sequence: &Tlv<'a>) -> Result<IssuerSerial<'a>, DerError> {
    let mut fields = sequence.reader();
    let issuer = fields.read(tag::SEQUENCE)?;
    let serial = fields.read(tag::INTEGER)?.content;
    fields.finish()?;
    Ok(IssuerSerial { issuer, serial })
}
