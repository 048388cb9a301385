//! Writes `testdata/sample-bundle/` and `testdata/sample-bundle.vkey`: one offboarding case
//! (trigger, snapshot with its PDF, two provider revocations, a device lock, sessions) in a
//! log of two cases, with signed checkpoints stamped by the local `openssl ts` test TSA.
//! Run by `testdata/regen.sh`; see `testdata/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use custody_verifier::time::UtcTime;
use support::{LocalTsa, TestLog, offboarding_case, testdata};

fn main() {
    let pdf = &support::sample_pdf(&[
        "custody audit snapshot (sample)",
        "Organisation: acme    Subject: emp-1042    Case: case-1",
        "Trigger: BambooHR termination event evt-1",
        "Providers revoked: OpenAI (2 keys), Anthropic (1 key)",
    ]);
    // Nodes recorded over the last few minutes, so their claimed times sit just before
    // the tokens' genTime, as they would in a real ledger.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = UtcTime::from_unix(now as i64 - 600, 0).unwrap();
    let mut log = TestLog::starting_at(start);
    offboarding_case(&mut log, "case-1", pdf, 0);
    offboarding_case(&mut log, "case-2", b"%PDF-1.7 second case", 60);
    let tsa = LocalTsa::start();
    let files = log.case_bundle("case-1", &[6, 12], &tsa, &[pdf.as_slice()]);

    let dir = testdata().join("sample-bundle");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    files.write_dir(&dir).unwrap();
    std::fs::write(
        testdata().join("sample-bundle.vkey"),
        format!("{}\n", log.verifier_key()),
    )
    .unwrap();
    std::fs::write(
        testdata().join("sample-bundle.tar"),
        files.to_tar().unwrap(),
    )
    .unwrap();
    println!(
        "wrote {} and sample-bundle.tar ({} files)",
        dir.display(),
        files.len()
    );
}
