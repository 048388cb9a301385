//! The agent's loop: poll, verify each command offline, act on a valid lock, acknowledge.

use std::path::{Path, PathBuf};
use std::time::Duration;

use custody_verifier::command::{
    CommandError, CommandVerifierKey, Expectations, VerifiedCommand, verify_command,
};

use super::client::{AckReceipt, Delivered, ServiceClient};
use super::state::{DeviceState, SeenLog};
use super::{AgentError, blocklist};

/// What the agent did with one delivered command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Verified; the block list was written; acknowledged `locked`.
    Locked,
    /// A redelivery of a command this device already acted on: not acted on again,
    /// acknowledged `locked` again (the earlier acknowledgement may have been lost).
    AlreadyLocked,
    /// Refused by the verifier; acknowledged `failed` with the reason.
    Refused(CommandError),
    /// A valid command delivered under another command's id; acknowledged `failed`.
    Mislabelled {
        /// The id inside the signed command.
        signed_id: String,
    },
    /// Verified, but the block list could not be written; acknowledged `failed`.
    ActionFailed {
        /// The I/O error.
        reason: String,
    },
}

/// One delivered command and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    /// The id the service delivered it under.
    pub command_id: String,
    /// What the agent did.
    pub outcome: Outcome,
    /// How the service took the acknowledgement.
    pub receipt: AckReceipt,
}

/// An enrolled agent, ready to poll.
#[derive(Debug)]
pub struct Agent {
    state: DeviceState,
    key: CommandVerifierKey,
    seen: SeenLog,
    client: ServiceClient,
    blocklist: PathBuf,
    skew_seconds: u32,
}

impl Agent {
    /// Loads the enrollment and seen log from `state_dir`; locks write `blocklist`.
    pub fn load(state_dir: &Path, blocklist: &Path, skew_seconds: u32) -> Result<Self, AgentError> {
        let state = DeviceState::load(state_dir)?;
        Ok(Self {
            key: state.verifier_key()?,
            seen: SeenLog::load(state_dir)?,
            client: ServiceClient::new(&state.server)?,
            blocklist: blocklist.to_owned(),
            skew_seconds,
            state,
        })
    }

    /// This device's id.
    pub fn device_id(&self) -> &str {
        &self.state.device_id
    }

    /// One long-poll (up to `wait`), then every delivered command handled and
    /// acknowledged in order. An acknowledgement that cannot be sent ends the round
    /// with an error; the command is delivered again and re-acknowledged next round.
    pub async fn run_once(&mut self, wait: Duration) -> Result<Vec<Handled>, AgentError> {
        let delivered = self.client.poll(self.state.credential(), wait).await?;
        let mut handled = Vec::with_capacity(delivered.len());
        for command in delivered {
            let outcome = self.handle(&command);
            let (status, detail) = match &outcome {
                Outcome::Locked => (
                    "locked",
                    format!("block list written to {}", self.blocklist.display()),
                ),
                Outcome::AlreadyLocked => {
                    ("locked", "already applied; not applied again".to_owned())
                }
                Outcome::Refused(e) => ("failed", format!("refused: {e}")),
                Outcome::Mislabelled { signed_id } => (
                    "failed",
                    format!(
                        "refused: delivered as {} but signed as {signed_id}",
                        command.command_id
                    ),
                ),
                Outcome::ActionFailed { reason } => {
                    ("failed", format!("block list not written: {reason}"))
                }
            };
            let receipt = self
                .client
                .ack(
                    self.state.credential(),
                    &command.command_id,
                    status,
                    &detail,
                )
                .await?;
            tracing::info!(command_id = %command.command_id, status, %detail, "command handled");
            handled.push(Handled {
                command_id: command.command_id,
                outcome,
                receipt,
            });
        }
        Ok(handled)
    }

    /// Polls forever, backing off (1 s doubling to 60 s) while the service is unreachable.
    pub async fn run(&mut self, wait: Duration) -> AgentError {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.run_once(wait).await {
                Ok(_) => backoff = Duration::from_secs(1),
                Err(e @ (AgentError::Io { .. } | AgentError::State { .. })) => return e,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "poll failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    fn handle(&mut self, delivered: &Delivered) -> Outcome {
        // Already acted on under this id (its acknowledgement was lost): report it again,
        // whatever the bytes now say (even expired), and never act twice.
        if self.seen.acted_on(&delivered.command_id) {
            return Outcome::AlreadyLocked;
        }
        let expect = Expectations {
            device_id: &self.state.device_id,
            now: crate::clock::now(),
            skew_seconds: self.skew_seconds,
        };
        let seen = &self.seen;
        let verified = verify_command(
            delivered.signed_command.as_bytes(),
            &self.key,
            &expect,
            &|id| seen.contains(id),
        );
        match verified {
            Ok(verified) => self.act(delivered, verified),
            Err(e) => Outcome::Refused(e),
        }
    }

    fn act(&mut self, delivered: &Delivered, verified: VerifiedCommand) -> Outcome {
        let command = verified.command();
        if command.command_id != delivered.command_id {
            return Outcome::Mislabelled {
                signed_id: command.command_id.clone(),
            };
        }
        if let Err(e) = blocklist::apply(&self.blocklist, command) {
            return Outcome::ActionFailed {
                reason: e.to_string(),
            };
        }
        // Recorded before the acknowledgement, so a replay is refused even if the ack is lost.
        if let Err(e) = self.seen.record(&command.command_id, &command.nonce_hex()) {
            return Outcome::ActionFailed {
                reason: e.to_string(),
            };
        }
        Outcome::Locked
    }
}
