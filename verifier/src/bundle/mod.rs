//! Evidence bundles: everything an auditor needs, offline, to check one case or a range
//! of an organisation's log. `schemas/evidence-format.md` §6 is the normative text.
//!
//! A bundle is a directory, or a tar file of the same directory: `manifest.json`,
//! `nodes.log`, signed checkpoints, C2SP tlog-proofs, RFC 3161 tokens (with archived
//! certificates), consistency proofs, frontiers and snapshot PDFs, at the paths of
//! [`layout::BundlePath`]. [`BundleBuilder`] writes one; [`verify`] checks one.

mod build;
mod files;
pub mod layout;
pub mod manifest;
mod nodes;
mod proofs;
mod report;
mod times;
mod verify;

pub use build::BundleBuilder;
pub use files::BundleFiles;
pub use manifest::{FileEntry, Manifest, Scope};
pub use report::{
    CheckpointReport, NODE_TIMES_LIMIT, NodeTime, PdfReport, TokenReport, VerifiedBundle,
};
pub use verify::{DEFAULT_CLOCK_SKEW_SECONDS, Progress, VerifyOptions, verify};

/// The policy OID of custody's built-in development TSA (a UUID OID under 2.25). Tokens
/// under this policy are reported as development-only and untrusted, whatever anchor
/// they chain to.
pub const DEVELOPMENT_TSA_POLICY: &str = "2.25.15730700005093617273058428285166598142";

use crate::merkle::Hash;
use crate::time::UtcTime;

/// The container and its inventory: reading files, the manifest, and whether the files
/// are exactly those the manifest lists (step 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The path on disk.
        path: String,
        /// The operating system's message.
        reason: String,
    },
    /// The tar container is malformed.
    #[error("not a readable bundle tar file: {reason}")]
    Container {
        /// The tar reader's message.
        reason: String,
    },
    /// A path is absolute, has `..`/empty segments or non-printable characters.
    #[error("invalid path in bundle: {path:?}")]
    InvalidPath {
        /// The path (truncated).
        path: String,
    },
    /// A symbolic link, device or other non-regular entry.
    #[error("{path}: only regular files and directories may appear in a bundle")]
    UnsupportedEntry {
        /// The entry's path.
        path: String,
    },
    /// The same path twice in a tar file.
    #[error("{path} appears more than once")]
    DuplicatePath {
        /// The path.
        path: String,
    },
    /// A file larger than the format allows.
    #[error("{path} is {size} bytes, over the limit")]
    FileTooLarge {
        /// The path.
        path: String,
        /// Its size.
        size: u64,
    },
    /// More files than the format allows.
    #[error("more than {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// `manifest.json` is missing, not JSON, or not a manifest of this format.
    #[error("manifest.json: {reason}")]
    Manifest {
        /// What is wrong.
        reason: String,
    },
    /// The manifest declares a format version this verifier does not read.
    #[error("bundle format version {found} is not supported")]
    UnsupportedVersion {
        /// The version declared.
        found: u64,
    },
    /// The manifest's log origin is not named after its organisation.
    #[error("origin `{origin}` is not the log of org `{org}` (`<host>/custody/{org}`)")]
    ForeignOrigin {
        /// The manifest's origin.
        origin: String,
        /// The manifest's organisation.
        org: String,
    },
    /// A path the format does not define.
    #[error("{path} is not a file the bundle format defines")]
    UnexpectedPath {
        /// The path.
        path: String,
    },
    /// A file listed in the manifest is absent.
    #[error("{path} is listed in the manifest but missing")]
    MissingFile {
        /// The path.
        path: String,
    },
    /// A file present but not listed in the manifest.
    #[error("{path} is present but not listed in the manifest")]
    UnlistedFile {
        /// The path.
        path: String,
    },
    /// A file whose digest or size differs from the manifest's entry.
    #[error(
        "{path}: SHA-256 {actual} ({actual_size} bytes), manifest lists {expected} ({expected_size} bytes)"
    )]
    FileMismatch {
        /// The path.
        path: String,
        /// The manifest's digest (hex).
        expected: String,
        /// The file's digest (hex).
        actual: String,
        /// The manifest's size.
        expected_size: u64,
        /// The file's size.
        actual_size: u64,
    },
    /// A line of `nodes.log` is not `<index> SP <json> LF`.
    #[error("nodes.log line {line}: {reason}")]
    NodeLine {
        /// The 1-based line number.
        line: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A hash-list file (consistency proof, frontier) is malformed.
    #[error("{path}: not a list of base64 SHA-256 hashes, one per line")]
    HashList {
        /// The path.
        path: String,
    },
    /// A builder was given pieces out of order or twice.
    #[error("cannot build bundle: {reason}")]
    Build {
        /// What was wrong.
        reason: String,
    },
}

/// Links between a bundle's pieces that do not hold: a node without a proof, a proof
/// against a checkpoint the bundle lacks, a root that does not match, a node without a
/// proven time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The bundle holds no node.
    #[error("the bundle holds no node")]
    NoNodes,
    /// The scope's case has no node in the bundle.
    #[error("no node of case `{case_id}` is in the bundle")]
    CaseMissing {
        /// The case.
        case_id: String,
    },
    /// An org bundle's nodes are not exactly the range its scope names.
    #[error(
        "org scope {from_size}..{to_size} needs nodes {from_size}..{to_size}; found {first}..{end}"
    )]
    RangeMismatch {
        /// Scope start.
        from_size: u64,
        /// Scope end.
        to_size: u64,
        /// First node index found.
        first: u64,
        /// One past the last node index found.
        end: u64,
    },
    /// A node has no inclusion proof file.
    #[error("node {index} has no inclusion proof (proofs/{index}.tlog-proof)")]
    ProofMissing {
        /// The node.
        index: u64,
    },
    /// A proof file for a node the bundle does not hold.
    #[error("proofs/{index}.tlog-proof is for a node the bundle does not hold")]
    ProofWithoutNode {
        /// The index in the file name.
        index: u64,
    },
    /// A proof's index differs from its file name.
    #[error("proofs/{file_index}.tlog-proof proves index {proof_index}")]
    ProofIndexMismatch {
        /// The index in the file name.
        file_index: u64,
        /// The index inside the proof.
        proof_index: u64,
    },
    /// A checkpoint the evidence refers to is not in `checkpoints/`.
    #[error("checkpoint of size {size} is referenced but not in checkpoints/")]
    CheckpointMissing {
        /// The tree size.
        size: u64,
    },
    /// A proof embeds a checkpoint that is not byte-for-byte one of `checkpoints/`.
    #[error(
        "the checkpoint embedded in proofs/{index}.tlog-proof is not one of the bundle's checkpoints"
    )]
    ProofCheckpointNotInBundle {
        /// The node.
        index: u64,
    },
    /// `checkpoints/<n>.note` holds a checkpoint of another size.
    #[error("checkpoints/{file_size}.note is a checkpoint of size {size}")]
    CheckpointSizeMismatch {
        /// The size in the file name.
        file_size: u64,
        /// The size inside the checkpoint.
        size: u64,
    },
    /// A checkpoint's origin is not the manifest's.
    #[error("checkpoints/{size}.note has origin `{actual}`, the bundle's log is `{expected}`")]
    OriginMismatch {
        /// The checkpoint.
        size: u64,
        /// The manifest's origin.
        expected: String,
        /// The checkpoint's origin.
        actual: String,
    },
    /// The root recomputed from the nodes differs from a checkpoint's root.
    #[error("root of the first {size} nodes is {}, checkpoints/{size}.note says {}", hex::encode(.actual), hex::encode(.expected))]
    RootMismatch {
        /// The checkpoint size.
        size: u64,
        /// The checkpoint's root.
        expected: Hash,
        /// The recomputed root.
        actual: Hash,
    },
    /// Two checkpoints of the bundle lack the consistency proof between them.
    #[error("no consistency proof consistency/{from}-{to}.hashes between consecutive checkpoints")]
    ConsistencyMissing {
        /// The older size.
        from: u64,
        /// The newer size.
        to: u64,
    },
    /// A checkpoint lies outside an org bundle's range, or a consistency/frontier file
    /// names sizes that are not checkpoints of the bundle.
    #[error("{path} does not belong to this bundle's range of checkpoints")]
    Stray {
        /// The file.
        path: String,
    },
    /// A token file for a checkpoint the bundle does not hold, or archived certificates
    /// without their token.
    #[error("{path} has no matching checkpoint or token")]
    OrphanTimestamp {
        /// The file.
        path: String,
    },
    /// A node's time cannot be proven: no token covers a checkpoint that includes it.
    #[error("node {index} is not covered by any timestamped checkpoint")]
    Unstamped {
        /// The node.
        index: u64,
    },
    /// A node claims to have been recorded after the token proves it existed.
    #[error(
        "node {index} claims recorded_at {recorded_at}, after its timestamp {stamped_at} (+{skew_seconds}s allowed)"
    )]
    RecordedAfterStamp {
        /// The node.
        index: u64,
        /// The node's claim.
        recorded_at: UtcTime,
        /// The earliest proven time.
        stamped_at: UtcTime,
        /// The allowed clock skew.
        skew_seconds: u64,
    },
    /// A PDF in the bundle that no snapshot node records.
    #[error("{path} is not recorded by any snapshot node")]
    UnreferencedPdf {
        /// The file.
        path: String,
    },
    /// A snapshot node whose PDF is not in the bundle, when PDFs are required.
    #[error("node {index}: the snapshot PDF (pdfs/{}.pdf) is not in the bundle", hex::encode(.sha256))]
    PdfMissing {
        /// The snapshot node.
        index: u64,
        /// The recorded digest.
        sha256: Hash,
    },
}
