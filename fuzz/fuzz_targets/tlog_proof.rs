//! tlog-proof parsing and verification on arbitrary bytes, with one fixed trusted key.
//! Never panics; whatever parses is formatted back to the exact input bytes.

#![no_main]

use std::sync::LazyLock;

use custody_verifier::checkpoint::{NoteSigner, NoteVerifierKey};
use custody_verifier::merkle::leaf_hash;
use custody_verifier::tlog_proof;
use libfuzzer_sys::fuzz_target;

/// The trusted key: the worked example's log key of `schemas/draft-log-and-checkpoints.md`.
static KEYS: LazyLock<Vec<NoteVerifierKey>> = LazyLock::new(|| {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let signer = NoteSigner::from_seed("log.example.com/custody/acme", seed)
        .expect("fixed key name is valid");
    vec![signer.verifier_key()]
});

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = tlog_proof::parse(data) {
        assert_eq!(proof.format(), data);
        let _ = proof.verify(&leaf_hash(b"example leaf 1"), &KEYS);
    }
});
