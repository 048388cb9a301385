//! Ledger benchmarks: durable appends per second (single and batched) on SQLite and
//! PostgreSQL, single-append latency, append → signed-checkpoint latency, and proof
//! generation at 1,000,000 nodes. Prints figures; asserts nothing.
//!
//! Run: `cargo bench -p custody-ledger --bench append`
//! (`BENCH_PROOF_NODES=100000` for a quicker proof run; `BENCH_ONLY=appends|proofs`.)
//!
//! SQLite: a file in a temporary directory, WAL, `synchronous=FULL`. PostgreSQL: the
//! test harness's private server, but with `fsync=on` and synchronous commit (the
//! defaults), so every commit waits for the WAL flush, as in production.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use custody_ledger::{Checkpointer, Ledger, LedgerConfig, NewNode};
use custody_verifier::time::UtcTime;
use serde_json::json;

const ORG: &str = "bench";

fn node(i: u64) -> NewNode {
    NewNode {
        kind: "provider_revoked".into(),
        case_id: Some(format!("c-{}", i / 8)),
        subject: Some(format!("emp-{}", i % 977)),
        parents: vec![],
        recorded_at: UtcTime::from_unix(1_750_000_000 + i as i64, 0).unwrap(),
        body: json!({"provider": "openai", "keys_deleted": i % 5, "confirmation": "req_8f2c1a9e"})
            .as_object()
            .cloned()
            .unwrap(),
        idempotency_key: Some(format!("evt-{i}")),
    }
}

async fn open(url: String, dir: &std::path::Path) -> Ledger {
    let mut config = LedgerConfig::new(url, dir);
    config.origin_host = "bench.custody.test".into();
    let ledger = Ledger::open(config).await.unwrap();
    ledger.create_org(ORG).await.unwrap();
    ledger
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("ledger.db").display())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Sequential single appends: rate and latency percentiles.
async fn singles(ledger: &Ledger, start: u64, count: u64) -> (f64, Duration, Duration) {
    let mut latencies = Vec::with_capacity(count as usize);
    let began = Instant::now();
    for i in start..start + count {
        let t = Instant::now();
        ledger.append(ORG, node(i)).await.unwrap();
        latencies.push(t.elapsed());
    }
    let rate = count as f64 / began.elapsed().as_secs_f64();
    latencies.sort();
    (
        rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}

/// Batches of `size`: nodes per second.
async fn batched(ledger: &Ledger, start: u64, batches: u64, size: u64) -> f64 {
    let began = Instant::now();
    for b in 0..batches {
        let first = start + b * size;
        ledger
            .append_batch(ORG, (first..first + size).map(node).collect())
            .await
            .unwrap();
    }
    (batches * size) as f64 / began.elapsed().as_secs_f64()
}

async fn throughput(name: &str, ledger: &Ledger, singles_n: u64, batches: u64) {
    let (rate, p50, p99) = singles(ledger, 0, singles_n).await;
    println!(
        "{name}: single durable appends: {rate:.0}/s (p50 {p50:.2?}, p99 {p99:.2?}, n={singles_n})"
    );
    let rate = batched(ledger, singles_n, batches, 1000).await;
    println!(
        "{name}: batched durable appends (1,000 per batch): {rate:.0}/s (n={})",
        batches * 1000
    );
}

/// Append → covered by a signed checkpoint, with the checkpointer at `interval`.
async fn append_to_checkpoint(interval: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(sqlite_url(dir.path()), dir.path()).await;
    let checkpointer = Checkpointer::spawn_every(ledger.clone(), interval);
    let mut waits = Vec::new();
    for i in 0..20u64 {
        tokio::time::sleep(Duration::from_millis(37 * (i % 7) + 11)).await;
        let appended = ledger.append(ORG, node(i)).await.unwrap();
        let t = Instant::now();
        loop {
            let latest = ledger.latest_checkpoint(ORG).await.unwrap();
            if latest.is_some_and(|c| c.size > appended.index) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        waits.push(t.elapsed());
    }
    checkpointer.shutdown().await;
    waits.sort();
    println!(
        "append -> signed checkpoint (interval {interval:?}, SQLite): p50 {:.0?}, max {:.0?} (n=20)",
        percentile(&waits, 0.5),
        waits[waits.len() - 1]
    );
}

/// Inclusion and consistency proofs per second in a log of `nodes` nodes.
async fn proofs(nodes: u64) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(sqlite_url(dir.path()), dir.path()).await;
    let began = Instant::now();
    let batch = 10_000u64;
    for b in 0..nodes.div_ceil(batch) {
        let first = b * batch;
        let last = (first + batch).min(nodes);
        let mut chunk: Vec<NewNode> = (first..last).map(node).collect();
        for n in &mut chunk {
            n.idempotency_key = None;
        }
        ledger.append_batch(ORG, chunk).await.unwrap();
    }
    println!(
        "filled a {nodes}-node log in {:.1?} (SQLite, batches of 10,000)",
        began.elapsed()
    );
    let count = 5_000u64;
    let began = Instant::now();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ledger.inclusion_proof(ORG, x % nodes, nodes).await.unwrap();
    }
    let rate = count as f64 / began.elapsed().as_secs_f64();
    println!("inclusion proofs at {nodes} nodes: {rate:.0}/s (SQLite, from stored subtree hashes)");
    let began = Instant::now();
    for i in 0..count {
        ledger
            .consistency_proof(ORG, 1 + (i * 7919) % (nodes - 1), nodes)
            .await
            .unwrap();
    }
    let rate = count as f64 / began.elapsed().as_secs_f64();
    println!("consistency proofs at {nodes} nodes: {rate:.0}/s");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "appends" {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = open(sqlite_url(dir.path()), dir.path()).await;
        throughput("SQLite (WAL, synchronous=FULL)", &sqlite, 2_000, 50).await;

        let server = postgres::PgServer::start(true);
        let db = server.create_database().await;
        let pg_dir = tempfile::tempdir().unwrap();
        let pg = open(server.url(&db), pg_dir.path()).await;
        throughput("PostgreSQL (fsync=on)", &pg, 1_000, 20).await;
        pg.close().await;
        drop(server);

        append_to_checkpoint(Duration::from_secs(1)).await;
        append_to_checkpoint(Duration::from_millis(100)).await;
    }
    if only.is_empty() || only == "proofs" {
        let nodes = std::env::var("BENCH_PROOF_NODES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        proofs(nodes).await;
    }
}
