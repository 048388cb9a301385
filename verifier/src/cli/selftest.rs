//! `custody-verify selftest`: one line per conformance case, then `N passed, N failed`.

use std::path::PathBuf;

use custody_verifier::selftest::{self, CaseOutcome};

use super::Outcome;

/// Arguments of `custody-verify selftest`.
#[derive(Debug, clap::Args)]
pub struct SelftestArgs {
    /// The RFC 3161 token corpus: a directory with `manifest.json` and `cases/`.
    #[arg(long, value_name = "DIR")]
    tsa_corpus: Option<PathBuf>,
    /// The RFC 6962 proof vectors: a directory with `inclusion/` and `consistency/`.
    #[arg(long, value_name = "DIR")]
    merkle_vectors: Option<PathBuf>,
}

/// Runs the corpora given; fails if any case's verdict differs from the expected one.
pub fn run(args: &SelftestArgs) -> Outcome {
    if args.tsa_corpus.is_none() && args.merkle_vectors.is_none() {
        eprintln!("custody-verify selftest: give --tsa-corpus DIR and/or --merkle-vectors DIR");
        return Outcome::Unusable;
    }
    let mut outcomes: Vec<CaseOutcome> = Vec::new();
    if let Some(dir) = &args.tsa_corpus {
        match selftest::tsa::run_tsa_corpus(dir) {
            Ok(cases) => outcomes.extend(cases),
            Err(e) => return unusable(&e),
        }
    }
    if let Some(dir) = &args.merkle_vectors {
        match selftest::merkle::run_merkle_vectors(dir) {
            Ok(cases) => outcomes.extend(cases),
            Err(e) => return unusable(&e),
        }
    }
    for outcome in &outcomes {
        println!("{outcome}");
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    if failed == 0 && !outcomes.is_empty() {
        Outcome::Verified
    } else {
        Outcome::Failed
    }
}

fn unusable(e: &selftest::CorpusError) -> Outcome {
    eprintln!("custody-verify selftest: {e}");
    Outcome::Unusable
}
