//! `custody-verify`: checks custody evidence offline.
//!
//! Exit codes: 0 verified, 1 verification failed, 2 unusable input.

mod cli;

use clap::{Parser, Subcommand};

/// Checks custody evidence offline: bundles, single RFC 3161 tokens, and the
/// verifier itself against conformance corpora.
#[derive(Debug, Parser)]
#[command(name = "custody-verify", version, about, long_about = None)]
struct Config {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify an evidence bundle (a directory or a tar file).
    Bundle(cli::bundle::BundleArgs),
    /// Verify one RFC 3161 token or TimeStampResp, like `openssl ts -verify`.
    Timestamp(cli::timestamp::TimestampArgs),
    /// Run the verifier over the RFC 3161 and RFC 6962 conformance corpora.
    Selftest(cli::selftest::SelftestArgs),
}

fn main() -> std::process::ExitCode {
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                cli::Outcome::Unusable.into()
            } else {
                cli::Outcome::Verified.into()
            };
        }
    };
    let outcome = match &config.command {
        Command::Bundle(args) => cli::bundle::run(args),
        Command::Timestamp(args) => cli::timestamp::run(args),
        Command::Selftest(args) => cli::selftest::run(args),
    };
    outcome.into()
}
