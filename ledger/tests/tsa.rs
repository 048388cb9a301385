//! The TSA client against a local TSA answering with `openssl ts -reply` over HTTP, and
//! against TSAs that fail, hang, answer garbage or answer tokens that must be refused;
//! and the development TSA.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tsa_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use custody_ledger::tsa::{
    DEV_TSA_ROOT_FILE, DevTsa, DevTsaError, HttpTsa, HttpTsaConfig, TimeStampReq,
    TimestampAuthority, TsaError, TsaTrust, accept_response, request_token,
};
use custody_verifier::bundle::DEVELOPMENT_TSA_POLICY;
use custody_verifier::timestamp::{
    Imprint, TimestampError, TimestampOptions, TrustAnchors, verify_timestamp,
};
use sha2::{Digest, Sha256};
use tsa_support::{LocalTsaServer, Mode, openssl_verifies, test_anchors, testdata};

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn client(server: &LocalTsaServer) -> HttpTsa {
    let mut config = HttpTsaConfig::new("local", server.url());
    config.timeout = Duration::from_millis(800);
    HttpTsa::new(config).unwrap()
}

async fn stamp_with(mode: Mode) -> Result<custody_ledger::tsa::AcceptedToken, TsaError> {
    let server = LocalTsaServer::start(mode).await;
    let tsa = client(&server);
    request_token(&tsa, &TsaTrust::new(test_anchors()), digest("checkpoint")).await
}

fn refusal(result: Result<custody_ledger::tsa::AcceptedToken, TsaError>) -> TimestampError {
    match result {
        Err(TsaError::Refused { source }) => source,
        Err(other) => panic!("expected a refused token, got {other}"),
        Ok(token) => panic!("accepted a token from {}", token.tsa_subject),
    }
}

#[tokio::test]
async fn openssl_ecdsa_tokens_are_accepted_and_verify_alone() {
    let accepted = stamp_with(Mode::OpensslEc).await.unwrap();
    assert_eq!(accepted.policy, "1.3.6.1.4.1.99999.1.1");
    assert!(
        accepted
            .tsa_subject
            .contains("Custody Test TSA (ECDSA P-256)")
    );
    // The stored bytes are the bare token, which verifies by itself.
    let report = verify_timestamp(
        &accepted.token_der,
        Imprint::Digest(&digest("checkpoint")),
        &test_anchors(),
        &[],
        &TimestampOptions::default(),
    )
    .unwrap();
    assert_eq!(report.gen_time(), accepted.gen_time);
    assert_eq!(accepted.token_der[0], 0x30);
}

#[tokio::test]
async fn openssl_rsa_tokens_with_an_intermediate_are_accepted() {
    let accepted = stamp_with(Mode::OpensslRsa).await.unwrap();
    assert_eq!(accepted.report.chain().len(), 3);
    assert_eq!(accepted.report.signer_digest_algorithm(), "sha512");
}

#[tokio::test]
async fn http_500_is_a_failure_not_a_token() {
    let err = stamp_with(Mode::ServerError).await.unwrap_err();
    assert!(matches!(err, TsaError::HttpStatus { status: 500 }), "{err}");
    assert!(!err.is_refusal());
}

#[tokio::test]
async fn a_rejection_reports_status_and_fail_info() {
    let err = stamp_with(Mode::Rejection).await.unwrap_err();
    match &err {
        TsaError::Rejected {
            status, fail_info, ..
        } => {
            assert_eq!(*status, 2);
            assert_eq!(fail_info, &["badAlg"]);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("badAlg"), "{err}");
}

#[tokio::test]
async fn a_hanging_tsa_times_out() {
    let server = LocalTsaServer::start(Mode::Hang).await;
    let tsa = client(&server);
    let started = Instant::now();
    let err = request_token(&tsa, &TsaTrust::new(test_anchors()), digest("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, TsaError::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn garbage_is_refused() {
    let err = stamp_with(Mode::Garbage).await.unwrap_err();
    assert!(matches!(err, TsaError::Malformed { .. }), "{err}");
    assert!(err.is_refusal());
}

#[tokio::test]
async fn a_token_over_another_digest_is_refused() {
    let reason = refusal(stamp_with(Mode::WrongDigest).await);
    assert!(
        matches!(reason, TimestampError::ImprintMismatch { .. }),
        "{reason}"
    );
}

#[tokio::test]
async fn a_token_without_the_nonce_is_refused() {
    let reason = refusal(stamp_with(Mode::NoNonce).await);
    assert!(
        matches!(reason, TimestampError::NonceMismatch { actual: None, .. }),
        "{reason}"
    );
}

#[tokio::test]
async fn a_token_under_an_untrusted_root_is_refused() {
    let reason = refusal(stamp_with(Mode::UntrustedRoot).await);
    assert_eq!(reason.step(), 8, "{reason}");
}

#[tokio::test]
async fn a_replayed_response_fails_the_nonce_check() {
    let server = LocalTsaServer::start(Mode::OpensslEc).await;
    let tsa = client(&server);
    let d = digest("replay");
    let first = TimeStampReq::with_nonce(d, 1);
    let response = tsa.stamp(first.clone()).await.unwrap();
    accept_response(&response, &d, &first.nonce_bytes(), &test_anchors(), &[]).unwrap();
    let err =
        accept_response(&response, &d, &2u64.to_be_bytes(), &test_anchors(), &[]).unwrap_err();
    assert!(
        matches!(
            err,
            TsaError::Refused {
                source: TimestampError::NonceMismatch { .. }
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_and_oversized_answers_fail() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tsa = HttpTsa::new(HttpTsaConfig::new(
        "gone",
        format!("http://127.0.0.1:{port}/"),
    ))
    .unwrap();
    let err = tsa
        .stamp(TimeStampReq::new([0; 32]).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, TsaError::Connect { .. }), "{err}");

    let server = LocalTsaServer::start(Mode::OpensslEc).await;
    let mut config = HttpTsaConfig::new("local", server.url());
    config.max_response_bytes = 256;
    let tsa = HttpTsa::new(config).unwrap();
    let err = tsa
        .stamp(TimeStampReq::new([0; 32]).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, TsaError::TooLarge { limit: 256 }), "{err}");
}

#[tokio::test]
async fn authorities_are_interchangeable_behind_the_trait() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalTsaServer::start(Mode::OpensslEc).await;
    let dev = Arc::new(DevTsa::open(dir.path()).unwrap());
    let trust = [dev.trust(), TsaTrust::new(test_anchors())];
    let authorities: Vec<Arc<dyn TimestampAuthority>> = vec![dev, Arc::new(client(&server))];
    for (authority, trust) in authorities.iter().zip(&trust) {
        let token = request_token(authority.as_ref(), trust, digest("both"))
            .await
            .unwrap();
        assert!(!token.token_der.is_empty(), "{}", authority.name());
    }
}

#[tokio::test]
async fn dev_tokens_verify_with_the_dev_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let dev = DevTsa::open(dir.path()).unwrap();
    let d = digest("dev checkpoint");
    let accepted = request_token(&dev, &dev.trust(), d).await.unwrap();
    assert_eq!(accepted.policy, DEVELOPMENT_TSA_POLICY);
    assert!(
        accepted
            .tsa_subject
            .contains("DEVELOPMENT ONLY – untrusted"),
        "{}",
        accepted.tsa_subject
    );
    assert!(
        dev.root()
            .subject()
            .contains("DEVELOPMENT ONLY – untrusted")
    );

    // The root file in the data directory is the anchor an auditor would pass.
    let root_pem = std::fs::read(dir.path().join(DEV_TSA_ROOT_FILE)).unwrap();
    let anchors = TrustAnchors::from_pem(&root_pem).unwrap();
    let options = TimestampOptions::default();
    verify_timestamp(
        &accepted.token_der,
        Imprint::Digest(&d),
        &anchors,
        &[],
        &options,
    )
    .unwrap();
    // An independent implementation agrees.
    assert!(openssl_verifies(&accepted.token_der, &d, &root_pem));

    // Any other anchor refuses it: the test roots, another dev TSA's root.
    let err = verify_timestamp(
        &accepted.token_der,
        Imprint::Digest(&d),
        &test_anchors(),
        &[],
        &options,
    )
    .unwrap_err();
    assert_eq!(err.step(), 8, "{err}");
    let other = DevTsa::open(tempfile::tempdir().unwrap().path()).unwrap();
    let err = other
        .trust()
        .accept(
            &dev.issue(&TimeStampReq::with_nonce(d, 9)).unwrap(),
            &d,
            &9u64.to_be_bytes(),
        )
        .unwrap_err();
    assert!(matches!(err, TsaError::Refused { .. }), "{err}");
    assert!(!openssl_verifies(
        &accepted.token_der,
        &d,
        &std::fs::read(testdata().join("tsa/root-ca.pem")).unwrap()
    ));
}

#[tokio::test]
async fn dev_tokens_for_another_digest_or_nonce_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dev = DevTsa::open(dir.path()).unwrap();
    let request = TimeStampReq::with_nonce(digest("a"), 7);
    let response = dev.issue(&request).unwrap();
    let trust = dev.trust();
    let err = trust
        .accept(&response, &digest("b"), &7u64.to_be_bytes())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TsaError::Refused {
                source: TimestampError::ImprintMismatch { .. }
            }
        ),
        "{err}"
    );
    let err = trust
        .accept(&response, &digest("a"), &8u64.to_be_bytes())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TsaError::Refused {
                source: TimestampError::NonceMismatch { .. }
            }
        ),
        "{err}"
    );
}

#[test]
fn the_dev_tsa_reloads_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let first = DevTsa::open(dir.path()).unwrap();
    let second = DevTsa::open(dir.path()).unwrap();
    assert_eq!(first.root().raw(), second.root().raw());
    assert_eq!(first.certificate().raw(), second.certificate().raw());
    // A token of the reloaded TSA verifies under the first start's root.
    let request = TimeStampReq::with_nonce([3; 32], 3);
    first
        .trust()
        .accept(
            &second.issue(&request).unwrap(),
            &[3; 32],
            &request.nonce_bytes(),
        )
        .unwrap();
    #[cfg(unix)]
    for key in ["dev-tsa.key", "dev-tsa-root.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    assert!(!format!("{first:?}").contains("PRIVATE"));
}

#[test]
fn a_half_written_dev_tsa_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    DevTsa::open(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join("dev-tsa.key")).unwrap();
    let err = DevTsa::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DevTsaError::Incomplete {
                missing: "dev-tsa.key",
                ..
            }
        ),
        "{err}"
    );
    assert!(dir.path().join(DEV_TSA_ROOT_FILE).exists());
}
