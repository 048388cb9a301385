//! The RFC 3161 corpus: real TSA tokens with expected verdicts (`manifest.json` plus
//! `cases/<id>/`). Each case is verified like an auditor would: the TimeStampResp if the
//! case has one, else the bare token; the stamped data if present, else the digest; the
//! case's anchors and out-of-band certificates; the chain checked at genTime. A case with
//! an alternative anchor file is run a second time with it, reported as `<id> (alt anchor)`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{CaseOutcome, CorpusError, Expected};
use crate::timestamp::{self, Imprint, TimestampOptions, TrustAnchors};
use crate::x509;

/// Runs every case of the corpus in `dir`; fails only if the corpus itself cannot be read.
pub fn run_tsa_corpus(dir: &Path) -> Result<Vec<CaseOutcome>, CorpusError> {
    let manifest_path = dir.join("manifest.json");
    let manifest: Value = serde_json::from_slice(&read(&manifest_path)?)
        .map_err(|e| corpus_error(&manifest_path, e))?;
    let cases = manifest
        .get("cases")
        .and_then(Value::as_array)
        .ok_or_else(|| corpus_error(&manifest_path, "no `cases` array"))?;
    let mut outcomes = Vec::new();
    for case in cases {
        let spec = CaseSpec::from_manifest(dir, case)
            .map_err(|reason| corpus_error(&manifest_path, reason))?;
        outcomes.push(spec.run(&spec.anchors, &spec.id));
        if let Some(alt) = &spec.alt_anchors {
            outcomes.push(spec.run(alt, &format!("{} (alt anchor)", spec.id)));
        }
    }
    Ok(outcomes)
}

/// One manifest entry, resolved to paths.
struct CaseSpec {
    id: String,
    expected: Expected,
    input: PathBuf,
    data: Option<PathBuf>,
    digest: Option<PathBuf>,
    anchors: PathBuf,
    alt_anchors: Option<PathBuf>,
    untrusted: Option<PathBuf>,
}

impl CaseSpec {
    fn from_manifest(dir: &Path, case: &Value) -> Result<Self, String> {
        let id = case
            .get("id")
            .and_then(Value::as_str)
            .ok_or("a case without `id`")?
            .to_owned();
        let case_dir = dir.join("cases").join(&id);
        let files = case
            .get("files")
            .ok_or_else(|| format!("case {id}: no `files`"))?;
        let file = |key: &str| {
            files
                .get(key)
                .and_then(Value::as_str)
                .map(|name| case_dir.join(name))
        };
        let expected = match case
            .pointer("/expected_verdict/verdict")
            .and_then(Value::as_str)
        {
            Some("valid") => Expected::Valid,
            Some("invalid") => Expected::Invalid,
            other => return Err(format!("case {id}: expected_verdict.verdict is {other:?}")),
        };
        let input = file("response")
            .or_else(|| file("token"))
            .ok_or_else(|| format!("case {id}: no response or token"))?;
        let anchors =
            file("trust_anchors").ok_or_else(|| format!("case {id}: no trust_anchors"))?;
        Ok(Self {
            expected,
            input,
            data: file("data"),
            digest: file("digest"),
            anchors,
            alt_anchors: file("trust_anchors_alt"),
            untrusted: file("untrusted_certs"),
            id,
        })
    }

    /// Verifies the case with the given anchor file and judges the verdict.
    fn run(&self, anchors: &Path, name: &str) -> CaseOutcome {
        let (passed, detail) = match self.verify(anchors) {
            Ok(verified) => (
                self.expected == Expected::Valid,
                format!(
                    "verified: genTime {}, {} imprint, signer {}, chain {}",
                    verified.gen_time(),
                    verified.hash_algorithm(),
                    verified.signer_subject(),
                    verified.chain().len()
                ),
            ),
            Err(reason) => (
                self.expected == Expected::Invalid,
                format!("rejected: {reason}"),
            ),
        };
        CaseOutcome {
            suite: "tsa",
            name: name.to_owned(),
            expected: self.expected,
            passed,
            detail,
        }
    }

    fn verify(&self, anchors: &Path) -> Result<timestamp::VerifiedTimestamp, String> {
        let text = |e: &dyn std::fmt::Display| e.to_string();
        let input = fs::read(&self.input).map_err(|e| format!("{}: {e}", self.input.display()))?;
        let anchors = TrustAnchors::from_pem(&fs::read(anchors).map_err(|e| text(&e))?)
            .map_err(|e| text(&e))?;
        let untrusted = match &self.untrusted {
            Some(path) => x509::parse_pem_certificates(&fs::read(path).map_err(|e| text(&e))?)
                .map_err(|e| text(&e))?,
            None => Vec::new(),
        };
        let (data, digest);
        let imprint = match (&self.data, &self.digest) {
            (Some(path), _) => {
                data = fs::read(path).map_err(|e| text(&e))?;
                Imprint::Data(&data)
            }
            (None, Some(path)) => {
                let hex_text = fs::read_to_string(path).map_err(|e| text(&e))?;
                digest = hex::decode(hex_text.trim()).map_err(|e| text(&e))?;
                Imprint::Digest(&digest)
            }
            (None, None) => return Err("case has neither data nor digest".to_owned()),
        };
        timestamp::verify_timestamp(
            &input,
            imprint,
            &anchors,
            &untrusted,
            &TimestampOptions::default(),
        )
        .map_err(|e| text(&e))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CorpusError> {
    fs::read(path).map_err(|e| corpus_error(path, e))
}

fn corpus_error(path: &Path, reason: impl std::fmt::Display) -> CorpusError {
    CorpusError {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}
