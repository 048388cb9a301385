//! The values the ledger takes and returns.

use custody_verifier::checkpoint::parse_signed_note;
use custody_verifier::merkle::Hash;
use custody_verifier::node::ParentRef;
use custody_verifier::time::UtcTime;
use serde_json::{Map, Value};

/// A node to append; the organisation comes from the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNode {
    /// What happened (`termination_detected`, `provider_revoked`, …).
    pub kind: String,
    /// The offboarding case, or `None` for organisation-level records.
    pub case_id: Option<String>,
    /// The person the record is about.
    pub subject: Option<String>,
    /// Earlier nodes of the same log, strictly increasing by index.
    pub parents: Vec<ParentRef>,
    /// When the appender recorded the node (a claim).
    pub recorded_at: UtcTime,
    /// Kind-specific content.
    pub body: Map<String, Value>,
    /// A caller-chosen key: a second append with the same key (per organisation) returns
    /// the first node instead of appending.
    pub idempotency_key: Option<String>,
}

/// The result of an append: durably committed before it is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The node's log index.
    pub index: u64,
    /// The node's leaf hash.
    pub leaf_hash: Hash,
    /// True when the idempotency key was seen before and this is the earlier node.
    pub duplicate: bool,
}

impl Appended {
    /// A reference to this node, for children's `parents`.
    pub fn parent_ref(&self) -> ParentRef {
        ParentRef {
            index: self.index,
            hash: self.leaf_hash,
        }
    }
}

/// A stored node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// Its log index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Its canonical bytes, exactly as appended.
    pub bytes: Vec<u8>,
    /// Its kind.
    pub kind: String,
    /// Its case.
    pub case_id: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// Its claimed recording time.
    pub recorded_at: UtcTime,
    /// The idempotency key it was appended with.
    pub idempotency_key: Option<String>,
    /// When the ledger committed it (ledger clock; not evidence).
    pub appended_at: UtcTime,
}

/// A stored signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The organisation.
    pub org: String,
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The whole signed note, byte for byte.
    pub note: Vec<u8>,
    /// When the ledger stored it (ledger clock).
    pub created_at: UtcTime,
}

impl StoredCheckpoint {
    /// The note text the signature covers (and RFC 3161 tokens are taken over).
    ///
    /// # Errors
    /// The note does not parse (stored data was altered).
    pub fn note_text(&self) -> Result<Vec<u8>, crate::LedgerError> {
        let note = parse_signed_note(&self.note)?;
        Ok(note.text().as_bytes().to_vec())
    }
}

/// A stored RFC 3161 token over a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTimestamp {
    /// The organisation.
    pub org: String,
    /// The checkpoint's size.
    pub checkpoint_size: u64,
    /// The TSA's configured name.
    pub tsa: String,
    /// The TimeStampToken, DER.
    pub token_der: Vec<u8>,
    /// The token's genTime, as the stamper verified it.
    pub gen_time: UtcTime,
    /// Certificates archived beside the token (PEM), when the token lacks them.
    pub certs_pem: Option<Vec<u8>>,
    /// When the ledger stored it (ledger clock).
    pub stored_at: UtcTime,
}

/// An organisation's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgInfo {
    /// The organisation id.
    pub org: String,
    /// The log's origin, `<host>/custody/<org>`.
    pub origin: String,
    /// The verifier key string auditors configure (`<origin>+<hash>+<key>`).
    pub vkey: String,
}

/// Filters for [`crate::Ledger::nodes`]; unset fields do not filter. Results are in
/// index order, at most `limit`, after `after_index` (keyset pagination).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeFilter {
    /// Only nodes of this kind.
    pub kind: Option<String>,
    /// Only nodes about this subject.
    pub subject: Option<String>,
    /// Only nodes recorded at or after this instant.
    pub recorded_from: Option<UtcTime>,
    /// Only nodes recorded before this instant.
    pub recorded_before: Option<UtcTime>,
    /// Only nodes with an index above this one (the last index of the previous page).
    pub after_index: Option<u64>,
    /// At most this many nodes (capped at [`NodeFilter::MAX_LIMIT`]; 0 means the cap).
    pub limit: u32,
}

impl NodeFilter {
    /// The largest page.
    pub const MAX_LIMIT: u32 = 1000;

    /// The effective page size.
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => Self::MAX_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}
