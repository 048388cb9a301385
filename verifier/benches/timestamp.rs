//! Tokens verified per second, full checks (chain included), one thread, on the real
//! DigiCert RSA tokens of the conformance corpus; then `openssl ts -verify` on the same
//! tokens for comparison (one process per token, so process start-up is included; the
//! start-up alone is measured and printed too).
//!
//! Corpus: `$CUSTODY_TSA_CORPUS`, else the first argument, else `../shared/conformance/tsa`
//! next to the workspace root. `cargo bench -p custody-verifier --bench timestamp`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use custody_verifier::timestamp::{Imprint, TimestampOptions, TrustAnchors, verify_timestamp};
use serde_json::Value;

const RUN_FOR: Duration = Duration::from_secs(2);
const OPENSSL_RUNS: u32 = 40;

struct Case {
    id: String,
    dir: PathBuf,
    input: String,
    token_only: bool,
    data: Option<String>,
    digest: Option<String>,
}

fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CUSTODY_TSA_CORPUS") {
        return PathBuf::from(dir);
    }
    if let Some(arg) = std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        return PathBuf::from(arg);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    workspace.join("../shared/conformance/tsa")
}

fn digicert_rsa_cases(dir: &Path) -> Vec<Case> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap_or_default())
            .unwrap_or(Value::Null);
    let cases = manifest
        .get("cases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    cases
        .iter()
        .filter(|c| c.get("tsa_operator").and_then(Value::as_str) == Some("DigiCert"))
        .filter(|c| c.get("signature_algorithm").and_then(Value::as_str) == Some("rsassa_pkcs1v15"))
        .filter(|c| {
            c.pointer("/expected_verdict/verdict")
                .and_then(Value::as_str)
                == Some("valid")
        })
        .filter_map(|c| {
            let id = c.get("id")?.as_str()?.to_owned();
            let file = |k: &str| {
                c.pointer(&format!("/files/{k}"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let (input, token_only) = match file("response") {
                Some(r) => (r, false),
                None => (file("token")?, true),
            };
            Some(Case {
                dir: dir.join("cases").join(&id),
                id,
                input,
                token_only,
                data: file("data"),
                digest: file("digest"),
            })
        })
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Verifies the case for RUN_FOR; returns (tokens/s, genTime as Unix seconds).
fn bench_ours(case: &Case) -> (f64, i64) {
    let token = read(&case.dir.join(&case.input));
    let anchors = TrustAnchors::from_pem(&read(&case.dir.join("cafile.pem"))).expect("anchors");
    let data = case.data.as_ref().map(|d| read(&case.dir.join(d)));
    let digest = case.digest.as_ref().map(|d| {
        hex::decode(String::from_utf8_lossy(&read(&case.dir.join(d))).trim()).expect("digest hex")
    });
    let imprint = match (&data, &digest) {
        (Some(d), _) => Imprint::Data(d),
        (None, Some(d)) => Imprint::Digest(d),
        (None, None) => panic!("{}: no data or digest", case.id),
    };
    let options = TimestampOptions::default();
    let first =
        verify_timestamp(&token, imprint, &anchors, &[], &options).expect("corpus token verifies");
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < RUN_FOR {
        for _ in 0..50 {
            let verified = verify_timestamp(&token, imprint, &anchors, &[], &options);
            std::hint::black_box(verified.is_ok());
        }
        count += 50;
    }
    (
        count as f64 / start.elapsed().as_secs_f64(),
        first.gen_time().unix_seconds(),
    )
}

fn openssl_args(case: &Case, gen_time: i64) -> Vec<String> {
    let mut args: Vec<String> = vec!["ts".into(), "-verify".into()];
    if case.token_only {
        args.push("-token_in".into());
    }
    args.extend(["-in".into(), case.input.clone()]);
    match (&case.data, &case.digest) {
        (Some(d), _) => args.extend(["-data".into(), d.clone()]),
        (_, Some(d)) => {
            let hex_text = String::from_utf8_lossy(&read(&case.dir.join(d)))
                .trim()
                .to_owned();
            args.extend(["-digest".into(), hex_text]);
        }
        _ => {}
    }
    args.extend([
        "-CAfile".into(),
        "cafile.pem".into(),
        "-attime".into(),
        gen_time.to_string(),
    ]);
    args
}

/// Runs `openssl` with `args` in `dir` OPENSSL_RUNS times; returns runs/s and whether all succeeded.
fn bench_process(dir: &Path, args: &[String]) -> (f64, bool) {
    let start = Instant::now();
    let mut all_ok = true;
    for _ in 0..OPENSSL_RUNS {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        all_ok &= status.is_ok_and(|s| s.success());
    }
    (
        f64::from(OPENSSL_RUNS) / start.elapsed().as_secs_f64(),
        all_ok,
    )
}

fn main() {
    let dir = corpus_dir();
    let cases = digicert_rsa_cases(&dir);
    if cases.is_empty() {
        eprintln!(
            "no DigiCert RSA cases under {} (set CUSTODY_TSA_CORPUS)",
            dir.display()
        );
        return;
    }
    println!("corpus: {}", dir.display());
    println!(
        "{:<34} {:>14} {:>10} {:>16}",
        "case", "custody tok/s", "us/token", "openssl tok/s"
    );
    let (mut ours_total, mut openssl_total) = (0.0, 0.0);
    for case in &cases {
        let (ours, gen_time) = bench_ours(case);
        let (openssl, ok) = bench_process(&case.dir, &openssl_args(case, gen_time));
        let note = if ok { "" } else { " (openssl failed)" };
        println!(
            "{:<34} {ours:>14.0} {:>10.1} {openssl:>16.1}{note}",
            case.id,
            1e6 / ours
        );
        ours_total += ours;
        openssl_total += openssl;
    }
    let n = cases.len() as f64;
    let (spawn, _) = bench_process(&dir, &["version".to_owned()]);
    println!(
        "{:<34} {:>14.0} {:>10.1} {:>16.1}",
        "mean",
        ours_total / n,
        1e6 * n / ours_total,
        openssl_total / n
    );
    println!(
        "openssl: one process per token, start-up included; `openssl version` alone runs {spawn:.1}/s"
    );
}
