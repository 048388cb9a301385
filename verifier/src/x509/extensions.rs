//! The certificate extensions a TSA certificate is judged by (RFC 5280 §4.2): basicConstraints,
//! keyUsage, extendedKeyUsage, subjectKeyIdentifier and subjectAltName, plus where every
//! extension sits in the certificate's bytes.

use std::ops::Range;

use super::{CertificateError, inner, oid};
use crate::der::{self, DerError, Tlv, tag};

/// One extension as slices of the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extnID's content octets.
    pub oid: &'a [u8],
    /// The critical flag.
    pub critical: bool,
    /// The extnValue OCTET STRING's content (the DER of the extension's own type).
    pub value: &'a [u8],
}

/// The basicConstraints extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// Whether the subject is a CA.
    pub ca: bool,
    /// The pathLenConstraint, if present.
    pub path_len: Option<u64>,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

/// The keyUsage extension, bit `n` of `bits` being named bit `n` of RFC 5280 §4.2.1.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsage {
    /// The asserted bits: 0 digitalSignature, 1 nonRepudiation, ..., 5 keyCertSign, 6 cRLSign.
    pub bits: u16,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

impl KeyUsage {
    /// digitalSignature (bit 0).
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// nonRepudiation / contentCommitment (bit 1).
    pub const NON_REPUDIATION: u16 = 1 << 1;
    /// keyCertSign (bit 5).
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
}

/// The extendedKeyUsage extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedKeyUsage {
    /// The KeyPurposeId OIDs (content octets), in order.
    pub purposes: Vec<Vec<u8>>,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

impl ExtendedKeyUsage {
    /// Whether exactly one purpose is listed and it is id-kp-timeStamping (RFC 3161 §2.3).
    pub fn is_time_stamping_only(&self) -> bool {
        matches!(self.purposes.as_slice(), [only] if only.as_slice() == oid::KP_TIME_STAMPING)
    }

    /// Whether id-kp-timeStamping or anyExtendedKeyUsage is listed.
    pub fn allows_time_stamping(&self) -> bool {
        self.purposes.iter().any(|p| {
            p.as_slice() == oid::KP_TIME_STAMPING || p.as_slice() == oid::ANY_EXTENDED_KEY_USAGE
        })
    }

    /// The purposes, dotted.
    pub fn purposes_dotted(&self) -> Vec<String> {
        self.purposes.iter().map(|p| der::dotted(p)).collect()
    }
}

/// Where one extension sits in the certificate's bytes.
#[derive(Clone, Debug)]
pub(super) struct ExtensionRanges {
    pub(super) oid: Range<usize>,
    pub(super) critical: bool,
    pub(super) value: Range<usize>,
}

/// The extensions of one certificate: where each sits, and the ones this verifier reads.
#[derive(Default)]
pub(super) struct ExtensionSummary {
    pub(super) entries: Vec<ExtensionRanges>,
    pub(super) basic_constraints: Option<BasicConstraints>,
    pub(super) key_usage: Option<KeyUsage>,
    pub(super) extended_key_usage: Option<ExtendedKeyUsage>,
    pub(super) subject_key_identifier: Option<Range<usize>>,
    pub(super) subject_alt_name: Option<Range<usize>>,
}

/// The only element inside `value`, which must carry tag `expected`.
fn single<'a>(value: &Tlv<'a>, expected: u8) -> Result<Tlv<'a>, DerError> {
    let mut reader = value.reader();
    let element = reader.read(expected)?;
    reader.finish()?;
    Ok(element)
}

/// Reads `[3] EXPLICIT SEQUENCE OF Extension` and decodes the extensions used here.
pub(super) fn read_extensions(wrapper: &Tlv<'_>) -> Result<ExtensionSummary, CertificateError> {
    let list = single(wrapper, tag::SEQUENCE)?;
    let mut entries = list.reader();
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut summary = ExtensionSummary::default();
    while !entries.is_empty() {
        let entry = entries.read(tag::SEQUENCE)?;
        let mut fields = entry.reader();
        let id_element = fields.read(tag::OID)?;
        let id = id_element.oid()?;
        let critical = fields
            .read_optional(tag::BOOLEAN)?
            .map(|b| b.boolean())
            .transpose()?
            .unwrap_or(false);
        let value = fields.read(tag::OCTET_STRING)?;
        fields.finish()?;
        if seen.contains(&id.as_bytes()) {
            return Err(CertificateError::DuplicateExtension {
                oid: id.to_string(),
            });
        }
        seen.push(id.as_bytes());
        summary
            .interpret(id.as_bytes(), critical, &value)
            .map_err(|source| CertificateError::Extension {
                oid: id.to_string(),
                source,
            })?;
        summary.entries.push(ExtensionRanges {
            oid: inner(&id_element),
            critical,
            value: inner(&value),
        });
    }
    Ok(summary)
}

impl ExtensionSummary {
    fn interpret(&mut self, id: &[u8], critical: bool, value: &Tlv<'_>) -> Result<(), DerError> {
        match id {
            oid::CE_BASIC_CONSTRAINTS => {
                let mut fields = single(value, tag::SEQUENCE)?.reader();
                let ca = fields
                    .read_optional(tag::BOOLEAN)?
                    .map(|b| b.boolean())
                    .transpose()?
                    .unwrap_or(false);
                let path_len = fields
                    .read_optional(tag::INTEGER)?
                    .map(|i| i.small_uint())
                    .transpose()?;
                fields.finish()?;
                self.basic_constraints = Some(BasicConstraints {
                    ca,
                    path_len,
                    critical,
                });
            }
            oid::CE_KEY_USAGE => {
                let (_, bytes) = single(value, tag::BIT_STRING)?.named_bits()?;
                let bits = bytes
                    .iter()
                    .take(2)
                    .enumerate()
                    .fold(0u16, |acc, (i, byte)| {
                        acc | (0..8)
                            .filter(|j| byte & (0x80 >> j) != 0)
                            .fold(0u16, |a, j| a | 1 << (i * 8 + j))
                    });
                self.key_usage = Some(KeyUsage { bits, critical });
            }
            oid::CE_EXT_KEY_USAGE => {
                let list = single(value, tag::SEQUENCE)?;
                let mut reader = list.reader();
                let mut purposes = Vec::new();
                while !reader.is_empty() {
                    purposes.push(reader.read(tag::OID)?.oid()?.as_bytes().to_vec());
                }
                if purposes.is_empty() {
                    return Err(DerError::InvalidValue {
                        kind: "ExtKeyUsageSyntax (empty)",
                        offset: list.offset,
                    });
                }
                self.extended_key_usage = Some(ExtendedKeyUsage { purposes, critical });
            }
            oid::CE_SUBJECT_KEY_IDENTIFIER => {
                self.subject_key_identifier = Some(inner(&single(value, tag::OCTET_STRING)?))
            }
            oid::CE_SUBJECT_ALT_NAME => {
                self.subject_alt_name = Some(inner(&single(value, tag::SEQUENCE)?))
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::{Certificate, parse_pem_certificates};

    const ROOT: &[u8] = include_bytes!("../../../testdata/tsa/root-ec.crt");
    const TSA_EC: &[u8] = include_bytes!("../../../testdata/tsa/tsa-ec.crt");

    fn one(pem_bytes: &[u8]) -> Certificate {
        let mut certs = parse_pem_certificates(pem_bytes).expect("pem");
        assert_eq!(certs.len(), 1);
        certs.remove(0)
    }

    #[test]
    fn reads_a_tsa_certificates_extensions() {
        let tsa = one(TSA_EC);
        let eku = tsa.extended_key_usage().expect("eku");
        assert!(eku.critical && eku.is_time_stamping_only());
        assert_eq!(eku.purposes_dotted(), ["1.3.6.1.5.5.7.3.8"]);
        let usage = tsa.key_usage().expect("key usage");
        assert_eq!(
            usage.bits,
            KeyUsage::DIGITAL_SIGNATURE | KeyUsage::NON_REPUDIATION
        );
        assert!(!tsa.is_ca());
        assert!(
            tsa.subject_key_identifier()
                .is_some_and(|ski| ski.len() == 20)
        );
        assert_eq!(tsa.extensions().count(), 5);
    }

    #[test]
    fn reads_a_roots_basic_constraints() {
        let root = one(ROOT);
        assert!(root.is_ca());
        assert!(root.basic_constraints().is_some_and(|b| b.ca));
    }
}
