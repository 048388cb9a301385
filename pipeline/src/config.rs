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
