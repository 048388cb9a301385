//! The custody ledger: the append-only store the offboarding pipeline writes custody
//! nodes to, and legal and auditors read evidence from.
//!
//! Encoding and hashing come from `custody-verifier`, so there is one implementation
//! of the evidence format. This crate adds durable storage (SQLite or PostgreSQL through
//! sqlx), the per-organisation Merkle log with stored subtree hashes, signed checkpoints,
//! RFC 3161 timestamping of checkpoints, and evidence-bundle export.

pub mod tsa;
