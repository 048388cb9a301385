//! Every way verification can fail, grouped by concern.
//!
//! Each concern (node encoding, DAG rules, the Merkle log, checkpoints, timestamps,
//! snapshots, bundles) has its own enum in its own module, whose variants carry the
//! evidence as typed fields: the node index or file, the expected and the actual value.
//! [`Error`] is the union the bundle verifier reports.

pub use crate::time::TimeParseError;

/// A verification failure of any concern.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A time value could not be read.
    #[error(transparent)]
    Time(#[from] TimeParseError),
}
