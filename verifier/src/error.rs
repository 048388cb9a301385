//! Every way verification can fail, grouped by concern.
//!
//! Each concern has its own enum in its own module, whose variants carry the evidence as
//! typed fields (node index or file, expected and actual values): [`NodeError`],
//! [`DagError`], [`MerkleError`], [`CheckpointError`], [`TlogProofError`],
//! [`TimestampError`], [`SnapshotError`], and for bundles [`BundleError`] and
//! [`LinkError`]. [`Error`] is their union, with the file or node each failure concerns;
//! [`Error::step`] tells which numbered step of bundle verification failed.

pub use crate::bundle::{BundleError, LinkError};
pub use crate::checkpoint::CheckpointError;
pub use crate::dag::DagError;
pub use crate::merkle::MerkleError;
pub use crate::node::NodeError;
pub use crate::snapshot::SnapshotError;
pub use crate::time::TimeParseError;
pub use crate::timestamp::TimestampError;
pub use crate::tlog_proof::TlogProofError;

/// A verification failure of any concern, with the node or file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Step 0: the container, the manifest or the file inventory.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Step 1: a node's encoding.
    #[error("node {index}: {source}")]
    Node {
        /// The node's log index.
        index: u64,
        /// What is wrong with it.
        #[source]
        source: NodeError,
    },
    /// Step 2: a DAG rule.
    #[error(transparent)]
    Dag(#[from] DagError),
    /// Step 4: a Merkle proof in a file.
    #[error("{file}: {source}")]
    Merkle {
        /// The file holding the proof.
        file: String,
        /// What failed.
        #[source]
        source: MerkleError,
    },
    /// Step 4: a tlog-proof file.
    #[error("{file}: {source}")]
    Proof {
        /// The proof file.
        file: String,
        /// What failed.
        #[source]
        source: TlogProofError,
    },
    /// Steps 1, 4, 5 and 6: the links between nodes, proofs, checkpoints and tokens.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Step 3: a checkpoint's syntax or signature.
    #[error("{file}: {source}")]
    Checkpoint {
        /// The checkpoint file.
        file: String,
        /// What failed.
        #[source]
        source: CheckpointError,
    },
    /// Step 5: an RFC 3161 token.
    #[error("{file}: {source}")]
    Timestamp {
        /// The token file.
        file: String,
        /// What failed.
        #[source]
        source: TimestampError,
    },
    /// Step 6: a snapshot record or its PDF.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

impl Error {
    /// The numbered step of bundle verification this failure belongs to (0–6):
    /// 0 inventory, 1 node encoding, 2 DAG, 3 checkpoint signatures, 4 log,
    /// 5 timestamps, 6 snapshot PDFs.
    pub fn step(&self) -> u8 {
        match self {
            Error::Bundle(_) => 0,
            Error::Node { .. } => 1,
            Error::Dag(_) => 2,
            Error::Checkpoint { .. } => 3,
            Error::Merkle { .. } | Error::Proof { .. } => 4,
            Error::Link(link) => link_step(link),
            Error::Timestamp { .. } => 5,
            Error::Snapshot(_) => 6,
        }
    }

    /// Whether the input could not be used at all (exit code 2) rather than having
    /// failed a check (exit code 1): an unreadable path, a file that is not a bundle,
    /// a manifest of another format or version.
    pub fn is_unusable(&self) -> bool {
        matches!(
            self,
            Error::Bundle(
                BundleError::Io { .. }
                    | BundleError::Container { .. }
                    | BundleError::Manifest { .. }
                    | BundleError::UnsupportedVersion { .. }
            )
        )
    }
}

fn link_step(link: &LinkError) -> u8 {
    match link {
        LinkError::Unstamped { .. }
        | LinkError::RecordedAfterStamp { .. }
        | LinkError::OrphanTimestamp { .. } => 5,
        LinkError::UnreferencedPdf { .. } | LinkError::PdfMissing { .. } => 6,
        LinkError::NoNodes => 1,
        LinkError::CaseMissing { .. } => 2,
        LinkError::CheckpointSizeMismatch { .. } | LinkError::OriginMismatch { .. } => 3,
        _ => 4,
    }
}
