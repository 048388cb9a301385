//! The custody evidence format and every check an auditor runs on it, offline.
//!
//! This crate is the reference implementation of the format described in `schemas/`:
//! the service (`custody-ledger`, `custody-pipeline`) calls it for encoding and hashing,
//! and auditors run its binary, `custody-verify`, on exported bundles.
//!
//! Nothing here reads the clock, the environment or the network: time, trust anchors
//! and log keys are always arguments.

pub mod bundle;
pub mod checkpoint;
pub mod command;
pub mod dag;
mod der;
pub mod error;
pub mod jcs;
pub mod merkle;
pub mod node;
pub mod selftest;
pub mod snapshot;
pub mod time;
pub mod timestamp;
pub mod tlog_proof;
pub mod x509;

pub use error::Error;
