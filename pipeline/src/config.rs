//! Configuration of `custody serve`, parsed once in `main` (flags or environment).
//! Every variable is listed in `.env.sample`.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `custody serve` runs. With no flags: SQLite and the development TSA in `./data`,
/// listening on 127.0.0.1:8080.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeConfig {
    /// Directory for the SQLite database, log keys and the development TSA.
    #[arg(long, env = "CUSTODY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: `<data-dir>/custody.db`.
    #[arg(long, env = "CUSTODY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address the HTTP API listens on.
    #[arg(long, env = "CUSTODY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Host part of every log origin (`<host>/custody/<org>`).
    #[arg(long, env = "CUSTODY_ORIGIN_HOST", default_value = "localhost")]
    pub origin_host: String,
    /// RFC 3161 TSA URLs, comma-separated (production: `http://timestamp.digicert.com`).
    /// Empty: the built-in development TSA, marked untrusted in every report.
    #[arg(long = "tsa-url", env = "CUSTODY_TSA_URLS", value_delimiter = ',')]
    pub tsa_urls: Vec<String>,
    /// PEM trust anchors every TSA response must chain to (required with --tsa-url).
    #[arg(long, env = "CUSTODY_TSA_ROOTS")]
    pub tsa_roots: Option<PathBuf>,
    /// Longest time between a log growing and its next signed checkpoint, in milliseconds.
    #[arg(long, env = "CUSTODY_CHECKPOINT_INTERVAL_MS", default_value_t = 1000)]
    pub checkpoint_interval_ms: u64,
    /// An organisation created on start, with an admin token written to
    /// `<data-dir>/admin-token` the first time (empty: none).
    #[arg(long, env = "CUSTODY_BOOTSTRAP_ORG", default_value = "default")]
    pub bootstrap_org: String,
    /// The 32-byte key (base64) that seals provider credentials at rest; default: generated
    /// into `<data-dir>/secret.key` on first start.
    #[arg(long, env = "CUSTODY_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretArg>,
}

/// How the offboarding engine's workers claim steps.
#[derive(Clone, Debug, clap::Args)]
pub struct EngineConfig {
    /// How long a worker holds a claimed step, in milliseconds, before another worker (or
    /// a restarted process) may claim it again. Keep it longer than the slowest step (a
    /// provider revocation with its retries): leases are not renewed while a step runs.
    #[arg(long, env = "CUSTODY_STEP_LEASE_MS", default_value_t = EngineConfig::DEFAULT_STEP_LEASE_MS)]
    pub step_lease_ms: u64,
}

impl EngineConfig {
    /// The default lease: one minute.
    pub const DEFAULT_STEP_LEASE_MS: u64 = 60_000;
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            step_lease_ms: Self::DEFAULT_STEP_LEASE_MS,
        }
    }
}

/// A secret given on the command line or in the environment; `Debug` never prints it.
#[derive(Clone)]
pub struct SecretArg(pub String);

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl ServeConfig {
    /// The embedded defaults (what `custody serve` does with no flags), with the data in
    /// `data_dir`.
    pub fn in_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            origin_host: "localhost".into(),
            tsa_urls: Vec::new(),
            tsa_roots: None,
            checkpoint_interval_ms: 1000,
            bootstrap_org: "default".into(),
            secret_key: None,
        }
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("custody.db").display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches};

    #[test]
    fn in_dir_matches_the_command_line_defaults() {
        let matches =
            ServeConfig::augment_args(clap::Command::new("serve")).get_matches_from(["serve"]);
        let parsed = ServeConfig::from_arg_matches(&matches).expect("defaults parse");
        let built = ServeConfig::in_dir("./data");
        // Compare through Debug: the secret field is redacted in both and unset here.
        if std::env::vars().all(|(k, _)| !k.starts_with("CUSTODY_")) {
            assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
        }
    }
}
