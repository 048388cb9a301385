//! Signed notes (c2sp.org/signed-note) and the log checkpoints they carry
//! (c2sp.org/tlog-checkpoint), signed with Ed25519 log keys.
//!
//! [`verify_checkpoint`] runs four steps, each with its own errors: (1) parse the note
//! strictly, (2) verify every signature line of a trusted key, (3) parse the checkpoint
//! text, (4) require a signature by a trusted key named after the checkpoint's origin.
//! Success is a [`VerifiedCheckpoint`], which only this module builds; it keeps the exact
//! signed bytes, over which RFC 3161 tokens are taken.
//!
//! Origin convention: a custody log's origin is `<host>/custody/<org_id>` and its key is
//! named after the origin. tlog-checkpoint says the log's key name SHOULD match the
//! origin; step 4 makes it a MUST here, so that a key trusted for one organisation's log
//! (or a witness key) cannot vouch for a checkpoint that claims another origin.

mod error;
mod key;
mod note;

pub use error::{CheckpointError, NotePart, SignatureFault, VerifierKeyFault};
pub use key::{MAX_KEY_NAME, NoteSigner, NoteVerifierKey};
pub use note::{
    MAX_NOTE_SIZE, MAX_NOTE_TEXT, MAX_SIGNATURE_LINE, MAX_SIGNATURES, NoteSignature, SignedNote,
    parse_signed_note,
};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use note::check_text;

/// A checkpoint: the log's origin, tree size and root, and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, `<host>/custody/<org_id>` for custody logs.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root of those leaves.
    pub root: Hash,
    /// Opaque extra lines, each non-empty (tlog-checkpoint does not recommend them).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, decimal size, base64 root, extension lines, each ending
    /// in a newline.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] or [`CheckpointError::InvalidExtension`].
    pub fn to_note_text(&self) -> Result<String, CheckpointError> {
        if !is_checkpoint_line(&self.origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        if let Some(index) = self.extensions.iter().position(|e| !is_checkpoint_line(e)) {
            return Err(CheckpointError::InvalidExtension { index });
        }
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        check_text(&text)?;
        Ok(text)
    }

    /// Parses a checkpoint note text (unsigned; for signed bytes use
    /// [`verify_checkpoint`]).
    ///
    /// # Errors
    /// The text errors of [`NoteSigner::sign_note`], then [`CheckpointError::TooFewLines`],
    /// [`CheckpointError::EmptyLine`], [`CheckpointError::InvalidTreeSize`] or
    /// [`CheckpointError::InvalidRootHash`].
    pub fn from_note_text(text: &str) -> Result<Self, CheckpointError> {
        check_text(text)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(i) = lines.iter().position(|line| line.is_empty()) {
            return Err(CheckpointError::EmptyLine { line: i + 1 });
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { count: lines.len() });
        };
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::InvalidTreeSize {
            text: excerpt(size),
        })?;
        let root = decode_base64(root)
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or_else(|| CheckpointError::InvalidRootHash {
                text: excerpt(root),
            })?;
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        })
    }
}

/// A checkpoint whose note carries a valid signature by a trusted key named after its
/// origin, and no failing signature by a trusted key. Only [`verify_checkpoint`] builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note_text: String,
    signed_by: Vec<NoteVerifierKey>,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The exact signed bytes: the note text, final newline included.
    pub fn note_text(&self) -> &[u8] {
        self.note_text.as_bytes()
    }

    /// The trusted keys whose signatures verified, in note order.
    pub fn signed_by(&self) -> &[NoteVerifierKey] {
        &self.signed_by
    }

    /// SHA-256 of [`VerifiedCheckpoint::note_text`]: the message imprint of the RFC 3161
    /// tokens taken over this checkpoint.
    pub fn note_text_digest(&self) -> [u8; 32] {
        Sha256::digest(self.note_text.as_bytes()).into()
    }
}

/// Verifies a signed checkpoint against trusted log keys, in four steps (see the module
/// documentation). Signatures by keys not in `keys` are ignored, as the spec requires.
///
/// # Errors
/// Step 1: any [`parse_signed_note`] error. Step 2:
/// [`CheckpointError::SignatureInvalid`] for a trusted key whose signature fails (the
/// whole note is refused), [`CheckpointError::NoTrustedSignature`]. Step 3: the
/// [`Checkpoint::from_note_text`] errors. Step 4: [`CheckpointError::OriginNotSigned`].
pub fn verify_checkpoint(
    bytes: &[u8],
    keys: &[NoteVerifierKey],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    // Step 1: the note's syntax.
    let note = parse_signed_note(bytes)?;
    // Step 2: every signature of a trusted key verifies, and there is one.
    let signed_by = verify_signatures(&note, keys)?;
    // Step 3: the checkpoint text, read only once a trusted key vouched for it.
    let checkpoint = Checkpoint::from_note_text(&note.text)?;
    // Step 4: the log itself signed: a trusted key named after the origin.
    if !signed_by.iter().any(|key| key.name == checkpoint.origin) {
        return Err(CheckpointError::OriginNotSigned {
            origin: excerpt(&checkpoint.origin),
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note_text: note.text,
        signed_by,
    })
}

fn verify_signatures(
    note: &SignedNote,
    keys: &[NoteVerifierKey],
) -> Result<Vec<NoteVerifierKey>, CheckpointError> {
    let mut signed_by = Vec::new();
    for sig in &note.signatures {
        let mut candidates = keys
            .iter()
            .filter(|k| k.name == sig.name && k.key_hash == sig.key_hash)
            .peekable();
        if candidates.peek().is_none() {
            continue;
        }
        match candidates.find(|k| k.verifies(&note.text, &sig.signature)) {
            Some(key) => signed_by.push(key.clone()),
            None => {
                let (name, key_hash) = (sig.name.clone(), sig.key_hash);
                return Err(CheckpointError::SignatureInvalid { name, key_hash });
            }
        }
    }
    if signed_by.is_empty() {
        return Err(CheckpointError::NoTrustedSignature);
    }
    Ok(signed_by)
}

fn is_checkpoint_line(line: &str) -> bool {
    !line.is_empty() && !line.bytes().any(|b| b < 0x20)
}

/// Decodes canonical padded standard base64 (RFC 4648 §4): the only spelling of its bytes.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    (STANDARD.encode(&bytes) == text).then_some(bytes)
}

/// Parses canonical ASCII decimal: digits only, no leading zero unless the value is 0.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// At most 64 characters of an offending value, for an error.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use CheckpointError as E;

    // Fixtures shared with the tests of `key` and `note`.
    pub(super) const ORIGIN: &str = "log.example.com/custody/acme";

    pub(super) fn signer() -> NoteSigner {
        NoteSigner::from_seed(ORIGIN, [0x42; 32]).unwrap()
    }

    pub(super) fn witness() -> NoteSigner {
        NoteSigner::from_seed("witness.example.com", [0x07; 32]).unwrap()
    }

    pub(super) fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: 3,
            root: [0xab; 32],
            extensions: vec![],
        }
    }

    pub(super) fn signed() -> String {
        signer().sign_checkpoint(&checkpoint()).unwrap()
    }

    pub(super) fn last_line(note: &str) -> &str {
        note.lines().last().unwrap()
    }

    #[test]
    fn signed_checkpoints_round_trip() {
        let keys = [witness().verifier_key(), signer().verifier_key()];
        for extensions in [
            vec![],
            vec!["one extension".to_owned(), "another".to_owned()],
        ] {
            let checkpoint = Checkpoint {
                extensions,
                ..checkpoint()
            };
            let note = signer().sign_checkpoint(&checkpoint).unwrap();
            let verified = verify_checkpoint(note.as_bytes(), &keys).unwrap();
            let text = checkpoint.to_note_text().unwrap();
            assert_eq!(verified.checkpoint(), &checkpoint);
            assert_eq!(verified.note_text(), text.as_bytes());
            assert_eq!(
                verified.note_text_digest(),
                <[u8; 32]>::from(Sha256::digest(&text))
            );
            assert_eq!(verified.signed_by(), &[signer().verifier_key()]);
            assert_eq!(Checkpoint::from_note_text(&text), Ok(checkpoint));
        }
    }

    #[test]
    fn untrusted_signatures_are_kept_and_ignored() {
        let text = checkpoint().to_note_text().unwrap();
        let other = witness().sign_note("another text\n").unwrap();
        let note = format!("{}{}\n", signed(), last_line(&other));
        let parsed = parse_signed_note(note.as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.signatures().len(), 2);
        assert!(verify_checkpoint(note.as_bytes(), &[signer().verifier_key()]).is_ok());
        let both = [signer().verifier_key(), witness().verifier_key()];
        let err = verify_checkpoint(note.as_bytes(), &both).unwrap_err();
        let key_hash = witness().verifier_key().key_hash();
        assert_eq!(
            err,
            E::SignatureInvalid {
                name: "witness.example.com".into(),
                key_hash
            }
        );
    }

    #[test]
    fn every_single_byte_change_is_rejected() {
        let note = signed().into_bytes();
        let keys = [signer().verifier_key()];
        for i in 0..note.len() {
            for delta in [0x01, 0x20, 0x80] {
                let mut bad = note.clone();
                bad[i] ^= delta;
                assert!(
                    verify_checkpoint(&bad, &keys).is_err(),
                    "byte {i} ^ {delta:#04x}"
                );
            }
            let mut removed = note.clone();
            removed.remove(i);
            assert!(
                verify_checkpoint(&removed, &keys).is_err(),
                "byte {i} removed"
            );
            let mut inserted = note.clone();
            inserted.insert(i, b'A');
            assert!(
                verify_checkpoint(&inserted, &keys).is_err(),
                "A inserted at {i}"
            );
        }
    }

    #[test]
    fn checkpoint_text_is_strict() {
        let root = STANDARD.encode([0xab; 32]);
        let cases = [
            (format!("{ORIGIN}\n3\n"), E::TooFewLines { count: 2 }),
            (format!("{ORIGIN}\n3\n{root}\n\n"), E::EmptyLine { line: 4 }),
            (format!("\n3\n{root}\n"), E::EmptyLine { line: 1 }),
            (
                format!("{ORIGIN}\n03\n{root}\n"),
                E::InvalidTreeSize { text: "03".into() },
            ),
            (
                format!("{ORIGIN}\n+3\n{root}\n"),
                E::InvalidTreeSize { text: "+3".into() },
            ),
            (
                format!("{ORIGIN}\n 3\n{root}\n"),
                E::InvalidTreeSize { text: " 3".into() },
            ),
            (
                format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
                E::InvalidTreeSize {
                    text: "18446744073709551616".into(),
                },
            ),
            (
                format!("{ORIGIN}\n3\n{}\n", STANDARD.encode([1; 31])),
                E::InvalidRootHash {
                    text: STANDARD.encode([1; 31]),
                },
            ),
            (
                format!("{ORIGIN}\n3\n{}B=\n", &root[..42]),
                E::InvalidRootHash {
                    text: format!("{}B=", &root[..42]),
                },
            ),
        ];
        let keys = [signer().verifier_key()];
        for (text, want) in cases {
            let note = signer().sign_note(&text).unwrap();
            assert_eq!(
                verify_checkpoint(note.as_bytes(), &keys),
                Err(want),
                "{text:?}"
            );
        }
        let max = format!("{ORIGIN}\n18446744073709551615\n{root}\n");
        assert_eq!(
            Checkpoint::from_note_text(&max).map(|c| c.size),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn builders_refuse_what_would_not_parse() {
        let cases = [
            (
                Checkpoint {
                    origin: String::new(),
                    ..checkpoint()
                },
                E::InvalidOrigin,
            ),
            (
                Checkpoint {
                    origin: "a\nb".into(),
                    ..checkpoint()
                },
                E::InvalidOrigin,
            ),
            (
                Checkpoint {
                    extensions: vec!["x".into(), String::new()],
                    ..checkpoint()
                },
                E::InvalidExtension { index: 1 },
            ),
            (
                Checkpoint {
                    extensions: vec!["x\ry".into()],
                    ..checkpoint()
                },
                E::InvalidExtension { index: 0 },
            ),
        ];
        for (checkpoint, want) in cases {
            assert_eq!(checkpoint.to_note_text(), Err(want));
        }
        for (text, want) in [
            ("no newline", E::MissingFinalNewline),
            (
                "a\rb\n",
                E::ControlCharacter {
                    offset: 1,
                    byte: b'\r',
                },
            ),
        ] {
            assert_eq!(signer().sign_note(text), Err(want));
        }
        for name in ["", "a b", "a+b", "a\u{2003}b", "a\tb"] {
            let err = NoteSigner::from_seed(name, [1; 32]).unwrap_err();
            assert_eq!(err, E::InvalidKeyName { name: name.into() });
        }
    }
}
