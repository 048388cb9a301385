//! The development TSA's files in the data directory: PEM certificates (public) and
//! PKCS#8 PEM keys (mode 0600), each written to a temporary name and renamed into place.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_verifier::x509::{self, Certificate};
use p256::SecretKey;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use crate::tsa::DevTsaError;

const KEY_LABEL: &str = "PRIVATE KEY";
const CERT_LABEL: &str = "CERTIFICATE";

/// `der` as a PEM block with `label`, 64 base64 characters per line.
pub(super) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes a certificate (public, default permissions).
pub(super) fn write_certificate(path: &Path, der: &[u8]) -> Result<(), DevTsaError> {
    write_atomically(path, pem(CERT_LABEL, der).as_bytes(), false)
}

/// Writes a private key as PKCS#8 PEM, readable by the owner only.
pub(super) fn write_key(path: &Path, key: &SigningKey) -> Result<(), DevTsaError> {
    let secret = SecretKey::from(key);
    let document = secret.to_pkcs8_der().map_err(|e| DevTsaError::Key {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    write_atomically(path, pem(KEY_LABEL, document.as_bytes()).as_bytes(), true)
}

fn write_atomically(path: &Path, contents: &[u8], private: bool) -> Result<(), DevTsaError> {
    let io = |source| DevTsaError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads the one certificate of a PEM file.
pub(super) fn read_certificate(path: &Path) -> Result<(Certificate, Vec<u8>), DevTsaError> {
    let text = std::fs::read(path).map_err(|source| DevTsaError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| DevTsaError::Certificate {
        path: path.to_owned(),
        reason,
    };
    let mut certificates = x509::parse_pem_certificates(&text).map_err(|e| bad(e.to_string()))?;
    match certificates.len() {
        1 => Ok((certificates.remove(0), text)),
        n => Err(bad(format!("{n} certificates, expected one"))),
    }
}

/// Reads a PKCS#8 PEM P-256 private key.
pub(super) fn read_key(path: &Path) -> Result<SigningKey, DevTsaError> {
    let text = std::fs::read_to_string(path).map_err(|source| DevTsaError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: &str| DevTsaError::Key {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let begin = format!("-----BEGIN {KEY_LABEL}-----");
    let end = format!("-----END {KEY_LABEL}-----");
    let body = text
        .split_once(&begin)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(body, _)| body)
        .ok_or_else(|| bad("no PRIVATE KEY block"))?;
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(compact)
        .map_err(|_| bad("body is not base64"))?;
    let secret = SecretKey::from_pkcs8_der(&der).map_err(|_| bad("not a P-256 PKCS#8 key"))?;
    Ok(SigningKey::from(secret))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = SigningKey::from_bytes(&[7; 32].into()).unwrap();
        write_key(&path, &key).unwrap();
        assert_eq!(read_key(&path).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let text = pem("CERTIFICATE", &[0u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last().copied(), Some("-----END CERTIFICATE-----"));
    }
}
