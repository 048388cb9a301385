//! A local RFC 3161 TSA over HTTP for tests: an axum server on 127.0.0.1:0 that answers
//! `application/timestamp-query` POSTs with `openssl ts -reply` (real tokens from an
//! independent implementation), run in a private temp copy of `testdata/tsa` (openssl
//! rewrites the serial file, so replies are serialised), plus misbehaving modes: HTTP 500,
//! a status rejection, a hang, garbage, a token over another digest, a token without the
//! nonce, a token chaining to a root nobody trusts. The mode can be switched at run time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use custody_verifier::timestamp::TrustAnchors;

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// The test TSAs' roots (ECDSA and RSA) as trust anchors.
pub fn test_anchors() -> TrustAnchors {
    TrustAnchors::from_pem(&std::fs::read(testdata().join("tsa/root-ca.pem")).unwrap()).unwrap()
}

/// How the local TSA answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `openssl ts -reply -section tsa_ec` (ECDSA P-256 signer under `root-ec`).
    OpensslEc,
    /// `openssl ts -reply -section tsa_rsa` (RSA-3072 signer, intermediate and root embedded).
    OpensslRsa,
    /// HTTP 500.
    ServerError,
    /// A real openssl rejection: a SHA-1 query to the RSA section, which refuses SHA-1
    /// (status 2, failInfo badAlg).
    Rejection,
    /// Never answers.
    Hang,
    /// 200 with bytes that are not DER.
    Garbage,
    /// A valid token over a different digest.
    WrongDigest,
    /// A valid token over the right digest, without a nonce.
    NoNonce,
    /// A valid token over the right digest from a TSA under a freshly made root.
    UntrustedRoot,
}

struct Inner {
    dir: tempfile::TempDir,
    mode: Mutex<Mode>,
    openssl: Mutex<()>,
    requests: AtomicUsize,
}

/// A running local TSA.
#[derive(Clone)]
pub struct LocalTsaServer {
    url: String,
    inner: Arc<Inner>,
}

impl LocalTsaServer {
    /// Starts a server answering in `mode`, on the current tokio runtime.
    pub async fn start(mode: Mode) -> Self {
        let dir = tempfile::tempdir().unwrap();
        prepare_dir(dir.path());
        let inner = Arc::new(Inner {
            dir,
            mode: Mutex::new(mode),
            openssl: Mutex::new(()),
            requests: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::post(answer))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// The URL to POST to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Switches how the server answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    /// How many requests reached the server.
    pub fn requests(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }
}

async fn answer(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec());
    if content_type.as_deref() != Some(b"application/timestamp-query".as_slice()) {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let mode = *inner.mode.lock().unwrap();
    let reply = match mode {
        Mode::ServerError => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Mode::Garbage => b"<html>we are very busy</html>".to_vec(),
        _ => {
            let inner = inner.clone();
            tokio::task::spawn_blocking(move || openssl_reply(&inner, mode, &body))
                .await
                .unwrap()
        }
    };
    (
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    )
        .into_response()
}

/// Runs openssl for one request, serialised (the serial file is rewritten each time).
fn openssl_reply(inner: &Inner, mode: Mode, query: &[u8]) -> Vec<u8> {
    let _guard = inner.openssl.lock().unwrap();
    let dir = inner.dir.path();
    let digest = hex::encode(digest_of(query));
    let section = match mode {
        Mode::OpensslRsa | Mode::Rejection => "tsa_rsa",
        Mode::UntrustedRoot => "tsa_rogue",
        _ => "tsa_ec",
    };
    match mode {
        Mode::WrongDigest => make_query(dir, &hex::encode([0x5a; 32]), &["-sha256"]),
        Mode::NoNonce => make_query(dir, &digest, &["-sha256", "-no_nonce"]),
        Mode::Rejection => make_query(dir, &hex::encode([0x11; 20]), &["-sha1"]),
        _ => std::fs::write(dir.join("req.tsq"), query).unwrap(),
    }
    openssl(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-section",
            section,
            "-queryfile",
            "req.tsq",
            "-out",
            "resp.tsr",
        ],
    );
    std::fs::read(dir.join("resp.tsr")).unwrap()
}

fn make_query(dir: &Path, digest_hex: &str, flags: &[&str]) {
    let mut args = vec![
        "ts", "-query", "-digest", digest_hex, "-cert", "-out", "req.tsq",
    ];
    args.extend_from_slice(flags);
    openssl(dir, &args);
}

/// The hashedMessage of a custody TimeStampReq (SHA-256 imprint after the version).
pub fn digest_of(query: &[u8]) -> [u8; 32] {
    let at = query
        .windows(2)
        .position(|w| w == [0x04, 0x20])
        .expect("a 32-byte hashedMessage");
    query[at + 2..at + 34].try_into().unwrap()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies the test TSA's files and makes a rogue TSA under a root nobody trusts.
fn prepare_dir(dir: &Path) {
    let files = [
        "tsa.cnf",
        "tsa-ec.crt",
        "tsa-ec.key",
        "tsa-rsa.crt",
        "tsa-rsa.key",
        "rsa-chain.pem",
    ];
    for file in files {
        std::fs::copy(testdata().join("tsa").join(file), dir.join(file)).unwrap();
    }
    std::fs::write(dir.join("tsaserial"), "01\n").unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut root = vec!["req", "-x509"];
    root.extend_from_slice(&ec);
    root.extend_from_slice(&[
        "-keyout",
        "rogue-root.key",
        "-out",
        "rogue-root.crt",
        "-days",
        "30",
        "-subj",
        "/CN=Rogue Root",
        "-config",
        "tsa.cnf",
        "-extensions",
        "v3_ca",
    ]);
    openssl(dir, &root);
    let mut csr = vec!["req", "-new"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&[
        "-keyout",
        "rogue-tsa.key",
        "-out",
        "rogue-tsa.csr",
        "-subj",
        "/CN=Rogue TSA",
        "-config",
        "tsa.cnf",
    ]);
    openssl(dir, &csr);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "rogue-tsa.csr",
            "-CA",
            "rogue-root.crt",
            "-CAkey",
            "rogue-root.key",
            "-CAcreateserial",
            "-out",
            "rogue-tsa.crt",
            "-days",
            "30",
            "-extfile",
            "tsa.cnf",
            "-extensions",
            "v3_tsa",
        ],
    );
    let mut config = std::fs::read_to_string(dir.join("tsa.cnf")).unwrap();
    config.push_str(
        "\n[tsa_rogue]\ndir = .\nserial = $dir/tsaserial\nsigner_cert = $dir/rogue-tsa.crt\n\
         certs = $dir/rogue-root.crt\nsigner_key = $dir/rogue-tsa.key\nsigner_digest = sha256\n\
         default_policy = 1.3.6.1.4.1.99999.1.1\ndigests = sha256\naccuracy = secs:1\n\
         ess_cert_id_alg = sha256\n",
    );
    std::fs::write(dir.join("tsa.cnf"), config).unwrap();
}

/// Whether `openssl ts -verify` accepts `token` (a bare TimeStampToken) over `digest`
/// with `ca_pem` as its only anchor: an independent check of tokens we issue.
pub fn openssl_verifies(token: &[u8], digest: &[u8; 32], ca_pem: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.tst"), token).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
    Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-digest",
            &hex::encode(digest),
            "-token_in",
            "-in",
            "token.tst",
            "-CAfile",
            "ca.pem",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap()
        .status
        .success()
}
