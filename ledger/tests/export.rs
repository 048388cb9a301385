//! Exported bundles are accepted by `custody_verifier::bundle::verify`, and rejected
//! after a single-byte change; exports wait for timestamps with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use custody_ledger::{ExportError, Ledger, LedgerError};
use custody_verifier::bundle::{BundleFiles, VerifiedBundle, VerifyOptions, verify};
use custody_verifier::checkpoint::NoteVerifierKey;
use custody_verifier::merkle::Hash;
use custody_verifier::timestamp::TimestampOptions;
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Db, LocalTsa, ORG, StampPending, TestLedger, body, node};

both_engines!(
    case_bundles_verify_and_tampering_is_caught,
    unstamped_nodes_make_export_wait,
    range_bundles_verify,
);

fn check(files: &BundleFiles, key: &NoteVerifierKey) -> Result<VerifiedBundle, String> {
    let anchors = support::tsa_anchors();
    let timestamp = TimestampOptions::default();
    let options = VerifyOptions::new(std::slice::from_ref(key), &anchors, &timestamp);
    verify(files, &options).map_err(|e| e.to_string())
}

fn sample_pdf() -> Vec<u8> {
    b"%PDF-1.7\n% custody test snapshot\n%%EOF\n".to_vec()
}

/// A case spread over two stamped checkpoints, with an ancestor outside the case and a
/// node of another case in between.
async fn two_checkpoint_case(l: &Ledger, tsa: &LocalTsa) {
    let policy = l
        .append(ORG, node("policy_set", None, &[], 0))
        .await
        .unwrap();
    let trigger = l
        .append(
            ORG,
            node(
                "termination_detected",
                Some("c-1"),
                &[policy.parent_ref()],
                1,
            ),
        )
        .await
        .unwrap();
    l.checkpoint(ORG).await.unwrap().unwrap();
    tsa.stamp_pending(l).await;
    l.append(ORG, node("termination_detected", Some("c-2"), &[], 2))
        .await
        .unwrap();
    let pdf = sample_pdf();
    let mut snapshot = node("snapshot_uploaded", Some("c-1"), &[trigger.parent_ref()], 3);
    snapshot.body = body(json!({"snapshot_id": "snap-1", "pdf": {
        "sha256": hex::encode(Sha256::digest(&pdf)), "size": pdf.len(),
        "object_key": "offboarding-snapshots/acme/emp-1042/2025-06-01T09:00:03Z.pdf",
        "version_id": null, "lock_mode": "NONE", "retain_until": null}}));
    let snap = l.append(ORG, snapshot).await.unwrap();
    l.append(
        ORG,
        node("provider_revoked", Some("c-1"), &[snap.parent_ref()], 4),
    )
    .await
    .unwrap();
    l.checkpoint(ORG).await.unwrap().unwrap();
    tsa.stamp_pending(l).await;
}

async fn case_bundles_verify_and_tampering_is_caught(db: Db) {
    let t = TestLedger::with_org(db).await;
    let tsa = LocalTsa::start();
    two_checkpoint_case(&t.ledger, &tsa).await;
    let key = t.ledger.verifier_key(ORG).await.unwrap();
    let pdf = sample_pdf();
    let source =
        |digest: &Hash| (*digest == <[u8; 32]>::from(Sha256::digest(&pdf))).then(|| pdf.clone());
    let files = t
        .ledger
        .export_case(ORG, "c-1", Some(&source))
        .await
        .unwrap();
    let report = check(&files, &key).unwrap();
    assert_eq!(
        report.node_count, 4,
        "case nodes and the ancestor outside the case"
    );
    assert_eq!(
        report
            .checkpoints
            .iter()
            .map(|c| c.size)
            .collect::<Vec<_>>(),
        vec![2, 5]
    );
    assert!(report.unstamped_nodes.is_empty());
    assert_eq!(report.pdfs.len(), 1);
    assert!(files.get("consistency/2-5.hashes").is_some());
    // Without a PDF source the bundle still verifies; the PDF is reported as not included.
    check(&t.ledger.export_case(ORG, "c-1", None).await.unwrap(), &key).unwrap();
    // Any single-byte change to a node, proof, checkpoint or token is caught, even when
    // the forger also rewrites the manifest's digests.
    let paths: Vec<String> = files
        .iter()
        .map(|(p, _)| p.to_owned())
        .filter(|p| p != "manifest.json")
        .collect();
    for path in paths {
        let len = files.get(&path).unwrap().len();
        for offset in (0..len).step_by((len / 6).max(1)) {
            let mut forged = files.clone();
            forged.get_mut(&path).unwrap()[offset] ^= 0x01;
            reseal(&mut forged);
            assert!(
                check(&forged, &key).is_err(),
                "a flipped byte {offset} of {path} was accepted"
            );
        }
    }
}

fn reseal(files: &mut BundleFiles) {
    use custody_verifier::bundle::{FileEntry, Manifest};
    let mut manifest = Manifest::parse(files.get("manifest.json").unwrap()).unwrap();
    manifest.files = files
        .iter()
        .filter(|(p, _)| *p != "manifest.json")
        .map(|(p, b)| {
            (
                p.to_owned(),
                FileEntry {
                    sha256: hex::encode(Sha256::digest(b)),
                    size: b.len() as u64,
                },
            )
        })
        .collect();
    *files.get_mut("manifest.json").unwrap() = manifest.to_bytes();
}

async fn unstamped_nodes_make_export_wait(db: Db) {
    let t = TestLedger::with_org(db).await;
    let l = &t.ledger;
    let root = l
        .append(ORG, node("termination_detected", Some("c-1"), &[], 0))
        .await
        .unwrap();
    l.checkpoint(ORG).await.unwrap().unwrap();
    let err = l.export_case(ORG, "c-1", None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Export(ExportError::NotYetStamped {
                index: 0,
                waiting: 1,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("1 checkpoint(s) of `acme` are waiting for a TSA"),
        "{err}"
    );
    let tsa = LocalTsa::start();
    tsa.stamp_pending(l).await;
    l.append(
        ORG,
        node("lockout_requested", Some("c-1"), &[root.parent_ref()], 1),
    )
    .await
    .unwrap();
    let err = l.export_case(ORG, "c-1", None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Export(ExportError::NotYetStamped {
                index: 1,
                waiting: 0,
                ..
            })
        ),
        "{err:?}"
    );
    l.checkpoint(ORG).await.unwrap().unwrap();
    tsa.stamp_pending(l).await;
    check(
        &l.export_case(ORG, "c-1", None).await.unwrap(),
        &l.verifier_key(ORG).await.unwrap(),
    )
    .unwrap();
    assert!(matches!(
        l.export_case(ORG, "c-404", None).await,
        Err(LedgerError::Export(ExportError::EmptyCase { .. }))
    ));
}

async fn range_bundles_verify(db: Db) {
    let t = TestLedger::with_org(db).await;
    let tsa = LocalTsa::start();
    two_checkpoint_case(&t.ledger, &tsa).await;
    let l = &t.ledger;
    let key = l.verifier_key(ORG).await.unwrap();
    let whole = check(&l.export_range(ORG, 0, 5, None).await.unwrap(), &key).unwrap();
    assert_eq!(whole.node_count, 5);
    let tail = check(&l.export_range(ORG, 2, 5, None).await.unwrap(), &key).unwrap();
    assert_eq!(tail.node_count, 3);
    l.append(ORG, node("x", None, &[], 9)).await.unwrap();
    l.checkpoint(ORG).await.unwrap().unwrap();
    let err = l.export_range(ORG, 2, 6, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Export(ExportError::CheckpointNotStamped {
                size: 6,
                waiting: 1,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(matches!(
        l.export_range(ORG, 3, 5, None).await,
        Err(LedgerError::Export(_))
    ));
    assert!(matches!(
        l.export_range(ORG, 5, 5, None).await,
        Err(LedgerError::Export(ExportError::EmptyRange { .. }))
    ));
}
