//! Signed-note and checkpoint parsing and verification on arbitrary bytes, with one fixed
//! trusted key. Never panics; whatever parses keeps its text as a prefix of the input.

#![no_main]

use std::sync::LazyLock;

use custody_verifier::checkpoint::{
    NoteSigner, NoteVerifierKey, parse_signed_note, verify_checkpoint,
};
use libfuzzer_sys::fuzz_target;

/// The trusted key: the worked example's log key of `schemas/draft-log-and-checkpoints.md`.
static KEYS: LazyLock<Vec<NoteVerifierKey>> = LazyLock::new(|| {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let signer = NoteSigner::from_seed("log.example.com/custody/acme", seed)
        .expect("fixed key name is valid");
    vec![signer.verifier_key()]
});

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = parse_signed_note(data) {
        assert!(data.starts_with(note.text().as_bytes()));
        assert!(!note.signatures().is_empty());
    }
    if let Ok(verified) = verify_checkpoint(data, &KEYS) {
        assert!(data.starts_with(verified.note_text()));
        assert!(
            KEYS.iter()
                .any(|key| key.name() == verified.checkpoint().origin)
        );
    }
});
