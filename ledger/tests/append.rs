//! Appends and queries, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use custody_ledger::{AppendError, LedgerError, NodeFilter};
use custody_verifier::node::{ParentRef, decode};
use support::{Db, ORG, TestLedger, node};

both_engines!(
    appends_return_durable_indices_and_read_back,
    idempotency_keys_return_the_first_node,
    invalid_parents_are_refused_and_nothing_is_written,
    unknown_orgs_are_refused,
    a_batch_may_name_its_own_earlier_nodes,
    case_sub_dag_and_descendants,
    nodes_by_kind_subject_and_time_are_paginated,
    create_org_is_idempotent_and_keeps_its_key,
);

async fn appends_return_durable_indices_and_read_back(db: Db) {
    let t = TestLedger::with_org(db).await;
    let first = t
        .ledger
        .append(ORG, node("termination_detected", Some("c-1"), &[], 0))
        .await
        .unwrap();
    let second = t
        .ledger
        .append(
            ORG,
            node("lockout_requested", Some("c-1"), &[first.parent_ref()], 1),
        )
        .await
        .unwrap();
    assert_eq!((first.index, second.index), (0, 1));
    assert!(!first.duplicate);
    // A new ledger (new pool, no cache) reads what the first committed.
    let other = t.another().await;
    let stored = other.node(ORG, 1).await.unwrap().unwrap();
    let decoded = decode(&stored.bytes).unwrap();
    assert_eq!(decoded.leaf_hash(), second.leaf_hash);
    assert_eq!(stored.leaf_hash, second.leaf_hash);
    assert_eq!(decoded.node().org, ORG);
    assert_eq!(decoded.node().parents, vec![first.parent_ref()]);
    assert_eq!(stored.kind, "lockout_requested");
    let by_hash = other
        .node_by_hash(ORG, &first.leaf_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hash.index, 0);
    assert_eq!(other.size(ORG).await.unwrap(), 2);
    assert!(other.node(ORG, 2).await.unwrap().is_none());
}

async fn idempotency_keys_return_the_first_node(db: Db) {
    let t = TestLedger::with_org(db).await;
    let mut keyed = node("termination_detected", Some("c-1"), &[], 0);
    keyed.idempotency_key = Some("bamboohr:evt-1".into());
    let first = t.ledger.append(ORG, keyed.clone()).await.unwrap();
    let mut retry = keyed.clone();
    retry.recorded_at = retry.recorded_at.offset_seconds(5);
    let again = t.ledger.append(ORG, retry).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.index, again.leaf_hash),
        (first.index, first.leaf_hash)
    );
    // Within one batch, too.
    let mut other = node("termination_detected", Some("c-2"), &[], 1);
    other.idempotency_key = Some("okta:evt-9".into());
    let results = t
        .ledger
        .append_batch(ORG, vec![other.clone(), other.clone(), keyed])
        .await
        .unwrap();
    assert_eq!(results[0].index, 1);
    assert!(!results[0].duplicate);
    assert!(results[1].duplicate && results[1].index == 1);
    assert!(results[2].duplicate && results[2].index == 0);
    assert_eq!(t.ledger.size(ORG).await.unwrap(), 2);
}

async fn invalid_parents_are_refused_and_nothing_is_written(db: Db) {
    let t = TestLedger::with_org(db).await;
    let root = t
        .ledger
        .append(ORG, node("termination_detected", Some("c-1"), &[], 0))
        .await
        .unwrap();
    let good = node("lockout_requested", Some("c-1"), &[root.parent_ref()], 1);
    let unknown = ParentRef {
        index: 7,
        hash: root.leaf_hash,
    };
    let err = t
        .ledger
        .append_batch(ORG, vec![good.clone(), node("x", None, &[unknown], 2)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Append(AppendError::UnknownParent {
                position: 1,
                parent_index: 7,
                log_size: 2
            })
        ),
        "{err:?}"
    );
    let wrong = ParentRef {
        index: 0,
        hash: [9; 32],
    };
    let err = t
        .ledger
        .append(ORG, node("x", None, &[wrong], 2))
        .await
        .unwrap_err();
    match err {
        LedgerError::Append(AppendError::ParentHashMismatch {
            position,
            parent_index,
            listed,
            stored,
        }) => {
            assert_eq!(
                (position, parent_index, listed, stored),
                (0, 0, [9; 32], root.leaf_hash)
            );
        }
        other => panic!("{other:?}"),
    }
    let bad_kind = node("Not A Kind", None, &[], 3);
    let err = t.ledger.append(ORG, bad_kind).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Append(AppendError::InvalidNode { position: 0, .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        t.ledger.size(ORG).await.unwrap(),
        1,
        "a refused batch writes nothing"
    );
    // The log still appends after refusals (the frontier cache was not advanced).
    let next = t.ledger.append(ORG, good).await.unwrap();
    assert_eq!(next.index, 1);
    assert_eq!(
        t.ledger.root(ORG, 2).await.unwrap(),
        custody_verifier::merkle::root_from_leaves(&[root.leaf_hash, next.leaf_hash])
    );
}

async fn unknown_orgs_are_refused(db: Db) {
    let t = TestLedger::with_org(db).await;
    let err = t
        .ledger
        .append("globex", node("x", None, &[], 0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::UnknownOrg { ref org } if org == "globex"),
        "{err:?}"
    );
    assert!(matches!(
        t.ledger.checkpoint("globex").await,
        Err(LedgerError::UnknownOrg { .. })
    ));
    assert!(matches!(
        t.ledger.create_org("Bad Org").await,
        Err(LedgerError::Append(AppendError::InvalidOrg { .. }))
    ));
}

async fn a_batch_may_name_its_own_earlier_nodes(db: Db) {
    let t = TestLedger::with_org(db).await;
    t.ledger
        .append(ORG, node("policy", None, &[], 0))
        .await
        .unwrap();
    // Index 1 will be the first node of the batch; the second names it.
    let first = node("termination_detected", Some("c-1"), &[], 1);
    let hash = custody_verifier::node::Node {
        org: ORG.into(),
        kind: first.kind.clone(),
        case_id: first.case_id.clone(),
        subject: first.subject.clone(),
        parents: vec![],
        recorded_at: first.recorded_at,
        body: first.body.clone(),
    }
    .encode()
    .unwrap()
    .leaf_hash();
    let second = node(
        "lockout_requested",
        Some("c-1"),
        &[ParentRef { index: 1, hash }],
        2,
    );
    let results = t
        .ledger
        .append_batch(ORG, vec![first, second])
        .await
        .unwrap();
    assert_eq!(
        results.iter().map(|a| a.index).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let forward = node("x", None, &[ParentRef { index: 4, hash }], 3);
    assert!(t.ledger.append_batch(ORG, vec![forward]).await.is_err());
}

async fn case_sub_dag_and_descendants(db: Db) {
    let t = TestLedger::with_org(db).await;
    let l = &t.ledger;
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
    let _other = l
        .append(ORG, node("termination_detected", Some("c-2"), &[], 2))
        .await
        .unwrap();
    let snap = l
        .append(
            ORG,
            node("snapshot_uploaded", Some("c-1"), &[trigger.parent_ref()], 3),
        )
        .await
        .unwrap();
    let revoke = l
        .append(
            ORG,
            node("provider_revoked", Some("c-1"), &[snap.parent_ref()], 4),
        )
        .await
        .unwrap();
    let indices =
        |nodes: Vec<custody_ledger::StoredNode>| nodes.iter().map(|n| n.index).collect::<Vec<_>>();
    assert_eq!(
        indices(l.case_nodes(ORG, "c-1").await.unwrap()),
        vec![0, 1, 3, 4]
    );
    assert_eq!(indices(l.case_nodes(ORG, "c-2").await.unwrap()), vec![2]);
    assert_eq!(
        indices(l.descendants(ORG, trigger.index).await.unwrap()),
        vec![1, 3, 4]
    );
    assert_eq!(
        indices(l.ancestors(ORG, revoke.index).await.unwrap()),
        vec![0, 1, 3, 4]
    );
    assert!(l.case_nodes(ORG, "c-404").await.unwrap().is_empty());
}

async fn nodes_by_kind_subject_and_time_are_paginated(db: Db) {
    let t = TestLedger::with_org(db).await;
    let mut batch = Vec::new();
    for i in 0..25 {
        let mut n = node(
            if i % 2 == 0 {
                "provider_revoked"
            } else {
                "device_lock_sent"
            },
            Some("c-1"),
            &[],
            i,
        );
        n.subject = Some(if i < 20 { "emp-1" } else { "emp-2" }.into());
        batch.push(n);
    }
    t.ledger.append_batch(ORG, batch).await.unwrap();
    let mut filter = NodeFilter {
        kind: Some("provider_revoked".into()),
        limit: 5,
        ..NodeFilter::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = t.ledger.nodes(ORG, &filter).await.unwrap();
        let Some(last) = page.last() else { break };
        filter.after_index = Some(last.index);
        seen.extend(page.iter().map(|n| n.index));
    }
    assert_eq!(seen, (0..25).step_by(2).collect::<Vec<_>>());
    let by_subject = NodeFilter {
        subject: Some("emp-2".into()),
        ..NodeFilter::default()
    };
    assert_eq!(t.ledger.nodes(ORG, &by_subject).await.unwrap().len(), 5);
    let base = support::base_time();
    let window = NodeFilter {
        recorded_from: Some(base.offset_seconds(3)),
        recorded_before: Some(base.offset_seconds(6)),
        ..NodeFilter::default()
    };
    let got: Vec<u64> = t
        .ledger
        .nodes(ORG, &window)
        .await
        .unwrap()
        .iter()
        .map(|n| n.index)
        .collect();
    assert_eq!(got, vec![3, 4, 5]);
}

async fn create_org_is_idempotent_and_keeps_its_key(db: Db) {
    let t = TestLedger::with_org(db).await;
    let first = t.ledger.org_info(ORG).await.unwrap();
    assert_eq!(first.origin, "custody.test/custody/acme");
    assert_eq!(t.another().await.create_org(ORG).await.unwrap(), first);
    assert_eq!(
        t.ledger.verifier_key(ORG).await.unwrap().to_string(),
        first.vkey
    );
    // A replaced key file is refused rather than used to sign a second history.
    std::fs::write(custody_ledger::key_path(&t.config, ORG), [1u8; 32]).unwrap();
    let fresh = t.another().await;
    let err = fresh.create_org(ORG).await.unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Key(custody_ledger::KeyError::Mismatch { .. })
        ),
        "{err:?}"
    );
    assert!(!format!("{err}").contains(&hex::encode([1u8; 32])));
}
