//! The single pass behind [`check_canonical`](super::check_canonical): reads JSON and
//! builds its value, holding every byte to the one canonical spelling as it goes.
//!
//! Canonical JSON leaves no choice at any byte: no whitespace; members in strictly
//! increasing UTF-16 order of their names (so no duplicates); an escape only where
//! [`canonicalize`](super::canonicalize) writes one, and exactly as it writes it; integers
//! in plain decimal within ±(2^53 − 1). The first byte that departs from that spelling is
//! reported. Nesting stops at [`MAX_DEPTH`] levels, so hostile input cannot exhaust the
//! stack.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{JcsError, MAX_SAFE_INTEGER, write_string};

/// The deepest nesting of arrays and objects accepted: 127 levels, serde_json's limit,
/// which bounded the check when it parsed with serde_json.
pub const MAX_DEPTH: usize = 127;

/// [`MAX_SAFE_INTEGER`] as the parser counts.
const MAX_INTEGER: i64 = MAX_SAFE_INTEGER as i64;

/// The longest number text an error quotes in full.
const MAX_QUOTED_NUMBER: usize = 40;

/// Parses `bytes` as one canonical JSON value and nothing after it.
pub(super) fn parse(bytes: &[u8]) -> Result<Value, JcsError> {
    let mut parser = Parser::new(bytes);
    let value = parser.value()?;
    parser.end()?;
    Ok(value)
}

/// Parses `bytes` as [`parse`] does, but when they hold an object hands its members to
/// `member` in order instead of building it, and returns `None`.
pub(super) fn parse_members<'a>(
    bytes: &'a [u8],
    member: impl FnMut(Cow<'a, str>, Value),
) -> Result<Option<Value>, JcsError> {
    let mut parser = Parser::new(bytes);
    let value = if parser.peek() == Some(b'{') {
        parser.members(member)?;
        None
    } else {
        Some(parser.value()?)
    };
    parser.end()?;
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    /// The next byte to read; never past the end.
    pos: usize,
    /// Arrays and objects open at `pos`.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    fn end(&self) -> Result<(), JcsError> {
        if self.pos < self.bytes.len() {
            return Err(self.unexpected("the end of the input"));
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn value(&mut self) -> Result<Value, JcsError> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.string()?.into_owned())),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, JcsError> {
        if !self.bytes[self.pos..].starts_with(word) {
            return Err(self.syntax(self.pos, "invalid literal"));
        }
        self.pos += word.len();
        Ok(value)
    }

    /// Steps over `[` or `{`, one level deeper.
    fn open(&mut self) -> Result<(), JcsError> {
        if self.depth == MAX_DEPTH {
            return Err(self.syntax(self.pos, "arrays and objects nested too deep"));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Value, JcsError> {
        self.open()?;
        let mut items = Vec::new();
        if !self.eat(b']') {
            loop {
                items.push(self.value()?);
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b']') {
                    break;
                }
                return Err(self.unexpected("`,` or `]`"));
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn object(&mut self) -> Result<Value, JcsError> {
        let mut map = Map::new();
        self.members(|name, value| {
            map.insert(name.into_owned(), value);
        })?;
        Ok(Value::Object(map))
    }

    /// Reads an object from its `{`, handing each member to `member` in order.
    fn members(&mut self, mut member: impl FnMut(Cow<'a, str>, Value)) -> Result<(), JcsError> {
        let start = self.pos;
        self.open()?;
        let mut previous: Option<Cow<'a, str>> = None;
        if !self.eat(b'}') {
            loop {
                if self.peek() != Some(b'"') {
                    return Err(self.unexpected("a member name"));
                }
                let name_at = self.pos;
                let name = self.string()?;
                if let Some(previous) = &previous
                    && utf16_cmp(previous, &name) != Ordering::Less
                {
                    return Err(self.misplaced_member(start, name_at, &name));
                }
                if !self.eat(b':') {
                    return Err(self.unexpected("`:`"));
                }
                let value = self.value()?;
                member(name.clone(), value);
                previous = Some(name);
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b'}') {
                    break;
                }
                return Err(self.unexpected("`,` or `}`"));
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// The error for member `name` (at `name_at`) not sorting after the one before it, in
    /// the object that opens at `object_start`. Canonical order departs from the input at
    /// the first earlier name that does not sort before `name`; at `name` itself if that
    /// earlier name is `name` again.
    fn misplaced_member(&self, object_start: usize, name_at: usize, name: &str) -> JcsError {
        let mut scan = Parser {
            bytes: &self.bytes[..name_at],
            pos: object_start + 1,
            depth: 0,
        };
        // Everything before `name_at` was read without error, so this walk succeeds.
        let offset = loop {
            let at = scan.pos;
            if scan.peek() != Some(b'"') {
                break name_at;
            }
            let Ok(earlier) = scan.string() else {
                break name_at;
            };
            match utf16_cmp(&earlier, name) {
                Ordering::Less => {}
                Ordering::Equal => break name_at,
                Ordering::Greater => {
                    let mut canonical = Vec::new();
                    write_string(name, &mut canonical);
                    break at + common_prefix(&self.bytes[at..], &canonical);
                }
            }
            let skipped = scan.eat(b':') && scan.value().is_ok() && scan.eat(b',');
            if !skipped {
                break name_at;
            }
        };
        JcsError::NotCanonical { offset }
    }

    /// Reads a string from its opening quote, leaving `pos` after its closing quote;
    /// borrowed from the input when it holds no escape.
    fn string(&mut self) -> Result<Cow<'a, str>, JcsError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            let rest: &'a [u8] = &self.bytes[start..];
            let run = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(rest.len());
            // A run ends at an ASCII byte, never inside a UTF-8 sequence, so each run
            // must be valid UTF-8 on its own.
            let text = std::str::from_utf8(&rest[..run])
                .map_err(|e| self.syntax(start + e.valid_up_to(), "invalid UTF-8 in a string"))?;
            self.pos = start + run;
            match self.peek() {
                Some(b'"') if out.is_empty() => {
                    self.pos += 1;
                    return Ok(Cow::Borrowed(text));
                }
                Some(b'"') => {
                    self.pos += 1;
                    out.push_str(text);
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    out.push_str(text);
                    out.push(self.escape()?);
                }
                Some(_) => return Err(self.syntax(self.pos, "unescaped control character")),
                None => return Err(self.syntax(self.pos, "unterminated string")),
            }
        }
    }

    /// Reads one escape from its backslash and returns the character it stands for,
    /// if the escape is the one JCS writes for that character.
    fn escape(&mut self) -> Result<char, JcsError> {
        let at = self.pos;
        let Some(&letter) = self.bytes.get(at + 1) else {
            return Err(self.syntax(at, "unterminated string"));
        };
        self.pos = at + 2;
        let c = match letter {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape(at)?,
            _ => return Err(self.syntax(at, "invalid escape")),
        };
        let written = &self.bytes[at..self.pos];
        if !is_canonical_escape(written, c) {
            let mut canonical = Vec::new();
            write_string(c.encode_utf8(&mut [0; 4]), &mut canonical);
            let canonical = &canonical[1..canonical.len() - 1];
            return Err(JcsError::NotCanonical {
                offset: at + common_prefix(written, canonical),
            });
        }
        Ok(c)
    }

    /// Reads the hex digits of a `\u` escape that starts at `at` (and a second escape
    /// for a surrogate pair), with `pos` after the `\u`.
    fn unicode_escape(&mut self, at: usize) -> Result<char, JcsError> {
        let code = match self.hex4()? {
            lead @ 0xd800..=0xdbff => {
                let trail = if self.bytes[self.pos..].starts_with(b"\\u") {
                    self.pos += 2;
                    self.hex4()?
                } else {
                    0
                };
                if !(0xdc00..=0xdfff).contains(&trail) {
                    return Err(self.syntax(at, "lone leading surrogate in a \\u escape"));
                }
                0x10000 + ((lead - 0xd800) << 10) + (trail - 0xdc00)
            }
            0xdc00..=0xdfff => {
                return Err(self.syntax(at, "lone trailing surrogate in a \\u escape"));
            }
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.syntax(at, "invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, JcsError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.syntax(self.pos, "unterminated \\u escape"))?;
        let mut code = 0;
        for &digit in digits {
            let value = char::from(digit)
                .to_digit(16)
                .ok_or_else(|| self.syntax(self.pos, "invalid hex digit in a \\u escape"))?;
            code = code * 16 + value;
        }
        self.pos += 4;
        Ok(code)
    }

    /// Reads a number by the JSON grammar, then accepts only an integer within
    /// ±(2^53 − 1) in canonical decimal (so not `-0`).
    fn number(&mut self) -> Result<Value, JcsError> {
        let start = self.pos;
        let negative = self.eat(b'-');
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.syntax(self.pos, "invalid number")),
        }
        let int_end = self.pos;
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.syntax(int_start, "leading zero in a number"));
        }
        let mut integer = true;
        if self.eat(b'.') {
            self.digits()?;
            integer = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
            integer = false;
        }
        let digits = &self.bytes[int_start..int_end];
        // 16 digits hold 2^53 − 1; more cannot be in range.
        let magnitude = (integer && digits.len() <= 16)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
            .filter(|&m| m <= MAX_INTEGER && !(negative && m == 0));
        match magnitude {
            Some(m) => Ok(Value::from(if negative { -m } else { m })),
            None => Err(self.number_error(start)),
        }
    }

    fn number_error(&self, start: usize) -> JcsError {
        let text = &self.bytes[start..self.pos];
        let shown = &text[..text.len().min(MAX_QUOTED_NUMBER)];
        let ellipsis = if shown.len() < text.len() { "…" } else { "" };
        JcsError::Number {
            text: format!("{}{ellipsis}", String::from_utf8_lossy(shown)),
        }
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// Reads one or more digits.
    fn digits(&mut self) -> Result<(), JcsError> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.syntax(self.pos, "invalid number"));
        }
        self.skip_digits();
        Ok(())
    }

    /// The error for finding something other than `expected` at `pos`: whitespace is
    /// valid JSON but never canonical; anything else is not JSON.
    fn unexpected(&self, expected: &str) -> JcsError {
        match self.peek() {
            Some(b' ' | b'\t' | b'\n' | b'\r') => JcsError::NotCanonical { offset: self.pos },
            Some(_) => self.syntax(self.pos, &format!("expected {expected}")),
            None => self.syntax(
                self.pos,
                &format!("input ends where {expected} is expected"),
            ),
        }
    }

    fn syntax(&self, at: usize, what: &str) -> JcsError {
        JcsError::Syntax {
            reason: format!("{what} at byte {at}"),
        }
    }
}

/// Whether `written`, an escape read from the input, is how JCS writes `c`: `\"`, `\\`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\u00xx` in lower-case hex for the other controls, and
/// no escape at all for any other character.
fn is_canonical_escape(written: &[u8], c: char) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let canonical: &[u8] = match c {
        '"' => b"\\\"",
        '\\' => b"\\\\",
        '\u{8}' => b"\\b",
        '\u{c}' => b"\\f",
        '\n' => b"\\n",
        '\r' => b"\\r",
        '\t' => b"\\t",
        '\0'..='\u{1f}' => {
            let code = c as usize;
            return written == [b'\\', b'u', b'0', b'0', HEX[code >> 4], HEX[code & 0xf]];
        }
        _ => return false,
    };
    written == canonical
}

/// Orders member names by their UTF-16 code units, as JCS sorts them.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    // For ASCII, UTF-16 order is byte order.
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcs::{canonicalize, check_canonical, check_canonical_reference};
    use proptest::prelude::*;

    /// The parser and the implementation it replaced either both reject `bytes` or both
    /// accept them with the same value.
    fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
        let new = check_canonical(bytes);
        let old = check_canonical_reference(bytes);
        let text = String::from_utf8_lossy(bytes);
        match (&new, &old) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{:?}", text),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "{text:?}: parser {new:?}, reference {old:?}"),
        }
        Ok(())
    }

    #[test]
    fn nesting_stops_where_serde_json_stopped() {
        for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 100_000] {
            let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            for text in [arrays, objects] {
                let new = check_canonical(text.as_bytes());
                assert_eq!(new.is_ok(), depth <= MAX_DEPTH, "depth {depth}: {new:?}");
                assert_eq!(
                    check_canonical_reference(text.as_bytes()).is_ok(),
                    new.is_ok()
                );
            }
        }
    }

    #[test]
    fn a_single_departure_is_reported_as_the_reference_reported_it() {
        for text in [
            "{\"a\":1,\"c\":2,\"b\":3}",
            "{\"ab\":1,\"ac\":2,\"aa\":3}",
            "{\"\u{fb00}\":1,\"\u{1f600}\":2}",
            "{\"a\":\"\\u001F\"}",
            "{\"a\":\"\\u000a\"}",
            "{\"a\":\"\\u0022\"}",
            "{\"a\":\"\\ud83d\\ude00\"}",
            "{\"a\":\"x\\/\"}",
            "[1, 2]",
            " [1]",
            "[1]\r\n",
            "{\"a\" :1}",
            "{\"a\":1.5}",
            "[1e3]",
            "[-0]",
            "[9007199254740992]",
            "[-9007199254740992]",
            "[\"\\ud800\"]",
            "[\"\\udc00x\"]",
            "[\"\u{1}\"]",
            "[01]",
        ] {
            let new = check_canonical(text.as_bytes()).expect_err(text);
            let old = check_canonical_reference(text.as_bytes()).expect_err(text);
            match (&new, &old) {
                (JcsError::Number { .. }, JcsError::Number { .. })
                | (JcsError::Syntax { .. }, JcsError::Syntax { .. }) => {}
                _ => assert_eq!(new, old, "{text}"),
            }
        }
    }

    #[test]
    fn departures_are_named() {
        let cases: &[(&[u8], JcsError)] = &[
            (b"{\"b\":1,\"b\":2}", JcsError::NotCanonical { offset: 7 }),
            (
                b"[12345678901234567890123456789012345678901234567890]",
                JcsError::Number {
                    text: "1234567890123456789012345678901234567890…".into(),
                },
            ),
            (b"[1e3]", JcsError::Number { text: "1e3".into() }),
            (
                b"[\"a\xffb\"]",
                JcsError::Syntax {
                    reason: "invalid UTF-8 in a string at byte 3".into(),
                },
            ),
            (
                b"[\"\\ud800\"]",
                JcsError::Syntax {
                    reason: "lone leading surrogate in a \\u escape at byte 2".into(),
                },
            ),
            (
                b"{\"a\":1",
                JcsError::Syntax {
                    reason: "input ends where `,` or `}` is expected at byte 6".into(),
                },
            ),
        ];
        for (bytes, expected) in cases {
            let text = String::from_utf8_lossy(bytes);
            assert_eq!(
                &check_canonical(bytes).expect_err(&text),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn every_control_escape_is_checked_against_its_one_spelling() {
        for code in 0u32..0x80 {
            let c = char::from_u32(code).expect("ASCII");
            for escape in [
                format!("\\u{code:04x}"),
                format!("\\u{code:04X}"),
                format!("\\{c}"),
            ] {
                agree(format!("\"{escape}\"").as_bytes()).expect("agrees");
            }
        }
    }

    /// serde_json, with its `raw_value` feature (which other workspace crates enable),
    /// reads an object whose first member has this name as the member's string parsed as
    /// JSON; the format knows no such rule, so the member is an ordinary one.
    #[test]
    fn serde_json_private_names_are_ordinary_members() {
        let text = br#"{"$serde_json::private::RawValue":"1"}"#;
        let value = check_canonical(text).expect("canonical");
        assert_eq!(value["$serde_json::private::RawValue"], "1");
    }

    fn arb_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => proptest::char::range('a', 'd'),
            2 => proptest::char::range('\0', '\u{7f}'),
            1 => prop::sample::select(vec![
                'é', '\u{2028}', '\u{d7ff}', '\u{e000}', '\u{fb00}', '\u{fffd}', '\u{ffff}',
                '😀', '\u{10000}', '\u{10ffff}',
            ]),
            1 => any::<char>(),
        ]
    }

    fn arb_text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(arb_char(), 0..max).prop_map(String::from_iter)
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let max = MAX_SAFE_INTEGER as i64;
        let integer = prop_oneof![-3i64..=3, Just(max), Just(-max), -max..=max];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            integer.prop_map(Value::from),
            arb_text(8).prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((arb_text(4), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// Writes a value as JSON, at each choice departing from the canonical encoding with
    /// probability `rate` / 1000: whitespace, member order, repeated names, escapes,
    /// number spellings, invalid UTF-8. At rate 0 it writes the canonical encoding.
    struct NoisyWriter {
        state: u64,
        rate: u64,
        out: Vec<u8>,
    }

    impl NoisyWriter {
        fn next(&mut self) -> u64 {
            // SplitMix64.
            self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn deviate(&mut self) -> bool {
            self.next() % 1000 < self.rate
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn space(&mut self) {
            if self.deviate() {
                let spaces: [&[u8]; 5] = [b" ", b"\t", b"\n", b"\r", b"  "];
                let space = spaces[self.below(spaces.len())];
                self.out.extend_from_slice(space);
            }
        }

        fn value(&mut self, value: &Value) {
            self.space();
            match value {
                Value::Number(n) => self.number(&n.to_string()),
                Value::String(s) => self.string(s),
                Value::Array(items) => {
                    self.out.push(b'[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.out.push(b',');
                        }
                        self.value(item);
                    }
                    self.space();
                    self.out.push(b']');
                }
                Value::Object(map) => self.object(map),
                scalar => self.out.extend(canonicalize(scalar).expect("encodes")),
            }
            self.space();
        }

        fn number(&mut self, text: &str) {
            if !self.deviate() {
                self.out.extend_from_slice(text.as_bytes());
                return;
            }
            let spellings = [
                format!("{text}.0"),
                format!("{text}e0"),
                format!("{text}E+1"),
                format!("0{text}"),
                format!("+{text}"),
                format!("{text}."),
                format!("-{text}"),
                "-0".into(),
                "-0.0".into(),
                "00".into(),
                "-".into(),
                "9007199254740992".into(),
                "-9007199254740992".into(),
                "18446744073709551616".into(),
                "-9223372036854775809".into(),
                "1e400".into(),
            ];
            let spelling = &spellings[self.below(spellings.len())];
            self.out.extend_from_slice(spelling.as_bytes());
        }

        fn string(&mut self, s: &str) {
            self.out.push(b'"');
            for c in s.chars() {
                if self.deviate() {
                    self.odd_char(c);
                } else {
                    let canonical = canonicalize(&Value::String(c.into())).expect("encodes");
                    self.out
                        .extend_from_slice(&canonical[1..canonical.len() - 1]);
                }
            }
            self.out.push(b'"');
        }

        /// Some other spelling of `c`, valid JSON or not.
        fn odd_char(&mut self, c: char) {
            let mut units = [0; 2];
            let units = c.encode_utf16(&mut units);
            let lower: String = units.iter().map(|u| format!("\\u{u:04x}")).collect();
            let upper: String = units.iter().map(|u| format!("\\u{u:04X}")).collect();
            let mut utf8 = [0; 4];
            let raw = c.encode_utf8(&mut utf8).as_bytes().to_vec();
            let spellings: [Vec<u8>; 11] = [
                lower.into_bytes(),
                upper.into_bytes(),
                format!("\\{c}").into_bytes(),
                raw.clone(),
                raw[..raw.len() - 1].to_vec(),
                b"\\ud800".to_vec(),
                b"\\udc00".to_vec(),
                b"\\ud83d\\u0041".to_vec(),
                b"\xff".to_vec(),
                b"\xed\xa0\x80".to_vec(),
                b"\xc0\xaf".to_vec(),
            ];
            let spelling = &spellings[self.below(spellings.len())];
            self.out.extend_from_slice(spelling);
        }

        fn object(&mut self, map: &Map<String, Value>) {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            if members.len() > 1 && self.deviate() {
                let (i, j) = (self.below(members.len()), self.below(members.len()));
                members.swap(i, j);
            }
            if !members.is_empty() && self.deviate() {
                let name = self.below(members.len());
                let value = self.below(members.len());
                let at = self.below(members.len() + 1);
                members.insert(at, (members[name].0, members[value].1));
            }
            self.out.push(b'{');
            for (i, (name, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.space();
                self.string(name);
                self.space();
                self.out.push(b':');
                self.value(value);
            }
            self.space();
            self.out.push(b'}');
        }
    }

    fn noisy(value: &Value, seed: u64, rate: u64) -> Vec<u8> {
        let mut writer = NoisyWriter {
            state: seed,
            rate,
            out: Vec::new(),
        };
        writer.value(value);
        writer.out
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Insert(prop::sample::Index, u8),
        Remove(prop::sample::Index),
        Replace(prop::sample::Index, u8),
        Truncate(prop::sample::Index),
    }

    fn arb_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            prop::sample::select(b"{}[],:\"\\ 0123456789-+.eEu/abfnrtx".to_vec()),
            any::<u8>(),
        ]
    }

    fn arb_edit() -> impl Strategy<Value = Edit> {
        let index = any::<prop::sample::Index>;
        prop_oneof![
            (index(), arb_byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
            index().prop_map(Edit::Remove),
            (index(), arb_byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
            index().prop_map(Edit::Truncate),
        ]
    }

    fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
        if bytes.is_empty() {
            return;
        }
        match edit {
            Edit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
            Edit::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Edit::Replace(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }

    /// Arrays and single-member objects nested around `inner`, each closed or not.
    fn arb_nesting() -> impl Strategy<Value = Vec<u8>> {
        let levels = prop::collection::vec(any::<bool>(), 110..140);
        let inner = prop::sample::select(vec!["1", "[]", "{}", "\"a\"", "", " "]);
        (levels, inner, any::<bool>()).prop_map(|(levels, inner, closed)| {
            let mut out = Vec::new();
            for &array in &levels {
                out.extend_from_slice(if array { b"[" } else { b"{\"k\":" });
            }
            out.extend_from_slice(inner.as_bytes());
            let closers = levels.iter().rev().skip(usize::from(!closed));
            out.extend(closers.map(|&array| if array { b']' } else { b'}' }));
            out
        })
    }

    /// Sequences of JSON tokens and near-tokens.
    fn arb_token_soup() -> impl Strategy<Value = Vec<u8>> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\"a\"",
            "\"b\"",
            "\"\\u0000\"",
            "\"\\u00e9\"",
            "0",
            "1",
            "-",
            "-1",
            "9007199254740991",
            ".",
            "e",
            "null",
            "true",
            "fals",
            " ",
            "\\",
        ]);
        prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat().into_bytes())
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_on_noisy_encodings(
            value in arb_value(),
            seed in any::<u64>(),
            rate in prop_oneof![Just(0u64), 1u64..20, 20u64..300],
        ) {
            agree(&noisy(&value, seed, rate))?;
        }

        #[test]
        fn agrees_with_the_reference_on_edited_encodings(
            value in arb_value(),
            edits in prop::collection::vec(arb_edit(), 1..4),
        ) {
            let mut bytes = canonicalize(&value).expect("encodes");
            for edit in &edits {
                apply(&mut bytes, edit);
            }
            agree(&bytes)?;
        }

        #[test]
        fn agrees_with_the_reference_on_deep_nesting(bytes in arb_nesting()) {
            agree(&bytes)?;
        }

        #[test]
        fn agrees_with_the_reference_on_token_soup(bytes in arb_token_soup()) {
            agree(&bytes)?;
        }

        #[test]
        fn agrees_with_the_reference_on_arbitrary_bytes(
            bytes in prop::collection::vec(arb_byte(), 0..64),
        ) {
            agree(&bytes)?;
        }
    }
}
