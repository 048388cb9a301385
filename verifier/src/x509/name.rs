//! Distinguished names: structural check and a one-line rendering for reports.
//!
//! Names are compared as raw DER elsewhere; the rendering here is only for people.
//! It lists CN, OU, O and C, most specific first (`CN=DigiCert Timestamp 2024, O=DigiCert,
//! C=US`); a name with none of those shows every attribute with its dotted OID.

use super::oid;
use crate::der::{self, DerError, Tlv, tag};

/// Checks `Name ::= SEQUENCE OF SET OF AttributeTypeAndValue` and renders it.
pub(crate) fn render(name: Tlv<'_>) -> Result<String, DerError> {
    name.check_tag(tag::SEQUENCE)?;
    let mut attributes: Vec<(&[u8], String)> = Vec::new();
    let mut rdns = name.reader();
    while !rdns.is_empty() {
        let rdn = rdns.read(tag::SET)?;
        let mut members = rdn.reader();
        while !members.is_empty() {
            let pair = members.read(tag::SEQUENCE)?;
            let mut fields = pair.reader();
            let kind = fields.read(tag::OID)?.oid()?;
            let value = fields.read_any()?;
            fields.finish()?;
            attributes.push((kind.as_bytes(), string_value(value)));
        }
    }
    let known = [
        (oid::AT_COMMON_NAME, "CN"),
        (oid::AT_ORGANIZATIONAL_UNIT, "OU"),
        (oid::AT_ORGANIZATION, "O"),
        (oid::AT_COUNTRY, "C"),
    ];
    let mut parts = Vec::new();
    for (kind, label) in known {
        for (_, value) in attributes.iter().rev().filter(|(k, _)| *k == kind) {
            parts.push(format!("{label}={value}"));
        }
    }
    if parts.is_empty() {
        parts = attributes
            .iter()
            .rev()
            .map(|(k, v)| format!("{}={v}", der::dotted(k)))
            .collect();
    }
    Ok(parts.join(", "))
}

/// The text of a directory string; other types are shown as `#hex` (RFC 4514 style).
fn string_value(value: Tlv<'_>) -> String {
    match value.tag {
        tag::UTF8_STRING | tag::PRINTABLE_STRING | tag::IA5_STRING => {
            String::from_utf8_lossy(value.content).into_owned()
        }
        tag::TELETEX_STRING => value.content.iter().map(|b| char::from(*b)).collect(),
        tag::BMP_STRING => {
            let units = value.content.chunks(2).map(|c| {
                u16::from_be_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            });
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        _ => format!("#{}", hex::encode(value.raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: &[u8], string_tag: u8, value: &str) -> Vec<u8> {
        let mut pair = vec![tag::OID, kind.len() as u8];
        pair.extend(kind);
        pair.extend([string_tag, value.len() as u8]);
        pair.extend(value.as_bytes());
        let mut set = vec![
            tag::SET,
            pair.len() as u8 + 2,
            tag::SEQUENCE,
            pair.len() as u8,
        ];
        set.extend(pair);
        set
    }

    #[test]
    fn renders_most_specific_first() {
        let mut body = attribute(oid::AT_COUNTRY, tag::PRINTABLE_STRING, "US");
        body.extend(attribute(
            oid::AT_ORGANIZATION,
            tag::UTF8_STRING,
            "DigiCert",
        ));
        body.extend(attribute(
            oid::AT_COMMON_NAME,
            tag::UTF8_STRING,
            "DigiCert Timestamp 2024",
        ));
        let mut name = vec![tag::SEQUENCE, body.len() as u8];
        name.extend(body);
        let tlv = der::parse_single(&name, tag::SEQUENCE).expect("name");
        assert_eq!(
            render(tlv).as_deref(),
            Ok("CN=DigiCert Timestamp 2024, O=DigiCert, C=US")
        );
    }

    #[test]
    fn falls_back_to_dotted_oids() {
        let body = attribute(&[0x55, 0x04, 0x0d], tag::UTF8_STRING, "desc");
        let mut name = vec![tag::SEQUENCE, body.len() as u8];
        name.extend(body);
        let tlv = der::parse_single(&name, tag::SEQUENCE).expect("name");
        assert_eq!(render(tlv).as_deref(), Ok("2.5.4.13=desc"));
    }
}
