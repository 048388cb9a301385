//! RFC 3161 verification must never panic on any input: arbitrary bytes as a token or
//! TimeStampResp, checked against the test TSA's roots and data (`testdata/tsa/`).
#![no_main]

use std::sync::OnceLock;

use custody_verifier::timestamp::{Imprint, TimestampOptions, TrustAnchors, verify_timestamp};
use libfuzzer_sys::fuzz_target;

const ROOTS: &[u8] = include_bytes!("../../testdata/tsa/root-ca.pem");
const DATA: &[u8] = include_bytes!("../../testdata/tsa/data.txt");

fn anchors() -> &'static TrustAnchors {
    static ANCHORS: OnceLock<TrustAnchors> = OnceLock::new();
    ANCHORS.get_or_init(|| TrustAnchors::from_pem(ROOTS).expect("test roots parse"))
}

fuzz_target!(|data: &[u8]| {
    let options = TimestampOptions::default();
    let _ = verify_timestamp(data, Imprint::Data(DATA), anchors(), &[], &options);
});
