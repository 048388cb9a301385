//! The local RFC 3161 TSA of the tests: `openssl ts -reply` with the test TSA key from
//! `testdata/tsa/`, in a private copy of its configuration (openssl rewrites the serial
//! file on every reply). Shared by the verifier's and the ledger's test support.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::{Imprint, TimestampOptions, TrustAnchors, verify_timestamp};

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// The test TSA's root certificate as trust anchors.
pub fn tsa_anchors() -> TrustAnchors {
    TrustAnchors::from_pem(&std::fs::read(testdata().join("tsa/root-ca.pem")).unwrap()).unwrap()
}

/// A local TSA: `openssl ts -reply` with the test TSA key, in a private copy of its
/// configuration (openssl rewrites the serial file on every reply).
pub struct LocalTsa {
    dir: tempfile::TempDir,
}

impl LocalTsa {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for file in ["tsa.cnf", "root-ca.pem", "tsa-ec.crt", "tsa-ec.key"] {
            std::fs::copy(testdata().join("tsa").join(file), dir.path().join(file)).unwrap();
        }
        std::fs::write(dir.path().join("tsaserial"), "01\n").unwrap();
        Self { dir }
    }

    /// A DER TimeStampToken over a SHA-256 digest, certReq set.
    pub fn stamp(&self, digest: &[u8; 32]) -> Vec<u8> {
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let hex = hex::encode(digest);
        run(&[
            "ts", "-query", "-digest", &hex, "-sha256", "-cert", "-out", "req.tsq",
        ]);
        run(&[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "req.tsq",
            "-token_out",
            "-out",
            "token.tst",
        ]);
        std::fs::read(self.dir.path().join("token.tst")).unwrap()
    }
}

/// A token from `tsa` over `digest`, with its genTime as the verifier reads it.
pub fn stamp_with_time(tsa: &LocalTsa, digest: &[u8; 32]) -> (Vec<u8>, UtcTime) {
    let token = tsa.stamp(digest);
    let verified = verify_timestamp(
        &token,
        Imprint::Digest(digest),
        &tsa_anchors(),
        &[],
        &TimestampOptions::default(),
    )
    .unwrap();
    (token, verified.gen_time())
}
