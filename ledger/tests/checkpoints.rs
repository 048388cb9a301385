//! Checkpoints: signed only when the log grew, never forked by racing signers, made by
//! the background checkpointer, and the stamping queue behind them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use custody_ledger::{Checkpointer, Ledger};
use custody_verifier::checkpoint::verify_checkpoint;
use custody_verifier::merkle;
use support::{Db, LocalTsa, ORG, StampPending, TestLedger, eventually, node};

both_engines!(
    checkpoints_are_signed_only_when_the_log_grew,
    racing_ledgers_never_sign_a_fork,
    the_checkpointer_covers_appends_and_signals,
    stamping_queue_and_status,
);

async fn checkpoints_are_signed_only_when_the_log_grew(db: Db) {
    let t = TestLedger::with_org(db).await;
    let l = &t.ledger;
    assert!(
        l.checkpoint(ORG).await.unwrap().is_none(),
        "an empty log has no checkpoint"
    );
    let a = l
        .append(ORG, node("termination_detected", Some("c-1"), &[], 0))
        .await
        .unwrap();
    let b = l
        .append(
            ORG,
            node("lockout_requested", Some("c-1"), &[a.parent_ref()], 1),
        )
        .await
        .unwrap();
    let first = l.checkpoint(ORG).await.unwrap().unwrap();
    assert_eq!(first.size, 2);
    assert!(
        l.checkpoint(ORG).await.unwrap().is_none(),
        "no growth, no checkpoint"
    );
    let key = l.verifier_key(ORG).await.unwrap();
    let verified = verify_checkpoint(&first.note, &[key]).unwrap();
    assert_eq!(verified.checkpoint().origin, "custody.test/custody/acme");
    assert_eq!(
        verified.checkpoint().root,
        merkle::root_from_leaves(&[a.leaf_hash, b.leaf_hash])
    );
    assert_eq!(first.note_text().unwrap(), verified.note_text());
    assert_eq!(l.latest_checkpoint(ORG).await.unwrap().unwrap(), first);
    assert_eq!(l.checkpoint_at(ORG, 2).await.unwrap().unwrap(), first);
    let proof = l.tlog_proof(ORG, 0, 2).await.unwrap();
    proof
        .verify(&a.leaf_hash, &[l.verifier_key(ORG).await.unwrap()])
        .unwrap();
}

/// Two ledgers (two pools, two caches) append and checkpoint the same log concurrently.
async fn racing_ledgers_never_sign_a_fork(db: Db) {
    let t = TestLedger::with_org(db).await;
    let ledgers = [t.ledger.clone(), t.another().await];
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut appenders = tokio::task::JoinSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, ledger) in ledgers.iter().enumerate() {
        let appender = ledger.clone();
        appenders.spawn(async move {
            for i in 0..40 {
                let batch = (0..3)
                    .map(|j| node("step", None, &[], (n * 1000 + i * 3 + j) as i64))
                    .collect();
                appender.append_batch(ORG, batch).await.unwrap();
            }
        });
        for _ in 0..2 {
            let signer = ledger.clone();
            let done = done.clone();
            tasks.spawn(async move {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    signer.checkpoint(ORG).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
        }
    }
    while let Some(result) = appenders.join_next().await {
        result.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    ledgers[1].checkpoint(ORG).await.unwrap();
    check_no_fork(&t.ledger).await;
}

async fn check_no_fork(ledger: &Ledger) {
    let size = ledger.size(ORG).await.unwrap();
    let mut leaves = Vec::new();
    for index in 0..size {
        leaves.push(ledger.node(ORG, index).await.unwrap().unwrap().leaf_hash);
    }
    let key = ledger.verifier_key(ORG).await.unwrap();
    let checkpoints = ledger.checkpoints(ORG).await.unwrap();
    assert!(
        checkpoints.len() >= 2,
        "expected several checkpoints, got {}",
        checkpoints.len()
    );
    assert_eq!(checkpoints.last().unwrap().size, size);
    let mut previous: Option<(u64, merkle::Hash)> = None;
    for stored in &checkpoints {
        let verified = verify_checkpoint(&stored.note, std::slice::from_ref(&key)).unwrap();
        let c = verified.checkpoint();
        assert_eq!((c.size, c.root), (stored.size, stored.root));
        assert_eq!(
            c.root,
            merkle::root_from_leaves(&leaves[..c.size as usize]),
            "checkpoint {}",
            c.size
        );
        if let Some((old, old_root)) = previous {
            assert!(old < c.size, "sizes strictly increase");
            let proof = ledger.consistency_proof(ORG, old, c.size).await.unwrap();
            merkle::verify_consistency(old, c.size, &old_root, &c.root, &proof).unwrap();
        }
        previous = Some((c.size, c.root));
    }
}

async fn the_checkpointer_covers_appends_and_signals(db: Db) {
    let t = TestLedger::with_org(db).await;
    let mut signal = t.ledger.checkpoint_signal();
    let checkpointer = Checkpointer::spawn_every(t.ledger.clone(), Duration::from_millis(50));
    let appended = t
        .ledger
        .append(ORG, node("termination_detected", Some("c-1"), &[], 0))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), signal.changed())
        .await
        .unwrap()
        .unwrap();
    let covered = eventually(Duration::from_secs(5), async || {
        t.ledger
            .latest_checkpoint(ORG)
            .await
            .unwrap()
            .is_some_and(|c| c.size > appended.index)
    })
    .await;
    assert!(covered);
    let before = t.ledger.checkpoints(ORG).await.unwrap().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        t.ledger.checkpoints(ORG).await.unwrap().len(),
        before,
        "no growth, no new checkpoint"
    );
    checkpointer.shutdown().await;
}

async fn stamping_queue_and_status(db: Db) {
    let t = TestLedger::with_org(db).await;
    let l = &t.ledger;
    l.create_org("globex").await.unwrap();
    let status = l.stamping_status(ORG).await.unwrap();
    assert_eq!(
        (
            status.unstamped,
            status.oldest_unstamped_created_at,
            status.latest_stamped_size
        ),
        (0, None, None)
    );
    l.append(ORG, node("a", None, &[], 0)).await.unwrap();
    let first = l.checkpoint(ORG).await.unwrap().unwrap();
    l.append("globex", node("a", None, &[], 0)).await.unwrap();
    l.checkpoint("globex").await.unwrap().unwrap();
    l.append(ORG, node("b", None, &[], 1)).await.unwrap();
    l.checkpoint(ORG).await.unwrap().unwrap();
    let pending = l.unstamped_checkpoints(10).await.unwrap();
    let order: Vec<(&str, u64)> = pending.iter().map(|p| (p.org.as_str(), p.size)).collect();
    assert_eq!(
        order,
        vec![(ORG, 2), ("globex", 1)],
        "each org's newest checkpoint, the longest-waiting org first"
    );
    let second = l.checkpoint_at(ORG, 2).await.unwrap().unwrap();
    assert_eq!(pending[0].note_text, second.note_text().unwrap());
    assert_eq!(l.unstamped_checkpoints(1).await.unwrap().len(), 1);
    let status = l.stamping_status(ORG).await.unwrap();
    assert_eq!(status.unstamped, 2);
    assert_eq!(status.oldest_unstamped_created_at, Some(first.created_at));
    let tsa = LocalTsa::start();
    let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&pending[0].note_text).into();
    let (token, gen_time) = support::stamp_with_time(&tsa, &digest);
    l.record_timestamp(
        ORG,
        2,
        "local",
        &token,
        gen_time,
        Some(b"-----BEGIN CERTIFICATE-----\n"),
    )
    .await
    .unwrap();
    l.record_timestamp(ORG, 2, "local", &token, gen_time, None)
        .await
        .unwrap();
    let status = l.stamping_status(ORG).await.unwrap();
    assert_eq!(
        (status.unstamped, status.latest_stamped_size),
        (0, Some(2)),
        "the token over checkpoint 2 also covers checkpoint 1"
    );
    let stored = l.timestamps(ORG, 2).await.unwrap();
    assert_eq!(stored.len(), 1, "the same token is stored once");
    assert_eq!(
        (stored[0].token_der.as_slice(), stored[0].gen_time),
        (token.as_slice(), gen_time)
    );
    assert_eq!(
        stored[0].certs_pem.as_deref(),
        Some(&b"-----BEGIN CERTIFICATE-----\n"[..])
    );
    tsa.stamp_pending(l).await;
    assert!(l.unstamped_checkpoints(10).await.unwrap().is_empty());
}
