//! JSON Canonicalization Scheme (RFC 8785) for the values the evidence format allows.
//!
//! Node bodies contain no floating-point numbers, so the canonical form reduces to:
//! no insignificant whitespace; object members sorted by the UTF-16 code units of
//! their names; strings escaped exactly as ECMAScript's `JSON.stringify` does
//! (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00xx`, everything
//! else literal); integers in plain decimal within ±(2^53 − 1) so that every
//! implementation's IEEE 754 reading gives the same value.
//!
//! [`canonicalize`] encodes a value; [`check_canonical`] parses bytes and accepts them
//! only when they are already exactly canonical, so every accepted input has one
//! encoding and therefore one hash.

mod parser;

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

pub use parser::MAX_DEPTH;

/// The largest magnitude an integer may have (I-JSON, RFC 7493 §2.2).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value cannot be, or bytes are not, canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// The bytes are not JSON at all (or not UTF-8, or nested deeper than [`MAX_DEPTH`]).
    #[error("not valid JSON: {reason}")]
    Syntax {
        /// What is wrong, and the offset of the byte where it was found.
        reason: String,
    },
    /// A number is fractional, has an exponent, is `-0`, or is outside ±(2^53 − 1).
    #[error("number {text} is not an integer within ±(2^53 − 1); the format allows no floats")]
    Number {
        /// The number as written (its first 40 characters and `…` if longer).
        text: String,
    },
    /// The bytes are JSON, but not the canonical encoding of what they hold
    /// (whitespace, member order, escapes, duplicate names).
    #[error("not canonical (RFC 8785): first difference at byte {offset}")]
    NotCanonical {
        /// The offset of the first byte that differs from the canonical encoding; for a
        /// member name that repeats an earlier one, the offset of the repeat.
        offset: usize,
    },
}

/// Encodes `value` canonically. Fails on numbers the format does not allow.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// Parses `bytes` and returns the value only if `bytes` is exactly its canonical encoding.
///
/// One pass over the bytes: each is held to the canonical spelling as it is read, and the
/// first that departs from it is reported. The error variant is that of the first problem
/// in the bytes: a syntax error after a non-canonical byte goes unreported.
///
/// ```
/// use custody_verifier::jcs::{JcsError, check_canonical};
///
/// assert!(check_canonical(br#"{"a":1,"b":[true,null]}"#).is_ok());
/// assert_eq!(
///     check_canonical(br#"{"b":1,"a":2}"#),
///     Err(JcsError::NotCanonical { offset: 2 })
/// );
/// ```
pub fn check_canonical(bytes: &[u8]) -> Result<Value, JcsError> {
    parser::parse(bytes)
}

/// Checks `bytes` exactly as [`check_canonical`] does. When they hold an object, hands
/// its members to `member` in canonical order (names borrowed from `bytes` unless they
/// hold an escape) instead of building it, and returns `None`; returns any other value.
pub(crate) fn check_canonical_members<'a>(
    bytes: &'a [u8],
    member: impl FnMut(Cow<'a, str>, Value),
) -> Result<Option<Value>, JcsError> {
    parser::parse_members(bytes, member)
}

/// The implementation [`check_canonical`] replaced, kept as the oracle it is tested
/// against: parse with serde_json, re-encode canonically, compare the bytes.
#[cfg(test)]
pub(crate) fn check_canonical_reference(bytes: &[u8]) -> Result<Value, JcsError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| JcsError::Syntax {
        reason: e.to_string(),
    })?;
    let canonical = canonicalize(&value)?;
    if canonical != bytes {
        let offset = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(JcsError::NotCanonical { offset });
    }
    Ok(value)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out)?,
    }
    Ok(())
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), JcsError> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    // serde_json's map is ordered by UTF-8 bytes, which differs from UTF-16 order only
    // when names hold characters above U+FFFF; sort by UTF-16 to be exact.
    if members.iter().any(|(k, _)| !k.is_ascii()) {
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    }
    out.push(b'{');
    for (i, (name, item)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        write_value(item, out)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_number(n: &Number, out: &mut Vec<u8>) -> Result<(), JcsError> {
    let in_range = if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER
    } else {
        n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
    };
    if !in_range || n.is_f64() {
        return Err(JcsError::Number {
            text: n.to_string(),
        });
    }
    out.extend_from_slice(n.to_string().as_bytes());
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_inputs_are_accepted() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            r#"{"":0,"a\nb":"\u001f\"\\"}"#,
            "{\"\u{80}\":1,\"€\":2,\"😀\":3,\"ﬀ\":4}",
            r#"[-9007199254740991,9007199254740991,0]"#,
            "\"\u{2028} é \u{7f}\"",
        ] {
            check_canonical(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn non_canonical_inputs_are_rejected() {
        type Case<'a> = (&'a str, fn(&JcsError) -> bool);
        let cases: &[Case<'_>] = &[
            (r#"{"b":1,"a":2}"#, |e| {
                matches!(e, JcsError::NotCanonical { offset: 2 })
            }),
            (r#"{"a": 1}"#, |e| {
                matches!(e, JcsError::NotCanonical { .. })
            }),
            (r#"{"a":1,"a":1}"#, |e| {
                matches!(e, JcsError::NotCanonical { .. })
            }),
            (r#"{"a":"\u0041"}"#, |e| {
                matches!(e, JcsError::NotCanonical { .. })
            }),
            (r#"{"a":"\/"}"#, |e| {
                matches!(e, JcsError::NotCanonical { .. })
            }),
            (r#"{"a":1.0}"#, |e| matches!(e, JcsError::Number { .. })),
            (r#"{"a":1e3}"#, |e| matches!(e, JcsError::Number { .. })),
            (r#"{"a":9007199254740992}"#, |e| {
                matches!(e, JcsError::Number { .. })
            }),
            (r#"{"a":-0}"#, |e| matches!(e, JcsError::Number { .. })),
            ("{\"a\":1}\n", |e| {
                matches!(e, JcsError::NotCanonical { .. })
            }),
            (r#"{"a":"\ud800"}"#, |e| {
                matches!(e, JcsError::Syntax { .. })
            }),
            ("{\"a\":\"\u{1}\"}", |e| {
                matches!(e, JcsError::Syntax { .. })
            }),
        ];
        for (text, expected) in cases {
            let err = check_canonical(text.as_bytes()).expect_err(text);
            assert!(expected(&err), "{text}: {err:?}");
        }
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB00 in UTF-16, after it in UTF-8.
        let value = serde_json::json!({"\u{fb00}": 1, "\u{1f600}": 2});
        let bytes = canonicalize(&value).expect("canonical");
        assert_eq!(
            String::from_utf8(bytes).expect("utf8"),
            "{\"\u{1f600}\":2,\"\u{fb00}\":1}"
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_encoding_round_trips(value in arb_json()) {
            let bytes = canonicalize(&value).expect("allowed values encode");
            prop_assert_eq!(check_canonical(&bytes).expect("own output is canonical"), value);
        }

        #[test]
        fn pretty_printing_is_never_canonical(value in arb_json()) {
            let pretty = serde_json::to_vec_pretty(&value).expect("serializes");
            let canonical = canonicalize(&value).expect("encodes");
            prop_assert_eq!(check_canonical(&pretty).is_ok(), pretty == canonical);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = check_canonical(&bytes);
        }
    }
}
