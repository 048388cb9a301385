//! Sealing provider credentials at rest: XChaCha20-Poly1305 under the service's 32-byte
//! secret key, with the organisation and provider id as associated data (a sealed value
//! moved to another row does not open).
//!
//! The key comes from `CUSTODY_SECRET_KEY` (base64) or, for the embedded default, is
//! generated into `<data-dir>/secret.key` (mode 0600) on first start. It is never logged.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The file the embedded default keeps its secret key in.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// The service's secret key. `Debug` never prints it.
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

/// Why a key could not be loaded or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    /// The configured key is not 32 bytes of base64.
    #[error("the secret key must be 32 bytes, base64-encoded")]
    BadKey,
    /// The key file could not be read or written.
    #[error("secret key file: {0}")]
    Io(#[from] std::io::Error),
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// The sealed value was altered, moved, or sealed under another key.
    #[error("a sealed credential does not open with this key (altered, moved, or another key)")]
    Open,
}

impl SealingKey {
    /// The key from base64 text (the `CUSTODY_SECRET_KEY` form).
    pub fn from_base64(text: &str) -> Result<Self, SealingError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealingError::BadKey)?;
        Ok(Self(bytes.try_into().map_err(|_| SealingError::BadKey)?))
    }

    /// Loads `<dir>/secret.key`, creating it with a random key (mode 0600) if absent.
    pub fn load_or_create(dir: &Path) -> Result<Self, SealingError> {
        let path = dir.join(SECRET_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::getrandom(&mut key).map_err(|e| SealingError::Random(e.to_string()))?;
                match crate::private_file::create(&path, STANDARD.encode(key).as_bytes()) {
                    Ok(()) => Ok(Self(key)),
                    // Another process of the same service created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_base64(&std::fs::read_to_string(&path)?)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Seals `secret`, bound to `context` (e.g. `org/provider_id`): nonce ‖ ciphertext.
    pub fn seal(&self, context: &str, secret: &[u8]) -> Result<Vec<u8>, SealingError> {
        let mut nonce = [0u8; 24];
        getrandom::getrandom(&mut nonce).map_err(|e| SealingError::Random(e.to_string()))?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealingError::Open)?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealingError> {
        if sealed.len() < 24 {
            return Err(SealingError::Open);
        }
        let (nonce, body) = sealed.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| SealingError::Open)?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealingError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SealingKey::load_or_create(dir.path()).expect("key");
        let again = SealingKey::load_or_create(dir.path()).expect("reload");
        let sealed = key.seal("acme/openai", b"sk-admin-secret").expect("seal");
        assert_eq!(
            again.open("acme/openai", &sealed).expect("open"),
            b"sk-admin-secret"
        );
        assert!(key.open("acme/anthropic", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(key.open("acme/openai", &flipped).is_err());
        let other = SealingKey::from_base64(&STANDARD.encode([9u8; 32])).expect("key");
        assert!(other.open("acme/openai", &sealed).is_err());
        assert!(!format!("{key:?}").contains(&STANDARD.encode(key.0)));
    }
}
