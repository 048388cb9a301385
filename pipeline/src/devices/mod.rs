//! Device lock commands, service side (`evidence-format.md` §11).
//!
//! An admin issues a one-time enrollment token for an employee; a device agent redeems it
//! for a device credential. When a case locks the employee out, [`Devices::queue_lock`]
//! signs one [`LockCommand`](custody_verifier::command::LockCommand) per enrolled device
//! with the service's command key and queues it; agents long-poll for their commands,
//! verify them offline, act, and acknowledge. Each acknowledgement is appended to the
//! ledger as a `device_lock_acknowledged` node, so it is evidence even before the engine
//! links it into its case.

mod commands;
mod enroll;
mod error;
mod key;
mod secret;
mod store;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use custody_verifier::command::{CommandSigner, CommandVerifierKey};
use tokio::sync::broadcast;

pub use commands::{Ack, AckStatus, Acknowledged, PendingCommand, SignedCommandRecord};
pub use enroll::{DeviceIdentity, Enrolled, EnrollmentToken};
pub use error::DeviceError;
pub use key::COMMAND_KEY_FILE;
pub use secret::{CREDENTIAL_PREFIX, DeviceSecret, ENROLLMENT_PREFIX};
pub use store::DeviceInfo;

use crate::db::Database;

/// How long a queued lock command stays valid.
pub const COMMAND_LIFETIME_SECONDS: i64 = 24 * 3600;

/// The longest a device's long-poll waits for a command.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// The device side of the service: its tables, its command key and the wake-up channel
/// of long-polling devices. Cheap to clone.
#[derive(Clone)]
pub struct Devices {
    db: Database,
    signer: Arc<CommandSigner>,
    /// Device ids that just had a command queued (in this process).
    queued: broadcast::Sender<String>,
}

impl Devices {
    /// Loads (or creates) the command key in `data_dir` and serves devices from `db`.
    pub fn open(db: Database, data_dir: &Path, origin_host: &str) -> Result<Self, DeviceError> {
        Ok(Self::with_signer(
            db,
            key::load_or_generate(data_dir, origin_host)?,
        ))
    }

    /// Serves devices from `db`, signing with `signer`.
    pub fn with_signer(db: Database, signer: CommandSigner) -> Self {
        let (queued, _) = broadcast::channel(1024);
        Self {
            db,
            signer: Arc::new(signer),
            queued,
        }
    }

    /// The key devices verify commands with (published at
    /// `/.well-known/custody-command-key`).
    pub fn verifier_key(&self) -> &CommandVerifierKey {
        self.signer.verifier_key()
    }
}

impl fmt::Debug for Devices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devices")
            .field("command_key", self.verifier_key())
            .finish_non_exhaustive()
    }
}

/// Checks an identifier that ends up in commands and nodes: 1–256 bytes, no controls.
fn check_identifier(field: &'static str, value: &str) -> Result<(), DeviceError> {
    if value.is_empty()
        || value.len() > custody_verifier::node::MAX_ID_BYTES
        || value.chars().any(char::is_control)
    {
        return Err(DeviceError::Invalid {
            field,
            reason: "must be 1–256 bytes without control characters",
        });
    }
    Ok(())
}
