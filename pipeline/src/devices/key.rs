//! The service's Ed25519 command key: a 32-byte seed in `<data-dir>/command-key.seed`
//! (mode 0600), generated on first start. The seed is never logged; every process that
//! serves one organisation's devices must use the same file.

use std::io::Write;
use std::path::Path;

use custody_verifier::command::CommandSigner;

use super::DeviceError;

/// The seed file's name in the data directory.
pub const COMMAND_KEY_FILE: &str = "command-key.seed";

/// Loads the signer from `<data_dir>/command-key.seed`, generating the seed first if the
/// file does not exist. The key is named `<origin_host>/custody/commands`.
pub fn load_or_generate(data_dir: &Path, origin_host: &str) -> Result<CommandSigner, DeviceError> {
    let path = data_dir.join(COMMAND_KEY_FILE);
    let key_err = |reason: String| DeviceError::Key {
        path: path.display().to_string(),
        reason,
    };
    if !path.exists() {
        generate(&path).map_err(|e| key_err(e.to_string()))?;
    }
    let bytes = std::fs::read(&path).map_err(|e| key_err(e.to_string()))?;
    let seed = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| key_err(format!("{} bytes, not a 32-byte seed", bytes.len())))?;
    Ok(CommandSigner::from_seed(
        &format!("{origin_host}/custody/commands"),
        seed,
    )?)
}

/// Writes a fresh seed with mode 0600, never replacing a file another process wrote first.
fn generate(path: &Path) -> Result<(), DeviceError> {
    let seed = super::secret::random::<32>()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io_err = |e: std::io::Error| DeviceError::Key {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io_err(e)),
    };
    file.write_all(&seed).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_generated_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(dir.path(), "api.test").unwrap();
        let again = load_or_generate(dir.path(), "api.test").unwrap();
        assert_eq!(first.verifier_key(), again.verifier_key());
        assert_eq!(first.verifier_key().name(), "api.test/custody/commands");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join(COMMAND_KEY_FILE)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(COMMAND_KEY_FILE), b"short").unwrap();
        assert!(load_or_generate(dir.path(), "api.test").is_err());
    }
}
