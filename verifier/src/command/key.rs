//! The service's command key: the verifier key devices trust, the signer the service
//! holds, and the signed envelope it produces.
//!
//! A command verifier key is published in the C2SP note verifier-key form the log keys
//! use: `<name>+<hex8 key hash>+<base64(0x01 ‖ Ed25519 public key)>`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{CommandError, LockCommand, SIGNING_CONTEXT, parse_command};
use crate::checkpoint::{CheckpointError, NoteVerifierKey, VerifierKeyFault};

/// A trusted Ed25519 command key: what a device checks lock commands against.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandVerifierKey {
    note: NoteVerifierKey,
    key: VerifyingKey,
}

impl CommandVerifierKey {
    /// The verifier key of `name` and a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`CommandError::Key`] for an invalid name, a non-canonical point or a small-order key.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, CommandError> {
        let note = NoteVerifierKey::new(name, public_key).map_err(CommandError::Key)?;
        Self::from_note(note)
    }

    fn from_note(note: NoteVerifierKey) -> Result<Self, CommandError> {
        // NoteVerifierKey has already refused non-canonical and small-order points.
        let key = VerifyingKey::from_bytes(&note.public_key()).map_err(|_| {
            CommandError::Key(CheckpointError::InvalidVerifierKey {
                fault: VerifierKeyFault::InvalidPoint,
            })
        })?;
        Ok(Self { note, key })
    }

    /// The key's name (`<host>/custody/commands` for a custody service).
    pub fn name(&self) -> &str {
        self.note.name()
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether `signature` is a valid strict Ed25519 signature of `command_bytes` under
    /// the command signing context.
    pub(super) fn verifies(&self, command_bytes: &[u8], signature: &[u8; 64]) -> bool {
        let input = [SIGNING_CONTEXT, command_bytes].concat();
        self.key
            .verify_strict(&input, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl FromStr for CommandVerifierKey {
    type Err = CommandError;

    /// Parses `<name>+<hex8 key hash>+<base64(0x01 ‖ public key)>` and checks the hash.
    fn from_str(text: &str) -> Result<Self, CommandError> {
        let note = text.trim().parse().map_err(CommandError::Key)?;
        Self::from_note(note)
    }
}

impl fmt::Display for CommandVerifierKey {
    /// The verifier key string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.note.fmt(f)
    }
}

impl fmt::Debug for CommandVerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CommandVerifierKey")
            .field(&self.to_string())
            .finish()
    }
}

/// The service's command signing key. Its `Debug` shows the verifier key, never the seed.
pub struct CommandSigner {
    key: SigningKey,
    verifier: CommandVerifierKey,
}

impl CommandSigner {
    /// The signer named `name` with the RFC 8032 private key `seed`.
    ///
    /// # Errors
    /// [`CommandError::Key`] for an invalid key name.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, CommandError> {
        let key = SigningKey::from_bytes(&seed);
        let verifier = CommandVerifierKey::new(name, key.verifying_key().as_bytes())?;
        Ok(Self { key, verifier })
    }

    /// The key devices verify this signer's commands with.
    pub fn verifier_key(&self) -> &CommandVerifierKey {
        &self.verifier
    }

    /// Checks `command` as a verifier would parse it, then signs its canonical bytes.
    ///
    /// # Errors
    /// [`CommandError::Member`] or [`CommandError::Window`] for a command a verifier
    /// would refuse to parse; the service never signs one.
    pub fn sign(&self, command: &LockCommand) -> Result<SignedCommand, CommandError> {
        let value = command.to_value();
        parse_command(&value)?;
        let bytes = command.canonical_bytes()?;
        let signature = self.key.sign(&[SIGNING_CONTEXT, &bytes].concat());
        let mut text = String::with_capacity(bytes.len() + 120);
        text.push_str(ENVELOPE_PREFIX);
        text.push_str(&String::from_utf8_lossy(&bytes));
        text.push_str(SIGNATURE_INFIX);
        text.push_str(&STANDARD.encode(signature.to_bytes()));
        text.push_str(ENVELOPE_SUFFIX);
        Ok(SignedCommand { text })
    }
}

impl fmt::Debug for CommandSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandSigner")
            .field("verifier", &self.verifier)
            .field("seed", &"<redacted>")
            .finish()
    }
}

/// The canonical envelope is `{"command":<command>,"signature":"<base64>"}`.
pub(super) const ENVELOPE_PREFIX: &str = "{\"command\":";
pub(super) const SIGNATURE_INFIX: &str = ",\"signature\":\"";
pub(super) const ENVELOPE_SUFFIX: &str = "\"}";

/// A signed lock command as it travels: the canonical JSON envelope
/// `{"command":{…},"signature":"<base64 Ed25519 signature>"}` (`evidence-format.md` §11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCommand {
    text: String,
}

impl SignedCommand {
    /// The envelope's exact bytes, to send and to verify as received.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The envelope, consumed.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Hex SHA-256 of the envelope bytes, for custody records that name the command.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }
}
