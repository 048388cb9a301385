//! Random identifiers and one-time secrets (enrollment tokens, device credentials).
//!
//! Secrets are 32 random bytes in base64url behind a prefix; only their SHA-256 is stored.
//! [`DeviceSecret`]'s `Debug` never shows the secret.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::DeviceError;

/// The prefix of enrollment tokens.
pub const ENROLLMENT_PREFIX: &str = "cenr_";
/// The prefix of device credentials.
pub const CREDENTIAL_PREFIX: &str = "cdev_";

/// A secret shown once to whoever it was made for; its `Debug` is redacted.
pub struct DeviceSecret(String);

impl DeviceSecret {
    /// A fresh secret with `prefix`.
    pub(crate) fn generate(prefix: &str) -> Result<Self, DeviceError> {
        Ok(Self(format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(random::<32>()?)
        )))
    }

    /// The secret itself, for the one response that hands it over.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored in place of the secret.
    pub(crate) fn digest(&self) -> Vec<u8> {
        digest(&self.0)
    }
}

impl fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceSecret(<redacted>)")
    }
}

/// SHA-256 of a presented secret, to look it up.
pub(crate) fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// `N` bytes from the system's random source.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], DeviceError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| DeviceError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A random identifier: `prefix` and 16 random bytes in hex.
pub(crate) fn random_id(prefix: &str) -> Result<String, DeviceError> {
    Ok(format!("{prefix}{}", hex::encode(random::<16>()?)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed_and_ids_differ() {
        let secret = DeviceSecret::generate(CREDENTIAL_PREFIX).unwrap();
        assert!(secret.expose().starts_with(CREDENTIAL_PREFIX));
        assert!(!format!("{secret:?}").contains(secret.expose()));
        assert_eq!(secret.digest(), digest(secret.expose()));
        assert_ne!(random_id("dev_").unwrap(), random_id("dev_").unwrap());
    }
}
