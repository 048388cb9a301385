//! Append → covered by a verified RFC 3161 token, end to end: a SQLite ledger in a temp
//! directory, the background checkpointer (default 1 s interval) and the stamper asking a
//! local TSA (`openssl ts -reply` behind HTTP) and verifying every token before storing it.
//!
//! For each append, the latency is the time from `append` returning (durable) until a
//! stored token covers the node (a stamped checkpoint of size > its index). Two runs:
//! with the checkpointer's interval (what a client sees), and with an explicit checkpoint
//! right after the append (the stamping path alone). `cargo bench -p custody-ledger
//! --bench stamp_latency`; `STAMP_BENCH_APPENDS` sets the number of appends (default 40).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/tsa_support/mod.rs"]
mod tsa_support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use custody_ledger::Checkpointer;
use custody_ledger::stamper::{Stamper, StamperConfig, StampingTsa};
use custody_ledger::tsa::{HttpTsa, HttpTsaConfig, TsaTrust};
use custody_ledger::{Ledger, LedgerConfig, NewNode};
use custody_verifier::time::UtcTime;
use tsa_support::{LocalTsaServer, Mode, test_anchors};

const ORG: &str = "bench";

fn now() -> UtcTime {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    UtcTime::from_unix(since.as_secs() as i64, since.subsec_nanos()).unwrap()
}

fn node(i: usize) -> NewNode {
    NewNode {
        kind: "provider_revoked".into(),
        case_id: Some(format!("case-{i}")),
        subject: Some("emp-1042".into()),
        parents: vec![],
        recorded_at: UtcTime::from_unix(now().unix_seconds(), 0).unwrap(),
        body: serde_json::Map::new(),
        idempotency_key: None,
    }
}

async fn covered(ledger: &Ledger, index: u64) -> bool {
    let status = ledger.stamping_status(ORG).await.unwrap();
    status.latest_stamped_size.is_some_and(|size| size > index)
}

async fn run(appends: usize, with_checkpointer: bool) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(LedgerConfig::sqlite_in(dir.path()))
        .await
        .unwrap();
    ledger.create_org(ORG).await.unwrap();
    let server = LocalTsaServer::start(Mode::OpensslEc).await;
    let tsa = StampingTsa {
        authority: Arc::new(HttpTsa::new(HttpTsaConfig::new("local", server.url())).unwrap()),
        trust: TsaTrust::new(test_anchors()),
        certs_pem: None,
    };
    let stamper = Stamper::spawn(ledger.clone(), vec![tsa], StamperConfig::default());
    let checkpointer = with_checkpointer.then(|| Checkpointer::spawn(ledger.clone()));
    let mut latencies = Vec::with_capacity(appends);
    for i in 0..appends {
        let appended = ledger.append(ORG, node(i)).await.unwrap();
        let start = Instant::now();
        if !with_checkpointer {
            ledger.checkpoint(ORG).await.unwrap();
        }
        while !covered(&ledger, appended.index).await {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(start.elapsed());
        // Spread the appends over the checkpoint interval's phases.
        tokio::time::sleep(Duration::from_millis(37 * (i as u64 % 7))).await;
    }
    if let Some(c) = checkpointer {
        c.shutdown().await;
    }
    let counters = stamper.status().snapshot();
    assert_eq!(
        counters[0].refused + counters[0].failures,
        0,
        "{counters:?}"
    );
    stamper.shutdown().await;
    latencies
}

fn report(label: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: n={} mean={:.1} ms p50={:.1} ms p95={:.1} ms max={:.1} ms",
        latencies.len(),
        ms(mean),
        ms(pick(0.5)),
        ms(pick(0.95)),
        ms(pick(1.0))
    );
}

#[tokio::main]
async fn main() {
    let appends = std::env::var("STAMP_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    report(
        "append -> checkpoint (1 s interval) -> verified token stored",
        run(appends, true).await,
    );
    report(
        "append -> explicit checkpoint -> verified token stored",
        run(appends, false).await,
    );
}
