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
