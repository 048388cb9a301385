//! Lock command verification must never panic, on any input, and a command it accepts is
//! accepted again and re-encodes to the bytes that were signed.
//!
//! Trust inputs are fixed: a command key derived from a fixed seed, device `dev-1`, now
//! `2026-03-01T12:00:00Z`, 300 s of skew, and a replay memory that has seen only
//! `cmd-seen`. The first byte says how the rest becomes a signed command:
//!
//! - `0`: edits to a valid command the target signs itself (`Fixture::valid`): every three
//!   bytes are a big-endian offset (modulo the length) and the byte to write there. With no
//!   edits the command verifies, so the accepting path is always covered.
//! - `1`: the bytes of a command object, which the target signs with the fixed key and
//!   wraps in the canonical envelope, so mutations get past step 3 (the signature) into the
//!   member checks and steps 4 to 7.
//! - anything else: the whole input is an envelope as a device receives it.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_verifier::command::{
    CommandError, CommandSigner, CommandVerifierKey, Expectations, LockCommand, SIGNING_CONTEXT,
    VerifiedCommand, verify_command,
};
use custody_verifier::time::UtcTime;
use ed25519_dalek::{Signer as _, SigningKey};
use libfuzzer_sys::fuzz_target;

const KEY_NAME: &str = "api.test/custody/commands";
const SEED: [u8; 32] = [0x5c; 32];
const DEVICE: &str = "dev-1";
const NOW: &str = "2026-03-01T12:00:00Z";
const SEEN: &str = "cmd-seen";

/// The canonical envelope around the command's bytes (`evidence-format.md` §11.2).
const ENVELOPE_PREFIX: &[u8] = b"{\"command\":";
const SIGNATURE_INFIX: &[u8] = b",\"signature\":\"";
const ENVELOPE_SUFFIX: &[u8] = b"\"}";

/// The fixed key, both halves, and a valid command signed with it.
struct Fixture {
    signing_key: SigningKey,
    verifier_key: CommandVerifierKey,
    now: UtcTime,
    valid: Vec<u8>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let at = |text| UtcTime::parse_rfc3339(text).expect("fixed time parses");
    let signer = CommandSigner::from_seed(KEY_NAME, SEED).expect("fixed key name is valid");
    let signing_key = SigningKey::from_bytes(&SEED);
    let verifier_key = signer.verifier_key().clone();
    assert_eq!(
        verifier_key.public_key(),
        signing_key.verifying_key().to_bytes()
    );
    let command = LockCommand {
        command_id: "cmd-1".into(),
        org: "acme".into(),
        device_id: DEVICE.into(),
        subject: "emp-7".into(),
        action: "lock".into(),
        issued_at: at("2026-03-01T10:00:00Z"),
        expires_at: at("2026-03-02T10:00:00Z"),
        nonce: [0xab; 16],
        case_id: "case-9".into(),
    };
    let valid = signer
        .sign(&command)
        .expect("the fixed command is signable")
        .into_string()
        .into_bytes();
    Fixture {
        signing_key,
        verifier_key,
        now: at(NOW),
        valid,
    }
});

/// The valid command with each `(offset, byte)` edit of `edits` applied.
fn edited(valid: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    for edit in edits.chunks_exact(3) {
        let offset = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % bytes.len();
        bytes[offset] = edit[2];
    }
    bytes
}

/// The canonical envelope of `command`, signed with the fixed key over exactly these bytes.
fn signed_here(signing_key: &SigningKey, command: &[u8]) -> Vec<u8> {
    let signature = signing_key.sign(&[SIGNING_CONTEXT, command].concat());
    [
        ENVELOPE_PREFIX,
        command,
        SIGNATURE_INFIX,
        STANDARD.encode(signature.to_bytes()).as_bytes(),
        ENVELOPE_SUFFIX,
    ]
    .concat()
}

fn verify(envelope: &[u8], seen: &dyn Fn(&str) -> bool) -> Result<VerifiedCommand, CommandError> {
    let expect = Expectations {
        device_id: DEVICE,
        now: FIXTURE.now,
        skew_seconds: 300,
    };
    verify_command(envelope, &FIXTURE.verifier_key, &expect, seen)
}

fuzz_target!(|data: &[u8]| {
    let envelope = match data.split_first() {
        Some((0, edits)) => edited(&FIXTURE.valid, edits),
        Some((1, command)) => signed_here(&FIXTURE.signing_key, command),
        _ => data.to_vec(),
    };
    let first = verify(&envelope, &|id| id == SEEN);
    let Ok(verified) = &first else {
        return;
    };
    assert_eq!(verify(&envelope, &|id| id == SEEN), first);
    let command = verified.command();
    assert_eq!(command.device_id, DEVICE);
    assert!(command.issued_at <= FIXTURE.now.offset_seconds(300));
    assert!(FIXTURE.now <= command.expires_at);
    // Exact bytes: the signed command bytes are the canonical encoding of what was accepted.
    let canonical = command
        .canonical_bytes()
        .expect("an accepted command encodes");
    assert!(envelope[ENVELOPE_PREFIX.len()..].starts_with(&canonical));
    // Once acted on, the same command is a replay.
    let replayed = verify(&envelope, &|id| id == command.command_id);
    assert!(matches!(replayed, Err(CommandError::Replayed { .. })));
});
