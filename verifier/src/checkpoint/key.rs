//! Ed25519 note keys: verifier keys (`<name>+<hex8 key hash>+<base64(0x01 ‖ key)>`),
//! signers, and the key hash that ties a signature line to its key.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

#[cfg(doc)] // Named only by the doc links.
use super::MAX_NOTE_TEXT;
use super::note::{SIGNATURE_PREFIX, check_text};
use super::{Checkpoint, CheckpointError, VerifierKeyFault, decode_base64, excerpt};

/// The longest key name accepted, in bytes.
pub const MAX_KEY_NAME: usize = 1024;

/// The signature type byte of Ed25519 in key hashes and verifier keys.
const ED25519: u8 = 0x01;

/// A trusted Ed25519 note key: its name, key hash and public key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifierKey {
    pub(super) name: String,
    pub(super) key_hash: u32,
    key: VerifyingKey,
}

impl NoteVerifierKey {
    /// The verifier key of `name` and a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidKeyName`], or [`CheckpointError::InvalidVerifierKey`]
    /// for a key that is not a canonical point or has small order.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        let key = ed25519_key(public_key).map_err(key_fault)?;
        Ok(Self {
            name: name.to_owned(),
            key_hash: key_hash(name, public_key),
            key,
        })
    }

    /// The key name, which for a custody log is its origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), as a
    /// big-endian u32.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub(super) fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .is_ok_and(|sig| self.key.verify_strict(text.as_bytes(), &sig).is_ok())
    }
}

impl FromStr for NoteVerifierKey {
    type Err = CheckpointError;

    /// Parses `<name>+<hex8 key hash>+<base64(0x01 ‖ public key)>` and checks the hash.
    fn from_str(text: &str) -> Result<Self, CheckpointError> {
        let (name, rest) = text
            .split_once('+')
            .ok_or(key_fault(VerifierKeyFault::Syntax))?;
        let (hash_hex, key_b64) = rest
            .split_once('+')
            .ok_or(key_fault(VerifierKeyFault::Syntax))?;
        check_key_name(name)?;
        let written = parse_key_hash(hash_hex).ok_or(key_fault(VerifierKeyFault::KeyHashSyntax))?;
        let blob = decode_base64(key_b64).ok_or(key_fault(VerifierKeyFault::Base64))?;
        let public_key = match blob.split_first() {
            Some((&ED25519, key)) => key,
            Some((&id, _)) => return Err(key_fault(VerifierKeyFault::UnsupportedType { id })),
            None => return Err(key_fault(VerifierKeyFault::KeyLength { len: 0 })),
        };
        let public_key: [u8; 32] = public_key.try_into().map_err(|_| {
            key_fault(VerifierKeyFault::KeyLength {
                len: public_key.len(),
            })
        })?;
        let computed = key_hash(name, &public_key);
        if written != computed {
            return Err(key_fault(VerifierKeyFault::KeyHashMismatch {
                written,
                computed,
            }));
        }
        Self::new(name, &public_key)
    }
}

impl fmt::Display for NoteVerifierKey {
    /// The verifier key string, `<name>+<hex8 key hash>+<base64(0x01 ‖ public key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blob = [&[ED25519][..], self.key.as_bytes()].concat();
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            STANDARD.encode(blob)
        )
    }
}

impl fmt::Debug for NoteVerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoteVerifierKey")
            .field(&self.to_string())
            .finish()
    }
}

/// An Ed25519 note signing key. Its `Debug` shows the name and public key, never the seed.
pub struct NoteSigner {
    key: SigningKey,
    verifier: NoteVerifierKey,
}

impl NoteSigner {
    /// The signer of key name `name` with the RFC 8032 private key `seed`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidKeyName`].
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, CheckpointError> {
        let key = SigningKey::from_bytes(&seed);
        let verifier = NoteVerifierKey::new(name, key.verifying_key().as_bytes())?;
        Ok(Self { key, verifier })
    }

    /// The key that verifies this signer's signatures.
    pub fn verifier_key(&self) -> NoteVerifierKey {
        self.verifier.clone()
    }

    /// Signs `text` and returns the signed note: the text, a blank line, one signature line.
    ///
    /// # Errors
    /// A text over [`MAX_NOTE_TEXT`], not ending in a newline, or holding a control
    /// character other than newline.
    pub fn sign_note(&self, text: &str) -> Result<String, CheckpointError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let blob = [
            &self.verifier.key_hash.to_be_bytes()[..],
            &signature.to_bytes(),
        ]
        .concat();
        let name = &self.verifier.name;
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{name} {}\n",
            STANDARD.encode(blob)
        ))
    }

    /// Signs a checkpoint: [`Checkpoint::to_note_text`], then [`NoteSigner::sign_note`].
    ///
    /// # Errors
    /// As [`Checkpoint::to_note_text`] and [`NoteSigner::sign_note`].
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        self.sign_note(&checkpoint.to_note_text()?)
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

/// signed-note: key names are non-empty and hold no Unicode space and no `+`; we also
/// refuse control characters, which no note may hold, and names over [`MAX_KEY_NAME`].
pub(super) fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY_NAME
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c < ' ' || c == '+')
}

fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if is_key_name(name) {
        Ok(())
    } else {
        Err(CheckpointError::InvalidKeyName {
            name: excerpt(name),
        })
    }
}

fn key_fault(fault: VerifierKeyFault) -> CheckpointError {
    CheckpointError::InvalidVerifierKey { fault }
}

/// A public key that is a canonical point encoding and not of small order.
fn ed25519_key(bytes: &[u8; 32]) -> Result<VerifyingKey, VerifierKeyFault> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| VerifierKeyFault::InvalidPoint)?;
    if key.to_edwards().compress().to_bytes() != *bytes {
        return Err(VerifierKeyFault::InvalidPoint);
    }
    if key.is_weak() {
        return Err(VerifierKeyFault::WeakKey);
    }
    Ok(key)
}

/// The first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), as a big-endian u32.
fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ED25519])
        .chain_update(public_key)
        .finalize()
        .into();
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

fn parse_key_hash(hex_text: &str) -> Option<u32> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex_text.len() != 8 || !hex_text.bytes().all(lower_hex) {
        return None;
    }
    u32::from_str_radix(hex_text, 16).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use crate::checkpoint::parse_signed_note;
    use crate::checkpoint::tests::{ORIGIN, signer};

    use CheckpointError as E;

    #[test]
    fn signs_and_verifies_like_go_sumdb_note() {
        // The example of golang.org/x/mod/sumdb/note's package documentation: private key
        // PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz.
        let seed = hex::decode("810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173");
        let signer = NoteSigner::from_seed("PeterNeumann", seed.unwrap().try_into().unwrap());
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let signer = signer.unwrap();
        assert_eq!(signer.verifier_key().to_string(), vkey);
        assert_eq!(
            vkey.parse::<NoteVerifierKey>().unwrap(),
            signer.verifier_key()
        );
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let note = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUg\
             YN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(signer.sign_note(text).unwrap(), note);
        let parsed = parse_signed_note(note.as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.signatures()[0].name(), "PeterNeumann");
        assert_eq!(parsed.signatures()[0].key_hash(), 0xc74f20a3);
        assert_eq!(parsed.signatures()[0].signature().len(), 64);
    }

    #[test]
    fn verifier_keys_are_strict() {
        let vkey = signer().verifier_key().to_string();
        assert_eq!(vkey.parse::<NoteVerifierKey>().unwrap().to_string(), vkey);
        // Every proper substring and every one-byte increment is refused.
        for i in 0..=vkey.len() {
            for j in i + 1..=vkey.len() {
                if (i, j) != (0, vkey.len()) {
                    let part = vkey.get(i..j).unwrap_or("");
                    assert!(part.parse::<NoteVerifierKey>().is_err(), "{part}");
                }
            }
        }
        for i in 0..vkey.len() {
            let mut bytes = vkey.clone().into_bytes();
            bytes[i] = bytes[i].wrapping_add(1);
            if let Ok(text) = String::from_utf8(bytes) {
                assert!(text.parse::<NoteVerifierKey>().is_err(), "{text}");
            }
        }
        let public = signer().verifier_key().public_key();
        let encode = |prefix: &[u8]| STANDARD.encode([prefix, &public[..]].concat());
        let hash = format!("{:08x}", signer().verifier_key().key_hash());
        let fault = |fault| Err(E::InvalidVerifierKey { fault });
        let cases = [
            (format!("{ORIGIN}+{hash}"), fault(VerifierKeyFault::Syntax)),
            (
                format!("{ORIGIN}+{}+{}", hash.to_uppercase(), encode(&[1])),
                fault(VerifierKeyFault::KeyHashSyntax),
            ),
            (
                format!("{ORIGIN}+{hash}+{}", encode(&[2])),
                fault(VerifierKeyFault::UnsupportedType { id: 2 }),
            ),
            (
                format!("{ORIGIN}+{hash}+{}", encode(&[1, 0])),
                fault(VerifierKeyFault::KeyLength { len: 33 }),
            ),
            (
                format!("{ORIGIN}+00000000+{}", encode(&[1])),
                fault(VerifierKeyFault::KeyHashMismatch {
                    written: 0,
                    computed: signer().verifier_key().key_hash(),
                }),
            ),
            (
                format!("a b+{hash}+{}", encode(&[1])),
                Err(E::InvalidKeyName { name: "a b".into() }),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<NoteVerifierKey>(), want, "{text}");
        }
        // The identity point has small order; y = 2^255 - 1 is not a canonical encoding.
        let mut identity = [0; 32];
        identity[0] = 1;
        assert_eq!(
            NoteVerifierKey::new("k", &identity),
            fault(VerifierKeyFault::WeakKey)
        );
        let mut non_canonical = [0xff; 32];
        non_canonical[31] = 0x7f;
        assert_eq!(
            NoteVerifierKey::new("k", &non_canonical),
            fault(VerifierKeyFault::InvalidPoint)
        );
    }

    #[test]
    fn signer_debug_hides_the_seed() {
        let shown = format!("{:?}", signer());
        assert!(
            shown.contains(&signer().verifier_key().to_string()),
            "{shown}"
        );
        assert!(
            !shown.contains("4242") && !shown.contains("66, 66"),
            "{shown}"
        );
        assert!(
            !shown.contains(&STANDARD.encode([0x42; 32])[..16]),
            "{shown}"
        );
    }
}
