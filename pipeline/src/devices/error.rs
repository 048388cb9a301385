//! Why a device operation failed.

use custody_verifier::command::CommandError;

/// A failure of enrollment, queueing, polling or acknowledging.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A request field is invalid (the caller's mistake; nothing was written).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The enrollment token is unknown, already used or expired (which one is not said).
    #[error("enrollment token unknown, used or expired")]
    EnrollmentRefused,
    /// The device credential is unknown or revoked.
    #[error("unknown or revoked device credential")]
    UnknownCredential,
    /// No such command for this device.
    #[error("command {command_id} not found")]
    CommandNotFound {
        /// The command id asked for.
        command_id: String,
    },
    /// The command was already acknowledged with another status.
    #[error("command {command_id} was already acknowledged as {status}")]
    AlreadyAcknowledged {
        /// The command id.
        command_id: String,
        /// The status recorded first.
        status: String,
    },
    /// The command key file could not be read or created.
    #[error("command key {path}: {reason}")]
    Key {
        /// The seed file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// A command could not be signed.
    #[error("lock command: {0}")]
    Command(#[from] CommandError),
    /// The custody ledger refused or failed an append.
    #[error("ledger: {0}")]
    Ledger(#[from] custody_ledger::LedgerError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<DeviceError> for crate::server::ServeError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Database(e) => crate::server::ServeError::Database(e),
            other => crate::server::ServeError::Config(other.to_string()),
        }
    }
}
