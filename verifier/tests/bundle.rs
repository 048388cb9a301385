//! Bundles built through the crate's own writer, with real signed checkpoints and real
//! RFC 3161 tokens from a local `openssl ts` TSA, verified and then tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use custody_verifier::bundle::{self, BundleFiles, VerifiedBundle, VerifyOptions};
use custody_verifier::checkpoint::{NoteSigner, NoteVerifierKey};
use custody_verifier::error::{Error, LinkError};
use custody_verifier::timestamp::{TimestampOptions, TrustAnchors};
use serde_json::json;
use support::{LocalTsa, ORIGIN, TestLog, offboarding_case, reseal};

const PDF: &[u8] = b"%PDF-1.7\n% audit snapshot for emp-1042\n%%EOF\n";
const PDF2: &[u8] = b"%PDF-1.7 other";

fn verify_with(
    files: &BundleFiles,
    keys: &[NoteVerifierKey],
    anchors: &TrustAnchors,
    allow_unstamped: bool,
) -> Result<VerifiedBundle, Error> {
    let timestamp = TimestampOptions::default();
    let options = VerifyOptions {
        log_keys: keys,
        tsa_anchors: anchors,
        timestamp: &timestamp,
        max_clock_skew_seconds: 300,
        require_pdfs: true,
        danger_allow_unstamped: allow_unstamped,
        threads: 2,
        progress: None,
    };
    bundle::verify(files, &options)
}

fn verify(log: &TestLog, files: &BundleFiles) -> Result<VerifiedBundle, Error> {
    verify_with(files, &[log.verifier_key()], &support::tsa_anchors(), false)
}

/// Two cases in one log, the second one's nodes after the first's checkpoint.
fn two_cases() -> TestLog {
    let mut log = TestLog::new();
    offboarding_case(&mut log, "case-1", PDF, 0);
    offboarding_case(&mut log, "case-2", PDF2, 60);
    log
}

#[test]
fn a_case_bundle_verifies_with_every_node_timestamped() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let files = log.case_bundle("case-1", &[6, 12], &tsa, &[PDF]);
    let report = verify(&log, &files).unwrap();
    assert_eq!(report.node_count, 6);
    assert_eq!(report.checkpoints.len(), 2);
    assert_eq!(report.tokens.len(), 2);
    assert!(
        report
            .node_times
            .iter()
            .all(|n| n.stamped_by_checkpoint == Some(6) && n.stamped_at.is_some())
    );
    assert_eq!(report.pdfs.len(), 1);
    assert!(report.pdfs[0].included);
    assert!(!report.development_tsa);

    let tar = files.to_tar().unwrap();
    let from_tar = BundleFiles::from_tar(tar.as_slice()).unwrap();
    assert_eq!(from_tar, files);
    verify(&log, &from_tar).unwrap();
}

#[test]
fn org_bundles_verify_from_the_start_and_from_a_checkpoint() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let whole = log.org_bundle(0, 12, &[5, 12], &tsa, &[PDF, PDF2]);
    let report = verify(&log, &whole).unwrap();
    assert_eq!(report.node_count, 12);
    assert_eq!(report.node_times[4].stamped_by_checkpoint, Some(5));
    assert_eq!(report.node_times[5].stamped_by_checkpoint, Some(12));

    let tail = log.org_bundle(6, 12, &[6, 12], &tsa, &[PDF2]);
    let report = verify(&log, &tail).unwrap();
    assert_eq!(report.node_count, 6);
    assert_eq!(report.edges_before_range, 0);
}

#[test]
fn every_single_byte_change_is_caught() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let files = log.case_bundle("case-1", &[6, 12], &tsa, &[PDF]);
    let paths: Vec<String> = files
        .iter()
        .map(|(p, _)| p.to_owned())
        .filter(|p| p != "manifest.json")
        .collect();
    let mut tried = 0;
    for path in &paths {
        let len = files.get(path).unwrap().len();
        let stride = (len / 150).max(1);
        for pos in (0..len).step_by(stride).chain([len - 1]) {
            let mut tampered = files.clone();
            tampered.get_mut(path).unwrap()[pos] ^= 0x01;
            let err = verify(&log, &tampered).expect_err("a changed byte without a new manifest");
            assert_eq!(err.step(), 0, "{path}@{pos}: {err}");
            reseal(&mut tampered);
            let result = verify(&log, &tampered);
            assert!(
                result.is_err(),
                "{path}@{pos}: a changed byte with a resealed manifest verified"
            );
            tried += 1;
        }
    }
    assert!(tried > 300, "only {tried} positions tried");
}

#[test]
fn missing_extra_and_unlisted_files_fail_the_inventory() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let files = log.case_bundle("case-1", &[6, 12], &tsa, &[PDF]);

    let mut missing = files.clone();
    missing.remove("checkpoints/12.note");
    assert!(matches!(
        verify(&log, &missing),
        Err(Error::Bundle(bundle::BundleError::MissingFile { .. }))
    ));

    let mut extra = files.clone();
    extra.insert("notes.txt".into(), b"x".to_vec()).unwrap();
    assert!(matches!(
        verify(&log, &extra),
        Err(Error::Bundle(bundle::BundleError::UnexpectedPath { .. }))
    ));

    let mut unlisted = files.clone();
    unlisted
        .insert("checkpoints/13.note".into(), b"x".to_vec())
        .unwrap();
    assert!(matches!(
        verify(&log, &unlisted),
        Err(Error::Bundle(bundle::BundleError::UnlistedFile { .. }))
    ));

    // Removing a proof and resealing: the inventory passes, the log step does not.
    let mut no_proof = files.clone();
    no_proof.remove("proofs/3.tlog-proof");
    reseal(&mut no_proof);
    assert!(matches!(
        verify(&log, &no_proof),
        Err(Error::Link(LinkError::ProofMissing { index: 3 }))
    ));
}

#[test]
fn a_manifest_naming_another_organisations_log_is_refused() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let mut files = log.case_bundle("case-1", &[6, 12], &tsa, &[PDF]);
    let manifest = String::from_utf8(files.get("manifest.json").unwrap().to_vec()).unwrap();
    *files.get_mut("manifest.json").unwrap() = manifest
        .replace("\"org\": \"acme\"", "\"org\": \"globex\"")
        .into_bytes();
    let err = verify(&log, &files).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Bundle(bundle::BundleError::ForeignOrigin { .. })
        ),
        "{err}"
    );
    assert!(
        !err.is_unusable(),
        "a lying manifest fails verification (exit 1)"
    );
}

#[test]
fn the_wrong_log_key_or_tsa_root_is_refused() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let files = log.case_bundle("case-1", &[6, 12], &tsa, &[PDF]);
    let stranger = NoteSigner::from_seed(ORIGIN, [8; 32])
        .unwrap()
        .verifier_key();
    let err = verify_with(&files, &[stranger], &support::tsa_anchors(), false).unwrap_err();
    assert_eq!(err.step(), 3, "{err}");

    let other_root = std::fs::read(support::testdata().join("tsa/root-rsa.crt")).unwrap();
    let err = verify_with(
        &files,
        &[log.verifier_key()],
        &TrustAnchors::from_pem(&other_root).unwrap(),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Timestamp { .. }), "{err}");
}

#[test]
fn a_node_claiming_a_time_after_its_timestamp_is_refused() {
    let mut log = TestLog::new();
    offboarding_case(&mut log, "case-1", PDF, 0);
    // Claims to be recorded ten years after the base time, long after any token.
    log.step(
        "legal_hold",
        "case-1",
        &[],
        json!({"by": "counsel"}),
        10 * 365 * 86_400,
    );
    let tsa = LocalTsa::start();
    let files = log.org_bundle(0, 7, &[7], &tsa, &[PDF]);
    let err = verify(&log, &files).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Link(LinkError::RecordedAfterStamp { index: 6, .. })
        ),
        "{err}"
    );
}

#[test]
fn unstamped_nodes_fail_unless_the_auditor_waives_it() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let mut files = log.org_bundle(0, 12, &[6, 12], &tsa, &[PDF, PDF2]);
    files.remove("timestamps/12.0.tst");
    reseal(&mut files);
    let err = verify(&log, &files).unwrap_err();
    assert!(
        matches!(err, Error::Link(LinkError::Unstamped { index: 6 })),
        "{err}"
    );
    let report = verify_with(&files, &[log.verifier_key()], &support::tsa_anchors(), true).unwrap();
    assert_eq!(report.unstamped_nodes, (6..12).collect::<Vec<_>>());
}

#[test]
fn a_substituted_node_breaks_the_root() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let mut files = log.org_bundle(0, 12, &[12], &tsa, &[PDF, PDF2]);
    // Replace the last node by another valid node (no child names it).
    let mut other = log.nodes[11].node().clone();
    other.body.insert("sessions".into(), json!(4));
    let replacement = other.encode().unwrap();
    let text = String::from_utf8(files.get("nodes.log").unwrap().to_vec()).unwrap();
    let original = format!(
        "11 {}",
        String::from_utf8(log.nodes[11].bytes().to_vec()).unwrap()
    );
    let forged = format!(
        "11 {}",
        String::from_utf8(replacement.bytes().to_vec()).unwrap()
    );
    *files.get_mut("nodes.log").unwrap() = text.replace(&original, &forged).into_bytes();
    reseal(&mut files);
    let err = verify(&log, &files).unwrap_err();
    assert!(
        matches!(err, Error::Link(LinkError::RootMismatch { size: 12, .. })),
        "{err}"
    );
}

#[test]
fn a_replaced_pdf_or_a_missing_one_is_caught() {
    let log = two_cases();
    let tsa = LocalTsa::start();
    let mut files = log.case_bundle("case-1", &[6, 12], &tsa, &[PDF]);
    let name = files
        .iter()
        .map(|(p, _)| p.to_owned())
        .find(|p| p.starts_with("pdfs/"))
        .unwrap();
    *files.get_mut(&name).unwrap() = b"%PDF-1.7 forged".to_vec();
    reseal(&mut files);
    assert_eq!(verify(&log, &files).unwrap_err().step(), 6);
    files.remove(&name);
    reseal(&mut files);
    assert!(matches!(
        verify(&log, &files),
        Err(Error::Link(LinkError::PdfMissing { index: 1, .. }))
    ));
}
