//! Every way an RFC 3161 token can fail, one variant per check, grouped by numbered step
//! (see [`super::STEPS`]); each carries the evidence: expected and actual values, which
//! certificate, which OID.

use crate::der::DerError;
use crate::time::UtcTime;
use crate::x509::{CertificateError, KeyError, SignatureError};

/// What is wrong with the signer certificate's extendedKeyUsage (RFC 3161 §2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EkuProblem {
    /// No extendedKeyUsage extension.
    Missing,
    /// The extension is present but not marked critical.
    NotCritical,
    /// The extension lists other purposes than id-kp-timeStamping (dotted OIDs).
    NotTimeStampingOnly(Vec<String>),
}

impl std::fmt::Display for EkuProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("has no extendedKeyUsage extension"),
            Self::NotCritical => {
                f.write_str("has an extendedKeyUsage extension that is not critical")
            }
            Self::NotTimeStampingOnly(purposes) => {
                write!(
                    f,
                    "lists key purposes [{}], not only id-kp-timeStamping",
                    purposes.join(", ")
                )
            }
        }
    }
}

/// Why a timestamp token was rejected. [`TimestampError::step`] gives the numbered step,
/// [`TimestampError::is_malformed`] tells unusable input from a failed check.
#[derive(Debug, thiserror::Error)]
pub enum TimestampError {
    /// Step 1: the bytes are not the DER of the named structure.
    #[error("step 1: malformed {structure}: {source}")]
    Malformed {
        /// The ASN.1 structure being read (`TimeStampResp`, `SignedData`, `TSTInfo`, ...).
        structure: &'static str,
        /// Where and how the DER broke.
        #[source]
        source: DerError,
    },
    /// Step 1: a certificate in SignedData.certificates does not parse.
    #[error("step 1: embedded certificate {index} is malformed: {source}")]
    EmbeddedCertificate {
        /// Zero-based index among the `certificates` entries.
        index: usize,
        /// Why it does not parse.
        #[source]
        source: CertificateError,
    },
    /// Step 1: the ContentInfo does not hold SignedData.
    #[error("step 1: content type {actual} is not id-signedData")]
    NotSignedData {
        /// The contentType found, dotted.
        actual: String,
    },
    /// Step 1: the TimeStampResp status is neither granted (0) nor grantedWithMods (1).
    #[error("step 1: the TSA answered status {status}, not granted{}", .text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    NotGranted {
        /// The PKIStatus value.
        status: u64,
        /// The first statusString entry, if any.
        text: Option<String>,
    },
    /// Step 1: a granted TimeStampResp without a timeStampToken.
    #[error("step 1: the TimeStampResp carries no timeStampToken")]
    MissingToken,
    /// Step 1: not exactly one SignerInfo.
    #[error("step 1: {count} SignerInfos; a timestamp token has exactly one")]
    SignerCount {
        /// How many there are.
        count: usize,
    },
    /// Step 1: eContentType is not id-ct-TSTInfo.
    #[error("step 1: eContentType {actual} is not id-ct-TSTInfo")]
    ContentType {
        /// The eContentType found, dotted.
        actual: String,
    },
    /// Step 1: the encapsulated TSTInfo is absent (a detached signature).
    #[error("step 1: the token has no eContent")]
    MissingContent,
    /// Step 1: a structure has a version this profile does not allow.
    #[error("step 1: {structure} version {actual}, expected {expected}")]
    Version {
        /// `SignedData`, `SignerInfo` or `TSTInfo`.
        structure: &'static str,
        /// The version required.
        expected: u64,
        /// The version found.
        actual: u64,
    },
    /// Steps 2, 4, 5, 6: a digest algorithm outside the allow-list (SHA-1 only where noted).
    #[error("step {step}: {usage} uses digest algorithm {oid}, which is not accepted")]
    UnsupportedDigest {
        /// The step number.
        step: u8,
        /// Where: `messageImprint`, `SignerInfo.digestAlgorithm`, `SignedData.digestAlgorithms`, `ESSCertIDv2`.
        usage: &'static str,
        /// The OID, dotted.
        oid: String,
    },
    /// Steps 2, 4, 5: an AlgorithmIdentifier whose parameters are neither NULL nor absent.
    #[error("step {step}: {usage} algorithm {oid} has parameters other than NULL or absent")]
    AlgorithmParameters {
        /// The step number.
        step: u8,
        /// Which AlgorithmIdentifier.
        usage: &'static str,
        /// The algorithm OID, dotted.
        oid: String,
    },
    /// Step 2: the imprint uses SHA-1 and the options refuse it.
    #[error("step 2: the message imprint uses SHA-1, refused by the options")]
    Sha1ImprintRefused,
    /// Step 2: the imprint is not the digest of the data (or not the digest given).
    #[error(
        "step 2: message imprint mismatch ({algorithm}): expected {expected}, token has {actual}"
    )]
    ImprintMismatch {
        /// The TSTInfo's hash algorithm.
        algorithm: &'static str,
        /// Hex of the digest of the caller's data, or the digest the caller gave.
        expected: String,
        /// Hex of the token's hashedMessage.
        actual: String,
    },
    /// Step 3: no certificate matches the SignerInfo's sid.
    #[error(
        "step 3: signer certificate not found for {sid} (embedded and out-of-band certificates searched)"
    )]
    SignerNotFound {
        /// The sid: `issuer <name>, serial <hex>` or `subjectKeyIdentifier <hex>`.
        sid: String,
    },
    /// Step 4: a required signed attribute is absent.
    #[error("step 4: signed attribute {attribute} is missing")]
    MissingAttribute {
        /// The attribute's name.
        attribute: &'static str,
    },
    /// Step 4: an attribute appears twice or with a number of values other than one.
    #[error("step 4: signed attribute {attribute} must appear once with one value")]
    AttributeCardinality {
        /// The attribute's name.
        attribute: &'static str,
    },
    /// Step 4: the contentType attribute is not id-ct-TSTInfo.
    #[error("step 4: contentType attribute is {actual}, expected id-ct-TSTInfo")]
    ContentTypeAttribute {
        /// The value found, dotted.
        actual: String,
    },
    /// Step 4: messageDigest is not the digest of the TSTInfo bytes.
    #[error(
        "step 4: messageDigest mismatch ({algorithm}): TSTInfo hashes to {expected}, attribute has {actual}"
    )]
    MessageDigestMismatch {
        /// The signer's digest algorithm.
        algorithm: &'static str,
        /// Hex of the digest of eContent as received.
        expected: String,
        /// Hex of the attribute's value.
        actual: String,
    },
    /// Step 5: the SignerInfo's signatureAlgorithm is unknown or disagrees with its digestAlgorithm.
    #[error("step 5: signature algorithm {oid} with digest {digest} is not accepted")]
    SignatureAlgorithm {
        /// The signatureAlgorithm OID, dotted.
        oid: String,
        /// The SignerInfo's digestAlgorithm.
        digest: &'static str,
    },
    /// Step 5: the signer's public key cannot be used (algorithm, curve or RSA size).
    #[error("step 5: signer {subject}: {source}")]
    SignerKey {
        /// The signer certificate's subject.
        subject: String,
        /// What is wrong with the key.
        #[source]
        source: KeyError,
    },
    /// Step 5: the signature over the signed attributes does not verify.
    #[error("step 5: signature by {subject} ({algorithm}) over the signed attributes: {source}")]
    Signature {
        /// The signer certificate's subject.
        subject: String,
        /// The scheme used, e.g. `sha512WithRSAEncryption`.
        algorithm: &'static str,
        /// What failed.
        #[source]
        source: SignatureError,
    },
    /// Step 6: neither signingCertificate nor signingCertificateV2 is present.
    #[error("step 6: neither signingCertificate nor signingCertificateV2 is a signed attribute")]
    MissingSigningCertificate,
    /// Step 6: the first ESSCertID(v2) hash is not the hash of the signer certificate.
    #[error("step 6: ESSCertID{} ({algorithm}) names {actual}, signer certificate hashes to {expected}", if *.version == 2 { "v2" } else { "" })]
    EssCertIdMismatch {
        /// 1 for ESSCertID, 2 for ESSCertIDv2.
        version: u8,
        /// The hash algorithm.
        algorithm: &'static str,
        /// Hex of the signer certificate's hash.
        expected: String,
        /// Hex of the certHash in the attribute.
        actual: String,
    },
    /// Step 6: the ESSCertID(v2) issuerSerial does not name the signer certificate.
    #[error("step 6: ESSCertID{} issuerSerial does not name the signer certificate ({subject})", if *.version == 2 { "v2" } else { "" })]
    EssIssuerSerialMismatch {
        /// 1 for ESSCertID, 2 for ESSCertIDv2.
        version: u8,
        /// The signer certificate's subject.
        subject: String,
    },
    /// Step 7: the signer certificate's extendedKeyUsage is not a critical id-kp-timeStamping only.
    #[error("step 7: signer certificate {subject} {problem}")]
    SignerExtendedKeyUsage {
        /// The signer certificate's subject.
        subject: String,
        /// What is wrong.
        problem: EkuProblem,
    },
    /// Step 7: the signer's keyUsage allows more than digitalSignature and nonRepudiation.
    #[error(
        "step 7: signer certificate {subject} keyUsage bits {bits:#06x} allow more than digitalSignature/nonRepudiation"
    )]
    SignerKeyUsage {
        /// The signer certificate's subject.
        subject: String,
        /// The asserted bits (bit n = named bit n).
        bits: u16,
    },
    /// Step 7: the signer certificate is a CA certificate.
    #[error("step 7: signer certificate {subject} is a CA certificate")]
    SignerIsCa {
        /// The signer certificate's subject.
        subject: String,
    },
    /// Step 8: no issuer for a certificate among the anchors and the other certificates.
    #[error("step 8: no chain to a trust anchor: no issuer found for {subject} (issuer {issuer})")]
    NoChain {
        /// The certificate whose issuer was not found.
        subject: String,
        /// Its issuer name.
        issuer: String,
    },
    /// Step 8: an issuer candidate's signature on a certificate does not verify.
    #[error("step 8: signature of {issuer} on {subject}: {source}")]
    CertificateSignature {
        /// The certificate signed.
        subject: String,
        /// The candidate issuer's subject.
        issuer: String,
        /// What failed.
        #[source]
        source: SignatureError,
    },
    /// Step 8: a certificate used as an issuer is not a CA (basicConstraints cA), or exceeds its pathLen.
    #[error("step 8: {subject} cannot issue here: {reason}")]
    NotAnIssuer {
        /// The candidate issuer's subject.
        subject: String,
        /// `not a CA` or `pathLenConstraint exceeded`.
        reason: &'static str,
    },
    /// Step 8: an intermediate's extendedKeyUsage excludes time stamping.
    #[error("step 8: intermediate {subject} has extendedKeyUsage [{}] without id-kp-timeStamping", .purposes.join(", "))]
    IntermediateExtendedKeyUsage {
        /// The intermediate's subject.
        subject: String,
        /// Its key purposes, dotted.
        purposes: Vec<String>,
    },
    /// Step 8: a certificate carries a critical extension this verifier does not process.
    #[error("step 8: {subject} has unhandled critical extension {oid}")]
    UnhandledCriticalExtension {
        /// The certificate's subject.
        subject: String,
        /// The extension OID, dotted.
        oid: String,
    },
    /// Step 8: a certificate of the chain is not valid at the validation time.
    #[error("step 8: {subject} is valid {not_before} to {not_after}, not at {at}")]
    NotValidAt {
        /// The certificate's subject.
        subject: String,
        /// Its notBefore.
        not_before: UtcTime,
        /// Its notAfter.
        not_after: UtcTime,
        /// The instant checked (genTime, widened by the accuracy, or the `--at` time).
        at: UtcTime,
    },
    /// Step 8: the chain would be longer than the bound.
    #[error("step 8: no chain within {max} certificates")]
    ChainTooLong {
        /// The bound.
        max: usize,
    },
    /// Step 9: TSTInfo.tsa does not name the signer.
    #[error("step 9: TSTInfo names TSA {tsa}, but the signer is {signer}")]
    TsaNameMismatch {
        /// The tsa field, rendered (directoryName) or hex (other GeneralName forms).
        tsa: String,
        /// The signer certificate's subject.
        signer: String,
    },
    /// Step 9: the nonce is not the one the caller sent.
    #[error("step 9: nonce mismatch: expected {expected}, token has {}", .actual.as_deref().unwrap_or("none"))]
    NonceMismatch {
        /// Hex of the expected nonce (INTEGER content octets).
        expected: String,
        /// Hex of the token's nonce, if any.
        actual: Option<String>,
    },
    /// Step 9: the policy is not the one the caller requires.
    #[error("step 9: policy {actual}, expected {expected}")]
    PolicyMismatch {
        /// The required policy, dotted.
        expected: String,
        /// The token's policy, dotted.
        actual: String,
    },
    /// The trust anchors or out-of-band certificates given cannot be read.
    #[error("certificates given to the verifier: {source}")]
    Certificates {
        /// Why they cannot be read.
        #[from]
        source: CertificateError,
    },
}

impl TimestampError {
    /// The numbered verification step (1–9) this failure belongs to; 0 for unusable
    /// trust anchors or out-of-band certificates.
    pub fn step(&self) -> u8 {
        use TimestampError as E;
        match self {
            E::Malformed { .. }
            | E::EmbeddedCertificate { .. }
            | E::NotSignedData { .. }
            | E::NotGranted { .. }
            | E::MissingToken
            | E::SignerCount { .. }
            | E::ContentType { .. }
            | E::MissingContent
            | E::Version { .. } => 1,
            E::UnsupportedDigest { step, .. } | E::AlgorithmParameters { step, .. } => *step,
            E::Sha1ImprintRefused | E::ImprintMismatch { .. } => 2,
            E::SignerNotFound { .. } => 3,
            E::MissingAttribute { .. }
            | E::AttributeCardinality { .. }
            | E::ContentTypeAttribute { .. }
            | E::MessageDigestMismatch { .. } => 4,
            E::SignatureAlgorithm { .. } | E::SignerKey { .. } | E::Signature { .. } => 5,
            E::MissingSigningCertificate
            | E::EssCertIdMismatch { .. }
            | E::EssIssuerSerialMismatch { .. } => 6,
            E::SignerExtendedKeyUsage { .. } | E::SignerKeyUsage { .. } | E::SignerIsCa { .. } => 7,
            E::NoChain { .. }
            | E::CertificateSignature { .. }
            | E::NotAnIssuer { .. }
            | E::IntermediateExtendedKeyUsage { .. }
            | E::UnhandledCriticalExtension { .. }
            | E::NotValidAt { .. }
            | E::ChainTooLong { .. } => 8,
            E::TsaNameMismatch { .. } | E::NonceMismatch { .. } | E::PolicyMismatch { .. } => 9,
            E::Certificates { .. } => 0,
        }
    }

    /// Whether the input could not be used at all (it does not parse as a token or
    /// response, or the given certificates do not parse), rather than failing a check.
    /// The CLI maps this to exit code 2, everything else to 1.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            TimestampError::Malformed { .. }
                | TimestampError::EmbeddedCertificate { .. }
                | TimestampError::NotSignedData { .. }
                | TimestampError::Certificates { .. }
        )
    }
}
