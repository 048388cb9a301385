//! The subcommands of `custody-verify`, each in its own module.

pub mod bundle;
pub mod selftest;
pub mod timestamp;

use std::process::ExitCode;

/// The documented exit codes of `custody-verify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 0: everything checked verified.
    Verified,
    /// 1: the input was read and a check failed.
    Failed,
    /// 2: the input (or a trust root, key or option) could not be used at all.
    Unusable,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(match outcome {
            Outcome::Verified => 0,
            Outcome::Failed => 1,
            Outcome::Unusable => 2,
        })
    }
}
