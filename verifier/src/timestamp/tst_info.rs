//! `TSTInfo` (RFC 3161 §2.4.2): what the TSA asserts, read from the eContent bytes.

use std::fmt;

use super::TimestampError;
use super::token::{AlgorithmIdentifier, read_algorithm};
use crate::der::{self, DerError, Oid, Tlv, tag};
use crate::time::UtcTime;

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MessageImprint<'a> {
    pub(crate) hash_algorithm: AlgorithmIdentifier<'a>,
    pub(crate) hashed_message: &'a [u8],
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
/// micros [1] INTEGER (1..999) OPTIONAL }`: how far genTime may be from the true time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accuracy {
    /// Whole seconds.
    pub seconds: u64,
    /// Milliseconds (0–999).
    pub millis: u16,
    /// Microseconds (0–999).
    pub micros: u16,
}

impl Accuracy {
    /// The accuracy in nanoseconds (saturating).
    pub fn as_nanos(&self) -> u128 {
        u128::from(self.seconds) * 1_000_000_000
            + u128::from(self.millis) * 1_000_000
            + u128::from(self.micros) * 1_000
    }
}

/// Written like `1s 500ms` or `250us`; zero parts are left out (`0s` if all are zero).
impl fmt::Display for Accuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            (self.seconds, "s"),
            (u64::from(self.millis), "ms"),
            (u64::from(self.micros), "us"),
        ]
        .iter()
        .filter(|(v, _)| *v != 0)
        .map(|(v, unit)| format!("{v}{unit}"))
        .collect();
        if parts.is_empty() {
            f.write_str("0s")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// `TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime,
/// accuracy OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL, tsa [0] OPTIONAL,
/// extensions [1] IMPLICIT OPTIONAL }`.
#[derive(Clone, Debug)]
pub(crate) struct TstInfo<'a> {
    pub(crate) policy: Oid<'a>,
    pub(crate) message_imprint: MessageImprint<'a>,
    pub(crate) serial_number: &'a [u8],
    pub(crate) gen_time: UtcTime,
    pub(crate) accuracy: Option<Accuracy>,
    pub(crate) ordering: bool,
    pub(crate) nonce: Option<&'a [u8]>,
    /// The GeneralName inside `[0]`.
    pub(crate) tsa: Option<Tlv<'a>>,
}

impl<'a> TstInfo<'a> {
    /// Parses the eContent octets; the version must be 1.
    pub(crate) fn parse(e_content: &'a [u8]) -> Result<Self, TimestampError> {
        let m = |source| TimestampError::Malformed {
            structure: "TSTInfo",
            source,
        };
        let outer = der::parse_single(e_content, tag::SEQUENCE).map_err(m)?;
        let mut fields = outer.reader();
        let version = fields
            .read(tag::INTEGER)
            .and_then(|v| v.small_uint())
            .map_err(m)?;
        if version != 1 {
            return Err(TimestampError::Version {
                structure: "TSTInfo",
                expected: 1,
                actual: version,
            });
        }
        let policy = fields.read(tag::OID).and_then(|p| p.oid()).map_err(m)?;
        let message_imprint =
            read_message_imprint(&fields.read(tag::SEQUENCE).map_err(m)?).map_err(m)?;
        let serial_number = fields
            .read(tag::INTEGER)
            .and_then(|s| s.integer_bytes())
            .map_err(m)?;
        let gen_time_element = fields.read(tag::GENERALIZED_TIME).map_err(m)?;
        let gen_time = UtcTime::parse_generalized_time(gen_time_element.content).map_err(|_| {
            m(DerError::InvalidValue {
                kind: "GeneralizedTime",
                offset: gen_time_element.offset,
            })
        })?;
        let accuracy = fields
            .read_optional(tag::SEQUENCE)
            .map_err(m)?
            .map(|a| read_accuracy(&a))
            .transpose()
            .map_err(m)?;
        let ordering = fields
            .read_optional(tag::BOOLEAN)
            .map_err(m)?
            .map(|b| b.boolean())
            .transpose()
            .map_err(m)?;
        let nonce = fields
            .read_optional(tag::INTEGER)
            .map_err(m)?
            .map(|n| n.integer_bytes())
            .transpose()
            .map_err(m)?;
        let tsa = fields
            .read_optional(tag::context_constructed(0))
            .map_err(m)?;
        let tsa = tsa.map(|t| single_element(&t)).transpose().map_err(m)?;
        fields
            .read_optional(tag::context_constructed(1))
            .map_err(m)?;
        fields.finish().map_err(m)?;
        Ok(TstInfo {
            policy,
            message_imprint,
            serial_number,
            gen_time,
            accuracy,
            ordering: ordering.unwrap_or(false),
            nonce,
            tsa,
        })
    }
}

fn read_message_imprint<'a>(imprint: &Tlv<'a>) -> Result<MessageImprint<'a>, DerError> {
    let mut fields = imprint.reader();
    let hash_algorithm = read_algorithm(&mut fields)?;
    let hashed_message = fields.read(tag::OCTET_STRING)?.content;
    fields.finish()?;
    Ok(MessageImprint {
        hash_algorithm,
        hashed_message,
    })
}

fn read_accuracy(accuracy: &Tlv<'_>) -> Result<Accuracy, DerError> {
    let mut fields = accuracy.reader();
    let seconds = fields
        .read_optional(tag::INTEGER)?
        .map(|s| s.small_uint())
        .transpose()?
        .unwrap_or(0);
    let mut sub_second = |n: u8| -> Result<u16, DerError> {
        let Some(element) = fields.read_optional(tag::context(n))? else {
            return Ok(0);
        };
        let as_integer = Tlv {
            tag: tag::INTEGER,
            ..element
        };
        match as_integer.small_uint()? {
            value @ 1..=999 => Ok(value as u16),
            _ => Err(DerError::InvalidValue {
                kind: "Accuracy (1..999)",
                offset: element.offset,
            }),
        }
    };
    let millis = sub_second(0)?;
    let micros = sub_second(1)?;
    fields.finish()?;
    Ok(Accuracy {
        seconds,
        millis,
        micros,
    })
}

/// The one element inside an EXPLICIT tag.
fn single_element<'a>(explicit: &Tlv<'a>) -> Result<Tlv<'a>, DerError> {
    let mut reader = explicit.reader();
    let element = reader.read_any()?;
    reader.finish()?;
    Ok(element)
}
