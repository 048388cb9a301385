//! Step 1: reading a TimeStampResp (RFC 3161 §2.4.2) or a bare TimeStampToken (a CMS
//! ContentInfo holding SignedData, RFC 5652 §5) into views of the bytes as received.
//!
//! Nothing is re-encoded: the signed attributes stay the `[0]` element as sent (hashed
//! later with the tag replaced by SET, RFC 5652 §5.4), and the TSTInfo is the eContent
//! octets the messageDigest attribute covers. `certificates` may be in any order and may
//! hold non-X.509 choices (a Microsoft token carries a `[1]` v1AttrCert): those are skipped.

use super::TimestampError;
use super::oid;
use super::tst_info::TstInfo;
use crate::der::{self, DerError, Oid, Reader, Tlv, tag};
use crate::x509::Certificate;

/// An `AlgorithmIdentifier` as received.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AlgorithmIdentifier<'a> {
    pub(crate) oid: Oid<'a>,
    pub(crate) parameters: Option<Tlv<'a>>,
}

impl AlgorithmIdentifier<'_> {
    /// Whether the parameters are absent or NULL (what digest AlgorithmIdentifiers allow).
    pub(crate) fn has_null_or_absent_parameters(&self) -> bool {
        self.parameters.is_none_or(|p| p.null().is_ok())
    }
}

/// `SignerIdentifier ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0] }`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignerIdentifier<'a> {
    /// The signer certificate's issuer Name (raw DER) and serial number content octets.
    IssuerAndSerialNumber { issuer: Tlv<'a>, serial: &'a [u8] },
    /// The signer certificate's subjectKeyIdentifier.
    SubjectKeyIdentifier(&'a [u8]),
}

/// One `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF ANY }`.
#[derive(Clone, Debug)]
pub(crate) struct Attribute<'a> {
    pub(crate) oid: Oid<'a>,
    pub(crate) values: Vec<Tlv<'a>>,
}

/// The one `SignerInfo` of a token.
#[derive(Clone, Debug)]
pub(crate) struct SignerInfo<'a> {
    pub(crate) sid: SignerIdentifier<'a>,
    pub(crate) digest_algorithm: AlgorithmIdentifier<'a>,
    /// The `[0] IMPLICIT SET OF Attribute` element exactly as received.
    pub(crate) signed_attrs: Option<Tlv<'a>>,
    pub(crate) attributes: Vec<Attribute<'a>>,
    pub(crate) signature_algorithm: AlgorithmIdentifier<'a>,
    pub(crate) signature: &'a [u8],
}

/// A timestamp token, read and structurally checked (step 1).
#[derive(Debug)]
pub(crate) struct Token<'a> {
    pub(crate) digest_algorithms: Vec<AlgorithmIdentifier<'a>>,
    /// The eContent OCTET STRING's content: the DER TSTInfo the signature covers.
    pub(crate) e_content: &'a [u8],
    pub(crate) tst_info: TstInfo<'a>,
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) signer: SignerInfo<'a>,
}

fn malformed(structure: &'static str) -> impl Fn(DerError) -> TimestampError {
    move |source| TimestampError::Malformed { structure, source }
}

/// Reads a TimeStampResp or a bare TimeStampToken (told apart by the first inner element:
/// PKIStatusInfo is a SEQUENCE, ContentInfo starts with an OID).
pub(crate) fn parse(input: &[u8]) -> Result<Token<'_>, TimestampError> {
    let outer = der::parse_single(input, tag::SEQUENCE)
        .map_err(malformed("TimeStampResp or TimeStampToken"))?;
    let content_info = if outer.reader().peek_tag() == Some(tag::SEQUENCE) {
        read_response(&outer)?
    } else {
        outer
    };
    read_content_info(&content_info)
}

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`.
fn read_response<'a>(response: &Tlv<'a>) -> Result<Tlv<'a>, TimestampError> {
    let m = malformed("TimeStampResp");
    let mut fields = response.reader();
    let status_info = fields.read(tag::SEQUENCE).map_err(&m)?;
    let token = fields.read_optional(tag::SEQUENCE).map_err(&m)?;
    fields.finish().map_err(&m)?;

    let mut status_fields = status_info.reader();
    let status = status_fields
        .read(tag::INTEGER)
        .and_then(|s| s.small_uint())
        .map_err(&m)?;
    let text = status_fields
        .read_optional(tag::SEQUENCE)
        .map_err(&m)?
        .and_then(|free_text| {
            free_text
                .reader()
                .read(tag::UTF8_STRING)
                .ok()
                .map(|t| String::from_utf8_lossy(t.content).into_owned())
        });
    status_fields.read_optional(tag::BIT_STRING).map_err(&m)?;
    status_fields.finish().map_err(&m)?;
    if status > 1 {
        return Err(TimestampError::NotGranted { status, text });
    }
    token.ok_or(TimestampError::MissingToken)
}

/// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }`.
fn read_content_info<'a>(content_info: &Tlv<'a>) -> Result<Token<'a>, TimestampError> {
    let m = malformed("ContentInfo");
    let mut fields = content_info.reader();
    let content_type = fields.read(tag::OID).and_then(|t| t.oid()).map_err(&m)?;
    if content_type != oid::SIGNED_DATA {
        return Err(TimestampError::NotSignedData {
            actual: content_type.to_string(),
        });
    }
    let explicit = fields.read(tag::context_constructed(0)).map_err(&m)?;
    fields.finish().map_err(&m)?;
    let mut inner = explicit.reader();
    let signed_data = inner.read(tag::SEQUENCE).map_err(&m)?;
    inner.finish().map_err(&m)?;
    read_signed_data(&signed_data)
}

/// `SignedData ::= SEQUENCE { version, digestAlgorithms SET OF AlgorithmIdentifier,
/// encapContentInfo, certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL,
/// signerInfos SET OF SignerInfo }`.
fn read_signed_data<'a>(signed_data: &Tlv<'a>) -> Result<Token<'a>, TimestampError> {
    let m = malformed("SignedData");
    let mut fields = signed_data.reader();
    let version = fields
        .read(tag::INTEGER)
        .and_then(|v| v.small_uint())
        .map_err(&m)?;
    let digest_set = fields.read(tag::SET).map_err(&m)?;
    let encap = fields.read(tag::SEQUENCE).map_err(&m)?;
    let certificates = fields
        .read_optional(tag::context_constructed(0))
        .map_err(&m)?;
    fields
        .read_optional(tag::context_constructed(1))
        .map_err(&m)?;
    let signer_set = fields.read(tag::SET).map_err(&m)?;
    fields.finish().map_err(&m)?;

    let mut digest_algorithms = Vec::new();
    let mut digests = digest_set.reader();
    while !digests.is_empty() {
        digest_algorithms.push(read_algorithm(&mut digests).map_err(&m)?);
    }
    let mut signers = Vec::new();
    let mut signer_reader = signer_set.reader();
    while !signer_reader.is_empty() {
        signers.push(signer_reader.read(tag::SEQUENCE).map_err(&m)?);
    }
    let [signer] = signers.as_slice() else {
        return Err(TimestampError::SignerCount {
            count: signers.len(),
        });
    };
    let (content_type, e_content) = read_encapsulated(&encap)?;
    if content_type != oid::CT_TST_INFO {
        return Err(TimestampError::ContentType {
            actual: content_type.to_string(),
        });
    }
    let e_content = e_content.ok_or(TimestampError::MissingContent)?;
    let (certificates, expected_version) = match certificates {
        Some(set) => read_certificates(&set)?,
        None => (Vec::new(), 3),
    };
    if version != expected_version {
        return Err(TimestampError::Version {
            structure: "SignedData",
            expected: expected_version,
            actual: version,
        });
    }
    let tst_info = TstInfo::parse(e_content)?;
    let signer = read_signer_info(signer)?;
    Ok(Token {
        digest_algorithms,
        e_content,
        tst_info,
        certificates,
        signer,
    })
}

/// `EncapsulatedContentInfo ::= SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING OPTIONAL }`.
fn read_encapsulated<'a>(encap: &Tlv<'a>) -> Result<(Oid<'a>, Option<&'a [u8]>), TimestampError> {
    let m = malformed("EncapsulatedContentInfo");
    let mut fields = encap.reader();
    let content_type = fields.read(tag::OID).and_then(|t| t.oid()).map_err(&m)?;
    let explicit = fields
        .read_optional(tag::context_constructed(0))
        .map_err(&m)?;
    fields.finish().map_err(&m)?;
    let content = match explicit {
        Some(explicit) => {
            let mut inner = explicit.reader();
            let octets = inner.read(tag::OCTET_STRING).map_err(&m)?;
            inner.finish().map_err(&m)?;
            Some(octets.content)
        }
        None => None,
    };
    Ok((content_type, content))
}

/// The X.509 certificates of `CertificateSet` (the other CertificateChoices are skipped),
/// and the SignedData version they imply (RFC 5652 §5.1, eContentType not id-data): 5 with
/// an `other` [3] entry, else 4 with a v2AttrCert [2], else 3.
fn read_certificates(set: &Tlv<'_>) -> Result<(Vec<Certificate>, u64), TimestampError> {
    let m = malformed("SignedData.certificates");
    let mut reader = set.reader();
    let mut certificates = Vec::new();
    let mut version = 3;
    let mut index = 0;
    while !reader.is_empty() {
        let choice = reader.read_any().map_err(&m)?;
        match choice.tag {
            tag::SEQUENCE => certificates.push(
                Certificate::from_der(choice.raw)
                    .map_err(|source| TimestampError::EmbeddedCertificate { index, source })?,
            ),
            // extendedCertificate [0] (obsolete), v1AttrCert [1].
            0xa0 | 0xa1 => {}
            // v2AttrCert [2].
            0xa2 => version = version.max(4),
            // other [3].
            0xa3 => version = 5,
            actual => {
                let offset = choice.offset;
                return Err(m(DerError::UnexpectedTag {
                    expected: tag::SEQUENCE,
                    actual,
                    offset,
                }));
            }
        }
        index += 1;
    }
    Ok((certificates, version))
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`.
pub(crate) fn read_algorithm<'a>(
    reader: &mut Reader<'a>,
) -> Result<AlgorithmIdentifier<'a>, DerError> {
    let seq = reader.read(tag::SEQUENCE)?;
    let mut fields = seq.reader();
    let oid = fields.read(tag::OID)?.oid()?;
    let parameters = if fields.is_empty() {
        None
    } else {
        Some(fields.read_any()?)
    };
    fields.finish()?;
    Ok(AlgorithmIdentifier { oid, parameters })
}

/// `SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT
/// OPTIONAL, signatureAlgorithm, signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL }`.
fn read_signer_info<'a>(signer: &Tlv<'a>) -> Result<SignerInfo<'a>, TimestampError> {
    let m = malformed("SignerInfo");
    let mut fields = signer.reader();
    let version = fields
        .read(tag::INTEGER)
        .and_then(|v| v.small_uint())
        .map_err(&m)?;
    let sid = fields.read_any().map_err(&m)?;
    let digest_algorithm = read_algorithm(&mut fields).map_err(&m)?;
    let signed_attrs = fields
        .read_optional(tag::context_constructed(0))
        .map_err(&m)?;
    let signature_algorithm = read_algorithm(&mut fields).map_err(&m)?;
    let signature = fields.read(tag::OCTET_STRING).map_err(&m)?.content;
    fields
        .read_optional(tag::context_constructed(1))
        .map_err(&m)?;
    fields.finish().map_err(&m)?;

    let (sid, expected_version) = match sid.tag {
        tag::SEQUENCE => {
            let mut parts = sid.reader();
            let issuer = parts.read(tag::SEQUENCE).map_err(&m)?;
            let serial = parts.read(tag::INTEGER).map_err(&m)?.content;
            parts.finish().map_err(&m)?;
            (
                SignerIdentifier::IssuerAndSerialNumber { issuer, serial },
                1,
            )
        }
        0x80 => (SignerIdentifier::SubjectKeyIdentifier(sid.content), 3),
        actual => {
            return Err(m(DerError::UnexpectedTag {
                expected: tag::SEQUENCE,
                actual,
                offset: sid.offset,
            }));
        }
    };
    if version != expected_version {
        return Err(TimestampError::Version {
            structure: "SignerInfo",
            expected: expected_version,
            actual: version,
        });
    }
    let attributes = signed_attrs
        .map(|a| read_attributes(&a))
        .transpose()
        .map_err(&m)?
        .unwrap_or_default();
    Ok(SignerInfo {
        sid,
        digest_algorithm,
        signed_attrs,
        attributes,
        signature_algorithm,
        signature,
    })
}

fn read_attributes<'a>(set: &Tlv<'a>) -> Result<Vec<Attribute<'a>>, DerError> {
    let mut reader = set.reader();
    let mut attributes = Vec::new();
    while !reader.is_empty() {
        let attribute = reader.read(tag::SEQUENCE)?;
        let mut fields = attribute.reader();
        let oid = fields.read(tag::OID)?.oid()?;
        let value_set = fields.read(tag::SET)?;
        fields.finish()?;
        let mut values = Vec::new();
        let mut value_reader = value_set.reader();
        while !value_reader.is_empty() {
            values.push(value_reader.read_any()?);
        }
        attributes.push(Attribute { oid, values });
    }
    Ok(attributes)
}

impl<'a> SignerInfo<'a> {
    /// The single value of a signed attribute that must appear once with one value
    /// (contentType, messageDigest, signingCertificate, signingCertificateV2).
    pub(crate) fn single_attribute(
        &self,
        attr_oid: &[u8],
        name: &'static str,
    ) -> Result<Option<Tlv<'a>>, TimestampError> {
        let mut matching = self.attributes.iter().filter(|a| a.oid == attr_oid);
        let Some(first) = matching.next() else {
            return Ok(None);
        };
        match (matching.next(), first.values.as_slice()) {
            (None, [value]) => Ok(Some(*value)),
            _ => Err(TimestampError::AttributeCardinality { attribute: name }),
        }
    }

    /// The signed attributes as signed: the received `[0]` element with its tag set to
    /// SET OF (0x31), RFC 5652 §5.4.
    pub(crate) fn signed_attributes_for_signature(&self) -> Option<Vec<u8>> {
        let mut bytes = self.signed_attrs?.raw.to_vec();
        *bytes.first_mut()? = tag::SET;
        Some(bytes)
    }
}
