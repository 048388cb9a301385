//! `custody`: the custody service.
//!
//! `custody serve` runs the HTTP API with its background checkpointer and stamper;
//! `custody demo` runs a short end-to-end demonstration against an in-process server;
//! `custody token create` issues an API token; `custody org create` adds an organisation.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use custody_pipeline::auth::{self, Role};
use custody_pipeline::config::{EngineConfig, ServeConfig};
use custody_pipeline::{db::Database, demo, server};
use tracing_subscriber::EnvFilter;

/// The custody service: takes departing employees out of every LLM tool and proves it.
#[derive(Debug, Parser)]
#[command(name = "custody", version, about)]
struct Config {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API, the checkpointer and the stamper.
    Serve {
        #[command(flatten)]
        serve: ServeConfig,
        #[command(flatten)]
        engine: EngineConfig,
    },
    /// Offboard a sample employee against an in-process server, export the evidence
    /// bundle and verify it with the offline verifier.
    Demo(demo::DemoArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// The reference device agent: enroll a device, then poll for and apply lock commands.
    #[command(subcommand)]
    Agent(custody_pipeline::agent::AgentCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token scoped to one organisation and role; prints the secret once.
    Create {
        #[command(flatten)]
        serve: ServeConfig,
        /// The organisation the token is confined to.
        #[arg(long)]
        org: String,
        /// admin, legal or auditor.
        #[arg(long)]
        role: Role,
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation (its log and log key; nothing if it exists) and issue it an
    /// admin token; prints the token's secret once.
    Create {
        #[command(flatten)]
        serve: ServeConfig,
        /// The organisation's name (`[a-z0-9-]`, as in its log origin).
        #[arg(long)]
        org: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::parse();
    let result = match config.command {
        Command::Serve { serve, engine } => server::serve(serve, engine).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Agent(command) => Ok(custody_pipeline::agent::main(command).await),
        Command::Token(TokenCommand::Create {
            serve,
            org,
            role,
            name,
        }) => create_token(&serve, &org, role, &name).await,
        Command::Org(OrgCommand::Create { serve, org }) => create_org(&serve, &org).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn create_token(
    serve: &ServeConfig,
    org: &str,
    role: Role,
    name: &str,
) -> Result<ExitCode, server::ServeError> {
    // A token for an organisation the ledger does not know would open an empty log.
    let ledger = server::open_ledger(serve).await?;
    ledger.org_info(org).await?;
    ledger.close().await;
    let db = Database::open(&serve.database_url()).await?;
    let secret = auth::issue(&db, org, role, name).await?;
    // The secret goes to stdout for the person who asked for it, never to the log.
    println!("{}", secret.expose());
    Ok(ExitCode::SUCCESS)
}

async fn create_org(serve: &ServeConfig, org: &str) -> Result<ExitCode, server::ServeError> {
    let (info, secret) = server::create_org(serve, org).await?;
    eprintln!(
        "organisation {org}: log origin {}, log key {}",
        info.origin, info.vkey
    );
    // The secret goes to stdout for the person who asked for it, never to the log.
    println!("{}", secret.expose());
    Ok(ExitCode::SUCCESS)
}
