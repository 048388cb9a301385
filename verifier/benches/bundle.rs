//! Bundle verification throughput: generates an organisation log of N nodes (default
//! 1,000,000; `CUSTODY_BENCH_NODES` overrides), with signed checkpoints every 100,000
//! nodes, each stamped by the local `openssl ts` TSA, writes it as a bundle directory,
//! then times reading and verifying it. Prints its figures; asserts nothing about time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use custody_verifier::bundle::{self, BundleFiles, VerifyOptions};
use custody_verifier::node::{Node, ParentRef};
use custody_verifier::timestamp::TimestampOptions;
use serde_json::json;
use support::{LocalTsa, ORG, TestLog, base_time};

fn main() {
    let count: u64 = std::env::var("CUSTODY_BENCH_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("bundle verification benchmark: {count} nodes, {threads} threads available");

    let started = Instant::now();
    let mut log = TestLog::new();
    let mut previous: Option<ParentRef> = None;
    for i in 0..count {
        let case = i / 8;
        let provider = ["openai", "anthropic", "azure"][(i % 3) as usize];
        let body =
            json!({"provider": provider, "step": i % 8, "confirmation": format!("req_{i:012x}")});
        let node = Node {
            org: ORG.into(),
            kind: if i % 8 == 0 {
                "termination_detected".into()
            } else {
                "provider_revoked".into()
            },
            case_id: Some(format!("case-{case}")),
            subject: Some(format!("emp-{case}")),
            parents: previous.filter(|_| i % 8 != 0).into_iter().collect(),
            recorded_at: base_time().offset_seconds(i as i64),
            body: body.as_object().cloned().unwrap(),
        };
        previous = Some(log.append(node));
    }
    println!(
        "  generate + encode nodes : {:>8.2} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let tsa = LocalTsa::start();
    let step = 100_000.min(count);
    let mut sizes: Vec<u64> = (1..=count / step).map(|k| k * step).collect();
    if sizes.last() != Some(&count) {
        sizes.push(count);
    }
    let files = log.org_bundle(0, count, &sizes, &tsa, &[]);
    let dir = tempfile::tempdir().unwrap();
    files.write_dir(dir.path()).unwrap();
    let size: usize = files.iter().map(|(_, b)| b.len()).sum();
    println!(
        "  build + write bundle    : {:>8.2} s ({} checkpoints, {:.1} MB)",
        started.elapsed().as_secs_f64(),
        sizes.len(),
        size as f64 / 1e6
    );

    let keys = [log.verifier_key()];
    let anchors = support::tsa_anchors();
    let timestamp = TimestampOptions::default();
    for threads in [1, threads] {
        let started = Instant::now();
        let files = BundleFiles::open(dir.path()).unwrap();
        let read = started.elapsed().as_secs_f64();
        let options = VerifyOptions {
            log_keys: &keys,
            tsa_anchors: &anchors,
            timestamp: &timestamp,
            max_clock_skew_seconds: 300,
            require_pdfs: false,
            danger_allow_unstamped: false,
            threads,
            progress: None,
        };
        let report = bundle::verify(&files, &options).unwrap();
        let total = started.elapsed().as_secs_f64();
        assert_eq!(report.node_count, count);
        println!(
            "  read + verify, {threads} thread(s): {total:>6.2} s total (read {read:.2} s) = {:>9.0} nodes/s",
            count as f64 / total
        );
    }
}
