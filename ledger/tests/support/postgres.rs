//! A private PostgreSQL server for one test or bench binary, from Debian's `postgresql`
//! package (`apt-get install -y postgresql`; CI installs it). It never skips: without
//! PostgreSQL the first test that needs it fails and says how to install it.
//!
//! The server runs as the `postgres` OS user (initdb refuses root; we use `runuser`), on
//! a free loopback port, with its socket and data in a temporary directory. A small
//! shell watchdog owns it: it starts `pg_ctl`, then blocks reading our stdin pipe. When
//! the `PgServer` is dropped, or the test process exits for any reason (which closes
//! the pipe), the watchdog stops the server and removes the directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// A running server.
pub struct PgServer {
    port: u16,
    watchdog: Child,
}

/// The server shared by every test of this binary (fsync off: tests need correctness,
/// not durability).
pub fn shared() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| PgServer::start(false))
}

fn pg_bin() -> PathBuf {
    let mut bins: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    bins.sort();
    match bins.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). The ledger's tests \
             run on both engines; install it with `apt-get install -y postgresql`."
        ),
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

const WATCHDOG: &str = r#"
set -e
$AS_PG "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$PGDIR/initdb.log" 2>&1 \
  || { cat "$PGDIR/initdb.log" >&2; exit 1; }
$AS_PG "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "$PGOPTS" start >/dev/null \
  || { cat "$PGDIR/log" >&2; exit 1; }
echo ready
read _ || true
$AS_PG "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
rm -rf "$PGDIR"
"#;

impl PgServer {
    /// Starts a server; `fsync` false also turns off synchronous commit and full-page writes.
    pub fn start(fsync: bool) -> Self {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("custody-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let as_pg = if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown of the PostgreSQL directory failed");
            "runuser -u postgres --"
        } else {
            ""
        };
        let port = free_port();
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=400",
            dir.display()
        );
        if !fsync {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut watchdog = Command::new("sh")
            .args(["-c", WATCHDOG])
            .env("AS_PG", as_pg)
            .env("PGBIN", &bin)
            .env("PGDIR", &dir)
            .env("PGOPTS", options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run sh to start PostgreSQL");
        let mut line = String::new();
        BufReader::new(watchdog.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "PostgreSQL did not start (see its log above)"
        );
        Self { port, watchdog }
    }

    /// The superuser URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of `db` for login role `role` (trust authentication).
    pub fn url_as(&self, role: &str, db: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh database and returns its name.
    pub async fn create_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        name
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
    }
}
