//! The Lock Out button end to end, through the real HTTP API, on SQLite and PostgreSQL:
//! confirmation, the case's steps recorded as custody nodes, sessions revoked, the sync
//! log, idempotent re-locking, the admin override, and a verified evidence export.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fakes;
#[path = "../../ledger/tests/support/postgres.rs"]
mod postgres;

use std::time::{Duration, Instant};

use custody_pipeline::auth::{self, Role};
use custody_pipeline::config::ServeConfig;
use custody_pipeline::server::{self, ADMIN_TOKEN_FILE, Service};
use custody_verifier::bundle::{self, BundleFiles, VerifiedBundle, VerifyOptions};
use custody_verifier::timestamp::{TimestampOptions, TrustAnchors};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn wait_for_status(&self, case_id: &str, wanted: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, case) = self.get(&format!("/v1/hris/sync-log/{case_id}")).await;
            if case["status"] == wanted || Instant::now() > deadline {
                return case;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Exports `case_id` once every node of the log is timestamped, and verifies the bundle
/// offline against the log key and the service's TSA roots.
async fn export_verified(service: &Service, api: &Api, case_id: &str) -> VerifiedBundle {
    let deadline = Instant::now() + Duration::from_secs(20);
    let files = loop {
        let url = format!("{}/v1/ledger/export/cases/{case_id}", api.base);
        let response = api
            .http
            .get(url)
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        let size = service.ledger.size("acme").await.unwrap();
        let stamped = service
            .ledger
            .stamping_status("acme")
            .await
            .unwrap()
            .latest_stamped_size;
        if response.status() == StatusCode::OK && stamped >= Some(size) {
            break BundleFiles::from_tar(response.bytes().await.unwrap().as_ref()).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no export: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let key = service.ledger.verifier_key("acme").await.unwrap();
    let anchors = TrustAnchors::from_pem(&service.tsa_roots_pem).unwrap();
    let timestamp = TimestampOptions::default();
    let options = VerifyOptions::new(std::slice::from_ref(&key), &anchors, &timestamp);
    bundle::verify(&files, &options).unwrap()
}

async fn start(database_url: Option<String>) -> (Service, Api, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        database_url,
        listen: ([127, 0, 0, 1], 0).into(),
        origin_host: "lockout.test".into(),
        checkpoint_interval_ms: 100,
        bootstrap_org: "acme".into(),
        ..ServeConfig::in_dir(data.path().to_path_buf())
    };
    let service = server::start(&config).await.unwrap();
    let token = std::fs::read_to_string(data.path().join(ADMIN_TOKEN_FILE))
        .unwrap()
        .trim()
        .to_owned();
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{}", service.addr),
        token,
    };
    (service, api, data)
}

async fn scenario(database_url: Option<String>) {
    let (service, api, _data) = start(database_url).await;
    let (status, _) = api
        .post(
            "/v1/employees",
            json!({"id": "emp-1042", "email": "Dana@Acme.example", "display_name": "Dana"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Dana holds an API token of this service; the lockout must revoke it.
    let danas = auth::issue_owned(
        &service.db,
        "acme",
        Role::Auditor,
        "dana's token",
        Some("dana@acme.example"),
    )
    .await
    .unwrap();
    let dana = Api {
        http: api.http.clone(),
        base: api.base.clone(),
        token: danas.expose().to_owned(),
    };
    assert_eq!(dana.get("/v1/ledger/log").await.0, StatusCode::OK);

    // Without confirmation nothing happens; an unknown employee is a 404.
    let (status, body) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": false}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        service.ledger.size("acme").await.unwrap(),
        0,
        "an unconfirmed lockout writes nothing"
    );
    let (status, _) = api
        .post(
            "/v1/lockouts",
            json!({"email": "nobody@acme.example", "confirm": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, case) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true, "reason": "left"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let done = api.wait_for_status(&case_id, "completed").await;
    assert_eq!(done["status"], "completed", "{done}");
    let timeline = done["timeline"].as_array().unwrap();
    let mut kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        (kinds.first().copied(), kinds.last().copied()),
        (Some("lockout_requested"), Some("case_completed"))
    );
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        vec![
            "case_completed",
            "device_lock_sent",
            "lockout_requested",
            "sessions_invalidated"
        ]
    );
    let event = |kind: &str| {
        timeline
            .iter()
            .find(|e| e["kind"] == kind)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        event("sessions_invalidated")["body"]["api_tokens_revoked"],
        1
    );
    assert_eq!(
        event("device_lock_sent")["body"]["devices"],
        0,
        "Dana has no enrolled device"
    );
    assert_eq!(
        dana.get("/v1/ledger/log").await.0,
        StatusCode::UNAUTHORIZED,
        "Dana's token is revoked"
    );
    let (_, employees) = api.get("/v1/employees").await;
    assert_eq!(employees["employees"][0]["status"], "locked");

    // Locking a locked employee returns the same case and appends nothing.
    let size = service.ledger.size("acme").await.unwrap();
    let (status, again) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true}),
        )
        .await;
    assert_eq!(
        (status, again["case_id"].as_str()),
        (StatusCode::OK, Some(case_id.as_str()))
    );
    assert_eq!(service.ledger.size("acme").await.unwrap(), size);
    let (_, log) = api.get("/v1/hris/sync-log").await;
    assert_eq!(log["cases"].as_array().map(Vec::len), Some(1));
    assert_eq!(log["cases"][0]["email"], "dana@acme.example");

    // The case's evidence verifies offline once it is timestamped.
    let report = export_verified(&service, &api, &case_id).await;
    assert_eq!(report.node_count, 4);

    // An override needs a reason; it is itself a custody node, and the employee is active again.
    let (status, _) = api
        .post(
            &format!("/v1/lockouts/{case_id}/override"),
            json!({"reason": "", "confirm": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = api
        .post(
            &format!("/v1/lockouts/{case_id}/override"),
            json!({"reason": "wrong person", "confirm": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overridden = api.wait_for_status(&case_id, "overridden").await;
    let last = overridden["timeline"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["body"]["reason"].as_str()),
        (Some("admin_override"), Some("wrong person"))
    );
    let (_, employees) = api.get("/v1/employees").await;
    assert_eq!(employees["employees"][0]["status"], "active");

    // After an override a new lockout starts a new case.
    let (status, second) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(second["case_id"], case["case_id"]);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_on_sqlite() {
    scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_on_postgres() {
    let server = postgres::shared();
    let db = server.create_database().await;
    scenario(Some(server.url(&db))).await;
}

/// An OpenAI organisation where Dana owns one project key and one project membership.
fn openai_org() -> fakes::openai::OrgState {
    use fakes::openai::{OrgState, Project, ProjectKey, User};
    OrgState {
        users: vec![User {
            id: "user_dana".into(),
            email: "dana@acme.example".into(),
            role: "reader".into(),
        }],
        projects: vec![Project {
            id: "proj_1".into(),
            archived: false,
            members: vec!["user_dana".into()],
        }],
        project_keys: vec![ProjectKey {
            id: "key_1".into(),
            project: "proj_1".into(),
            owner: Some(("user_dana".into(), "dana@acme.example".into())),
        }],
        admin_keys: vec![],
        invites: vec![],
        page_cap: 10,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_revoked_once_and_bad_credentials_need_a_person() {
    const KEY: &str = "sk-admin-engine-test-key";
    let (service, api, _data) = start(None).await;
    let openai = fakes::openai::start(openai_org(), KEY).await;
    let broken = fakes::openai::start(openai_org(), KEY).await;
    api.post(
        "/v1/employees",
        json!({"id": "emp-1042", "email": "dana@acme.example"}),
    )
    .await;
    let (status, body) = api
        .post("/v1/providers", json!({"id": "openai", "kind": "openai", "base_url": openai.base_url, "credential": KEY}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        !body.to_string().contains(KEY),
        "the credential is never returned"
    );
    let (status, _) = api
        .post("/v1/providers", json!({"id": "openai-eu", "kind": "openai", "base_url": broken.base_url, "credential": "sk-wrong"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = api.get("/v1/providers").await;
    assert!(!listed.to_string().contains(KEY) && !listed.to_string().contains("sk-wrong"));

    let (_, case) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true}),
        )
        .await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    // The broken provider parks its step at once; the good one may still be running.
    let deadline = Instant::now() + Duration::from_secs(20);
    let parked = loop {
        let (_, case) = api.get(&format!("/v1/hris/sync-log/{case_id}")).await;
        let openai_done = case["steps"].as_array().is_some_and(|steps| {
            steps
                .iter()
                .any(|s| s["step"] == "revoke:openai" && s["status"] == "done")
        });
        if (case["status"] == "needs_attention" && openai_done) || Instant::now() > deadline {
            break case;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(parked["status"], "needs_attention", "{parked}");
    let steps = parked["steps"].as_array().unwrap();
    let step = |name: &str| steps.iter().find(|s| s["step"] == name).cloned().unwrap();
    assert_eq!(step("revoke:openai")["status"], "done");
    assert_eq!(step("revoke:openai-eu")["status"], "needs_attention");
    assert!(
        step("revoke:openai-eu")["last_error"]
            .as_str()
            .unwrap()
            .contains("credentials rejected")
    );
    assert_eq!(
        step("complete")["status"],
        "pending",
        "a case with a step needing a person is never reported done"
    );
    let timeline = parked["timeline"].as_array().unwrap();
    let revoked = timeline
        .iter()
        .find(|e| e["kind"] == "provider_revoked")
        .unwrap();
    assert_eq!(revoked["body"]["provider_id"], "openai");
    assert!(timeline.iter().any(|e| e["kind"] == "step_needs_attention" && e["body"]["step"] == "revoke:openai-eu"));
    assert!(!parked.to_string().contains("sk-wrong") && !parked.to_string().contains(KEY));

    // Each side effect happened exactly once at the provider.
    let c = &openai.control;
    assert_eq!(
        c.served(
            "DELETE",
            "/v1/organization/projects/{project_id}/api_keys/{key_id}"
        ),
        1
    );
    assert_eq!(c.served("DELETE", "/v1/organization/users/{user_id}"), 1);
    assert_eq!(broken.control.served_writes(), 0);
    service.shutdown().await.unwrap();
}

/// An Anthropic admin cannot be removed through the API: the step disables their keys,
/// then stops for a person; its `step_needs_attention` node names the journaled key
/// deactivations as parents, so the evidence shows what was done before it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_stops_for_a_person_names_what_it_did() {
    use fakes::anthropic as ant;
    const KEY: &str = "sk-ant-admin01-engine-test";
    let (service, api, _data) = start(None).await;
    let key = |id: &str, owner: &str| ant::ApiKey {
        id: id.into(),
        status: "active".into(),
        created_by: Some(owner.into()),
        principal: Some(owner.into()),
        workspace_id: "wrkspc_1".into(),
    };
    let org = ant::OrgState {
        users: vec![ant::User {
            id: "user_01dana".into(),
            email: "dana@acme.example".into(),
            role: "admin".into(),
        }],
        workspaces: vec![],
        api_keys: vec![
            key("apikey_1", "user_01dana"),
            key("apikey_2", "user_01dana"),
        ],
        invites: vec![],
        page_cap: 10,
    };
    let anthropic = ant::start(org, KEY).await;
    api.post(
        "/v1/employees",
        json!({"id": "emp-1042", "email": "dana@acme.example"}),
    )
    .await;
    let body = json!({"id": "anthropic", "kind": "anthropic", "base_url": anthropic.base_url, "credential": KEY});
    assert_eq!(api.post("/v1/providers", body).await.0, StatusCode::CREATED);
    let (_, case) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true}),
        )
        .await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let parked = api.wait_for_status(&case_id, "needs_attention").await;
    assert_eq!(parked["status"], "needs_attention", "{parked}");

    let nodes = service.ledger.case_nodes("acme", &case_id).await.unwrap();
    let actions: Vec<u64> = nodes
        .iter()
        .filter(|n| n.kind == "provider_action")
        .map(|n| n.index)
        .collect();
    assert_eq!(actions.len(), 2, "one node per disabled key");
    let attention = nodes
        .iter()
        .find(|n| n.kind == "step_needs_attention")
        .unwrap();
    let parents: Vec<u64> = custody_verifier::node::decode(&attention.bytes)
        .unwrap()
        .node()
        .parents
        .iter()
        .map(|p| p.index)
        .collect();
    let trigger = nodes
        .iter()
        .find(|n| n.kind == "lockout_requested")
        .unwrap();
    let mut expected = actions.clone();
    expected.push(trigger.index);
    expected.sort_unstable();
    assert_eq!(parents, expected);
    assert_eq!(
        anthropic.control.served_writes(),
        2,
        "two keys set inactive, nothing else"
    );
    // The journaled actions are part of the case's evidence: the bundle verifies, and
    // each of them has a proven time.
    let report = export_verified(&service, &api, &case_id).await;
    let proven = report
        .node_times
        .iter()
        .filter(|n| n.kind == "provider_action")
        .count();
    assert_eq!(proven, 2);
    service.shutdown().await.unwrap();
}

/// An admin disconnects a provider: its credentials are gone, only an admin may do it,
/// and the lockout that follows neither plans nor sends anything there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_provider_is_left_out_of_later_lockouts() {
    const KEY: &str = "sk-admin-engine-test-key";
    let (service, api, _data) = start(None).await;
    let kept = fakes::openai::start(openai_org(), KEY).await;
    let dropped = fakes::openai::start(openai_org(), KEY).await;
    api.post(
        "/v1/employees",
        json!({"id": "emp-1042", "email": "dana@acme.example"}),
    )
    .await;
    for (id, fake) in [("openai", &kept), ("openai-old", &dropped)] {
        let body =
            json!({"id": id, "kind": "openai", "base_url": fake.base_url, "credential": KEY});
        assert_eq!(api.post("/v1/providers", body).await.0, StatusCode::CREATED);
    }
    let delete = async |token: &str, id: &str| {
        let response = api
            .http
            .delete(format!("{}/v1/providers/{id}", api.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (_, auditor) = api
        .post("/v1/tokens", json!({"name": "auditor", "role": "auditor"}))
        .await;
    let auditor = auditor["token"].as_str().unwrap().to_owned();
    assert_eq!(
        delete(&auditor, "openai-old").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = delete(&api.token, "openai-old").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["connected"], false);
    assert_eq!(
        delete(&api.token, "openai-old").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, listed) = api.get("/v1/providers").await;
    let ids: Vec<&str> = listed["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["openai"]);

    let (_, case) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true}),
        )
        .await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let done = api.wait_for_status(&case_id, "completed").await;
    assert_eq!(done["status"], "completed", "{done}");
    let mut steps: Vec<&str> = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    steps.sort_unstable();
    assert_eq!(
        steps,
        [
            "complete",
            "invalidate_sessions",
            "lock_devices",
            "revoke:openai"
        ]
    );
    assert!(kept.control.served_writes() > 0);
    assert_eq!(dropped.control.served_writes(), 0);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_device_locks_and_its_acknowledgement_is_in_the_case_bundle() {
    use custody_pipeline::agent::{self, Agent, EnrollArgs, Secret};
    let (service, api, data) = start(None).await;
    api.post(
        "/v1/employees",
        json!({"id": "emp-1042", "email": "dana@acme.example"}),
    )
    .await;
    let (status, token) = api
        .post(
            "/v1/devices/enrollment-tokens",
            json!({"subject": "emp-1042"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let state_dir = data.path().join("agent");
    let enroll = EnrollArgs {
        server: api.base.clone(),
        token: Secret(token["enrollment_token"].as_str().unwrap().to_owned()),
        state_dir: state_dir.clone(),
        name: "dana's laptop".into(),
        command_key: None,
    };
    agent::enroll(&enroll).await.unwrap();
    let blocklist = data.path().join("hosts");
    let mut device = Agent::load(&state_dir, &blocklist, 300).unwrap();
    let polling = tokio::spawn(async move { device.run_once(Duration::from_secs(30)).await });

    let (_, case) = api
        .post(
            "/v1/lockouts",
            json!({"email": "dana@acme.example", "confirm": true}),
        )
        .await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let handled = polling.await.unwrap().unwrap();
    assert_eq!(handled.len(), 1, "one lock command for one device");
    assert!(
        std::fs::read_to_string(&blocklist)
            .unwrap()
            .contains("api.openai.com")
    );
    let done = api.wait_for_status(&case_id, "completed").await;
    let timeline = done["timeline"].as_array().unwrap();
    let sent = timeline
        .iter()
        .find(|e| e["kind"] == "device_lock_sent")
        .unwrap();
    assert_eq!(sent["body"]["devices"], 1);
    assert!(
        timeline
            .iter()
            .any(|e| e["kind"] == "device_lock_acknowledged" && e["body"]["status"] == "locked")
    );

    // The acknowledgement is part of the case's sub-DAG, so the exported case verifies.
    let report = export_verified(&service, &api, &case_id).await;
    assert!(
        report
            .node_times
            .iter()
            .any(|n| n.kind == "device_lock_acknowledged")
    );
    service.shutdown().await.unwrap();
}
