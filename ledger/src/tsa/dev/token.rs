//! The development TSA's tokens: a TSTInfo (RFC 3161 §2.4.2) in CMS SignedData v3
//! (RFC 5652) with one SignerInfo (issuerAndSerialNumber, ecdsa-with-SHA256) whose signed
//! attributes are contentType, messageDigest and signingCertificateV2 (RFC 5035), in DER
//! SET order; the TSA certificate is embedded when the request asks for it.
//!
//! ```text
//! TSTInfo ::= SEQUENCE { version 1, policy, messageImprint, serialNumber, genTime,
//!                        accuracy OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL,
//!                        tsa [0] GeneralName OPTIONAL, extensions [1] OPTIONAL }
//! ```

use custody_verifier::time::UtcTime;
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

use super::cert;
use crate::tsa::der::{self, tag};
use crate::tsa::oid;
use crate::tsa::request::{self, TimeStampReq};

/// What a token says besides the request's digest and nonce.
pub(super) struct TstFields<'a> {
    /// The policy OID's content octets.
    pub(super) policy: &'a [u8],
    /// The token's serial number (positive magnitude).
    pub(super) serial: &'a [u8],
    /// genTime.
    pub(super) gen_time: UtcTime,
    /// The TSA certificate's subject Name DER (named in the `tsa` field).
    pub(super) tsa_name: &'a [u8],
}

/// The DER TSTInfo answering `request`, accuracy one second.
pub(super) fn tst_info(request: &TimeStampReq, fields: &TstFields<'_>) -> Vec<u8> {
    let accuracy = der::sequence(&[&der::small_integer(1)]);
    der::sequence(&[
        &der::small_integer(1),
        &der::oid(fields.policy),
        &request::message_imprint(request.digest()),
        &der::unsigned_integer(fields.serial),
        &generalized_time(fields.gen_time),
        &accuracy,
        &der::unsigned_integer(&request.nonce_bytes()),
        // tsa [0] EXPLICIT GeneralName; directoryName [4] EXPLICIT Name.
        &der::tlv(
            tag::context_constructed(0),
            &der::tlv(tag::context_constructed(4), fields.tsa_name),
        ),
    ])
}

/// GeneralizedTime with milliseconds, trailing zeros (and a bare dot) dropped (X.690 §11.7).
fn generalized_time(time: UtcTime) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = time.to_civil();
    let millis = format!("{:03}", time.subsec_nanos() / 1_000_000);
    let fraction = millis.trim_end_matches('0');
    let dot = if fraction.is_empty() { "" } else { "." };
    let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{dot}{fraction}Z");
    der::tlv(tag::GENERALIZED_TIME, text.as_bytes())
}

/// The signer: its key, its certificate, and that certificate's issuer and serial.
pub(super) struct TokenSigner<'a> {
    /// The TSA key.
    pub(super) key: &'a SigningKey,
    /// The TSA certificate's DER.
    pub(super) certificate: &'a [u8],
    /// Its issuer Name DER.
    pub(super) issuer: &'a [u8],
    /// Its serialNumber content octets.
    pub(super) serial: &'a [u8],
}

/// `ContentInfo { id-signedData, [0] SignedData }` over `tst_info`.
pub(super) fn signed_token(tst_info: &[u8], signer: &TokenSigner<'_>, embed: bool) -> Vec<u8> {
    let sha256 = der::sequence(&[&der::oid(oid::SHA256)]);
    let encap = der::sequence(&[
        &der::oid(oid::CT_TST_INFO),
        &der::tlv(tag::context_constructed(0), &der::octet_string(tst_info)),
    ]);
    let certificates = if embed {
        der::set_of_tagged(tag::context_constructed(0), &[signer.certificate])
    } else {
        Vec::new()
    };
    let signed_data = der::sequence(&[
        &der::small_integer(3),
        &der::set_of(&[&sha256]),
        &encap,
        &certificates,
        &der::set_of(&[&signer_info(tst_info, signer, &sha256)]),
    ]);
    der::sequence(&[
        &der::oid(oid::SIGNED_DATA),
        &der::tlv(tag::context_constructed(0), &signed_data),
    ])
}

/// `SignerInfo` v1: sid issuerAndSerialNumber, SHA-256, signed attributes, ECDSA.
fn signer_info(tst_info: &[u8], signer: &TokenSigner<'_>, sha256: &[u8]) -> Vec<u8> {
    let attribute =
        |id: &[u8], value: &[u8]| der::sequence(&[&der::oid(id), &der::set_of(&[value])]);
    let ess_cert_id_v2 = der::sequence(&[
        // hashAlgorithm DEFAULT id-sha256: omitted in DER.
        &der::octet_string(&Sha256::digest(signer.certificate)),
    ]);
    let signing_certificate_v2 = der::sequence(&[&der::sequence(&[&ess_cert_id_v2])]);
    let attributes = [
        attribute(oid::CONTENT_TYPE, &der::oid(oid::CT_TST_INFO)),
        attribute(
            oid::MESSAGE_DIGEST,
            &der::octet_string(&Sha256::digest(tst_info)),
        ),
        attribute(oid::SIGNING_CERTIFICATE_V2, &signing_certificate_v2),
    ];
    let refs: Vec<&[u8]> = attributes.iter().map(Vec::as_slice).collect();
    // The signature covers the attributes as a SET OF (RFC 5652 §5.4); they travel as [0].
    let as_set = der::set_of(&refs);
    let signature = cert::sign(signer.key, &as_set);
    let mut signed_attrs = as_set;
    signed_attrs[0] = tag::context_constructed(0);
    der::sequence(&[
        &der::small_integer(1),
        &der::sequence(&[signer.issuer, &der::tlv(tag::INTEGER, signer.serial)]),
        sha256,
        &signed_attrs,
        &cert::ecdsa_with_sha256(),
        &der::octet_string(&signature),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn gen_time_drops_trailing_zeros() {
        let base = UtcTime::parse_rfc3339("2026-03-04T05:06:07Z").unwrap();
        let table = [
            (0, "20260304050607Z"),
            (500_000_000, "20260304050607.5Z"),
            (120_000_000, "20260304050607.12Z"),
            (123_456_789, "20260304050607.123Z"),
        ];
        for (nanos, expected) in table {
            let time = UtcTime::from_unix(base.unix_seconds(), nanos).unwrap();
            assert_eq!(
                generalized_time(time),
                der::tlv(0x18, expected.as_bytes()),
                "{nanos}"
            );
        }
    }
}
