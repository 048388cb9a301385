//! Roots and proofs computed from stored subtree hashes equal the verifier's, computed
//! from all the leaves, and verify — on both engines, for random log sizes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use custody_verifier::merkle::{self, Hash};
use proptest::prelude::*;
use support::{Db, ORG, TestLedger, node};

/// Appends `size` nodes in batches of random sizes and returns their leaf hashes.
async fn grow(t: &TestLedger, size: u64, batches: &[usize]) -> Vec<Hash> {
    let mut leaves = Vec::new();
    let mut sizes = batches.iter().cycle();
    while (leaves.len() as u64) < size {
        let want = (*sizes.next().unwrap()).min(size as usize - leaves.len());
        let batch = (0..want)
            .map(|i| node("step", None, &[], (leaves.len() + i) as i64))
            .collect();
        leaves.extend(
            t.ledger
                .append_batch(ORG, batch)
                .await
                .unwrap()
                .iter()
                .map(|a| a.leaf_hash),
        );
    }
    leaves
}

async fn check(db: Db, size: u64, probes: Vec<(u64, u64, u64)>, batches: Vec<usize>) {
    let t = TestLedger::with_org(db).await;
    let leaves = grow(&t, size, &batches).await;
    // A fresh ledger (no frontier cache) sees the same tree.
    let ledger = t.another().await;
    for (a, b, c) in probes {
        let tree = 1 + c % size;
        let slice = &leaves[..tree as usize];
        let root = ledger.root(ORG, tree).await.unwrap();
        assert_eq!(root, merkle::root_from_leaves(slice), "root of {tree}");
        let index = a % tree;
        let proof = ledger.inclusion_proof(ORG, index, tree).await.unwrap();
        assert_eq!(proof, merkle::inclusion_proof(slice, index).unwrap());
        merkle::verify_inclusion(&leaves[index as usize], index, tree, &proof, &root).unwrap();
        let old = 1 + b % tree;
        let consistency = ledger.consistency_proof(ORG, old, tree).await.unwrap();
        assert_eq!(consistency, merkle::consistency_proof(slice, old).unwrap());
        let old_root = merkle::root_from_leaves(&leaves[..old as usize]);
        merkle::verify_consistency(old, tree, &old_root, &root, &consistency).unwrap();
        let frontier = ledger.frontier(ORG, tree).await.unwrap();
        let range = merkle::CompactRange::from_frontier(tree, frontier).unwrap();
        assert_eq!(range.root(), root);
    }
}

fn run(db: Db, size: u64, probes: Vec<(u64, u64, u64)>, batches: Vec<usize>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(check(db, size, probes, batches));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn proofs_from_the_store_equal_the_verifiers_on_sqlite(
        size in 1u64..300,
        probes in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 8),
        batches in prop::collection::vec(1usize..70, 1..5),
    ) {
        run(Db::Sqlite, size, probes, batches);
    }

    #[test]
    fn proofs_from_the_store_equal_the_verifiers_on_postgres(
        size in 1u64..300,
        probes in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 8),
        batches in prop::collection::vec(1usize..70, 1..5),
    ) {
        run(Db::Postgres, size, probes, batches);
    }
}

both_engines!(sizes_beyond_the_log_are_refused);

async fn sizes_beyond_the_log_are_refused(db: Db) {
    use custody_ledger::{LedgerError, RangeError};
    let t = TestLedger::with_org(db).await;
    grow(&t, 5, &[5]).await;
    let l = &t.ledger;
    assert_eq!(l.root(ORG, 0).await.unwrap(), merkle::empty_root());
    assert!(matches!(
        l.root(ORG, 6).await,
        Err(LedgerError::Range(RangeError::SizeBeyondLog {
            size: 6,
            log_size: 5
        }))
    ));
    assert!(matches!(
        l.inclusion_proof(ORG, 5, 5).await,
        Err(LedgerError::Range(RangeError::IndexOutsideTree { .. }))
    ));
    assert!(matches!(
        l.consistency_proof(ORG, 0, 5).await,
        Err(LedgerError::Range(RangeError::BadConsistencySizes { .. }))
    ));
    assert!(matches!(
        l.consistency_proof(ORG, 3, 2).await,
        Err(LedgerError::Range(_))
    ));
}
