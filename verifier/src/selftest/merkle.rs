//! The RFC 6962 proof vectors of transparency-dev/merkle: every `inclusion/**.json` and
//! `consistency/**.json` case, run through [`merkle::verify_inclusion`] or
//! [`merkle::verify_consistency`], and compared with its `wantErr`.
//!
//! How vector fields reach the verifier's typed inputs:
//! - `proof: null` is the empty proof (Go's nil slice).
//! - A leaf hash or proof hash that is not 32 bytes is malformed input: the case is
//!   rejected before verification, as the reference verifier rejects it.
//! - Roots are opaque byte strings to the vectors: only their equality matters (two
//!   equal roots of equal size are consistent). A root that is not 32 bytes long is
//!   passed on as SHA-256("custody selftest opaque root\n" ‖ bytes): mapped roots are
//!   equal exactly when the bytes are, and none can equal a root a proof computes.
//! - A field that is not canonical base64 gets the case rejected.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{CaseOutcome, CorpusError, Expected};
use crate::checkpoint::decode_base64;
use crate::merkle::{self, Hash};

/// The suite name of the inclusion vectors.
const INCLUSION: &str = "merkle/inclusion";
/// The suite name of the consistency vectors.
const CONSISTENCY: &str = "merkle/consistency";

/// One inclusion vector.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionCase {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// One consistency vector.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsistencyCase {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// Runs every vector under `dir/inclusion` and `dir/consistency`, each directory walked
/// recursively in sorted path order. Case names are paths relative to the suite's
/// directory, with `/` separators.
///
/// # Errors
/// A [`CorpusError`] if a directory or file cannot be read or a file is not a vector.
pub fn run_merkle_vectors(dir: &Path) -> Result<Vec<CaseOutcome>, CorpusError> {
    let mut outcomes = Vec::new();
    for (suite, subdir) in [(INCLUSION, "inclusion"), (CONSISTENCY, "consistency")] {
        let root = dir.join(subdir);
        for path in json_files(&root)? {
            let bytes = fs::read(&path).map_err(|e| corpus_error(&path, e))?;
            let name = relative_name(&root, &path);
            let outcome = if suite == INCLUSION {
                let case = serde_json::from_slice(&bytes).map_err(|e| corpus_error(&path, e))?;
                run_inclusion(name, &case)
            } else {
                let case = serde_json::from_slice(&bytes).map_err(|e| corpus_error(&path, e))?;
                run_consistency(name, &case)
            };
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}

fn run_inclusion(name: String, case: &InclusionCase) -> CaseOutcome {
    let verdict = (|| {
        let leaf = exact_hash("leafHash", &case.leaf_hash)?;
        let proof = proof_hashes(case.proof.as_deref())?;
        let root = opaque_root("root", &case.root)?;
        merkle::verify_inclusion(&leaf, case.leaf_idx, case.tree_size, &proof, &root)
            .map_err(|e| e.to_string())
    })();
    outcome(INCLUSION, name, &case.desc, case.want_err, verdict)
}

fn run_consistency(name: String, case: &ConsistencyCase) -> CaseOutcome {
    let verdict = (|| {
        let proof = proof_hashes(case.proof.as_deref())?;
        let root1 = opaque_root("root1", &case.root1)?;
        let root2 = opaque_root("root2", &case.root2)?;
        merkle::verify_consistency(case.size1, case.size2, &root1, &root2, &proof)
            .map_err(|e| e.to_string())
    })();
    outcome(CONSISTENCY, name, &case.desc, case.want_err, verdict)
}

fn outcome(
    suite: &'static str,
    name: String,
    desc: &str,
    want_err: bool,
    verdict: Result<(), String>,
) -> CaseOutcome {
    let expected = if want_err {
        Expected::Invalid
    } else {
        Expected::Valid
    };
    let detail = match &verdict {
        Ok(()) => format!("{desc}: verified"),
        Err(reason) => format!("{desc}: rejected: {reason}"),
    };
    CaseOutcome {
        suite,
        name,
        expected,
        passed: verdict.is_err() == want_err,
        detail,
    }
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, String> {
    decode_base64(text).ok_or_else(|| format!("{field} is not canonical base64"))
}

fn exact_hash(field: &str, text: &str) -> Result<Hash, String> {
    let bytes = decode(field, text)?;
    let len = bytes.len();
    Hash::try_from(bytes).map_err(|_| format!("{field} is {len} bytes, not 32"))
}

fn proof_hashes(proof: Option<&[String]>) -> Result<Vec<Hash>, String> {
    let proof = proof.unwrap_or_default();
    let field = |i: usize| format!("proof[{i}]");
    proof
        .iter()
        .enumerate()
        .map(|(i, text)| exact_hash(&field(i), text))
        .collect()
}

/// A root as the verifier takes it; see the module documentation for other lengths.
fn opaque_root(field: &str, text: &str) -> Result<Hash, String> {
    let bytes = decode(field, text)?;
    match Hash::try_from(bytes.as_slice()) {
        Ok(hash) => Ok(hash),
        Err(_) => Ok(Sha256::new()
            .chain_update(b"custody selftest opaque root\n")
            .chain_update(&bytes)
            .finalize()
            .into()),
    }
}

/// Every `.json` file under `root`, recursively, in sorted path order.
fn json_files(root: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| corpus_error(&dir, e))? {
            let entry = entry.map_err(|e| corpus_error(&dir, e))?;
            let kind = entry
                .file_type()
                .map_err(|e| corpus_error(&entry.path(), e))?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
    parts.join("/")
}

fn corpus_error(path: &Path, reason: impl ToString) -> CorpusError {
    CorpusError {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::{Value, json};

    /// The 8-leaf reference tree of RFC 6962's original implementation.
    fn reference_leaves() -> Vec<Hash> {
        let leaves = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
        ];
        let last = "606162636465666768696a6b6c6d6e6f";
        let leaves = leaves
            .iter()
            .chain([&last])
            .map(|l| hex::decode(l).unwrap());
        leaves.map(|data| merkle::leaf_hash(&data)).collect()
    }

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    fn b64s(hashes: &[Hash]) -> Vec<String> {
        hashes.iter().map(|h| b64(h)).collect()
    }

    fn write(dir: &Path, name: &str, case: &Value) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, serde_json::to_vec_pretty(case).unwrap()).unwrap();
    }

    fn inclusion(index: u64, size: usize, proof: Value, leaf: &str, want_err: bool) -> Value {
        let root = merkle::root_from_leaves(&reference_leaves()[..size]);
        json!({"leafIdx": index, "treeSize": size, "root": b64(&root), "leafHash": leaf,
               "proof": proof, "desc": "generated", "wantErr": want_err})
    }

    fn consistency(sizes: (u64, u64), roots: (&str, &str), proof: Value, want_err: bool) -> Value {
        json!({"size1": sizes.0, "size2": sizes.1, "root1": roots.0, "root2": roots.1,
               "proof": proof, "desc": "generated", "wantErr": want_err})
    }

    /// A small corpus in the vectors' layout, generated from the reference tree.
    fn generated_corpus(dir: &Path) {
        let leaves = reference_leaves();
        let root = |n: usize| b64(&merkle::root_from_leaves(&leaves[..n]));
        let leaf5 = b64(&leaves[5]);
        let proof5 = merkle::inclusion_proof(&leaves, 5).unwrap();
        let mut flipped = proof5.clone();
        flipped[1][0] ^= 1;
        let proof = |p: &[Hash]| Value::from(b64s(p));
        let inc = dir.join("inclusion");
        write(
            &inc,
            "a/happy.json",
            &inclusion(5, 8, proof(&proof5), &leaf5, false),
        );
        write(
            &inc,
            "a/null-proof.json",
            &inclusion(0, 1, Value::Null, &b64(&leaves[0]), false),
        );
        write(
            &inc,
            "b/short-leaf.json",
            &inclusion(5, 8, proof(&proof5), &b64(&[1; 9]), true),
        );
        write(
            &inc,
            "b/mislabelled.json",
            &inclusion(5, 8, proof(&flipped), &leaf5, false),
        );
        fs::write(inc.join("README.txt"), "not a vector").unwrap();
        let con = dir.join("consistency");
        let proof68 = proof(&merkle::consistency_proof(&leaves, 6).unwrap());
        let opaque = b64(b"not a hash");
        write(
            &con,
            "happy.json",
            &consistency((6, 8), (&root(6), &root(8)), proof68, false),
        );
        let same = (opaque.as_str(), opaque.as_str());
        write(
            &con,
            "opaque-1.json",
            &consistency((1, 1), same, json!([]), false),
        );
        write(
            &con,
            "opaque-0.json",
            &consistency((0, 0), same, json!([]), true),
        );
    }

    #[test]
    fn reference_tree_has_the_well_known_roots() {
        let leaves = reference_leaves();
        let cases = [
            (
                1,
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            ),
            (
                2,
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            ),
            (
                3,
                "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            ),
            (
                5,
                "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            ),
            (
                8,
                "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
            ),
        ];
        for (size, root) in cases {
            assert_eq!(hex::encode(merkle::root_from_leaves(&leaves[..size])), root);
        }
    }

    #[test]
    fn runs_a_generated_corpus_in_order() {
        let dir = tempfile::tempdir().unwrap();
        generated_corpus(dir.path());
        let outcomes = run_merkle_vectors(dir.path()).unwrap();
        let got: Vec<_> = outcomes
            .iter()
            .map(|o| (o.suite, o.name.as_str(), o.passed))
            .collect();
        let want = [
            (INCLUSION, "a/happy.json", true),
            (INCLUSION, "a/null-proof.json", true),
            (INCLUSION, "b/mislabelled.json", false),
            (INCLUSION, "b/short-leaf.json", true),
            (CONSISTENCY, "happy.json", true),
            (CONSISTENCY, "opaque-0.json", true),
            (CONSISTENCY, "opaque-1.json", true),
        ];
        assert_eq!(got, want);
        assert_eq!(outcomes[2].expected, Expected::Valid);
        assert!(
            outcomes[2]
                .detail
                .starts_with("generated: rejected: root of the tree of size 8")
        );
        assert_eq!(
            outcomes[3].detail,
            "generated: rejected: leafHash is 9 bytes, not 32"
        );
    }

    #[test]
    fn unreadable_corpora_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            run_merkle_vectors(dir.path()).is_err(),
            "no suite directories"
        );
        generated_corpus(dir.path());
        let extra_field = json!({"size1": 1, "size2": 1, "root1": "", "root2": "", "proof": null,
                                 "desc": "", "wantErr": true, "surprise": 1});
        write(
            &dir.path().join("consistency"),
            "extra-field.json",
            &extra_field,
        );
        let err = run_merkle_vectors(dir.path()).unwrap_err();
        assert!(err.path.ends_with("extra-field.json"), "{err}");
    }
}
