//! Starting and stopping the service: the ledger, its checkpointer and stamper, the
//! service database, and the HTTP listener.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use custody_ledger::stamper::{Stamper, StamperConfig, StampingTsa};
use custody_ledger::tsa::{DevTsa, HttpTsa, HttpTsaConfig, TsaTrust};
use custody_ledger::{Checkpointer, Ledger, LedgerConfig, OrgInfo};
use custody_verifier::timestamp::TrustAnchors;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::auth::{self, Role};
use crate::config::{EngineConfig, ServeConfig};
use crate::db::Database;
use crate::engine::{Engine, EngineTask};
use crate::sealing::SealingKey;

/// The file `custody serve` writes the bootstrap organisation's first admin token to.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] custody_ledger::LedgerError),
    /// The service database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A TSA could not be set up.
    #[error("timestamp authority: {0}")]
    Tsa(String),
    /// Issuing the bootstrap token failed.
    #[error("token: {0}")]
    Auth(#[from] auth::AuthError),
    /// A file or socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running service.
pub struct Service {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The ledger, shared with the API.
    pub ledger: Ledger,
    /// The service database.
    pub db: Database,
    /// The offboarding engine.
    pub engine: Engine,
    /// Device enrollment and lock commands.
    pub devices: crate::devices::Devices,
    /// Whether timestamps come from the built-in development TSA.
    pub development_tsa: bool,
    /// PEM of the roots TSA tokens chain to (the development root, or the configured roots).
    pub tsa_roots_pem: Vec<u8>,
    checkpointer: Checkpointer,
    stamper: Stamper,
    workers: EngineTask,
    stop: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
}

/// Starts everything `config` describes and returns once the API accepts connections.
pub async fn start(config: &ServeConfig) -> Result<Service, ServeError> {
    start_with(config, &EngineConfig::default()).await
}

/// [`start`] with the engine's workers configured by `engine`.
pub async fn start_with(
    config: &ServeConfig,
    engine: &EngineConfig,
) -> Result<Service, ServeError> {
    let lease = Duration::from_millis(engine.step_lease_ms.max(1));
    let ledger = open_ledger(config).await?;
    let db = Database::open(&config.database_url()).await?;
    let sealing_key = match &config.secret_key {
        Some(secret) => SealingKey::from_base64(&secret.0),
        None => SealingKey::load_or_create(&config.data_dir),
    }
    .map_err(|e| ServeError::Config(e.to_string()))?;
    let devices = crate::devices::Devices::open(db.clone(), &config.data_dir, &config.origin_host)?;
    let engine = Engine::new(
        ledger.clone(),
        db.clone(),
        sealing_key.clone(),
        devices.clone(),
        lease,
    );
    let (tsas, tsa_roots_pem, development_tsa) = timestamp_authorities(config)?;
    if development_tsa {
        tracing::warn!(
            "no --tsa-url: timestamps come from the built-in DEVELOPMENT TSA, untrusted"
        );
    }
    if !config.bootstrap_org.is_empty() {
        bootstrap(&ledger, &db, &config.bootstrap_org, &config.data_dir).await?;
    }
    let checkpointer = Checkpointer::spawn(ledger.clone());
    let workers = engine.spawn();
    let stamper = Stamper::spawn(ledger.clone(), tsas, StamperConfig::default());
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let app = api::router(AppState {
        ledger: ledger.clone(),
        db: db.clone(),
        engine: engine.clone(),
        sealing_key,
        devices: devices.clone(),
    });
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            })
            .await
    });
    tracing::info!(%addr, "custody API listening");
    Ok(Service {
        addr,
        ledger,
        db,
        engine,
        devices,
        development_tsa,
        tsa_roots_pem,
        checkpointer,
        stamper,
        workers,
        stop,
        http,
    })
}

/// Opens the ledger `config` describes (creating the data directory).
pub async fn open_ledger(config: &ServeConfig) -> Result<Ledger, ServeError> {
    std::fs::create_dir_all(&config.data_dir)?;
    let mut ledger_config = LedgerConfig::new(config.database_url(), config.data_dir.clone());
    ledger_config.origin_host = config.origin_host.clone();
    ledger_config.checkpoint_interval = Duration::from_millis(config.checkpoint_interval_ms.max(1));
    Ok(Ledger::open(ledger_config).await?)
}

impl Service {
    /// Stops accepting requests, finishes in-flight ones, stops the background tasks.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        let served = self
            .http
            .await
            .map_err(|e| ServeError::Io(std::io::Error::other(e)))?;
        self.workers.shutdown().await;
        self.stamper.shutdown().await;
        self.checkpointer.shutdown().await;
        self.ledger.close().await;
        served.map_err(ServeError::Io)
    }
}

/// `custody serve`: runs until SIGINT/SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServeConfig, engine: EngineConfig) -> Result<ExitCode, ServeError> {
    let service = start_with(&config, &engine).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    service.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The configured TSAs with their trust, the roots' PEM, and whether it is the dev TSA.
fn timestamp_authorities(
    config: &ServeConfig,
) -> Result<(Vec<StampingTsa>, Vec<u8>, bool), ServeError> {
    if config.tsa_urls.is_empty() {
        let dev = DevTsa::open(&config.data_dir).map_err(|e| ServeError::Tsa(e.to_string()))?;
        let roots = dev.root_pem().to_vec();
        let trust = dev.trust();
        let tsa = StampingTsa {
            authority: Arc::new(dev),
            trust,
            certs_pem: None,
        };
        return Ok((vec![tsa], roots, true));
    }
    let roots_path = config.tsa_roots.as_deref().ok_or_else(|| {
        ServeError::Config("--tsa-url needs --tsa-roots (PEM trust anchors)".into())
    })?;
    let roots = std::fs::read(roots_path)?;
    let anchors = TrustAnchors::from_pem(&roots)
        .map_err(|e| ServeError::Config(format!("{}: {e}", roots_path.display())))?;
    let mut tsas = Vec::new();
    for (i, url) in config.tsa_urls.iter().enumerate() {
        let name = tsa_name(url, i);
        let http = HttpTsa::new(HttpTsaConfig::new(name, url.clone()))
            .map_err(|e| ServeError::Tsa(e.to_string()))?;
        tsas.push(StampingTsa {
            authority: Arc::new(http),
            trust: TsaTrust::new(anchors.clone()),
            certs_pem: None,
        });
    }
    Ok((tsas, roots, false))
}

/// A stable name for the `i`-th TSA URL: its host (`timestamp.digicert.com`).
fn tsa_name(url: &str, i: usize) -> String {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    if host.is_empty() {
        format!("tsa-{i}")
    } else {
        host.to_owned()
    }
}

/// Creates organisation `org` (its log and log key), or finds it if it exists, and
/// issues it an admin token: how an operator adds a tenant to a running deployment
/// (`custody org create`). The secret is returned, never logged.
pub async fn create_org(
    config: &ServeConfig,
    org: &str,
) -> Result<(OrgInfo, auth::TokenSecret), ServeError> {
    let ledger = open_ledger(config).await?;
    let created = ledger.create_org(org).await;
    ledger.close().await;
    let info = created?;
    let db = Database::open(&config.database_url()).await?;
    let secret = auth::issue(&db, org, Role::Admin, "first admin (custody org create)").await?;
    db.pool().close().await;
    tracing::info!(org, origin = %info.origin, log_key = %info.vkey, "organisation ready; admin token issued");
    Ok((info, secret))
}

/// Creates the bootstrap organisation and, the first time, an admin token in a file
/// readable only by the service's user. The secret is never logged.
async fn bootstrap(
    ledger: &Ledger,
    db: &Database,
    org: &str,
    data_dir: &Path,
) -> Result<(), ServeError> {
    let info = ledger.create_org(org).await?;
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    if !path.exists() {
        let secret = auth::issue(db, org, Role::Admin, "bootstrap admin").await?;
        crate::private_file::create(&path, format!("{}\n", secret.expose()).as_bytes())?;
        tracing::info!(org, path = %path.display(), "wrote the first admin token");
    }
    tracing::info!(org, origin = %info.origin, log_key = %info.vkey, "organisation ready");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsa_names_come_from_hosts() {
        assert_eq!(
            tsa_name("http://timestamp.digicert.com", 0),
            "timestamp.digicert.com"
        );
        assert_eq!(tsa_name("http://127.0.0.1:3180/tsa", 1), "127.0.0.1");
        assert_eq!(tsa_name("", 2), "tsa-2");
    }
}
