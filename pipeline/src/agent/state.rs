//! What an enrolled agent keeps on disk, in its state directory (mode 0700):
//!
//! - `device.json` (0600): server URL, device id, organisation, employee, the command
//!   verifier key it trusts, and its device credential;
//! - `seen`: one line `<command id> <nonce>` per command it acted on, appended and synced
//!   before it acknowledges, so a replay is refused even after a restart.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use custody_verifier::command::CommandVerifierKey;
use serde::{Deserialize, Serialize};

use super::AgentError;

/// The device file's name in the state directory.
pub const DEVICE_FILE: &str = "device.json";
/// The seen-commands file's name in the state directory.
pub const SEEN_FILE: &str = "seen";

/// An enrolled device's identity and trust. Its `Debug` never shows the credential.
#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceState {
    /// The custody service's base URL.
    pub server: String,
    /// This device's id: commands for any other device are refused.
    pub device_id: String,
    /// Its organisation.
    pub org: String,
    /// The employee it belongs to.
    pub subject: String,
    /// The command verifier key (C2SP verifier-key form), pinned at enrollment.
    pub command_key: String,
    credential: String,
}

impl DeviceState {
    /// A new state (not yet saved).
    pub fn new(
        server: &str,
        enrolled: (String, String, String),
        command_key: &CommandVerifierKey,
        credential: String,
    ) -> Self {
        let (device_id, org, subject) = enrolled;
        Self {
            server: server.trim_end_matches('/').to_owned(),
            device_id,
            org,
            subject,
            command_key: command_key.to_string(),
            credential,
        }
    }

    /// The device credential, for the `Authorization: Device` header only.
    pub fn credential(&self) -> &str {
        &self.credential
    }

    /// The pinned command verifier key.
    pub fn verifier_key(&self) -> Result<CommandVerifierKey, AgentError> {
        self.command_key.parse().map_err(AgentError::Key)
    }

    /// Reads `<dir>/device.json`.
    pub fn load(dir: &Path) -> Result<Self, AgentError> {
        let path = dir.join(DEVICE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| AgentError::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| AgentError::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// Writes `<dir>/device.json` with mode 0600 (the directory 0700); refuses to
    /// replace an existing enrollment.
    pub fn save_new(&self, dir: &Path) -> Result<PathBuf, AgentError> {
        create_private_dir(dir)?;
        let path = dir.join(DEVICE_FILE);
        let json = serde_json::to_vec_pretty(self).map_err(|e| AgentError::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| AgentError::io(&path, e))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(|e| AgentError::io(&path, e))?;
        Ok(path)
    }
}

impl fmt::Debug for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceState")
            .field("server", &self.server)
            .field("device_id", &self.device_id)
            .field("org", &self.org)
            .field("subject", &self.subject)
            .field("command_key", &self.command_key)
            .field("credential", &"<redacted>")
            .finish()
    }
}

fn create_private_dir(dir: &Path) -> Result<(), AgentError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| AgentError::io(dir, e))
}

/// The command ids and nonces this device has acted on.
#[derive(Debug)]
pub struct SeenLog {
    path: PathBuf,
    command_ids: HashSet<String>,
    ids: HashSet<String>,
}

impl SeenLog {
    /// Reads `<dir>/seen` (absent: nothing seen yet).
    pub fn load(dir: &Path) -> Result<Self, AgentError> {
        let path = dir.join(SEEN_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(AgentError::io(&path, e)),
        };
        let mut log = Self {
            path,
            command_ids: HashSet::new(),
            ids: HashSet::new(),
        };
        for line in text.lines() {
            if let Some((command_id, nonce)) = line.split_once(' ') {
                log.remember(command_id, nonce);
            }
        }
        Ok(log)
    }

    fn remember(&mut self, command_id: &str, nonce: &str) {
        self.command_ids.insert(command_id.to_owned());
        self.ids.insert(command_id.to_owned());
        self.ids.insert(nonce.to_owned());
    }

    /// Whether a command id or nonce was acted on (the predicate `verify_command` asks).
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Whether this device acted on exactly this command id.
    pub fn acted_on(&self, command_id: &str) -> bool {
        self.command_ids.contains(command_id)
    }

    /// Records a command as acted on, durably, before it is acknowledged.
    pub fn record(&mut self, command_id: &str, nonce: &str) -> Result<(), AgentError> {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&self.path)
            .map_err(|e| AgentError::io(&self.path, e))?;
        file.write_all(format!("{command_id} {nonce}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| AgentError::io(&self.path, e))?;
        self.remember(command_id, nonce);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn the_seen_log_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = SeenLog::load(dir.path()).unwrap();
        assert!(!log.contains("cmd_1"));
        log.record("cmd_1", "00ff").unwrap();
        let again = SeenLog::load(dir.path()).unwrap();
        assert!(again.contains("cmd_1") && again.contains("00ff") && again.acted_on("cmd_1"));
        assert!(!again.acted_on("00ff"));
    }

    #[test]
    fn the_credential_is_private_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let key =
            custody_verifier::command::CommandSigner::from_seed("t/custody/commands", [1; 32])
                .unwrap()
                .verifier_key()
                .clone();
        let ids = ("dev_1".to_owned(), "acme".to_owned(), "emp-7".to_owned());
        let state = DeviceState::new("http://x/", ids, &key, "cdev_secret".to_owned());
        assert!(!format!("{state:?}").contains("cdev_secret"));
        let path = state.save_new(&dir.path().join("agent")).unwrap();
        assert!(
            state.save_new(&dir.path().join("agent")).is_err(),
            "no silent re-enrollment"
        );
        let loaded = DeviceState::load(&dir.path().join("agent")).unwrap();
        assert_eq!(loaded.credential(), "cdev_secret");
        assert_eq!(loaded.server, "http://x");
        assert_eq!(loaded.verifier_key().unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
