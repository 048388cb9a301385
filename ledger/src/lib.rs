//! The custody ledger: the append-only store the offboarding pipeline writes custody
//! nodes to, and legal and auditors read evidence from.
//!
//! Encoding and hashing come from `custody-verifier`, so there is one implementation
//! of the evidence format. This crate adds durable storage (SQLite or PostgreSQL through
//! sqlx), the per-organisation Merkle log with stored subtree hashes, signed checkpoints,
//! RFC 3161 timestamping of checkpoints, and evidence-bundle export.

mod checkpointer;
mod config;
pub mod error;
mod export;
mod keys;
mod ledger;
mod log;
mod model;
pub mod stamper;
pub mod stamps;
mod store;
mod tree;
pub mod tsa;

pub use checkpointer::Checkpointer;
pub use config::LedgerConfig;
pub use error::{AppendError, ExportError, KeyError, LedgerError, RangeError};
pub use export::{EXPORTER, PdfSource};
pub use keys::key_path;
pub use ledger::Ledger;
pub use model::{
    Appended, NewNode, NodeFilter, OrgInfo, StoredCheckpoint, StoredNode, StoredTimestamp,
};
pub use stamps::{PendingStamp, StampingStatus};
pub use store::Engine;
