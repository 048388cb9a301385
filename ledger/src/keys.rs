//! Organisations' Ed25519 log keys: a 32-byte seed in a file, generated on first use.
//! Key material is never logged; [`NoteSigner`]'s `Debug` shows only the public key.

use std::io::Write;
use std::path::{Path, PathBuf};

use custody_verifier::checkpoint::NoteSigner;

use crate::error::KeyError;
use crate::{LedgerConfig, LedgerError};

/// The seed file of `org`: the configured one, or `<data_dir>/keys/<org>.seed`.
pub fn key_path(config: &LedgerConfig, org: &str) -> PathBuf {
    config
        .key_files
        .get(org)
        .cloned()
        .unwrap_or_else(|| config.data_dir.join("keys").join(format!("{org}.seed")))
}

/// Loads `org`'s signer; when `create` and no file exists, generates one first.
pub fn load_signer(
    config: &LedgerConfig,
    org: &str,
    create: bool,
) -> Result<NoteSigner, LedgerError> {
    let path = key_path(config, org);
    if create && !path.exists() {
        generate(&path)?;
    }
    let seed = read_seed(&path)?;
    Ok(NoteSigner::from_seed(&config.origin(org), seed)?)
}

fn io_error(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_seed(path: &Path) -> Result<[u8; 32], KeyError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::BadLength {
        path: path.display().to_string(),
        len: bytes.len() as u64,
    })
}

/// Writes a fresh seed with mode 0600, refusing to replace an existing file (another
/// process may have won the race; the caller then reads its file).
fn generate(path: &Path) -> Result<(), KeyError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeyError::Random {
        reason: e.to_string(),
    })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io_error(path, e)),
    };
    file.write_all(&seed).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_private_mode_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = LedgerConfig::sqlite_in(dir.path());
        let first = load_signer(&config, "acme", true).unwrap();
        let again = load_signer(&config, "acme", true).unwrap();
        assert_eq!(first.verifier_key(), again.verifier_key());
        assert_eq!(first.verifier_key().name(), "localhost/custody/acme");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(&config, "acme"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{first:?}").contains(&hex::encode(
            std::fs::read(key_path(&config, "acme")).unwrap()
        )));
    }

    #[test]
    fn a_missing_key_is_not_generated_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let config = LedgerConfig::sqlite_in(dir.path());
        assert!(matches!(
            load_signer(&config, "acme", false),
            Err(LedgerError::Key(KeyError::Io { .. }))
        ));
    }

    #[test]
    fn a_configured_key_file_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.seed");
        std::fs::write(&file, [7u8; 32]).unwrap();
        let mut config = LedgerConfig::sqlite_in(dir.path());
        config.key_files.insert("acme".into(), file);
        let signer = load_signer(&config, "acme", true).unwrap();
        let expected = NoteSigner::from_seed("localhost/custody/acme", [7; 32]).unwrap();
        assert_eq!(signer.verifier_key(), expected.verifier_key());
    }
}
