//! Taking a TSA's answer apart and deciding whether to keep it (RFC 3161 §2.4.2).
//!
//! ```text
//! TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
//! PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
//!                              failInfo PKIFailureInfo OPTIONAL }
//! ```
//!
//! Steps: (1) the envelope parses as DER with nothing after it; (2) the status is granted
//! or grantedWithMods, else the TSA's statusString and failInfo are reported; (3) the
//! token is present; (4) the token bytes, sliced from the response exactly as received,
//! pass `custody_verifier::timestamp::verify_timestamp` over the expected digest, with
//! the nonce that was sent, against the configured roots. Only then is an
//! [`AcceptedToken`] built, and only an `AcceptedToken` is ever stored.

use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::{
    Imprint, TimestampOptions, TrustAnchors, VerifiedTimestamp, verify_timestamp,
};
use custody_verifier::x509::Certificate;

use super::TsaError;
use super::der::{self, DerError, tag};
use super::request::Sha256Digest;

/// A token that passed every check, ready to be stored beside its checkpoint.
#[derive(Clone, Debug)]
pub struct AcceptedToken {
    /// The bare TimeStampToken (CMS ContentInfo), byte for byte as the TSA sent it.
    pub token_der: Vec<u8>,
    /// The TSA's genTime.
    pub gen_time: UtcTime,
    /// The TSA policy OID, dotted.
    pub policy: String,
    /// The signing TSA certificate's subject.
    pub tsa_subject: String,
    /// Whether the TSA answered grantedWithMods rather than granted.
    pub granted_with_mods: bool,
    /// The verifier's full report.
    pub report: VerifiedTimestamp,
}

/// What a token must satisfy beyond its imprint and nonce: the roots its chain must end
/// in, certificates it may need that it does not embed, and optionally a policy.
#[derive(Clone, Debug)]
pub struct TsaTrust {
    /// The roots the TSA's chain must end in.
    pub anchors: TrustAnchors,
    /// Out-of-band certificates (intermediates the TSA does not embed); untrusted.
    pub untrusted: Vec<Certificate>,
    /// The policy OID (dotted) the TSA must use, if pinned.
    pub expected_policy: Option<String>,
}

impl TsaTrust {
    /// Trust in `anchors` only, any policy, no extra certificates.
    pub fn new(anchors: TrustAnchors) -> Self {
        Self {
            anchors,
            untrusted: Vec::new(),
            expected_policy: None,
        }
    }

    /// Checks a response to a request over `digest` carrying `nonce`.
    pub fn accept(
        &self,
        response: &[u8],
        digest: &Sha256Digest,
        nonce: &[u8],
    ) -> Result<AcceptedToken, TsaError> {
        let options = TimestampOptions {
            expected_nonce: Some(nonce.to_vec()),
            expected_policy: self.expected_policy.clone(),
            ..TimestampOptions::default()
        };
        accept(response, digest, &self.anchors, &self.untrusted, &options)
    }
}

/// Checks a TimeStampResp to a request over `digest` carrying `nonce` (big-endian
/// unsigned bytes) against `anchors`, with `untrusted` out-of-band certificates.
pub fn accept_response(
    response: &[u8],
    digest: &Sha256Digest,
    nonce: &[u8],
    anchors: &TrustAnchors,
    untrusted: &[Certificate],
) -> Result<AcceptedToken, TsaError> {
    let options = TimestampOptions {
        expected_nonce: Some(nonce.to_vec()),
        ..TimestampOptions::default()
    };
    accept(response, digest, anchors, untrusted, &options)
}

fn accept(
    response: &[u8],
    digest: &Sha256Digest,
    anchors: &TrustAnchors,
    untrusted: &[Certificate],
    options: &TimestampOptions,
) -> Result<AcceptedToken, TsaError> {
    // Steps 1-3.
    let parts = parse_response(response).map_err(|source| TsaError::Malformed { source })?;
    if parts.status > 1 {
        return Err(TsaError::Rejected {
            status: parts.status,
            status_string: parts.status_string,
            fail_info: parts.fail_info,
        });
    }
    let token = parts.token.ok_or(TsaError::MissingToken)?;
    // Step 4.
    let report = verify_timestamp(token, Imprint::Digest(digest), anchors, untrusted, options)
        .map_err(|source| TsaError::Refused { source })?;
    Ok(AcceptedToken {
        token_der: token.to_vec(),
        gen_time: report.gen_time(),
        policy: report.policy().to_owned(),
        tsa_subject: report.signer_subject().to_owned(),
        granted_with_mods: parts.status == 1,
        report,
    })
}

/// The envelope of a TimeStampResp, the token left as received.
#[derive(Debug)]
struct ResponseParts<'a> {
    status: u64,
    status_string: Option<String>,
    fail_info: Vec<&'static str>,
    token: Option<&'a [u8]>,
}

fn parse_response(input: &[u8]) -> Result<ResponseParts<'_>, DerError> {
    let outer = der::parse_single(input, tag::SEQUENCE)?;
    let mut fields = outer.reader();
    let status_info = fields.read(tag::SEQUENCE)?;
    let token = fields.read_optional(tag::SEQUENCE)?;
    fields.finish()?;

    let mut info = status_info.reader();
    let status = info.read(tag::INTEGER)?.small_uint()?;
    let status_string = info
        .read_optional(tag::SEQUENCE)?
        .map(|text| free_text(&text))
        .transpose()?;
    let fail_info = info
        .read_optional(tag::BIT_STRING)?
        .map(|bits| failure_names(bits.content))
        .unwrap_or_default();
    info.finish()?;
    Ok(ResponseParts {
        status,
        status_string,
        fail_info,
        token: token.map(|t| t.raw),
    })
}

/// `PKIFreeText ::= SEQUENCE OF UTF8String`, joined by "; ".
fn free_text(text: &der::Tlv<'_>) -> Result<String, DerError> {
    let mut reader = text.reader();
    let mut parts = Vec::new();
    while !reader.is_empty() {
        let part = reader.read(tag::UTF8_STRING)?;
        parts.push(String::from_utf8_lossy(part.content).into_owned());
    }
    Ok(parts.join("; "))
}

/// The named bits of a `PKIFailureInfo` (RFC 3161 §2.4.2) set in a BIT STRING's content.
fn failure_names(content: &[u8]) -> Vec<&'static str> {
    const NAMES: [(usize, &str); 8] = [
        (0, "badAlg"),
        (2, "badRequest"),
        (5, "badDataFormat"),
        (14, "timeNotAvailable"),
        (15, "unacceptedPolicy"),
        (16, "unacceptedExtension"),
        (17, "addInfoNotAvailable"),
        (25, "systemFailure"),
    ];
    let bits = content.get(1..).unwrap_or_default();
    let set = |bit: usize| {
        bits.get(bit / 8)
            .is_some_and(|b| b & (0x80 >> (bit % 8)) != 0)
    };
    NAMES
        .iter()
        .filter(|(bit, _)| set(*bit))
        .map(|(_, name)| *name)
        .collect()
}

/// A TimeStampResp with a status other than granted.
#[cfg(test)]
fn rejection_response(status: u64, text: &str, fail_bits: &[u8]) -> Vec<u8> {
    let mut bits = 0u32;
    for bit in fail_bits.iter().filter(|b| **b < 32) {
        bits |= 1 << (31 - u32::from(*bit));
    }
    let used = fail_bits
        .iter()
        .copied()
        .max()
        .map_or(0, |m| usize::from(m) / 8 + 1);
    let octets = &bits.to_be_bytes()[..used.min(4)];
    let unused = fail_bits.iter().copied().max().map_or(0, |m| 7 - m % 8);
    let fail_info = der::tlv(tag::BIT_STRING, &[&[unused][..], octets].concat());
    let text = der::sequence(&[&der::utf8_string(text)]);
    let status_info = der::sequence(&[&der::small_integer(status), &text, &fail_info]);
    der::sequence(&[&status_info])
}

/// A granted TimeStampResp carrying `token` (the development TSA's answer).
pub(crate) fn granted_response(token: &[u8]) -> Vec<u8> {
    let status_info = der::sequence(&[&der::small_integer(0)]);
    der::sequence(&[&status_info, token])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    fn anchors() -> TrustAnchors {
        TrustAnchors::from_certificates(Vec::new())
    }

    #[test]
    fn rejections_report_status_text_and_fail_info() {
        let response = rejection_response(2, "unsupported algorithm", &[0, 25]);
        let err = accept_response(&response, &[0; 32], &[1], &anchors(), &[]).unwrap_err();
        match err {
            TsaError::Rejected {
                status,
                status_string,
                fail_info,
            } => {
                assert_eq!(status, 2);
                assert_eq!(status_string.as_deref(), Some("unsupported algorithm"));
                assert_eq!(fail_info, ["badAlg", "systemFailure"]);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn granted_without_token_is_refused() {
        let response = der::sequence(&[&der::sequence(&[&der::small_integer(0)])]);
        let err = accept_response(&response, &[0; 32], &[1], &anchors(), &[]).unwrap_err();
        assert!(matches!(err, TsaError::MissingToken), "{err}");
    }

    #[test]
    fn garbage_is_malformed() {
        let table: [&[u8]; 4] = [
            b"",
            b"<html>busy</html>",
            &[0x30, 0x00],
            &[0x30, 0x03, 0x30, 0x00, 0x00],
        ];
        for input in table {
            let err = accept_response(input, &[0; 32], &[1], &anchors(), &[]).unwrap_err();
            assert!(
                matches!(err, TsaError::Malformed { .. }),
                "{input:02x?}: {err}"
            );
            assert!(err.is_refusal());
        }
    }

    #[test]
    fn a_token_that_does_not_verify_is_refused() {
        let response = granted_response(&der::sequence(&[&der::oid(&[0x2a])]));
        let err = accept_response(&response, &[0; 32], &[1], &anchors(), &[]).unwrap_err();
        assert!(matches!(err, TsaError::Refused { .. }), "{err}");
    }
}
