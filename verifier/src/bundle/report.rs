//! What a successful bundle verification established, for people and for JSON.

use serde::Serialize;

use super::Scope;

/// The result of a bundle verification that passed every step. Only [`super::verify`]
/// builds one.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct VerifiedBundle {
    /// The organisation.
    pub org: String,
    /// The log origin every checkpoint carries.
    pub origin: String,
    /// What the bundle covers.
    pub scope: Scope,
    /// The exporter's claimed export time (not verified).
    pub exported_at_claim: String,
    /// The exporter's name (not verified).
    pub exporter_claim: String,
    /// How many nodes were verified.
    pub node_count: u64,
    /// Parent references checked against the nodes they name.
    pub edges_checked: u64,
    /// Parent references to nodes before an org range (covered by an earlier export).
    pub edges_before_range: u64,
    /// Every checkpoint, by size.
    pub checkpoints: Vec<CheckpointReport>,
    /// Every token, by checkpoint and position.
    pub tokens: Vec<TokenReport>,
    /// Each node's proven time (every node for case bundles; omitted for org bundles of
    /// more than [`NODE_TIMES_LIMIT`] nodes, which report the range in `stamped_range`).
    pub node_times: Vec<NodeTime>,
    /// The earliest and latest proven node times.
    pub stamped_range: Option<(String, String)>,
    /// Nodes with no timestamp, accepted only under `danger_allow_unstamped`.
    pub unstamped_nodes: Vec<u64>,
    /// Every snapshot record and whether its PDF was in the bundle and matched.
    pub pdfs: Vec<PdfReport>,
    /// Whether any token came from the development TSA (untrusted, for testing only).
    pub development_tsa: bool,
}

/// The most per-node times an org bundle report lists.
pub const NODE_TIMES_LIMIT: usize = 10_000;

/// A verified checkpoint.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointReport {
    /// The tree size.
    pub size: u64,
    /// The root hash, lower-case hex.
    pub root: String,
    /// The key names whose signatures verified.
    pub signed_by: Vec<String>,
    /// The earliest genTime among its tokens, if stamped.
    pub stamped_at: Option<String>,
}

/// A verified RFC 3161 token.
#[derive(Clone, Debug, Serialize)]
pub struct TokenReport {
    /// The token file.
    pub file: String,
    /// The checkpoint it stamps.
    pub checkpoint_size: u64,
    /// The token's genTime.
    pub gen_time: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The TSA signer's subject.
    pub tsa: String,
    /// Subjects from the signer to the trust anchor.
    pub chain: Vec<String>,
    /// Whether this is the development TSA's policy (untrusted).
    pub development: bool,
}

/// When a node is proven to have existed.
#[derive(Clone, Debug, Serialize)]
pub struct NodeTime {
    /// The node's index.
    pub index: u64,
    /// Its kind.
    pub kind: String,
    /// Its case.
    pub case_id: Option<String>,
    /// The time the node claims (unverified by itself).
    pub recorded_at: String,
    /// The earliest genTime of a token over a checkpoint that includes it.
    pub stamped_at: Option<String>,
    /// That checkpoint's size.
    pub stamped_by_checkpoint: Option<u64>,
}

/// A snapshot record and its PDF.
#[derive(Clone, Debug, Serialize)]
pub struct PdfReport {
    /// The snapshot node.
    pub index: u64,
    /// The PDF's SHA-256, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where it was stored.
    pub object_key: String,
    /// The storage version id.
    pub version_id: Option<String>,
    /// COMPLIANCE, GOVERNANCE or NONE.
    pub lock_mode: String,
    /// End of retention.
    pub retain_until: Option<String>,
    /// Whether the PDF was in the bundle (and then it matched).
    pub included: bool,
}
