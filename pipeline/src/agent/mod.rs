//! `custody agent`: the reference device agent.
//!
//! `custody agent enroll` redeems a one-time enrollment token for a device credential and
//! pins the service's command key (fetched once from `/.well-known/custody-command-key`,
//! trust on first use, or given with `--command-key`). `custody agent run` long-polls for
//! lock commands, verifies each offline with
//! [`custody_verifier::command::verify_command`] against the pinned key, its own clock and
//! its persisted record of commands already acted on, and on a valid lock writes a block
//! list of LLM provider hosts (`/etc/hosts` format) before acknowledging. Forged,
//! expired, replayed and other devices' commands are refused and acknowledged `failed`.

pub mod blocklist;
mod client;
mod run;
mod state;

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use custody_verifier::command::{CommandError, CommandVerifierKey};

pub use client::{AckReceipt, Delivered, ServiceClient};
pub use run::{Agent, Handled, Outcome};
pub use state::{DEVICE_FILE, DeviceState, SEEN_FILE, SeenLog};

/// The agent's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AgentCommand {
    /// Enroll this device with a one-time token; stores the credential and pins the key.
    Enroll(Box<EnrollArgs>),
    /// Poll for lock commands, verify them offline, apply and acknowledge them.
    Run(RunArgs),
}

/// `custody agent enroll`.
#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// The custody service's base URL (`https://custody.example.com`).
    #[arg(long, env = "CUSTODY_AGENT_SERVER")]
    pub server: String,
    /// The one-time enrollment token an admin created for this device's user.
    #[arg(long, env = "CUSTODY_AGENT_ENROLLMENT_TOKEN", hide_env_values = true)]
    pub token: Secret,
    /// Where the agent keeps its credential, pinned key and seen commands.
    #[arg(long, env = "CUSTODY_AGENT_STATE_DIR")]
    pub state_dir: PathBuf,
    /// A name for this device, shown to admins.
    #[arg(long, env = "CUSTODY_AGENT_NAME", default_value = "custody agent")]
    pub name: String,
    /// Pin this command verifier key instead of trusting the server's on first use.
    #[arg(long, env = "CUSTODY_AGENT_COMMAND_KEY")]
    pub command_key: Option<CommandVerifierKey>,
}

/// `custody agent run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The state directory written by `custody agent enroll`.
    #[arg(long, env = "CUSTODY_AGENT_STATE_DIR")]
    pub state_dir: PathBuf,
    /// The file a lock writes its block list to (`/etc/hosts` format; may be /etc/hosts).
    #[arg(long, env = "CUSTODY_AGENT_BLOCKLIST")]
    pub blocklist: PathBuf,
    /// Longest long-poll, in seconds (the service caps it at 60).
    #[arg(long, env = "CUSTODY_AGENT_WAIT_SECONDS", default_value_t = 60)]
    pub wait_seconds: u64,
    /// How far in the future a command's issue time may be (clock skew), in seconds.
    #[arg(long, env = "CUSTODY_AGENT_SKEW_SECONDS", default_value_t = 300)]
    pub skew_seconds: u32,
    /// Poll once, handle what arrived, and exit.
    #[arg(long)]
    pub once: bool,
}

/// A secret argument; its `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why the agent failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A state or block-list file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The state file is unreadable.
    #[error("{path}: {reason}")]
    State {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The command verifier key is invalid.
    #[error("command key: {0}")]
    Key(#[source] CommandError),
    /// The service could not be reached.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The service answered with an error.
    #[error("service answered {status}: {body}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The service URL is invalid.
    #[error("service URL: {0}")]
    Url(String),
}

impl AgentError {
    fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        AgentError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Enrolls: redeems the token, pins the key, saves the state. Returns the state.
pub async fn enroll(args: &EnrollArgs) -> Result<DeviceState, AgentError> {
    let client = ServiceClient::new(&args.server)?;
    let enrolled = client.enroll(&args.token.0, &args.name).await?;
    let key = match &args.command_key {
        Some(pinned) => pinned.clone(),
        None => client.command_key().await?,
    };
    let ids = (enrolled.device_id, enrolled.org, enrolled.subject);
    let state = DeviceState::new(&args.server, ids, &key, enrolled.device_credential);
    let path = state.save_new(&args.state_dir)?;
    tracing::info!(device_id = %state.device_id, command_key = %key, path = %path.display(), "enrolled");
    Ok(state)
}

/// `custody agent …`: runs the subcommand, logging any failure.
pub async fn main(command: AgentCommand) -> ExitCode {
    let result = match command {
        AgentCommand::Enroll(args) => enroll(&args).await.map(|_| ()),
        AgentCommand::Run(args) => run(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &RunArgs) -> Result<(), AgentError> {
    let mut agent = Agent::load(&args.state_dir, &args.blocklist, args.skew_seconds)?;
    let wait = Duration::from_secs(args.wait_seconds);
    tracing::info!(device_id = agent.device_id(), "agent polling");
    if args.once {
        agent.run_once(wait).await.map(|_| ())
    } else {
        Err(agent.run(wait).await)
    }
}
