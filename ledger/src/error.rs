//! The ledger's errors: one enum over the concerns (append validation, the log, keys,
//! export, the database), each variant carrying the values a caller needs.

use custody_verifier::bundle::BundleError;
use custody_verifier::checkpoint::CheckpointError;
use custody_verifier::merkle::Hash;
use custody_verifier::node::NodeError;

/// Everything a ledger operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The organisation has no log in this ledger (create it with `Ledger::create_org`).
    #[error("unknown organisation `{org}`")]
    UnknownOrg {
        /// The organisation asked for.
        org: String,
    },
    /// A submitted node was refused; nothing of its batch was written.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A tree size or leaf index outside the log.
    #[error(transparent)]
    Range(#[from] RangeError),
    /// A node, checkpoint or subtree hash that should be stored is not.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// Stored data contradicts itself (a missing subtree hash, a checkpoint that does not
    /// verify with the org's key). Never expected; means the database was tampered with.
    #[error("stored ledger data is inconsistent: {what}")]
    Corrupt {
        /// What is inconsistent.
        what: String,
    },
    /// Loading or creating an organisation's log key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An export cannot be built yet or at all.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Signing or parsing a checkpoint failed.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Assembling a bundle failed.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// The configuration is unusable (unknown URL scheme, bad host name).
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The database refused or failed an operation.
    #[error("database ({operation}): {source}")]
    Database {
        /// What the ledger was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why an append was refused. `position` is the node's position in its batch (0 for a
/// single append).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The node does not encode (see `custody_verifier::node`).
    #[error("node {position} of the batch is invalid: {source}")]
    InvalidNode {
        /// Position in the batch.
        position: usize,
        /// The encoder's reason.
        #[source]
        source: NodeError,
    },
    /// A parent index names no node of the organisation's log (yet).
    #[error(
        "node {position} of the batch names parent {parent_index}, but the log holds {log_size} nodes"
    )]
    UnknownParent {
        /// Position in the batch.
        position: usize,
        /// The parent index listed.
        parent_index: u64,
        /// The log's size when the node would have been appended.
        log_size: u64,
    },
    /// A parent's listed hash is not the leaf hash stored at its index.
    #[error(
        "node {position} of the batch names parent {parent_index} with hash {}, but its leaf hash is {}",
        hex::encode(listed),
        hex::encode(stored)
    )]
    ParentHashMismatch {
        /// Position in the batch.
        position: usize,
        /// The parent index listed.
        parent_index: u64,
        /// The hash the node lists.
        listed: Hash,
        /// The leaf hash stored at that index.
        stored: Hash,
    },
    /// The organisation id is not a valid `org` (`[a-z0-9][a-z0-9._-]{0,63}`).
    #[error("invalid organisation id `{org}`: {source}")]
    InvalidOrg {
        /// The id given.
        org: String,
        /// Why it is invalid.
        #[source]
        source: NodeError,
    },
}

/// A size or index outside what the log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A tree size larger than the log.
    #[error("tree size {size} is beyond the log's {log_size} nodes")]
    SizeBeyondLog {
        /// The size asked for.
        size: u64,
        /// The log's size.
        log_size: u64,
    },
    /// A leaf index not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutsideTree {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger size to a smaller one, or from 0.
    #[error("no consistency proof from size {old} to size {new}")]
    BadConsistencySizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
}

/// Loading, creating or matching an organisation's log key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file cannot be read or written.
    #[error("log key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The key file does not hold exactly 32 bytes (an RFC 8032 seed).
    #[error("log key file {path} holds {len} bytes, expected a 32-byte Ed25519 seed")]
    BadLength {
        /// The file.
        path: String,
        /// Its length.
        len: u64,
    },
    /// The key file's key is not the one the organisation's log was created with.
    #[error("the log key for `{org}` is {loaded}, but its log was created with {stored}")]
    Mismatch {
        /// The organisation.
        org: String,
        /// The verifier key recorded in the database.
        stored: String,
        /// The verifier key of the file.
        loaded: String,
    },
    /// The system random number generator failed.
    #[error("cannot generate a log key: {reason}")]
    Random {
        /// The generator's error.
        reason: String,
    },
}

/// Why an evidence bundle cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// A node is not covered by any checkpoint that has a timestamp token yet.
    #[error(
        "node {index} is not yet covered by a timestamped checkpoint \
         ({waiting} checkpoint(s) of `{org}` are waiting for a TSA); retry shortly"
    )]
    NotYetStamped {
        /// The organisation.
        org: String,
        /// The first node without a stamped checkpoint.
        index: u64,
        /// Checkpoints of the organisation with no token yet.
        waiting: u64,
    },
    /// A range export's end (or start) is not a checkpoint with a token.
    #[error(
        "checkpoint {size} of `{org}` is not a timestamped checkpoint ({waiting} waiting for a TSA)"
    )]
    CheckpointNotStamped {
        /// The organisation.
        org: String,
        /// The size asked for.
        size: u64,
        /// Checkpoints of the organisation with no token yet.
        waiting: u64,
    },
    /// The case has no nodes.
    #[error("case `{case_id}` has no nodes in `{org}`")]
    EmptyCase {
        /// The organisation.
        org: String,
        /// The case asked for.
        case_id: String,
    },
    /// `from_size` is not below `to_size`.
    #[error("range export needs from_size < to_size, got {from_size}..{to_size}")]
    EmptyRange {
        /// The start.
        from_size: u64,
        /// The end.
        to_size: u64,
    },
}
