//! Conformance runs over external corpora: real RFC 3161 tokens with expected verdicts,
//! and RFC 6962 Merkle proof vectors. `custody-verify selftest` prints one line per case.

pub mod merkle;
pub mod tsa;

use std::fmt;

/// The verdict a corpus case expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The case must verify.
    Valid,
    /// The case must be rejected.
    Invalid,
}

/// One corpus case and what the verifier made of it.
#[derive(Clone, Debug)]
pub struct CaseOutcome {
    /// Which corpus: `tsa`, `merkle/inclusion` or `merkle/consistency`.
    pub suite: &'static str,
    /// The case's name (directory or file, relative to the corpus root).
    pub name: String,
    /// What the corpus says the verdict must be.
    pub expected: Expected,
    /// Whether the verifier's verdict matched `expected`.
    pub passed: bool,
    /// The verifier's own account: what verified, or the error it reported.
    pub detail: String,
}

impl fmt::Display for CaseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.passed { "PASS" } else { "FAIL" };
        let expected = match self.expected {
            Expected::Valid => "valid",
            Expected::Invalid => "invalid",
        };
        write!(
            f,
            "{status} {}/{} (expected {expected}): {}",
            self.suite, self.name, self.detail
        )
    }
}

/// A corpus that could not be read at all (missing directory, unreadable manifest).
#[derive(Debug, thiserror::Error)]
#[error("cannot read corpus {path}: {reason}")]
pub struct CorpusError {
    /// The file or directory that failed.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}
