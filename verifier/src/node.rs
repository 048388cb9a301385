//! Custody nodes: one record of one offboarding step, and its canonical bytes.
//!
//! A node is a JSON object with exactly the members below, encoded by RFC 8785 (see
//! [`crate::jcs`]). Its leaf hash is `SHA-256(0x00 ‖ canonical bytes)`, as for any
//! RFC 6962 leaf. `schemas/evidence-format.md` §2 is the normative text.
//!
//! ```json
//! {"body":{…},"case_id":"c-…"|null,"kind":"provider_revoked","org":"acme",
//!  "parents":[{"hash":"<64 hex>","index":3}],"recorded_at":"2026-11-22T10:00:00Z",
//!  "subject":"emp-1042"|null,"version":1}
//! ```

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::jcs::{self, JcsError};
use crate::merkle::{self, Hash};
use crate::time::UtcTime;

/// The node format version this crate reads and writes.
pub const NODE_VERSION: u64 = 1;

/// The largest canonical encoding of one node, in bytes.
pub const MAX_NODE_BYTES: usize = 1 << 20;

/// The most parents one node may list.
pub const MAX_PARENTS: usize = 1024;

/// The longest `org`, `case_id`, `subject` or `kind`, in bytes.
pub const MAX_ID_BYTES: usize = 256;

const MEMBERS: [&str; 8] = [
    "body",
    "case_id",
    "kind",
    "org",
    "parents",
    "recorded_at",
    "subject",
    "version",
];

/// A reference from a node to an earlier node of the same log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParentRef {
    /// The parent's log index; always smaller than the child's.
    pub index: u64,
    /// The parent's leaf hash.
    pub hash: Hash,
}

/// A custody node's content, before or after encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The organisation whose log holds the node.
    pub org: String,
    /// What happened, in `snake_case` (`termination_detected`, `provider_revoked`, …).
    pub kind: String,
    /// The offboarding case the node belongs to; `None` for organisation-level records.
    pub case_id: Option<String>,
    /// The person the record is about (an employee id); `None` when about no one.
    pub subject: Option<String>,
    /// Earlier nodes this one follows from, strictly ordered by index.
    pub parents: Vec<ParentRef>,
    /// When the appender says it recorded the node. A claim: the proof of time is the
    /// RFC 3161 token over a checkpoint that includes the node.
    pub recorded_at: UtcTime,
    /// Kind-specific content: provider confirmations, digests, reasons.
    pub body: Map<String, Value>,
}

/// A node together with its canonical bytes and leaf hash. Only [`decode`] and
/// [`Node::encode`] build one, so the three always agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedNode {
    node: Node,
    bytes: Vec<u8>,
    leaf_hash: Hash,
}

/// Why bytes are not a valid node (step 1 of bundle verification).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The node is larger than [`MAX_NODE_BYTES`].
    #[error("node is {size} bytes; the limit is {MAX_NODE_BYTES}")]
    TooLarge {
        /// The size received.
        size: usize,
    },
    /// The bytes are not canonical JSON.
    #[error(transparent)]
    Encoding(#[from] JcsError),
    /// The JSON is not an object.
    #[error("a node must be a JSON object")]
    NotAnObject,
    /// A required member is absent.
    #[error("member `{member}` is missing")]
    MissingMember {
        /// The member's name.
        member: &'static str,
    },
    /// A member the format does not define is present.
    #[error("member `{member}` is not part of node format version {NODE_VERSION}")]
    UnknownMember {
        /// The member's name.
        member: String,
    },
    /// The `version` member is not one this crate reads.
    #[error("node version {found} is not supported (expected {NODE_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: String,
    },
    /// A member has the wrong JSON type or an invalid value.
    #[error("member `{member}` is invalid: {reason}")]
    InvalidMember {
        /// The member's name (dotted path for nested members).
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Parents are not listed in strictly increasing index order (which also forbids
    /// duplicates).
    #[error("parents must be in strictly increasing index order: {previous} then {next}")]
    ParentsOutOfOrder {
        /// The earlier entry's index.
        previous: u64,
        /// The entry that does not follow it.
        next: u64,
    },
}

impl Node {
    /// Encodes the node canonically and computes its leaf hash, checking the same rules
    /// [`decode`] checks, so that anything encoded here decodes back to itself.
    pub fn encode(self) -> Result<EncodedNode, NodeError> {
        let bytes = jcs::canonicalize(&self.to_value())?;
        let node = decode_value(&bytes)?;
        let leaf_hash = merkle::leaf_hash(&bytes);
        debug_assert_eq!(node, self);
        Ok(EncodedNode {
            node: self,
            bytes,
            leaf_hash,
        })
    }

    fn to_value(&self) -> Value {
        let parents = self
            .parents
            .iter()
            .map(|p| serde_json::json!({"hash": hex::encode(p.hash), "index": p.index}))
            .collect();
        let mut map = Map::new();
        map.insert("body".into(), Value::Object(self.body.clone()));
        map.insert(
            "case_id".into(),
            self.case_id.clone().map_or(Value::Null, Value::String),
        );
        map.insert("kind".into(), Value::String(self.kind.clone()));
        map.insert("org".into(), Value::String(self.org.clone()));
        map.insert("parents".into(), Value::Array(parents));
        map.insert(
            "recorded_at".into(),
            Value::String(self.recorded_at.to_string()),
        );
        map.insert(
            "subject".into(),
            self.subject.clone().map_or(Value::Null, Value::String),
        );
        map.insert("version".into(), Value::from(NODE_VERSION));
        Value::Object(map)
    }
}

impl EncodedNode {
    /// The node's content.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The exact canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `SHA-256(0x00 ‖ bytes)`.
    pub fn leaf_hash(&self) -> Hash {
        self.leaf_hash
    }
}

/// Decodes and checks one node: size, canonical encoding, members and their values.
pub fn decode(bytes: &[u8]) -> Result<EncodedNode, NodeError> {
    let node = decode_value(bytes)?;
    Ok(EncodedNode {
        node,
        bytes: bytes.to_vec(),
        leaf_hash: merkle::leaf_hash(bytes),
    })
}

fn decode_value(bytes: &[u8]) -> Result<Node, NodeError> {
    if bytes.len() > MAX_NODE_BYTES {
        return Err(NodeError::TooLarge { size: bytes.len() });
    }
    let mut members = Members::default();
    if jcs::check_canonical_members(bytes, |name, value| members.put(name, value))?.is_some() {
        return Err(NodeError::NotAnObject);
    }
    if let Some(member) = members.unknown.take() {
        return Err(NodeError::UnknownMember { member });
    }
    node_from_members(|member| {
        members
            .take(member)
            .ok_or(NodeError::MissingMember { member })
    })
}

/// Checks a node's members, each taken by name from the object, and builds the node.
fn node_from_members(
    mut take: impl FnMut(&'static str) -> Result<Value, NodeError>,
) -> Result<Node, NodeError> {
    let version = take("version")?;
    if version.as_u64() != Some(NODE_VERSION) {
        return Err(NodeError::UnsupportedVersion {
            found: version.to_string(),
        });
    }
    let org = identifier(take("org")?, "org")?;
    check_org(&org)?;
    let kind = identifier(take("kind")?, "kind")?;
    check_kind(&kind)?;
    let case_id = optional_identifier(take("case_id")?, "case_id")?;
    let subject = optional_identifier(take("subject")?, "subject")?;
    let parents = parents(take("parents")?)?;
    let recorded_at = match take("recorded_at")? {
        Value::String(s) => {
            UtcTime::parse_rfc3339(&s).map_err(|e| invalid("recorded_at", e.to_string()))?
        }
        _ => return Err(invalid("recorded_at", "must be an RFC 3339 UTC string")),
    };
    let Value::Object(body) = take("body")? else {
        return Err(invalid("body", "must be an object"));
    };
    Ok(Node {
        org,
        kind,
        case_id,
        subject,
        parents,
        recorded_at,
        body,
    })
}

/// A node's top-level members as the canonical check hands them over, without the map
/// that would hold them only until they are taken apart.
#[derive(Default)]
struct Members {
    /// The values of the members in [`MEMBERS`], by position.
    known: [Option<Value>; MEMBERS.len()],
    /// The first name not in [`MEMBERS`], in byte order (the order a map lists them in).
    unknown: Option<String>,
}

impl Members {
    fn put(&mut self, name: Cow<'_, str>, value: Value) {
        match MEMBERS.iter().position(|m| *m == name) {
            Some(i) => self.known[i] = Some(value),
            None => {
                if self.unknown.as_deref().is_none_or(|u| *name < *u) {
                    self.unknown = Some(name.into_owned());
                }
            }
        }
    }

    fn take(&mut self, member: &'static str) -> Option<Value> {
        let i = MEMBERS.iter().position(|m| *m == member)?;
        self.known[i].take()
    }
}

fn invalid(member: &'static str, reason: impl Into<String>) -> NodeError {
    NodeError::InvalidMember {
        member,
        reason: reason.into(),
    }
}

fn identifier(value: Value, member: &'static str) -> Result<String, NodeError> {
    let Value::String(s) = value else {
        return Err(invalid(member, "must be a string"));
    };
    if s.is_empty() || s.len() > MAX_ID_BYTES || s.chars().any(char::is_control) {
        return Err(invalid(
            member,
            format!("must be 1–{MAX_ID_BYTES} bytes without control characters"),
        ));
    }
    Ok(s)
}

fn optional_identifier(value: Value, member: &'static str) -> Result<Option<String>, NodeError> {
    match value {
        Value::Null => Ok(None),
        other => identifier(other, member).map(Some),
    }
}

/// Organisation ids appear in log origins and object keys: `[a-z0-9][a-z0-9._-]*`.
pub fn check_org(org: &str) -> Result<(), NodeError> {
    let mut chars = org.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(first_ok && rest_ok) || org.len() > 64 {
        return Err(invalid("org", "must match [a-z0-9][a-z0-9._-]{0,63}"));
    }
    Ok(())
}

fn check_kind(kind: &str) -> Result<(), NodeError> {
    let mut chars = kind.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !(first_ok && rest_ok) || kind.len() > 64 {
        return Err(invalid("kind", "must match [a-z][a-z0-9_]{0,63}"));
    }
    Ok(())
}

fn parents(value: Value) -> Result<Vec<ParentRef>, NodeError> {
    let Value::Array(items) = value else {
        return Err(invalid("parents", "must be an array"));
    };
    if items.len() > MAX_PARENTS {
        return Err(invalid("parents", format!("at most {MAX_PARENTS} parents")));
    }
    let mut parents: Vec<ParentRef> = Vec::with_capacity(items.len());
    for item in items {
        let parent = parent_ref(item)?;
        if let Some(previous) = parents.last()
            && previous.index >= parent.index
        {
            return Err(NodeError::ParentsOutOfOrder {
                previous: previous.index,
                next: parent.index,
            });
        }
        parents.push(parent);
    }
    Ok(parents)
}

fn parent_ref(item: Value) -> Result<ParentRef, NodeError> {
    let Value::Object(map) = item else {
        return Err(invalid(
            "parents",
            "each parent must be an object {hash, index}",
        ));
    };
    if map.len() != 2 {
        return Err(invalid(
            "parents",
            "each parent has exactly the members hash and index",
        ));
    }
    let index = map
        .get("index")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid("parents.index", "must be a non-negative integer"))?;
    let hash = map
        .get("hash")
        .and_then(Value::as_str)
        .and_then(parse_hash_hex)
        .ok_or_else(|| invalid("parents.hash", "must be 64 lower-case hex digits"))?;
    Ok(ParentRef { index, hash })
}

/// Parses a hash written as exactly 64 lower-case hexadecimal digits.
pub fn parse_hash_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).ok()?;
    Some(hash)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn sample(kind: &str, parents: Vec<ParentRef>) -> Node {
        let mut body = Map::new();
        body.insert("provider".into(), Value::String("openai".into()));
        body.insert("removed_keys".into(), Value::from(3));
        Node {
            org: "acme".into(),
            kind: kind.into(),
            case_id: Some("case-7".into()),
            subject: Some("emp-1042".into()),
            parents,
            recorded_at: UtcTime::parse_rfc3339("2026-11-22T10:00:00.25Z").expect("time"),
            body,
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let node = sample(
            "provider_revoked",
            vec![ParentRef {
                index: 0,
                hash: [7; 32],
            }],
        );
        let encoded = node.clone().encode().expect("encodes");
        let text = std::str::from_utf8(encoded.bytes()).expect("utf8");
        assert!(text.starts_with(
            "{\"body\":{\"provider\":\"openai\",\"removed_keys\":3},\"case_id\":\"case-7\""
        ));
        assert!(text.ends_with("\"subject\":\"emp-1042\",\"version\":1}"));
        let decoded = decode(encoded.bytes()).expect("decodes");
        assert_eq!(decoded.node(), &node);
        assert_eq!(decoded.leaf_hash(), merkle::leaf_hash(encoded.bytes()));
    }

    #[test]
    fn invalid_nodes_are_rejected_with_the_member_named() {
        let good = String::from_utf8(
            sample("x", vec![])
                .encode()
                .expect("encodes")
                .bytes()
                .to_vec(),
        )
        .expect("utf8");
        let cases: Vec<(String, &str)> = vec![
            (
                good.replace("\"version\":1", "\"version\":2"),
                "UnsupportedVersion",
            ),
            (good.replace("\"org\":\"acme\"", "\"org\":\"Acme\""), "org"),
            (good.replace("\"kind\":\"x\"", "\"kind\":\"X-1\""), "kind"),
            (
                good.replace("\"case_id\":\"case-7\"", "\"case_id\":7"),
                "case_id",
            ),
            (
                good.replace(
                    "\"recorded_at\":\"2026-11-22T10:00:00.25Z\"",
                    "\"recorded_at\":\"2026-11-22T10:00:00.250Z\"",
                ),
                "recorded_at",
            ),
            (
                good.replace(
                    "\"parents\":[]",
                    "\"parents\":[{\"hash\":\"00\",\"index\":0}]",
                ),
                "parents.hash",
            ),
            (
                good.replace(",\"version\":1}", ",\"version\":1,\"zz\":0}"),
                "UnknownMember",
            ),
            (
                good.replace("\"body\":{\"provider\":\"openai\",\"removed_keys\":3},", ""),
                "MissingMember",
            ),
        ];
        for (text, expected) in cases {
            let err = decode(text.as_bytes()).expect_err(&text);
            assert!(format!("{err:?}").contains(expected), "{text}: {err:?}");
        }
    }

    #[test]
    fn parents_must_be_strictly_ordered() {
        let p = |index| ParentRef {
            index,
            hash: [1; 32],
        };
        let err = sample("x", vec![p(4), p(4)])
            .encode()
            .expect_err("duplicate");
        assert_eq!(
            err,
            NodeError::ParentsOutOfOrder {
                previous: 4,
                next: 4
            }
        );
        let err = sample("x", vec![p(5), p(2)])
            .encode()
            .expect_err("unordered");
        assert_eq!(
            err,
            NodeError::ParentsOutOfOrder {
                previous: 5,
                next: 2
            }
        );
    }

    /// `decode_value` as it was before the canonical check handed members over: the
    /// reference check's value as a map, its first unknown name, members removed from it.
    fn decode_value_reference(bytes: &[u8]) -> Result<Node, NodeError> {
        if bytes.len() > MAX_NODE_BYTES {
            return Err(NodeError::TooLarge { size: bytes.len() });
        }
        let Value::Object(mut map) = jcs::check_canonical_reference(bytes)? else {
            return Err(NodeError::NotAnObject);
        };
        if let Some(member) = map.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(NodeError::UnknownMember {
                member: member.clone(),
            });
        }
        node_from_members(|member| {
            map.remove(member)
                .ok_or(NodeError::MissingMember { member })
        })
    }

    fn arb_member_value() -> impl Strategy<Value = Value> {
        let hash = "[0-9a-fA-F]{63,65}".prop_map(Value::String);
        let parent = (hash, prop_oneof![Just(-1i64), 0i64..8])
            .prop_map(|(hash, index)| serde_json::json!({"hash": hash, "index": index}));
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-2i64..4).prop_map(Value::from),
            prop::sample::select(vec![
                "acme",
                "Acme",
                "x",
                "",
                "provider_revoked",
                "2026-11-22T10:00:00Z",
                "2026-11-22T10:00:00.50Z",
                "a\u{1}b",
            ])
            .prop_map(Value::from),
            prop::collection::vec(parent, 0..3).prop_map(Value::Array),
            Just(serde_json::json!({"k": [1, {"z": null}]})),
            Just(serde_json::json!([{"hash": "00", "index": 1, "x": 2}])),
        ]
    }

    #[derive(Debug, Clone)]
    enum MemberEdit {
        Remove(prop::sample::Index),
        Set(String, Value),
    }

    fn arb_member_edit() -> impl Strategy<Value = MemberEdit> {
        let name = prop::sample::select(vec![
            "body",
            "case_id",
            "kind",
            "org",
            "parents",
            "recorded_at",
            "subject",
            "version",
            "zz",
            "a",
            "é",
            "\u{ffff}",
            "😀",
            "Body",
        ]);
        prop_oneof![
            any::<prop::sample::Index>().prop_map(MemberEdit::Remove),
            (name, arb_member_value()).prop_map(|(n, v)| MemberEdit::Set(n.into(), v)),
        ]
    }

    /// A node's bytes after member edits, then perhaps a byte edit, or a non-object.
    fn arb_node_bytes() -> impl Strategy<Value = Vec<u8>> {
        let parent = ParentRef {
            index: 3,
            hash: [9; 32],
        };
        let node = sample("provider_revoked", vec![parent]).to_value();
        let edited = (
            prop::collection::vec(arb_member_edit(), 0..3),
            prop::option::weighted(0.3, (any::<prop::sample::Index>(), any::<u8>())),
        )
            .prop_map(move |(edits, byte)| {
                let mut value = node.clone();
                let map = value.as_object_mut().expect("a node is an object");
                for edit in edits {
                    match edit {
                        MemberEdit::Remove(i) if !map.is_empty() => {
                            let name = map.keys().nth(i.index(map.len())).cloned();
                            map.remove(&name.expect("in range"));
                        }
                        MemberEdit::Remove(_) => {}
                        MemberEdit::Set(name, v) => {
                            map.insert(name, v);
                        }
                    }
                }
                let mut bytes = jcs::canonicalize(&value).expect("encodes");
                if let Some((i, b)) = byte {
                    let i = i.index(bytes.len());
                    bytes[i] = b;
                }
                bytes
            });
        prop_oneof![
            8 => edited,
            1 => arb_member_value().prop_map(|v| jcs::canonicalize(&v).expect("encodes")),
        ]
    }

    proptest! {
        #[test]
        fn decode_agrees_with_the_map_based_reference(bytes in arb_node_bytes()) {
            let new = decode_value(&bytes);
            let old = decode_value_reference(&bytes);
            match (&new, &old) {
                // The two canonical checks may name different problems; both must reject.
                (Err(NodeError::Encoding(_)), Err(NodeError::Encoding(_))) => {}
                _ => prop_assert_eq!(new, old, "{}", String::from_utf8_lossy(&bytes)),
            }
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn any_single_byte_change_changes_the_hash_or_is_rejected(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
            let encoded = sample("provider_revoked", vec![ParentRef { index: 3, hash: [9; 32] }]).encode().expect("encodes");
            let mut bytes = encoded.bytes().to_vec();
            let i = pos.index(bytes.len());
            bytes[i] = bytes[i].wrapping_add(delta);
            if let Ok(changed) = decode(&bytes) {
                prop_assert_ne!(changed.leaf_hash(), encoded.leaf_hash());
                prop_assert_ne!(changed.node(), encoded.node());
            }
        }
    }
}
