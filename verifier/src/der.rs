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

use std::fmt;

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

    /// The content of an INTEGER, checked for minimal two's-complement encoding.
    pub(crate) fn integer_bytes(&self) -> Result<&'a [u8], DerError> {
        self.check_tag(tag::INTEGER)?;
        match self.content {
            [] => Err(self.invalid("INTEGER")),
            [0x00, next, ..] if next & 0x80 == 0 => Err(self.invalid("INTEGER")),
            [0xff, next, ..] if next & 0x80 != 0 => Err(self.invalid("INTEGER")),
            content => Ok(content),
        }
    }

    /// A non-negative INTEGER that fits in a `u64`.
    pub(crate) fn small_uint(&self) -> Result<u64, DerError> {
        let bytes = self.integer_bytes()?;
        let magnitude = match bytes {
            [0x00, rest @ ..] => rest,
            [first, ..] if first & 0x80 != 0 => return Err(self.invalid("non-negative INTEGER")),
            all => all,
        };
        if magnitude.len() > 8 {
            return Err(self.invalid("INTEGER (too large)"));
        }
        Ok(magnitude
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A BOOLEAN (DER: 0x00 or 0xFF).
    pub(crate) fn boolean(&self) -> Result<bool, DerError> {
        self.check_tag(tag::BOOLEAN)?;
        match self.content {
            [0x00] => Ok(false),
            [0xff] => Ok(true),
            _ => Err(self.invalid("BOOLEAN")),
        }
    }

    /// A BIT STRING's bits, requiring zero unused bits (keys and signatures are octet-aligned).
    pub(crate) fn octet_aligned_bits(&self) -> Result<&'a [u8], DerError> {
        self.check_tag(tag::BIT_STRING)?;
        match self.content {
            [0x00, bits @ ..] => Ok(bits),
            _ => Err(self.invalid("BIT STRING (octet-aligned)")),
        }
    }

    /// A named-bit BIT STRING (such as keyUsage): the unused-bit count and the bytes.
    pub(crate) fn named_bits(&self) -> Result<(u8, &'a [u8]), DerError> {
        self.check_tag(tag::BIT_STRING)?;
        let (&unused, bits) = self
            .content
            .split_first()
            .ok_or_else(|| self.invalid("BIT STRING"))?;
        let padding_clear = bits
            .last()
            .is_none_or(|last| last & ((1u8 << unused.min(7)) - 1) == 0);
        if unused > 7 || (bits.is_empty() && unused != 0) || !padding_clear {
            return Err(self.invalid("BIT STRING"));
        }
        Ok((unused, bits))
    }

    /// An OBJECT IDENTIFIER's content octets, checked for well-formed arcs.
    pub(crate) fn oid(&self) -> Result<Oid<'a>, DerError> {
        self.check_tag(tag::OID)?;
        Oid::new(self.content).ok_or_else(|| self.invalid("OBJECT IDENTIFIER"))
    }

    /// Checks a NULL.
    pub(crate) fn null(&self) -> Result<(), DerError> {
        self.check_tag(tag::NULL)?;
        if self.content.is_empty() {
            Ok(())
        } else {
            Err(self.invalid("NULL"))
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

/// An OBJECT IDENTIFIER as its DER content octets; `Display` writes the dotted form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Oid<'a>(&'a [u8]);

impl<'a> Oid<'a> {
    /// Checks the content octets: non-empty, minimal arcs, last octet ends an arc.
    pub(crate) fn new(content: &'a [u8]) -> Option<Self> {
        let last = content.last()?;
        if last & 0x80 != 0 {
            return None;
        }
        let mut arc_start = true;
        for byte in content {
            if arc_start && *byte == 0x80 {
                return None;
            }
            arc_start = byte & 0x80 == 0;
        }
        Some(Self(content))
    }

    /// The content octets.
    pub(crate) fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl PartialEq<&[u8]> for Oid<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Oid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&dotted(self.0))
    }
}

/// The dotted-decimal form of OID content octets (arcs above 128 bits print as `?`).
pub(crate) fn dotted(content: &[u8]) -> String {
    let mut arcs: Vec<String> = Vec::new();
    let mut value: u128 = 0;
    let mut overflow = false;
    for byte in content {
        overflow |= value.leading_zeros() < 7;
        value = (value << 7) | u128::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if overflow {
                arcs.push("?".to_owned());
            } else if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first.to_string());
                arcs.push((value - first * 40).to_string());
            } else {
                arcs.push(value.to_string());
            }
            value = 0;
            overflow = false;
        }
    }
    arcs.join(".")
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

    fn primitive(tag_byte: u8, bytes: &[u8]) -> Tlv<'_> {
        Tlv {
            tag: tag_byte,
            content: bytes,
            raw: bytes,
            offset: 0,
        }
    }

    #[test]
    fn primitive_values() {
        let int = |bytes| primitive(tag::INTEGER, bytes);
        assert!(int(&[0x00, 0x01]).integer_bytes().is_err());
        assert!(int(&[0xff, 0x80]).integer_bytes().is_err());
        assert_eq!(int(&[0x00, 0x80]).small_uint(), Ok(128));
        assert!(int(&[0x80]).small_uint().is_err());
        let boolean = |bytes| primitive(tag::BOOLEAN, bytes);
        assert_eq!(boolean(&[0xff]).boolean(), Ok(true));
        assert!(boolean(&[0x01]).boolean().is_err());
        let bits = |bytes| primitive(tag::BIT_STRING, bytes);
        assert_eq!(bits(&[0x07, 0x80]).named_bits(), Ok((7, &[0x80][..])));
        assert!(bits(&[0x07, 0x81]).named_bits().is_err());
        assert!(bits(&[0x01, 0x80]).octet_aligned_bits().is_err());
    }

    #[test]
    fn oids_print_dotted_and_reject_padding() {
        let table: &[(&[u8], &str)] = &[
            (
                &[
                    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
                ],
                "1.2.840.113549.1.9.16.1.4",
            ),
            (
                &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
                "2.16.840.1.101.3.4.2.1",
            ),
            (&[0x55, 0x1d, 0x25, 0x00], "2.5.29.37.0"),
        ];
        for (content, text) in table {
            assert_eq!(
                Oid::new(content).map(|o| o.to_string()).as_deref(),
                Some(*text)
            );
        }
        assert_eq!(Oid::new(&[0x2a, 0x80, 0x01]), None);
        assert_eq!(Oid::new(&[0x2a, 0x86]), None);
        assert_eq!(Oid::new(&[]), None);
    }
}
