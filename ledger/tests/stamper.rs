//! The stamper against a real store (SQLite and PostgreSQL) and local TSAs: it catches
//! up after an outage, never stores a refused token, one hanging TSA does not hold up
//! another, and every configured TSA covers every log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod tsa_support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use custody_ledger::stamper::{Stamper, StamperConfig, StampingTsa, TsaCounters};
use custody_ledger::tsa::{DevTsa, HttpTsa, HttpTsaConfig, TsaTrust};
use custody_ledger::{Ledger, NewNode};
use custody_verifier::bundle::{self, VerifyOptions};
use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::{Imprint, TimestampOptions, verify_timestamp};
use sha2::{Digest, Sha256};
use support::{Db, ORG, TestLedger};
use tsa_support::{LocalTsaServer, Mode, test_anchors};

both_engines!(
    the_stamper_catches_up_after_an_outage,
    refused_tokens_are_never_stored,
    a_hanging_tsa_does_not_hold_up_another,
    every_tsa_covers_every_log_on_its_own,
    the_development_tsa_stamps_the_embedded_default,
);

fn now() -> UtcTime {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    UtcTime::from_unix(since.as_secs() as i64, 0).unwrap()
}

/// Appends one node to `ORG`'s log and checkpoints; returns the checkpoint's size and
/// note text.
async fn append_and_checkpoint(ledger: &Ledger, n: u32) -> (u64, Vec<u8>) {
    append_and_checkpoint_to(ledger, ORG, n).await
}

async fn append_and_checkpoint_to(ledger: &Ledger, org: &str, n: u32) -> (u64, Vec<u8>) {
    let node = NewNode {
        kind: "termination_detected".into(),
        case_id: Some(format!("case-{n}")),
        subject: Some("emp-1042".into()),
        parents: vec![],
        recorded_at: now(),
        body: serde_json::Map::new(),
        idempotency_key: None,
    };
    ledger.append(org, node).await.unwrap();
    let checkpoint = ledger.checkpoint(org).await.unwrap().expect("the log grew");
    (checkpoint.size, checkpoint.note_text().unwrap())
}

fn http(server: &LocalTsaServer, name: &str) -> StampingTsa {
    let mut config = HttpTsaConfig::new(name, server.url());
    config.timeout = Duration::from_millis(500);
    StampingTsa {
        authority: Arc::new(HttpTsa::new(config).unwrap()),
        trust: TsaTrust::new(test_anchors()),
        certs_pem: None,
    }
}

fn fast() -> StamperConfig {
    StamperConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        poll_interval: Duration::from_millis(100),
        ..StamperConfig::default()
    }
}

/// Waits until `org` has no unstamped checkpoint, or panics after `limit`.
async fn wait_stamped(ledger: &Ledger, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if ledger.stamping_status(ORG).await.unwrap().unstamped == 0 {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still unstamped after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn counters(stamper: &Stamper, index: usize) -> TsaCounters {
    stamper.status().snapshot()[index].clone()
}

async fn the_stamper_catches_up_after_an_outage(db: Db) {
    let test = TestLedger::with_org(db).await;
    let ledger = test.ledger.clone();
    let server = LocalTsaServer::start(Mode::ServerError).await;
    let stamper = Stamper::spawn(ledger.clone(), vec![http(&server, "local")], fast());

    let (size, _) = append_and_checkpoint(&ledger, 1).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(ledger.stamping_status(ORG).await.unwrap().unstamped, 1);
    let down = counters(&stamper, 0);
    assert!(down.failures >= 2, "{down:?}");
    assert!(
        down.last_error.as_deref().unwrap().contains("500"),
        "{down:?}"
    );
    // Appends go on while the TSA is down.
    let (later, _) = append_and_checkpoint(&ledger, 2).await;

    server.set_mode(Mode::OpensslEc);
    wait_stamped(&ledger, Duration::from_secs(5)).await;
    // One token over the newest checkpoint covers both: the older one is a consistent
    // prefix of it, so the stamper does not ask for a token per missed checkpoint.
    assert!(ledger.timestamps(ORG, size).await.unwrap().is_empty());
    let tokens = ledger.timestamps(ORG, later).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].tsa, "local");
    let token = &tokens[0];
    let note = ledger
        .checkpoint_at(ORG, later)
        .await
        .unwrap()
        .unwrap()
        .note_text()
        .unwrap();
    let report = verify_timestamp(
        &token.token_der,
        Imprint::Data(&note),
        &test_anchors(),
        &[],
        &TimestampOptions::default(),
    )
    .unwrap();
    assert_eq!(report.gen_time(), token.gen_time);
    assert_eq!(counters(&stamper, 0).stamped, 1);
    stamper.shutdown().await;
}

async fn refused_tokens_are_never_stored(db: Db) {
    for mode in [
        Mode::WrongDigest,
        Mode::NoNonce,
        Mode::UntrustedRoot,
        Mode::Garbage,
    ] {
        let test = TestLedger::with_org(db).await;
        let ledger = test.ledger.clone();
        let server = LocalTsaServer::start(mode).await;
        let stamper = Stamper::spawn(ledger.clone(), vec![http(&server, "bad")], fast());
        let (size, _) = append_and_checkpoint(&ledger, 1).await;
        let started = Instant::now();
        while counters(&stamper, 0).refused < 2 {
            assert!(started.elapsed() < Duration::from_secs(5), "{mode:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            ledger.timestamps(ORG, size).await.unwrap().is_empty(),
            "{mode:?}"
        );
        assert_eq!(ledger.stamping_status(ORG).await.unwrap().unstamped, 1);
        assert_eq!(counters(&stamper, 0).stamped, 0);
        stamper.shutdown().await;
    }
}

async fn a_hanging_tsa_does_not_hold_up_another(db: Db) {
    let test = TestLedger::with_org(db).await;
    let ledger = test.ledger.clone();
    let hanging = LocalTsaServer::start(Mode::Hang).await;
    let good = LocalTsaServer::start(Mode::OpensslRsa).await;
    // The hanging TSA keeps the production timeout (10 s): the good one must not wait for it.
    let mut stuck = http(&hanging, "hanging");
    stuck.authority = Arc::new(HttpTsa::new(HttpTsaConfig::new("hanging", hanging.url())).unwrap());
    let stamper = Stamper::spawn(ledger.clone(), vec![stuck, http(&good, "good")], fast());
    let (size, _) = append_and_checkpoint(&ledger, 1).await;
    wait_stamped(&ledger, Duration::from_secs(5)).await;
    let tokens = ledger.timestamps(ORG, size).await.unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.tsa.as_str()).collect::<Vec<_>>(),
        ["good"]
    );
    stamper.shutdown().await;
}

/// Two TSAs, one down for a while, two logs: the one that was down comes back and asks
/// for one token per log, over each log's newest checkpoint, although the other TSA
/// already covered them; from then on every checkpoint carries a token from each.
async fn every_tsa_covers_every_log_on_its_own(db: Db) {
    let test = TestLedger::with_org(db).await;
    let ledger = test.ledger.clone();
    ledger.create_org("globex").await.unwrap();
    let up = LocalTsaServer::start(Mode::OpensslRsa).await;
    let down = LocalTsaServer::start(Mode::ServerError).await;
    let stamper = Stamper::spawn(
        ledger.clone(),
        vec![http(&up, "first"), http(&down, "second")],
        fast(),
    );
    let (early, _) = append_and_checkpoint(&ledger, 1).await;
    wait_stamped(&ledger, Duration::from_secs(5)).await;
    let (acme, _) = append_and_checkpoint(&ledger, 2).await;
    let (globex, _) = append_and_checkpoint_to(&ledger, "globex", 3).await;
    let pending_for = async |tsa: &str| {
        let pending = ledger.unstamped_checkpoints_by(tsa, 10).await.unwrap();
        let mut logs: Vec<(String, u64)> = pending.into_iter().map(|p| (p.org, p.size)).collect();
        logs.sort();
        logs
    };
    let until_none_for = async |tsa: &str| {
        let started = Instant::now();
        while !pending_for(tsa).await.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{tsa} never caught up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    until_none_for("first").await;
    // Covered by the first TSA, each log still waits for the second, at its newest
    // checkpoint only.
    assert_eq!(
        pending_for("second").await,
        [("acme".to_owned(), acme), ("globex".to_owned(), globex)]
    );
    assert_eq!(ledger.stamping_status(ORG).await.unwrap().unstamped, 0);

    down.set_mode(Mode::OpensslEc);
    until_none_for("second").await;
    assert_eq!(counters(&stamper, 1).stamped, 2, "one token per log");
    let tsas = |tokens: Vec<custody_ledger::StoredTimestamp>| {
        let mut names: Vec<String> = tokens.into_iter().map(|t| t.tsa).collect();
        names.sort();
        names
    };
    assert_eq!(
        tsas(ledger.timestamps(ORG, early).await.unwrap()),
        ["first"]
    );
    assert_eq!(
        tsas(ledger.timestamps(ORG, acme).await.unwrap()),
        ["first", "second"]
    );
    assert_eq!(
        tsas(ledger.timestamps("globex", globex).await.unwrap()),
        ["first", "second"]
    );
    // A case bundle carries each TSA's token over the case: case-1 (node 0) was first
    // stamped by the first TSA alone, and later by the second.
    let key = ledger.verifier_key(ORG).await.unwrap();
    let anchors = test_anchors();
    let options = TimestampOptions::default();
    for (case, checkpoints) in [("case-1", vec![early, acme]), ("case-2", vec![acme])] {
        let files = ledger.export_case(ORG, case, None).await.unwrap();
        let verify = VerifyOptions::new(std::slice::from_ref(&key), &anchors, &options);
        let report = bundle::verify(&files, &verify).unwrap();
        let sizes: Vec<u64> = report.checkpoints.iter().map(|c| c.size).collect();
        assert_eq!(sizes, checkpoints, "{case}");
        assert_eq!(report.tokens.len(), checkpoints.len() + 1, "{case}");
    }
    // Nothing more to do for either, and the first TSA was not asked again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counters(&stamper, 0).stamped, 3);
    assert_eq!(counters(&stamper, 1).stamped, 2);
    stamper.shutdown().await;
}

async fn the_development_tsa_stamps_the_embedded_default(db: Db) {
    let test = TestLedger::with_org(db).await;
    let ledger = test.ledger.clone();
    let dev = DevTsa::open(test.dir.path()).unwrap();
    let tsa = StampingTsa {
        trust: dev.trust(),
        authority: Arc::new(dev),
        certs_pem: None,
    };
    let stamper = Stamper::spawn(ledger.clone(), vec![tsa], StamperConfig::default());
    let (size, note) = append_and_checkpoint(&ledger, 1).await;
    wait_stamped(&ledger, Duration::from_secs(3)).await;
    let token = &ledger.timestamps(ORG, size).await.unwrap()[0];
    assert_eq!(token.tsa, "dev");
    let digest: [u8; 32] = Sha256::digest(&note).into();
    let root = std::fs::read(test.dir.path().join("dev-tsa-root.pem")).unwrap();
    assert!(tsa_support::openssl_verifies(
        &token.token_der,
        &digest,
        &root
    ));
    stamper.shutdown().await;
}
