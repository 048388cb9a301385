//! A small DER writer for the structures the TSA client and the development TSA build
//! (requests, TSTInfo, SignedData, certificates), and a small strict reader for the one
//! structure the client must take apart itself: the TimeStampResp envelope.
//!
//! The writer builds elements bottom-up as byte vectors: every function returns one
//! complete TLV, so a structure reads like its ASN.1 definition. The reader accepts only
//! DER: definite, minimally encoded lengths, single-byte tags, no trailing bytes.

use std::cmp::Ordering;

/// Universal and context tags used by the writer and the reader.
pub(crate) mod tag {
    /// BOOLEAN.
    pub(crate) const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub(crate) const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub(crate) const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub(crate) const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub(crate) const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub(crate) const OID: u8 = 0x06;
    /// UTF8String.
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    /// UTCTime.
    pub(crate) const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub(crate) const SET: u8 = 0x31;

    /// `[n]` constructed (EXPLICIT, or IMPLICIT over a constructed type).
    pub(crate) const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }

    /// `[n]` primitive (IMPLICIT over a primitive type).
    pub(crate) const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// One element: `tag`, the DER length of `content`, `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed element of the concatenated `parts`.
pub(crate) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// `SEQUENCE { parts... }`.
pub(crate) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    constructed(tag::SEQUENCE, parts)
}

/// `SET OF` (or any DER SET with `tag`): the elements sorted as DER requires (X.690
/// §11.6: ascending encodings, the shorter padded with trailing zero octets).
pub(crate) fn set_of_tagged(tag: u8, elements: &[&[u8]]) -> Vec<u8> {
    let mut sorted = elements.to_vec();
    sorted.sort_by(|a, b| der_set_order(a, b));
    constructed(tag, &sorted)
}

/// `SET OF { elements... }` in DER order.
pub(crate) fn set_of(elements: &[&[u8]]) -> Vec<u8> {
    set_of_tagged(tag::SET, elements)
}

fn der_set_order(a: &[u8], b: &[u8]) -> Ordering {
    let len = a.len().max(b.len());
    let pad = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| pad(a, i).cmp(&pad(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// An INTEGER from big-endian unsigned magnitude bytes (leading zeros trimmed, a zero
/// octet prepended when the high bit is set so the value stays positive).
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    tlv(tag::INTEGER, &unsigned_integer_content(magnitude))
}

/// The content octets of a non-negative INTEGER with this magnitude.
pub(crate) fn unsigned_integer_content(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    match trimmed.first() {
        None => vec![0],
        Some(first) if *first & 0x80 != 0 => [&[0][..], &trimmed].concat(),
        Some(_) => trimmed,
    }
}

/// A small non-negative INTEGER.
pub(crate) fn small_integer(value: u64) -> Vec<u8> {
    unsigned_integer(&value.to_be_bytes())
}

/// `BOOLEAN TRUE` (DER: 0xff).
pub(crate) fn boolean_true() -> Vec<u8> {
    tlv(tag::BOOLEAN, &[0xff])
}

/// `NULL`.
pub(crate) fn null() -> Vec<u8> {
    tlv(tag::NULL, &[])
}

/// An OCTET STRING.
pub(crate) fn octet_string(content: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, content)
}

/// A BIT STRING of whole octets (no unused bits).
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::BIT_STRING, &[&[0][..], bytes].concat())
}

/// A BIT STRING of named bits (bit 0 = the high bit of the first octet), trailing zero
/// bits removed as DER requires for named-bit lists.
pub(crate) fn named_bits(bits: u16) -> Vec<u8> {
    let Some(last) = (0..16u16).rev().find(|b| bits & (1 << b) != 0) else {
        return tlv(tag::BIT_STRING, &[0]);
    };
    let octets = usize::from(last / 8 + 1);
    let mut body = vec![0u8; octets];
    for bit in 0..=last {
        if bits & (1 << bit) != 0 {
            body[usize::from(bit / 8)] |= 0x80 >> (bit % 8);
        }
    }
    let unused = (7 - last % 8) as u8;
    tlv(tag::BIT_STRING, &[&[unused][..], &body].concat())
}

/// An OBJECT IDENTIFIER from its content octets.
pub(crate) fn oid(content: &[u8]) -> Vec<u8> {
    tlv(tag::OID, content)
}

/// A UTF8String.
pub(crate) fn utf8_string(text: &str) -> Vec<u8> {
    tlv(tag::UTF8_STRING, text.as_bytes())
}

/// The content octets of an OID given in dotted form (`None` if it is not one).
pub(crate) fn oid_from_dotted(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = dotted
        .split('.')
        .map(|a| a.parse().ok())
        .collect::<Option<_>>()?;
    let (&first, rest) = arcs.split_first()?;
    let (&second, rest) = rest.split_first()?;
    if first > 2 || (first < 2 && second > 39) {
        return None;
    }
    let mut out = Vec::new();
    for arc in std::iter::once(first * 40 + second).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

/// Why bytes are not the DER the reader expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    /// The input ends inside an element.
    #[error("truncated at offset {offset}")]
    Truncated {
        /// Where the missing bytes should start.
        offset: usize,
    },
    /// A tag other than the one the structure requires.
    #[error("expected tag {expected:#04x} at offset {offset}, found {actual:#04x}")]
    UnexpectedTag {
        /// The tag required.
        expected: u8,
        /// The tag found.
        actual: u8,
        /// Where.
        offset: usize,
    },
    /// An indefinite, non-minimal or over-long length.
    #[error("non-DER length at offset {offset}")]
    Length {
        /// Where the length starts.
        offset: usize,
    },
    /// Bytes after the last element of a structure.
    #[error("{count} trailing bytes at offset {offset}")]
    Trailing {
        /// How many.
        count: usize,
        /// Where they start.
        offset: usize,
    },
    /// An INTEGER that is empty, not minimal, negative or too large for its use.
    #[error("bad INTEGER at offset {offset}")]
    Integer {
        /// Where the element starts.
        offset: usize,
    },
}

/// One element read from the input: its whole encoding and its content.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) content: &'a [u8],
    pub(crate) offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the content (for constructed elements).
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader {
            input: self.content,
            pos: 0,
            base: self.offset + (self.raw.len() - self.content.len()),
        }
    }

    /// The value of a small non-negative INTEGER.
    pub(crate) fn small_uint(&self) -> Result<u64, DerError> {
        let bad = DerError::Integer {
            offset: self.offset,
        };
        match self.content {
            [] => Err(bad),
            [first, ..] if first & 0x80 != 0 => Err(bad),
            [0, second, ..] if second & 0x80 == 0 => Err(bad),
            c if c.len() > 9 || (c.len() == 9 && c[0] != 0) => Err(bad),
            c => Ok(c.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))),
        }
    }
}

/// A cursor over DER elements.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole input.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            base: 0,
        }
    }

    /// The next element's tag, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Whether every element has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Fails if anything is left.
    pub(crate) fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError::Trailing {
                count: self.input.len() - self.pos,
                offset: self.base + self.pos,
            })
        }
    }

    /// The next element, which must carry `expected`.
    pub(crate) fn read(&mut self, expected: u8) -> Result<Tlv<'a>, DerError> {
        let offset = self.base + self.pos;
        match self.peek_tag() {
            None => Err(DerError::Truncated { offset }),
            Some(actual) if actual != expected => Err(DerError::UnexpectedTag {
                expected,
                actual,
                offset,
            }),
            Some(_) => self.read_any(),
        }
    }

    /// The next element if it carries `expected`.
    pub(crate) fn read_optional(&mut self, expected: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(expected) {
            self.read(expected).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The next element, whatever its tag (single-byte tags only).
    pub(crate) fn read_any(&mut self) -> Result<Tlv<'a>, DerError> {
        let start = self.pos;
        let offset = self.base + start;
        let truncated = |at: usize| DerError::Truncated {
            offset: self.base + at,
        };
        let tag = *self.input.get(start).ok_or(truncated(start))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::UnexpectedTag {
                expected: 0,
                actual: tag,
                offset,
            });
        }
        let first = *self.input.get(start + 1).ok_or(truncated(start + 1))?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError::Length { offset });
            }
            let bytes = self
                .input
                .get(start + 2..start + 2 + count)
                .ok_or(truncated(start + 2))?;
            if bytes[0] == 0 {
                return Err(DerError::Length { offset });
            }
            let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
            if len < 0x80 {
                return Err(DerError::Length { offset });
            }
            (len, 2 + count)
        };
        let end = start
            .checked_add(header)
            .and_then(|h| h.checked_add(len))
            .ok_or(DerError::Length { offset })?;
        let raw = self
            .input
            .get(start..end)
            .ok_or(truncated(start + header))?;
        self.pos = end;
        Ok(Tlv {
            raw,
            content: &raw[header..],
            offset,
        })
    }
}

/// Reads exactly one element with `expected` tag and nothing after it.
pub(crate) fn parse_single(input: &[u8], expected: u8) -> Result<Tlv<'_>, DerError> {
    let mut reader = Reader::new(input);
    let tlv = reader.read(expected)?;
    reader.finish()?;
    Ok(tlv)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn lengths_are_minimal_and_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let content = vec![0x42; len];
            let encoded = octet_string(&content);
            let tlv = parse_single(&encoded, tag::OCTET_STRING).unwrap();
            assert_eq!(tlv.content, content.as_slice());
        }
        assert_eq!(octet_string(&[0; 128])[..3], [0x04, 0x81, 0x80]);
    }

    #[test]
    fn integers_are_positive_and_minimal() {
        let table: [(&[u8], &[u8]); 5] = [
            (&[], &[0x02, 0x01, 0x00]),
            (&[0, 0, 5], &[0x02, 0x01, 0x05]),
            (&[0x80], &[0x02, 0x02, 0x00, 0x80]),
            (&[0x7f, 0xff], &[0x02, 0x02, 0x7f, 0xff]),
            (&[0, 0xff, 1], &[0x02, 0x03, 0x00, 0xff, 0x01]),
        ];
        for (magnitude, expected) in table {
            assert_eq!(unsigned_integer(magnitude), expected, "{magnitude:?}");
        }
        assert_eq!(
            parse_single(&small_integer(300), tag::INTEGER)
                .unwrap()
                .small_uint(),
            Ok(300)
        );
    }

    #[test]
    fn named_bits_drop_trailing_zeros() {
        assert_eq!(named_bits(1), [0x03, 0x02, 0x07, 0x80]); // digitalSignature
        assert_eq!(named_bits((1 << 5) | (1 << 6)), [0x03, 0x02, 0x01, 0x06]); // keyCertSign, cRLSign
        assert_eq!(named_bits(0), [0x03, 0x01, 0x00]);
    }

    #[test]
    fn set_of_sorts_by_encoding() {
        let a = octet_string(&[2]);
        let b = small_integer(9);
        let c = octet_string(&[1, 0]);
        let set = set_of(&[&a, &b, &c]);
        assert_eq!(set, constructed(tag::SET, &[&b, &a, &c]));
    }

    #[test]
    fn dotted_oids_encode() {
        assert_eq!(
            oid_from_dotted("1.2.840.113549.1.7.2").unwrap(),
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]
        );
        assert!(oid_from_dotted("2.25.15730700005093617273058428285166598142").is_some());
        assert!(oid_from_dotted("1").is_none());
        assert!(oid_from_dotted("1.40").is_none());
    }

    #[test]
    fn reader_refuses_non_der() {
        let table: [&[u8]; 5] = [
            &[0x30, 0x80, 0x00, 0x00],       // indefinite length
            &[0x04, 0x81, 0x01, 0x00],       // non-minimal length
            &[0x04, 0x02, 0x00],             // truncated
            &[0x04, 0x01, 0x00, 0x00],       // trailing byte
            &[0x04, 0x82, 0x00, 0x80, 0x00], // leading zero in length
        ];
        for input in table {
            assert!(parse_single(input, input[0]).is_err(), "{input:02x?}");
        }
    }
}
