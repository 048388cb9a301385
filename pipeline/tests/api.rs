//! The HTTP API end to end: a real service (ledger, checkpointer, development TSA,
//! axum) on a loopback port, driven with reqwest, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../ledger/tests/support/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use custody_pipeline::auth::{self, Role};
use custody_pipeline::config::ServeConfig;
use custody_pipeline::server::{self, ADMIN_TOKEN_FILE, Service};
use custody_verifier::bundle::{self, BundleFiles, VerifyOptions};
use custody_verifier::checkpoint::NoteVerifierKey;
use custody_verifier::timestamp::{TimestampOptions, TrustAnchors};
use custody_verifier::tlog_proof;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Running {
    service: Service,
    base: String,
    admin: String,
    _data: tempfile::TempDir,
}

async fn start(database_url: Option<String>) -> Running {
    let data = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        database_url,
        listen: ([127, 0, 0, 1], 0).into(),
        origin_host: "api.test".into(),
        checkpoint_interval_ms: 100,
        bootstrap_org: "acme".into(),
        ..ServeConfig::in_dir(data.path().to_path_buf())
    };
    let service = server::start(&config).await.unwrap();
    let admin = std::fs::read_to_string(data.path().join(ADMIN_TOKEN_FILE))
        .unwrap()
        .trim()
        .to_owned();
    let base = format!("http://{}", service.addr);
    Running {
        service,
        base,
        admin,
        _data: data,
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, reqwest::Response) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response)
    }

    async fn get_json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let (status, response) = self.get(Some(token), path).await;
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, body: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/v1/ledger/nodes", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

fn node(kind: &str, parents: Value, key: &str) -> String {
    case_node("case-9", kind, parents, key)
}

fn case_node(case_id: &str, kind: &str, parents: Value, key: &str) -> String {
    json!({"kind": kind, "case_id": case_id, "subject": "emp-7", "parents": parents,
           "body": {"provider": "openai"}, "idempotency_key": key})
    .to_string()
}

async fn scenario(database_url: Option<String>) {
    let running = start(database_url).await;
    let client = Client {
        http: reqwest::Client::new(),
        base: running.base.clone(),
    };
    let db = &running.service.db;
    let ledger = &running.service.ledger;
    let admin = running.admin.as_str();
    let auditor = auth::issue(db, "acme", Role::Auditor, "auditor")
        .await
        .unwrap();
    let legal = auth::issue(db, "acme", Role::Legal, "legal").await.unwrap();
    ledger.create_org("other").await.unwrap();
    let other = auth::issue(db, "other", Role::Admin, "other admin")
        .await
        .unwrap();

    // Authentication and roles.
    assert_eq!(client.get(None, "/healthz").await.0, StatusCode::OK);
    let (status, body) = client
        .get_json("cust_not-a-real-token", "/v1/ledger/log")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(
        client.get(None, "/v1/ledger/log").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = client
        .post(
            auditor.expose(),
            &node("lockout_requested", json!([]), "k0"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Appends: created, duplicate, refused.
    let (status, trigger) = client
        .post(admin, &node("lockout_requested", json!([]), "k0"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{trigger}");
    let (status, again) = client
        .post(admin, &node("lockout_requested", json!([]), "k0"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["index"].clone(), again["duplicate"].clone()),
        (trigger["index"].clone(), json!(true))
    );
    let parent = json!([{"index": trigger["index"], "hash": trigger["leaf_hash"]}]);
    let (status, revoked) = client
        .post(admin, &node("provider_revoked", parent, "k1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{revoked}");
    let forged = json!([{"index": 0, "hash": "00".repeat(32)}]);
    let (status, body) = client
        .post(admin, &node("provider_revoked", forged, "k2"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("bad_request"))
    );
    let (status, _) = client.post(admin, "{\"kind\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        ledger.size("acme").await.unwrap(),
        2,
        "refused appends wrote nothing"
    );

    // Another organisation sees only its own log.
    let (status, _) = client
        .post(
            other.expose(),
            &case_node("case-other", "legal_hold", json!([]), "o0"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, theirs) = client.get_json(other.expose(), "/v1/ledger/nodes/0").await;
    assert_eq!(theirs["node"]["org"], "other");
    assert_eq!(
        client
            .get_json(other.expose(), "/v1/ledger/nodes/1")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client
            .get_json(other.expose(), "/v1/ledger/cases/case-9")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, ours) = client
        .get_json(auditor.expose(), "/v1/ledger/cases/case-9")
        .await;
    assert_eq!(ours["nodes"].as_array().map(Vec::len), Some(2));

    // Checkpoints, proofs and export, once the development TSA has stamped the log.
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = loop {
        let (_, log) = client.get_json(legal.expose(), "/v1/ledger/log").await;
        if log["stamping"]["latest_stamped_size"].as_u64() >= Some(2) || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        log["stamping"]["latest_stamped_size"].as_u64(),
        Some(2),
        "{log}"
    );
    let key: NoteVerifierKey = log["log_key"].as_str().unwrap().parse().unwrap();
    let (status, response) = client
        .get(
            Some(auditor.expose()),
            "/v1/ledger/proofs/inclusion/1?size=2",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let proof = tlog_proof::parse(&response.bytes().await.unwrap()).unwrap();
    let leaf =
        custody_verifier::node::parse_hash_hex(revoked["leaf_hash"].as_str().unwrap()).unwrap();
    proof.verify(&leaf, std::slice::from_ref(&key)).unwrap();

    let (status, response) = client
        .get(Some(legal.expose()), "/v1/ledger/export/cases/case-9")
        .await;
    assert_eq!(status, StatusCode::OK);
    let files = BundleFiles::from_tar(response.bytes().await.unwrap().as_ref()).unwrap();
    let anchors = TrustAnchors::from_pem(&running.service.tsa_roots_pem).unwrap();
    let timestamp = TimestampOptions::default();
    let options = VerifyOptions::new(std::slice::from_ref(&key), &anchors, &timestamp);
    let report = bundle::verify(&files, &options).unwrap();
    assert_eq!(report.node_count, 2);
    assert!(
        report.development_tsa,
        "the development TSA is reported as such"
    );
    let (status, _) = client
        .get(Some(other.expose()), "/v1/ledger/export/cases/case-9")
        .await;
    assert_ne!(
        status,
        StatusCode::OK,
        "another organisation cannot export this case"
    );

    running.service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_api_on_sqlite() {
    scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_api_on_postgres() {
    let server = postgres::shared();
    let db = server.create_database().await;
    scenario(Some(server.url(&db))).await;
}
