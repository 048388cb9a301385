//! The development TSA's two certificates, built with the TSA module's DER writer:
//! a self-signed P-256 root and a TSA certificate it issues (RFC 5280; the TSA profile of
//! RFC 3161 §2.3 as DigiCert's: EKU id-kp-timeStamping only and critical, keyUsage
//! digitalSignature critical, basicConstraints CA:FALSE critical, SKI and AKI).

use custody_verifier::time::UtcTime;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::tsa::der;
use crate::tsa::oid;

/// What every development name says, so no report can mistake it for a real TSA.
pub(super) const DEVELOPMENT_MARK: &str = "DEVELOPMENT ONLY – untrusted";

/// The root's common name.
pub(super) const ROOT_CN: &str = "custody development TSA root";
/// The TSA certificate's common name.
pub(super) const TSA_CN: &str = "custody development TSA";

/// How long the root and the TSA certificate are valid from their creation.
const ROOT_YEARS: i64 = 30;
const TSA_YEARS: i64 = 20;
/// Backdating of notBefore, so a token stamped right after creation (genTime minus
/// accuracy) still falls inside the validity.
const BACKDATE_SECONDS: i64 = 3600;

/// `Name`: CN = "<cn> (DEVELOPMENT ONLY – untrusted)", OU = the mark, O = custody.
pub(super) fn name(cn: &str) -> Vec<u8> {
    let rdn = |oid: &[u8], value: &str| {
        der::set_of(&[&der::sequence(&[&der::oid(oid), &der::utf8_string(value)])])
    };
    der::sequence(&[
        &rdn(oid::ORGANIZATION, "custody"),
        &rdn(oid::ORGANIZATIONAL_UNIT, DEVELOPMENT_MARK),
        &rdn(oid::COMMON_NAME, &format!("{cn} ({DEVELOPMENT_MARK})")),
    ])
}

/// `SubjectPublicKeyInfo` of a P-256 key (uncompressed point).
fn spki(key: &VerifyingKey) -> Vec<u8> {
    der::sequence(&[
        &der::sequence(&[&der::oid(oid::EC_PUBLIC_KEY), &der::oid(oid::PRIME256V1)]),
        &der::bit_string(key.to_encoded_point(false).as_bytes()),
    ])
}

/// A key identifier: the leftmost 160 bits of SHA-256 of the public key (RFC 7093 §2 method 1).
pub(super) fn key_id(key: &VerifyingKey) -> Vec<u8> {
    Sha256::digest(key.to_encoded_point(false).as_bytes())[..20].to_vec()
}

/// `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`.
fn extension(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let flag = if critical {
        der::boolean_true()
    } else {
        Vec::new()
    };
    der::sequence(&[&der::oid(id), &flag, &der::octet_string(value)])
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
fn validity_time(time: UtcTime) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = time.to_civil();
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        der::tlv(der::tag::UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        der::tlv(der::tag::GENERALIZED_TIME, text.as_bytes())
    }
}

/// `AlgorithmIdentifier { ecdsa-with-SHA256 }` (parameters absent, RFC 5758 §3.2).
pub(super) fn ecdsa_with_sha256() -> Vec<u8> {
    der::sequence(&[&der::oid(oid::ECDSA_WITH_SHA256)])
}

/// An ECDSA P-256 / SHA-256 signature, DER `Ecdsa-Sig-Value`.
pub(super) fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: Signature = key.sign(message);
    signature.to_der().as_bytes().to_vec()
}

/// What differs between the root and the TSA certificate.
pub(super) struct CertificateSpec<'a> {
    /// Positive serial number magnitude.
    pub(super) serial: [u8; 16],
    /// The subject's common name (the mark is appended).
    pub(super) cn: &'a str,
    /// The issuer's Name DER (the subject's own for the root).
    pub(super) issuer: &'a [u8],
    /// The issuer's key identifier (the subject's own for the root).
    pub(super) authority_key_id: &'a [u8],
    /// The subject's public key.
    pub(super) subject_key: &'a VerifyingKey,
    /// When the certificate is created.
    pub(super) now: UtcTime,
    /// Whether this is the root (CA) or the TSA (end entity).
    pub(super) ca: bool,
}

/// A signed X.509 v3 certificate.
pub(super) fn issue(spec: &CertificateSpec<'_>, issuer_key: &SigningKey) -> Vec<u8> {
    let years = if spec.ca { ROOT_YEARS } else { TSA_YEARS };
    let validity = der::sequence(&[
        &validity_time(spec.now.offset_seconds(-BACKDATE_SECONDS)),
        &validity_time(spec.now.offset_seconds(years * 365 * 86_400)),
    ]);
    let tbs = der::sequence(&[
        &der::tlv(der::tag::context_constructed(0), &der::small_integer(2)),
        &der::unsigned_integer(&spec.serial),
        &ecdsa_with_sha256(),
        spec.issuer,
        &validity,
        &name(spec.cn),
        &spki(spec.subject_key),
        &der::tlv(der::tag::context_constructed(3), &extensions(spec)),
    ]);
    der::sequence(&[
        &tbs,
        &ecdsa_with_sha256(),
        &der::bit_string(&sign(issuer_key, &tbs)),
    ])
}

/// The extensions: a CA root (keyCertSign, cRLSign) or a TSA (RFC 3161 §2.3 profile).
fn extensions(spec: &CertificateSpec<'_>) -> Vec<u8> {
    let ski = extension(
        oid::SUBJECT_KEY_IDENTIFIER,
        false,
        &der::octet_string(&key_id(spec.subject_key)),
    );
    let aki = extension(
        oid::AUTHORITY_KEY_IDENTIFIER,
        false,
        &der::sequence(&[&der::tlv(
            der::tag::context_primitive(0),
            spec.authority_key_id,
        )]),
    );
    if spec.ca {
        let basic = der::sequence(&[&der::boolean_true()]);
        let usage = der::named_bits((1 << 5) | (1 << 6));
        der::sequence(&[
            &extension(oid::BASIC_CONSTRAINTS, true, &basic),
            &extension(oid::KEY_USAGE, true, &usage),
            &ski,
            &aki,
        ])
    } else {
        let eku = der::sequence(&[&der::oid(oid::KP_TIME_STAMPING)]);
        der::sequence(&[
            &extension(oid::BASIC_CONSTRAINTS, true, &der::sequence(&[])),
            &extension(oid::KEY_USAGE, true, &der::named_bits(1)),
            &extension(oid::EXT_KEY_USAGE, true, &eku),
            &ski,
            &aki,
        ])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use custody_verifier::x509::{Certificate, KeyUsage};

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32].into()).unwrap()
    }

    #[test]
    fn root_and_tsa_certificates_have_the_rfc_3161_profile() {
        let now = UtcTime::parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
        let (root_key, tsa_key) = (key(1), key(2));
        let root_id = key_id(root_key.verifying_key());
        let root_name = name(ROOT_CN);
        let root = issue(
            &CertificateSpec {
                serial: [1; 16],
                cn: ROOT_CN,
                issuer: &root_name,
                authority_key_id: &root_id,
                subject_key: root_key.verifying_key(),
                now,
                ca: true,
            },
            &root_key,
        );
        let tsa = issue(
            &CertificateSpec {
                serial: [2; 16],
                cn: TSA_CN,
                issuer: &root_name,
                authority_key_id: &root_id,
                subject_key: tsa_key.verifying_key(),
                now,
                ca: false,
            },
            &root_key,
        );
        let root = Certificate::from_der(&root).unwrap();
        let tsa = Certificate::from_der(&tsa).unwrap();
        assert!(root.is_ca());
        assert!(!tsa.is_ca());
        assert!(tsa.basic_constraints().unwrap().critical);
        let eku = tsa.extended_key_usage().unwrap();
        assert!(eku.critical && eku.is_time_stamping_only());
        let usage = tsa.key_usage().unwrap();
        assert_eq!(usage.bits, KeyUsage::DIGITAL_SIGNATURE);
        assert!(usage.critical);
        assert!(
            tsa.subject().contains(DEVELOPMENT_MARK),
            "{}",
            tsa.subject()
        );
        assert!(root.subject().contains(DEVELOPMENT_MARK));
        assert_eq!(tsa.issuer_der(), root.subject_der());
        tsa.verify_issued_by(&root).unwrap();
        root.verify_issued_by(&root).unwrap();
        assert!(tsa.valid_at(now) && !tsa.valid_at(now.offset_seconds(-7200)));
    }

    #[test]
    fn validity_switches_to_generalized_time_in_2050() {
        let t = UtcTime::parse_rfc3339("2049-12-31T23:59:59Z").unwrap();
        assert_eq!(validity_time(t), der::tlv(0x17, b"491231235959Z"));
        let t = t.offset_seconds(1);
        assert_eq!(validity_time(t), der::tlv(0x18, b"20500101000000Z"));
    }
}
