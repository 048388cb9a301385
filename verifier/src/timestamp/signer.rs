//! Steps 3–5: find the signer certificate, check the contentType and messageDigest signed
//! attributes, and verify the signature over the signed attributes as received.

use super::TimestampError;
use super::oid;
use super::token::{AlgorithmIdentifier, SignerIdentifier, SignerInfo, Token};
use crate::der::tag;
use crate::x509::{self, Certificate, DigestAlgorithm, SignatureScheme};

/// Step 3: the certificate the sid names, among the embedded and out-of-band ones.
pub(crate) fn find<'c>(
    sid: &SignerIdentifier<'_>,
    pool: &[&'c Certificate],
) -> Result<&'c Certificate, TimestampError> {
    let found = pool.iter().copied().find(|c| match sid {
        SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => {
            c.issuer_der() == issuer.raw && c.serial() == *serial
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c.subject_key_identifier() == Some(*ski),
    });
    found.ok_or_else(|| TimestampError::SignerNotFound { sid: describe(sid) })
}

fn describe(sid: &SignerIdentifier<'_>) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => {
            let name = x509::render_name(*issuer).unwrap_or_else(|_| hex::encode(issuer.raw));
            format!("issuer {name}, serial {}", hex::encode(serial))
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            format!("subjectKeyIdentifier {}", hex::encode(ski))
        }
    }
}

/// The SignerInfo's digestAlgorithm: SHA-256/384/512, NULL or absent parameters, and
/// listed in SignedData.digestAlgorithms (whose entries must all be well-formed too).
pub(crate) fn digest_algorithm(token: &Token<'_>) -> Result<DigestAlgorithm, TimestampError> {
    let algorithm = &token.signer.digest_algorithm;
    let digest = accepted_digest(algorithm, "SignerInfo.digestAlgorithm")?;
    for listed in &token.digest_algorithms {
        if !listed.has_null_or_absent_parameters() {
            return Err(parameters_error(4, "SignedData.digestAlgorithms", listed));
        }
    }
    if !token
        .digest_algorithms
        .iter()
        .any(|listed| listed.oid == algorithm.oid)
    {
        return Err(TimestampError::UnsupportedDigest {
            step: 4,
            usage: "SignedData.digestAlgorithms (signer's algorithm not listed)",
            oid: algorithm.oid.to_string(),
        });
    }
    Ok(digest)
}

fn accepted_digest(
    algorithm: &AlgorithmIdentifier<'_>,
    usage: &'static str,
) -> Result<DigestAlgorithm, TimestampError> {
    let digest = DigestAlgorithm::from_oid(algorithm.oid.as_bytes())
        .filter(|d| *d != DigestAlgorithm::Sha1)
        .ok_or_else(|| TimestampError::UnsupportedDigest {
            step: 4,
            usage,
            oid: algorithm.oid.to_string(),
        })?;
    if !algorithm.has_null_or_absent_parameters() {
        return Err(parameters_error(4, usage, algorithm));
    }
    Ok(digest)
}

fn parameters_error(
    step: u8,
    usage: &'static str,
    algorithm: &AlgorithmIdentifier<'_>,
) -> TimestampError {
    TimestampError::AlgorithmParameters {
        step,
        usage,
        oid: algorithm.oid.to_string(),
    }
}

/// Step 4: contentType = id-ct-TSTInfo and messageDigest = digest(eContent as received).
pub(crate) fn check_attributes(
    token: &Token<'_>,
    digest: DigestAlgorithm,
) -> Result<(), TimestampError> {
    let signer = &token.signer;
    if signer.signed_attrs.is_none() {
        return Err(TimestampError::MissingAttribute {
            attribute: "signedAttrs",
        });
    }
    let content_type = signer
        .single_attribute(oid::AA_CONTENT_TYPE, "contentType")?
        .ok_or(TimestampError::MissingAttribute {
            attribute: "contentType",
        })?;
    let content_type = content_type
        .oid()
        .map_err(|source| TimestampError::Malformed {
            structure: "contentType attribute",
            source,
        })?;
    if content_type != oid::CT_TST_INFO {
        return Err(TimestampError::ContentTypeAttribute {
            actual: content_type.to_string(),
        });
    }
    let message_digest = signer
        .single_attribute(oid::AA_MESSAGE_DIGEST, "messageDigest")?
        .ok_or(TimestampError::MissingAttribute {
            attribute: "messageDigest",
        })?;
    message_digest
        .check_tag(tag::OCTET_STRING)
        .map_err(|source| TimestampError::Malformed {
            structure: "messageDigest attribute",
            source,
        })?;
    let expected = digest.digest(token.e_content);
    if expected != message_digest.content {
        return Err(TimestampError::MessageDigestMismatch {
            algorithm: digest.name(),
            expected: hex::encode(expected),
            actual: hex::encode(message_digest.content),
        });
    }
    Ok(())
}

/// The scheme the SignerInfo's signatureAlgorithm names together with its digestAlgorithm:
/// rsaEncryption, or shaNNNWithRSAEncryption / ecdsa-with-SHANNN naming that same digest.
fn scheme(
    signer: &SignerInfo<'_>,
    digest: DigestAlgorithm,
) -> Result<SignatureScheme, TimestampError> {
    let algorithm = &signer.signature_algorithm;
    let refused = || TimestampError::SignatureAlgorithm {
        oid: algorithm.oid.to_string(),
        digest: digest.name(),
    };
    let scheme = if algorithm.oid == x509::oid::RSA_ENCRYPTION {
        SignatureScheme::RsaPkcs1v15(digest)
    } else {
        SignatureScheme::from_signature_oid(algorithm.oid.as_bytes()).ok_or_else(refused)?
    };
    if scheme.digest() != digest {
        return Err(refused());
    }
    if !algorithm.has_null_or_absent_parameters() {
        return Err(parameters_error(
            5,
            "SignerInfo.signatureAlgorithm",
            algorithm,
        ));
    }
    Ok(scheme)
}

/// Step 5: the signature over the signed attributes (retagged as SET OF) with the signer's key.
pub(crate) fn check_signature(
    signer_info: &SignerInfo<'_>,
    digest: DigestAlgorithm,
    signer: &Certificate,
) -> Result<SignatureScheme, TimestampError> {
    let scheme = scheme(signer_info, digest)?;
    let subject = || signer.subject().to_owned();
    let key = signer.public_key().map_err(|e| TimestampError::SignerKey {
        subject: subject(),
        source: e.clone(),
    })?;
    let message =
        signer_info
            .signed_attributes_for_signature()
            .ok_or(TimestampError::MissingAttribute {
                attribute: "signedAttrs",
            })?;
    key.verify_digest(scheme, &digest.digest(&message), signer_info.signature)
        .map_err(|source| TimestampError::Signature {
            subject: subject(),
            algorithm: scheme.name(),
            source,
        })?;
    Ok(scheme)
}
