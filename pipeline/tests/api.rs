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

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
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

/// `/v1/tokens`: an admin issues a token for a role (its secret shown once), lists tokens
/// without secrets, and revokes them; other roles and other organisations cannot.
async fn token_scenario(database_url: Option<String>) {
    use reqwest::Method;
    let running = start(database_url).await;
    let client = Client {
        http: reqwest::Client::new(),
        base: running.base.clone(),
    };
    let admin = running.admin.as_str();
    let (status, issued) = client
        .send(
            Method::POST,
            admin,
            "/v1/tokens",
            Some(json!({"name": "outside auditor", "role": "auditor"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cust_"));
    assert_eq!(id.len(), 16);
    assert_eq!(issued["role"], "auditor");

    // The new token reads evidence but cannot manage tokens.
    assert_eq!(
        client.get_json(&secret, "/v1/ledger/log").await.0,
        StatusCode::OK
    );
    let (status, _) = client.send(Method::GET, &secret, "/v1/tokens", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Malformed requests change nothing.
    for bad in [
        json!({"name": "x"}),
        json!({"name": "x", "role": "root"}),
        json!({"name": "  ", "role": "legal"}),
        json!({"name": "x", "role": "legal", "owner_email": "nobody"}),
        json!({"name": "x", "role": "legal", "scopes": []}),
    ] {
        let (status, body) = client
            .send(Method::POST, admin, "/v1/tokens", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let (status, listed) = client.send(Method::GET, admin, "/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed}");
    let auditor = tokens.iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(auditor["name"], "outside auditor");
    assert_eq!(auditor["revoked_at"], Value::Null);
    let created = auditor["created_at"].as_str().unwrap();
    assert!(
        custody_verifier::time::UtcTime::parse_rfc3339(created).is_ok(),
        "{created}"
    );
    let text = listed.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(admin),
        "a list shows no secret"
    );

    // An admin cannot revoke the token it is using, nor one that does not exist.
    let own = tokens.iter().find(|t| t["id"] != id.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = client
        .send(Method::DELETE, admin, &format!("/v1/tokens/{own}"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = client
        .send(Method::DELETE, admin, "/v1/tokens/00000000deadbeef", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another organisation's admin neither sees nor revokes acme's tokens.
    let other = auth::issue(&running.service.db, "globex", Role::Admin, "globex admin")
        .await
        .unwrap();
    let (_, theirs) = client
        .send(Method::GET, other.expose(), "/v1/tokens", None)
        .await;
    assert_eq!(theirs["tokens"].as_array().unwrap().len(), 1, "{theirs}");
    let (status, _) = client
        .send(
            Method::DELETE,
            other.expose(),
            &format!("/v1/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        client.get_json(&secret, "/v1/ledger/log").await.0,
        StatusCode::OK
    );

    // Revoked, the token stops working at once, and stays listed with its revocation.
    let (status, body) = client
        .send(Method::DELETE, admin, &format!("/v1/tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        client.get_json(&secret, "/v1/ledger/log").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = client
        .send(Method::DELETE, admin, &format!("/v1/tokens/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = client.send(Method::GET, admin, "/v1/tokens", None).await;
    let auditor = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(auditor["revoked_at"].is_string(), "{auditor}");

    running.service.shutdown().await.unwrap();
}

/// An operator adds an organisation to a running service: it gets its own log and an
/// admin token that works at once, for that organisation only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_added_to_a_running_service() {
    let running = start(None).await;
    let client = Client {
        http: reqwest::Client::new(),
        base: running.base.clone(),
    };
    let config = ServeConfig {
        origin_host: "api.test".into(),
        ..ServeConfig::in_dir(running._data.path().to_path_buf())
    };
    assert!(server::create_org(&config, "Not An Org!").await.is_err());
    let (info, admin) = server::create_org(&config, "globex").await.unwrap();
    assert_eq!(info.origin, "api.test/custody/globex");
    let (status, log) = client.get_json(admin.expose(), "/v1/ledger/log").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["origin"], "api.test/custody/globex");
    let (status, tokens) = client
        .send(reqwest::Method::GET, admin.expose(), "/v1/tokens", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 1, "{tokens}");
    // Again: the same log, one more token.
    let (again, _) = server::create_org(&config, "globex").await.unwrap();
    assert_eq!(again.vkey, info.vkey);
    running.service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_on_sqlite() {
    token_scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_on_postgres() {
    let server = postgres::shared();
    let db = server.create_database().await;
    token_scenario(Some(server.url(&db))).await;
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
