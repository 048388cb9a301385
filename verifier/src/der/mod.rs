//! A minimal, strict DER reader that keeps the bytes as received.
//!
//! Every value read is a [`Tlv`]: slices of the original input for the header, the
//! content and the whole element, plus its offset, so signed structures can be hashed
//! exactly as they arrived (RFC 5652 §5.4) and errors can say where the input broke.
//!
//! Strict means: single-byte tags only (the high-tag-number form is refused), definite
//! lengths only, minimal length encoding, no trailing bytes where a structure ends.
//! SET OF ordering is deliberately *not* checked: real TSAs send unsorted SETs and their
//! signatures cover the bytes as sent. The reader never recurses on its own; callers walk
//! the structures they know, so nesting depth is bounded by the code, not the input.
//!
//! Decoding the content of primitive values (INTEGER, BOOLEAN, BIT STRING, NULL, OBJECT
//! IDENTIFIER) lives in `primitive`.

mod primitive;

pub(crate) use primitive::{Oid, dotted};

/// Universal tag numbers (with the constructed bit where DER requires it).
pub(crate) mod tag {
    /// BOOLEAN
    pub(crate) const BOOLEAN: u8 = 0x01;
    /// INTEGER
    pub(crate) const INTEGER: u8 = 0x02;
    /// BIT STRING
    pub(crate) const BIT_STRING: u8 = 0x03;
    /// OCTET STRING
    pub(crate) const OCTET_STRING: u8 = 0x04;
    /// NULL
    pub(crate) const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER
    pub(crate) const OID: u8 = 0x06;
    /// UTF8String
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    /// PrintableString
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    /// TeletexString (T61String)
    pub(crate) const TELETEX_STRING: u8 = 0x14;
    /// IA5String
    pub(crate) const IA5_STRING: u8 = 0x16;
    /// UTCTime
    pub(crate) const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    /// BMPString
    pub(crate) const BMP_STRING: u8 = 0x1e;
    /// SEQUENCE / SEQUENCE OF
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// SET / SET OF
    pub(crate) const SET: u8 = 0x31;

    /// A context-specific primitive tag `[n]` (IMPLICIT over a primitive type).
    pub(crate) const fn context(n: u8) -> u8 {
        0x80 | n
    }

    /// A context-specific constructed tag `[n]` (EXPLICIT, or IMPLICIT over a constructed type).
    pub(crate) const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }
}

/// Why bytes are not the DER expected. Offsets count from the start of the parsed input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    /// The input ends inside an element.
    #[error("truncated DER at offset {offset}")]
    Truncated {
        /// Where the incomplete element starts.
        offset: usize,
    },
    /// A multi-byte (high-tag-number) tag, which nothing in these formats uses.
    #[error("high-tag-number form (tag byte {tag:#04x}) at offset {offset} is not supported")]
    HighTagNumber {
        /// The first tag byte.
        tag: u8,
        /// Where the element starts.
        offset: usize,
    },
    /// The BER indefinite length form.
    #[error("indefinite length at offset {offset} is not DER")]
    IndefiniteLength {
        /// Where the element starts.
        offset: usize,
    },
    /// A length written with more bytes than needed, or longer than four bytes.
    #[error("non-minimal or oversized length encoding at offset {offset}")]
    BadLength {
        /// Where the element starts.
        offset: usize,
    },
    /// Another element than the structure requires.
    #[error("expected tag {expected:#04x}, found {actual:#04x} at offset {offset}")]
    UnexpectedTag {
        /// The tag the structure requires here.
        expected: u8,
        /// The tag found.
        actual: u8,
        /// Where the element starts.
        offset: usize,
    },
    /// A required element is missing at the end of its structure.
    #[error("missing element with tag {expected:#04x} at offset {offset}")]
    Missing {
        /// The tag the structure requires here.
        expected: u8,
        /// Where the structure ended.
        offset: usize,
    },
    /// Bytes left over after a structure's last element.
    #[error("{count} unexpected trailing byte(s) at offset {offset}")]
    TrailingBytes {
        /// How many bytes are left.
        count: usize,
        /// Where they start.
        offset: usize,
    },
    /// A primitive value whose content is not valid for its type.
    #[error("invalid {kind} value at offset {offset}")]
    InvalidValue {
        /// The ASN.1 type: `INTEGER`, `BOOLEAN`, `OBJECT IDENTIFIER`, ...
        kind: &'static str,
        /// Where the element starts.
        offset: usize,
    },
}

/// One DER element, as slices of the input it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The (single) tag byte.
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) content: &'a [u8],
    /// The whole element: tag, length and content.
    pub(crate) raw: &'a [u8],
    /// Offset of the tag byte in the parsed input.
    pub(crate) offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content.
    pub(crate) fn reader(&self) -> Reader<'a> {
        let header = self.raw.len() - self.content.len();
        Reader {
            rest: self.content,
            offset: self.offset + header,
        }
    }

    /// The offset of the first content byte.
    pub(crate) fn content_offset(&self) -> usize {
        self.offset + (self.raw.len() - self.content.len())
    }

    fn invalid(&self, kind: &'static str) -> DerError {
        DerError::InvalidValue {
            kind,
            offset: self.offset,
        }
    }

    /// Fails unless this element has the given tag.
    pub(crate) fn check_tag(&self, expected: u8) -> Result<(), DerError> {
        if self.tag == expected {
            Ok(())
        } else {
            Err(DerError::UnexpectedTag {
                expected,
                actual: self.tag,
                offset: self.offset,
            })
        }
    }
}

/// A cursor over a sequence of DER elements.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole input, offsets counted from its first byte.
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self {
            rest: input,
            offset: 0,
        }
    }

    /// Whether every element has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element's tag byte, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next element, whatever its tag.
    pub(crate) fn read_any(&mut self) -> Result<Tlv<'a>, DerError> {
        let offset = self.offset;
        let truncated = DerError::Truncated { offset };
        let (&tag_byte, after_tag) = self.rest.split_first().ok_or(truncated.clone())?;
        if tag_byte & 0x1f == 0x1f {
            return Err(DerError::HighTagNumber {
                tag: tag_byte,
                offset,
            });
        }
        let (length, length_size) = read_length(after_tag, offset)?;
        let header = 1 + length_size;
        let total = header.checked_add(length).ok_or(truncated.clone())?;
        let raw = self.rest.get(..total).ok_or(truncated.clone())?;
        let content = raw.get(header..).ok_or(truncated)?;
        self.rest = self.rest.get(total..).unwrap_or_default();
        self.offset += total;
        Ok(Tlv {
            tag: tag_byte,
            content,
            raw,
            offset,
        })
    }

    /// Reads the next element, which must have the given tag.
    pub(crate) fn read(&mut self, expected: u8) -> Result<Tlv<'a>, DerError> {
        match self.peek_tag() {
            None => Err(DerError::Missing {
                expected,
                offset: self.offset,
            }),
            Some(actual) if actual & 0x1f == 0x1f => Err(DerError::HighTagNumber {
                tag: actual,
                offset: self.offset,
            }),
            Some(actual) if actual != expected => Err(DerError::UnexpectedTag {
                expected,
                actual,
                offset: self.offset,
            }),
            Some(_) => self.read_any(),
        }
    }

    /// Reads the next element if it has the given tag (an OPTIONAL or DEFAULT field).
    pub(crate) fn read_optional(&mut self, expected: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(expected) {
            self.read_any().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Succeeds only if nothing is left.
    pub(crate) fn finish(self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingBytes {
                count: self.rest.len(),
                offset: self.offset,
            })
        }
    }
}

/// Parses `input` as exactly one element with the given tag and nothing after it.
pub(crate) fn parse_single(input: &[u8], expected: u8) -> Result<Tlv<'_>, DerError> {
    let mut reader = Reader::new(input);
    let tlv = reader.read(expected)?;
    reader.finish()?;
    Ok(tlv)
}

/// Decodes a definite length; returns the length and how many bytes encoded it.
fn read_length(bytes: &[u8], offset: usize) -> Result<(usize, usize), DerError> {
    let (&first, rest) = bytes.split_first().ok_or(DerError::Truncated { offset })?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 {
        return Err(DerError::IndefiniteLength { offset });
    }
    if count > 4 {
        return Err(DerError::BadLength { offset });
    }
    let digits = rest.get(..count).ok_or(DerError::Truncated { offset })?;
    if digits.first() == Some(&0) {
        return Err(DerError::BadLength { offset });
    }
    let length = digits
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    if length < 0x80 {
        return Err(DerError::BadLength { offset });
    }
    Ok((length, 1 + count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements_as_slices() {
        let input = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        let outer = parse_single(&input, tag::SEQUENCE).expect("sequence");
        assert_eq!(outer.raw, &input[..]);
        let mut inner = outer.reader();
        let int = inner.read(tag::INTEGER).expect("integer");
        assert_eq!(
            (int.small_uint(), int.offset, int.content_offset()),
            (Ok(5), 2, 4)
        );
        let octets = inner.read(tag::OCTET_STRING).expect("octets");
        assert_eq!(octets.content, &[0xaa]);
        assert_eq!(inner.finish(), Ok(()));
    }

    #[test]
    fn rejects_non_der_encodings() {
        let cases: &[(&[u8], DerError)] = &[
            (
                &[0x04, 0x80, 0x00, 0x00],
                DerError::IndefiniteLength { offset: 0 },
            ),
            (&[0x04, 0x81, 0x01, 0x00], DerError::BadLength { offset: 0 }),
            (&[0x04, 0x82, 0x00, 0x81], DerError::BadLength { offset: 0 }),
            (
                &[0x04, 0x85, 1, 0, 0, 0, 0],
                DerError::BadLength { offset: 0 },
            ),
            (
                &[0x1f, 0x81, 0x01, 0x00],
                DerError::HighTagNumber {
                    tag: 0x1f,
                    offset: 0,
                },
            ),
            (&[0x04, 0x03, 0x00], DerError::Truncated { offset: 0 }),
            (
                &[0x04, 0x00, 0x00],
                DerError::TrailingBytes {
                    count: 1,
                    offset: 2,
                },
            ),
            (
                &[],
                DerError::Missing {
                    expected: tag::OCTET_STRING,
                    offset: 0,
                },
            ),
            (
                &[0x02, 0x00],
                DerError::UnexpectedTag {
                    expected: tag::OCTET_STRING,
                    actual: 0x02,
                    offset: 0,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_single(input, tag::OCTET_STRING).err().as_ref(),
                Some(expected),
                "{input:02x?}"
            );
        }
    }

    #[test]
    fn long_lengths_are_read() {
        let mut input = vec![0x04, 0x82, 0x01, 0x00];
        input.extend([7u8; 256]);
        let tlv = parse_single(&input, tag::OCTET_STRING).expect("long form");
        assert_eq!(tlv.content.len(), 256);
    }
}
