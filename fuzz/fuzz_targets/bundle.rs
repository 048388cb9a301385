//! Bundle reading and verification must never panic, on any input.
//!
//! Arbitrary bytes are parsed as a manifest, then read as a tar container; whatever the tar
//! reader accepts goes through every step of `bundle::verify`, with fixed trust inputs: the
//! sample log's verifier key (`testdata/sample-bundle.vkey`) and the test TSA's roots
//! (`testdata/tsa/root-ca.pem`).
//!
//! A mutated file fails step 0 (its manifest digest) before anything else reads it, so when
//! the manifest parses, the files are verified a second time under a manifest that lists
//! them as they are, the way an attacker would reseal a forged bundle. Seeded with
//! `testdata/sample-bundle.tar` (see `fuzz/README.md`), mutations then reach the later
//! steps: nodes, DAG, checkpoints, proofs, tokens and PDFs.
#![no_main]

use std::sync::LazyLock;

use custody_verifier::bundle::{self, BundleFiles, FileEntry, Manifest, VerifyOptions};
use custody_verifier::checkpoint::NoteVerifierKey;
use custody_verifier::timestamp::{TimestampOptions, TrustAnchors};
use custody_verifier::x509::DigestAlgorithm;
use libfuzzer_sys::fuzz_target;

const VKEY: &str = include_str!("../../testdata/sample-bundle.vkey");
const ROOTS: &[u8] = include_bytes!("../../testdata/tsa/root-ca.pem");

/// The sample log's checkpoint key.
static KEYS: LazyLock<Vec<NoteVerifierKey>> = LazyLock::new(|| {
    vec![
        VKEY.trim()
            .parse()
            .expect("testdata/sample-bundle.vkey parses"),
    ]
});

/// The test TSA's trust anchors.
static ANCHORS: LazyLock<TrustAnchors> =
    LazyLock::new(|| TrustAnchors::from_pem(ROOTS).expect("testdata/tsa/root-ca.pem parses"));

/// `files` with a manifest that lists every other file with its true digest and size, or
/// `None` when the manifest does not parse or already lists them so.
fn resealed(files: &BundleFiles) -> Option<BundleFiles> {
    let mut manifest = Manifest::parse(files.get("manifest.json")?).ok()?;
    let listed = files
        .iter()
        .filter(|(path, _)| *path != "manifest.json")
        .map(|(path, bytes)| {
            let sha256 = DigestAlgorithm::Sha256
                .digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let size = bytes.len() as u64;
            (path.to_owned(), FileEntry { sha256, size })
        })
        .collect();
    if manifest.files == listed {
        return None;
    }
    manifest.files = listed;
    let mut files = files.clone();
    *files.get_mut("manifest.json")? = manifest.to_bytes();
    Some(files)
}

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::parse(data);
    let Ok(files) = BundleFiles::from_tar(data) else {
        return;
    };
    let timestamp = TimestampOptions::default();
    let options = VerifyOptions {
        log_keys: &KEYS,
        tsa_anchors: &ANCHORS,
        timestamp: &timestamp,
        max_clock_skew_seconds: 300,
        require_pdfs: true,
        danger_allow_unstamped: false,
        threads: 1,
        progress: None,
    };
    let _ = bundle::verify(&files, &options);
    if let Some(files) = resealed(&files) {
        let _ = bundle::verify(&files, &options);
    }
});
