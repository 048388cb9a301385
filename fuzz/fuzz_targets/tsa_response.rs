//! The ledger's acceptance of a TSA's answer must never panic, on any input, and keeps only
//! tokens sliced from the answer as received.
//!
//! Arbitrary bytes are a TimeStampResp to one fixed request: the SHA-256 of
//! `testdata/tsa/data.txt` with the nonce of `testdata/tsa/ec.tsr`, so that answer, and the
//! inputs mutated from it, pass every step. They are checked by `accept_response` and by a
//! `TsaTrust` over the test TSA's roots (`testdata/tsa/root-ca.pem`) that also holds
//! `tsa-ec.crt` out of band and pins the test policy.
#![no_main]

use std::sync::LazyLock;

use custody_ledger::tsa::{AcceptedToken, Sha256Digest, TimeStampReq, TsaTrust, accept_response};
use custody_verifier::timestamp::{Imprint, TimestampOptions, TrustAnchors, verify_timestamp};
use custody_verifier::x509::{DigestAlgorithm, parse_pem_certificates};
use libfuzzer_sys::fuzz_target;

const ROOTS: &[u8] = include_bytes!("../../testdata/tsa/root-ca.pem");
const TSA_EC: &[u8] = include_bytes!("../../testdata/tsa/tsa-ec.crt");
const DATA: &[u8] = include_bytes!("../../testdata/tsa/data.txt");
const EC_TSR: &[u8] = include_bytes!("../../testdata/tsa/ec.tsr");

/// The policy of the test TSA (`testdata/tsa/tsa.cnf`).
const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

/// The fixed request and the trust its answer is checked against.
struct Fixture {
    request: TimeStampReq,
    trust: TsaTrust,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let anchors = TrustAnchors::from_pem(ROOTS).expect("testdata/tsa/root-ca.pem parses");
    let digest: Sha256Digest = DigestAlgorithm::Sha256
        .digest(DATA)
        .try_into()
        .expect("SHA-256 is 32 bytes");
    let report = verify_timestamp(
        EC_TSR,
        Imprint::Digest(&digest),
        &anchors,
        &[],
        &TimestampOptions::default(),
    )
    .expect("testdata/tsa/ec.tsr verifies");
    let nonce = report
        .nonce()
        .expect("testdata/tsa/ec.tsr has a nonce")
        .iter()
        .fold(0u64, |n, b| n << 8 | u64::from(*b));
    let trust = TsaTrust {
        anchors,
        untrusted: parse_pem_certificates(TSA_EC).expect("testdata/tsa/tsa-ec.crt parses"),
        expected_policy: Some(POLICY.to_owned()),
    };
    Fixture {
        request: TimeStampReq::with_nonce(digest, nonce),
        trust,
    }
});

/// What every kept token must satisfy: its bytes end the response, and it stamps the
/// request's digest.
fn check(response: &[u8], accepted: &AcceptedToken) {
    assert!(response.ends_with(&accepted.token_der));
    assert_eq!(accepted.report.imprint(), FIXTURE.request.digest());
}

fuzz_target!(|data: &[u8]| {
    let Fixture { request, trust } = &*FIXTURE;
    let nonce = request.nonce_bytes();
    let plain = accept_response(
        data,
        request.digest(),
        &nonce,
        &trust.anchors,
        &trust.untrusted,
    );
    if let Ok(accepted) = &plain {
        check(data, accepted);
    }
    if let Ok(accepted) = trust.accept(data, request.digest(), &nonce) {
        check(data, &accepted);
        assert_eq!(accepted.policy, POLICY);
        // A pinned policy only narrows what is accepted.
        assert!(plain.is_ok());
    }
});
