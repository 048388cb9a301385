//! The content of primitive DER values: INTEGER, BOOLEAN, BIT STRING, NULL and OBJECT
//! IDENTIFIER, each checked for its one DER encoding.

use std::fmt;

use super::{DerError, Tlv, tag};

impl<'a> Tlv<'a> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
