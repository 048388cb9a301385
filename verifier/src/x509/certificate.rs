//! The Certificate and tbsCertificate structures (RFC 5280 §4.1), as ranges of the
//! certificate's own bytes.

use std::ops::Range;

use super::extensions::{
    BasicConstraints, ExtendedKeyUsage, Extension, ExtensionRanges, KeyUsage, read_extensions,
};
use super::key::{KeyError, PublicKey, SignatureError, SignatureScheme};
use super::{
    AlgorithmIdentifier, CertificateError, SubjectPublicKeyInfo, inner, name, slice, whole,
};
use crate::der::{self, DerError, Reader, Tlv, tag};
use crate::time::UtcTime;

/// Where an AlgorithmIdentifier sits: the whole element, the OID content, the parameters.
#[derive(Clone, Debug)]
struct AlgorithmRanges {
    whole: Range<usize>,
    oid: Range<usize>,
    parameters: Option<Range<usize>>,
}

/// A parsed X.509 certificate that owns its DER encoding.
#[derive(Clone, Debug)]
pub struct Certificate {
    raw: Vec<u8>,
    tbs: Range<usize>,
    serial: Range<usize>,
    issuer: Range<usize>,
    subject: Range<usize>,
    issuer_text: String,
    subject_text: String,
    not_before: UtcTime,
    not_after: UtcTime,
    spki_algorithm: AlgorithmRanges,
    spki_key: Range<usize>,
    public_key: Result<PublicKey, KeyError>,
    signature_algorithm: AlgorithmRanges,
    signature: Range<usize>,
    extensions: Vec<ExtensionRanges>,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    extended_key_usage: Option<ExtendedKeyUsage>,
    subject_key_identifier: Option<Range<usize>>,
    subject_alt_name: Option<Range<usize>>,
}

/// Reads `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`.
fn read_algorithm(reader: &mut Reader<'_>) -> Result<AlgorithmRanges, DerError> {
    let seq = reader.read(tag::SEQUENCE)?;
    let mut fields = seq.reader();
    let algorithm = fields.read(tag::OID)?;
    algorithm.oid()?;
    let parameters = if fields.is_empty() {
        None
    } else {
        Some(whole(&fields.read_any()?))
    };
    fields.finish()?;
    Ok(AlgorithmRanges {
        whole: whole(&seq),
        oid: inner(&algorithm),
        parameters,
    })
}

fn read_time(reader: &mut Reader<'_>) -> Result<UtcTime, CertificateError> {
    let time = reader.read_any()?;
    match time.tag {
        tag::UTC_TIME => Ok(UtcTime::parse_utc_time(time.content)?),
        tag::GENERALIZED_TIME => Ok(UtcTime::parse_generalized_time(time.content)?),
        actual => Err(DerError::UnexpectedTag {
            expected: tag::UTC_TIME,
            actual,
            offset: time.offset,
        }
        .into()),
    }
}

/// The BIT STRING content after the unused-bits octet (which must be zero).
fn aligned_bits_range(bits: &Tlv<'_>) -> Result<Range<usize>, DerError> {
    bits.octet_aligned_bits()?;
    Ok(bits.content_offset() + 1..bits.content_offset() + bits.content.len())
}

/// The fields of a tbsCertificate, as elements of the certificate's bytes.
struct TbsFields<'a> {
    serial: Tlv<'a>,
    signature: AlgorithmRanges,
    issuer: Tlv<'a>,
    validity: Tlv<'a>,
    subject: Tlv<'a>,
    spki: Tlv<'a>,
    extensions: Option<Tlv<'a>>,
}

fn read_tbs<'a>(tbs: &Tlv<'a>) -> Result<TbsFields<'a>, CertificateError> {
    let mut fields = tbs.reader();
    if let Some(version) = fields.read_optional(tag::context_constructed(0))? {
        let number = version.reader().read(tag::INTEGER)?.small_uint()?;
        if number > 2 {
            return Err(CertificateError::UnsupportedVersion { version: number });
        }
    }
    let serial = fields.read(tag::INTEGER)?;
    let signature = read_algorithm(&mut fields)?;
    let issuer = fields.read(tag::SEQUENCE)?;
    let validity = fields.read(tag::SEQUENCE)?;
    let subject = fields.read(tag::SEQUENCE)?;
    let spki = fields.read(tag::SEQUENCE)?;
    fields.read_optional(tag::context(1))?;
    fields.read_optional(tag::context(2))?;
    let extensions = fields.read_optional(tag::context_constructed(3))?;
    fields.finish()?;
    Ok(TbsFields {
        serial,
        signature,
        issuer,
        validity,
        subject,
        spki,
        extensions,
    })
}

impl Certificate {
    /// Parses one DER certificate (no trailing bytes).
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, CertificateError> {
        let raw = der_bytes.to_vec();
        let outer = der::parse_single(&raw, tag::SEQUENCE)?;
        let mut top = outer.reader();
        let tbs = top.read(tag::SEQUENCE)?;
        let signature_algorithm = read_algorithm(&mut top)?;
        let signature = aligned_bits_range(&top.read(tag::BIT_STRING)?)?;
        top.finish()?;

        let fields = read_tbs(&tbs)?;
        if slice(&raw, fields.signature.whole.clone())
            != slice(&raw, signature_algorithm.whole.clone())
        {
            return Err(CertificateError::AlgorithmMismatch);
        }
        let mut times = fields.validity.reader();
        let not_before = read_time(&mut times)?;
        let not_after = read_time(&mut times)?;
        times.finish()?;

        let mut spki_fields = fields.spki.reader();
        let spki_algorithm = read_algorithm(&mut spki_fields)?;
        let spki_key = aligned_bits_range(&spki_fields.read(tag::BIT_STRING)?)?;
        spki_fields.finish()?;
        let parameters = spki_algorithm
            .parameters
            .clone()
            .and_then(|r| Reader::new(slice(&raw, r)).read_any().ok());
        let public_key = PublicKey::from_spki(
            slice(&raw, spki_algorithm.oid.clone()),
            parameters,
            slice(&raw, spki_key.clone()),
        );
        let extensions = fields
            .extensions
            .as_ref()
            .map(read_extensions)
            .transpose()?
            .unwrap_or_default();

        Ok(Certificate {
            tbs: whole(&tbs),
            serial: inner(&fields.serial),
            issuer: whole(&fields.issuer),
            subject: whole(&fields.subject),
            issuer_text: name::render(fields.issuer)?,
            subject_text: name::render(fields.subject)?,
            not_before,
            not_after,
            spki_algorithm,
            spki_key,
            public_key,
            signature_algorithm,
            signature,
            extensions: extensions.entries,
            basic_constraints: extensions.basic_constraints,
            key_usage: extensions.key_usage,
            extended_key_usage: extensions.extended_key_usage,
            subject_key_identifier: extensions.subject_key_identifier,
            subject_alt_name: extensions.subject_alt_name,
            raw,
        })
    }

    fn bytes(&self, range: &Range<usize>) -> &[u8] {
        slice(&self.raw, range.clone())
    }

    /// The whole certificate, as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The tbsCertificate element, as received (what the issuer signed).
    pub fn tbs_certificate(&self) -> &[u8] {
        self.bytes(&self.tbs)
    }

    /// The serialNumber INTEGER's content octets.
    pub fn serial(&self) -> &[u8] {
        self.bytes(&self.serial)
    }

    /// The serial number in lower-case hex (content octets, leading zero octet kept).
    pub fn serial_hex(&self) -> String {
        hex::encode(self.serial())
    }

    /// The issuer Name, raw DER.
    pub fn issuer_der(&self) -> &[u8] {
        self.bytes(&self.issuer)
    }

    /// The subject Name, raw DER.
    pub fn subject_der(&self) -> &[u8] {
        self.bytes(&self.subject)
    }

    /// The issuer, rendered on one line (`CN=…, OU=…, O=…, C=…`).
    pub fn issuer(&self) -> &str {
        &self.issuer_text
    }

    /// The subject, rendered on one line (`CN=…, OU=…, O=…, C=…`).
    pub fn subject(&self) -> &str {
        &self.subject_text
    }

    /// notBefore.
    pub fn not_before(&self) -> UtcTime {
        self.not_before
    }

    /// notAfter.
    pub fn not_after(&self) -> UtcTime {
        self.not_after
    }

    /// Whether `at` lies within notBefore..=notAfter.
    pub fn valid_at(&self, at: UtcTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// The SubjectPublicKeyInfo as slices of the certificate.
    pub fn subject_public_key_info(&self) -> SubjectPublicKeyInfo<'_> {
        SubjectPublicKeyInfo {
            algorithm: self.algorithm(&self.spki_algorithm),
            key: self.bytes(&self.spki_key),
        }
    }

    /// The decoded public key, or why this verifier cannot use it.
    pub fn public_key(&self) -> Result<&PublicKey, &KeyError> {
        self.public_key.as_ref()
    }

    /// The outer signatureAlgorithm.
    pub fn signature_algorithm(&self) -> AlgorithmIdentifier<'_> {
        self.algorithm(&self.signature_algorithm)
    }

    /// The signatureValue BIT STRING's bytes.
    pub fn signature(&self) -> &[u8] {
        self.bytes(&self.signature)
    }

    fn algorithm(&self, ranges: &AlgorithmRanges) -> AlgorithmIdentifier<'_> {
        AlgorithmIdentifier {
            oid: self.bytes(&ranges.oid),
            parameters: ranges.parameters.as_ref().map(|r| self.bytes(r)),
        }
    }

    /// Every extension, in certificate order.
    pub fn extensions(&self) -> impl Iterator<Item = Extension<'_>> {
        self.extensions.iter().map(|e| Extension {
            oid: self.bytes(&e.oid),
            critical: e.critical,
            value: self.bytes(&e.value),
        })
    }

    /// The basicConstraints extension, if present.
    pub fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.basic_constraints
    }

    /// Whether basicConstraints says cA = TRUE.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|b| b.ca)
    }

    /// The keyUsage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// The extendedKeyUsage extension, if present.
    pub fn extended_key_usage(&self) -> Option<&ExtendedKeyUsage> {
        self.extended_key_usage.as_ref()
    }

    /// The subjectKeyIdentifier extension's key identifier, if present.
    pub fn subject_key_identifier(&self) -> Option<&[u8]> {
        self.subject_key_identifier.as_ref().map(|r| self.bytes(r))
    }

    /// The subjectAltName GeneralNames' content (a run of raw GeneralName elements), if present.
    pub fn subject_alt_names_der(&self) -> Option<&[u8]> {
        self.subject_alt_name.as_ref().map(|r| self.bytes(r))
    }

    /// The scheme of this certificate's signature, if it is one this verifier accepts.
    pub fn signature_scheme(&self) -> Result<SignatureScheme, SignatureError> {
        let algorithm = self.signature_algorithm();
        SignatureScheme::from_signature_oid(algorithm.oid).ok_or_else(|| {
            SignatureError::UnsupportedAlgorithm {
                oid: algorithm.oid_dotted(),
            }
        })
    }

    /// Verifies that `issuer`'s key signed this certificate's tbsCertificate.
    /// Names are not compared here; chain building does that.
    pub fn verify_issued_by(&self, issuer: &Certificate) -> Result<(), SignatureError> {
        let scheme = self.signature_scheme()?;
        let key = issuer
            .public_key()
            .map_err(|e| SignatureError::Key(e.clone()))?;
        let digest = scheme.digest().digest(self.tbs_certificate());
        key.verify_digest(scheme, &digest, self.signature())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::parse_pem_certificates;

    const ROOT: &[u8] = include_bytes!("../../../testdata/tsa/root-ec.crt");
    const TSA_EC: &[u8] = include_bytes!("../../../testdata/tsa/tsa-ec.crt");
    const RSA_ROOT: &[u8] = include_bytes!("../../../testdata/tsa/root-rsa.crt");
    const CA_RSA: &[u8] = include_bytes!("../../../testdata/tsa/ca-rsa.crt");
    const TSA_RSA: &[u8] = include_bytes!("../../../testdata/tsa/tsa-rsa.crt");

    fn one(pem_bytes: &[u8]) -> Certificate {
        let mut certs = parse_pem_certificates(pem_bytes).expect("pem");
        assert_eq!(certs.len(), 1);
        certs.remove(0)
    }

    #[test]
    fn reads_a_tsa_certificate() {
        let tsa = one(TSA_EC);
        assert_eq!(
            tsa.subject(),
            "CN=Custody Test TSA (ECDSA P-256), O=Custody Test, C=ZZ"
        );
        assert_eq!(
            tsa.issuer(),
            "CN=Custody Test Root (ECDSA P-256), O=Custody Test, C=ZZ"
        );
        assert_eq!(
            tsa.public_key().map(PublicKey::describe).as_deref(),
            Ok("ecdsa-p256")
        );
        assert!(tsa.valid_at(tsa.not_before()) && !tsa.valid_at(tsa.not_after().offset_seconds(1)));
    }

    #[test]
    fn verifies_issuer_signatures() {
        let (root, tsa) = (one(ROOT), one(TSA_EC));
        assert!(root.is_ca());
        assert_eq!(tsa.verify_issued_by(&root), Ok(()));
        assert_eq!(root.verify_issued_by(&root), Ok(()));
        let (rsa_root, rsa_ca, rsa_tsa) = (one(RSA_ROOT), one(CA_RSA), one(TSA_RSA));
        assert_eq!(
            rsa_root.public_key().map(PublicKey::describe).as_deref(),
            Ok("rsa-4096")
        );
        assert_eq!(rsa_ca.verify_issued_by(&rsa_root), Ok(()));
        assert_eq!(
            rsa_ca.signature_scheme().map(SignatureScheme::name),
            Ok("sha384WithRSAEncryption")
        );
        assert_eq!(rsa_tsa.verify_issued_by(&rsa_ca), Ok(()));
        assert_eq!(
            rsa_tsa.verify_issued_by(&rsa_root),
            Err(SignatureError::Invalid)
        );
        assert!(matches!(
            tsa.verify_issued_by(&rsa_root),
            Err(SignatureError::KeyMismatch { .. })
        ));
        assert_eq!(
            rsa_tsa.verify_issued_by(&root).err(),
            Some(SignatureError::KeyMismatch {
                scheme: "sha256WithRSAEncryption",
                key: "ecdsa-p256".to_owned()
            })
        );
    }

    #[test]
    fn a_changed_subject_byte_breaks_the_signature() {
        let (tsa, root) = (one(TSA_EC), one(ROOT));
        let mut raw = tsa.raw().to_vec();
        let at = raw
            .windows(16)
            .position(|w| w == b"Custody Test TSA")
            .expect("subject text");
        raw[at] = b'c';
        let changed = Certificate::from_der(&raw).expect("still parses");
        assert_eq!(
            changed.subject(),
            "CN=custody Test TSA (ECDSA P-256), O=Custody Test, C=ZZ"
        );
        assert_eq!(
            changed.verify_issued_by(&root),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn rejects_malformed_der() {
        let mut raw = one(ROOT).raw().to_vec();
        raw.push(0);
        assert!(matches!(
            Certificate::from_der(&raw),
            Err(CertificateError::Der(DerError::TrailingBytes { .. }))
        ));
        for cut in 0..raw.len() - 1 {
            assert!(Certificate::from_der(raw.get(..cut).unwrap_or_default()).is_err());
        }
    }
}
