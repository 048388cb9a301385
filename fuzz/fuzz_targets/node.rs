//! Node decoding must never panic, and whatever it accepts must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(encoded) = custody_verifier::node::decode(data) {
        let again = encoded.node().clone().encode().expect("an accepted node re-encodes");
        assert_eq!(again.bytes(), data);
    }
});
