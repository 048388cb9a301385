//! Device lock commands end to end: a real service on a loopback port, devices enrolled
//! through the HTTP API, the reference agent polling it in-process, on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../ledger/tests/support/postgres.rs"]
mod postgres;

use std::path::Path;
use std::time::Duration;

use clap::Parser;
use custody_pipeline::agent::{self, AckReceipt, Agent, EnrollArgs, Outcome, Secret};
use custody_pipeline::auth::{self, Role};
use custody_pipeline::config::ServeConfig;
use custody_pipeline::devices::{COMMAND_KEY_FILE, SignedCommandRecord};
use custody_pipeline::server::{self, ADMIN_TOKEN_FILE, Service};
use custody_verifier::command::{CommandError, CommandSigner, LockCommand};
use custody_verifier::time::UtcTime;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `ServeConfig` from flags, so fields added later keep their defaults.
#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    serve: ServeConfig,
}

struct Running {
    service: Service,
    base: String,
    admin: String,
    data: tempfile::TempDir,
    http: reqwest::Client,
}

async fn start(database_url: Option<String>) -> Running {
    let data = tempfile::tempdir().unwrap();
    let mut args = vec![
        "custody".to_owned(),
        format!("--data-dir={}", data.path().display()),
        "--listen=127.0.0.1:0".into(),
        "--origin-host=devices.test".into(),
        "--bootstrap-org=acme".into(),
    ];
    args.extend(database_url.map(|url| format!("--database-url={url}")));
    let config = Flags::parse_from(args).serve;
    let service = server::start(&config).await.unwrap();
    let admin = std::fs::read_to_string(data.path().join(ADMIN_TOKEN_FILE)).unwrap();
    Running {
        base: format!("http://{}", service.addr),
        admin: admin.trim().to_owned(),
        service,
        data,
        http: reqwest::Client::new(),
    }
}

impl Running {
    async fn post(&self, auth: Option<String>, path: &str, body: Value) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn get(&self, auth: Option<String>, path: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn enrollment_token(&self, admin: &str, subject: &str) -> String {
        let body = json!({"subject": subject, "expires_in_seconds": 3600});
        let (status, token) = self
            .post(
                Some(format!("Bearer {admin}")),
                "/v1/devices/enrollment-tokens",
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        token["enrollment_token"].as_str().unwrap().to_owned()
    }

    /// Enrolls through the HTTP API directly; returns (device id, credential).
    async fn enroll_raw(&self, token: &str, name: &str) -> (String, String) {
        let body = json!({"enrollment_token": token, "name": name});
        let (status, enrolled) = self.post(None, "/v1/devices/enroll", body).await;
        assert_eq!(status, StatusCode::CREATED, "{enrolled}");
        let field = |name: &str| enrolled[name].as_str().unwrap().to_owned();
        (field("device_id"), field("device_credential"))
    }

    /// A signer holding the service's own command key, to sign test commands with.
    fn service_signer(&self) -> CommandSigner {
        let seed = std::fs::read(self.data.path().join(COMMAND_KEY_FILE)).unwrap();
        let name = self.service.devices.verifier_key().name().to_owned();
        CommandSigner::from_seed(&name, seed.try_into().unwrap()).unwrap()
    }
}

fn lock_command(device_id: &str, case_id: &str, issued_ago: i64, lifetime: i64) -> LockCommand {
    let now = custody_pipeline::clock::now_unix();
    let at = |secs| UtcTime::from_unix(secs, 0).unwrap();
    LockCommand {
        command_id: format!("cmd_test_{case_id}"),
        org: "acme".into(),
        device_id: device_id.into(),
        subject: "emp-7".into(),
        action: "lock".into(),
        issued_at: at(now - issued_ago),
        expires_at: at(now - issued_ago + lifetime),
        nonce: [case_id.len() as u8; 16],
        case_id: case_id.into(),
    }
}

/// The row the service would keep for `command` signed by `signer`, queued for `row_device`.
fn row(signer: &CommandSigner, command: &LockCommand, row_device: &str) -> SignedCommandRecord {
    SignedCommandRecord {
        command_id: command.command_id.clone(),
        org: command.org.clone(),
        device_id: row_device.to_owned(),
        subject: command.subject.clone(),
        case_id: command.case_id.clone(),
        signed_command: signer.sign(command).unwrap().into_string(),
        issued_at: command.issued_at.unix_seconds(),
        expires_at: command.expires_at.unix_seconds(),
        status: "pending".into(),
        detail: None,
        newly_queued: true,
    }
}

fn enroll_args(running: &Running, token: String, state_dir: &Path) -> EnrollArgs {
    EnrollArgs {
        server: running.base.clone(),
        token: Secret(token),
        state_dir: state_dir.to_owned(),
        name: "laptop".into(),
        command_key: None,
    }
}

/// The bodies of the case's `device_lock_acknowledged` nodes.
async fn acks(running: &Running, case_id: &str) -> Vec<Value> {
    let nodes = running
        .service
        .ledger
        .case_nodes("acme", case_id)
        .await
        .unwrap();
    nodes
        .iter()
        .filter(|n| n.kind == "device_lock_acknowledged")
        .map(|n| serde_json::from_slice::<Value>(&n.bytes).unwrap()["body"].clone())
        .collect()
}

async fn scenario(database_url: Option<String>) {
    let running = start(database_url).await;
    let devices = &running.service.devices;
    let (status, key) = running.get(None, "/.well-known/custody-command-key").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(key["verifier_key"], devices.verifier_key().to_string());

    // Enrollment: admins only; the token is single-use; the agent pins the key.
    let auditor = auth::issue(&running.service.db, "acme", Role::Auditor, "auditor")
        .await
        .unwrap();
    let body = json!({"subject": "emp-7"});
    let auditor_header = Some(format!("Bearer {}", auditor.expose()));
    let (status, _) = running
        .post(auditor_header, "/v1/devices/enrollment-tokens", body)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = running.enrollment_token(&running.admin, "emp-7").await;
    let state_dir = running.data.path().join("agent-a");
    let state = agent::enroll(&enroll_args(&running, token.clone(), &state_dir))
        .await
        .unwrap();
    assert_eq!(
        (state.org.as_str(), state.subject.as_str()),
        ("acme", "emp-7")
    );
    assert_eq!(state.command_key, devices.verifier_key().to_string());
    let again = json!({"enrollment_token": token, "name": "thief"});
    let (status, body) = running.post(None, "/v1/devices/enroll", again).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a used token is refused: {body}"
    );
    let device_a = state.device_id.clone();
    let token_b = running.enrollment_token(&running.admin, "emp-7").await;
    let (device_b, _) = running.enroll_raw(&token_b, "phone").await;

    // A device of another organisation.
    running.service.ledger.create_org("other").await.unwrap();
    let other_admin = auth::issue(&running.service.db, "other", Role::Admin, "o")
        .await
        .unwrap();
    let token_c = running
        .enrollment_token(other_admin.expose(), "emp-7")
        .await;
    let (_, credential_c) = running.enroll_raw(&token_c, "other laptop").await;
    let device_c = Some(format!("Device {credential_c}"));

    // The long-poll answers as soon as the lock is queued; the agent locks and acks.
    let blocklist = running.data.path().join("hosts");
    let mut agent_a = Agent::load(&state_dir, &blocklist, 300).unwrap();
    let poll = tokio::spawn(async move {
        let handled = agent_a.run_once(Duration::from_secs(30)).await;
        (agent_a, handled)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = devices.queue_lock("acme", "emp-7", "case-1").await.unwrap();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|r| r.newly_queued));
    let (mut agent_a, handled) = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the long-poll answered well before its 30 s wait")
        .unwrap();
    let handled = handled.unwrap();
    assert_eq!(handled.len(), 1);
    assert_eq!(
        (&handled[0].outcome, handled[0].receipt),
        (&Outcome::Locked, AckReceipt::Recorded)
    );
    let hosts = std::fs::read_to_string(&blocklist).unwrap();
    assert!(hosts.contains("\n0.0.0.0 api.openai.com\n"), "{hosts}");
    assert!(hosts.contains("\n0.0.0.0 claude.ai\n") && hosts.contains(&handled[0].command_id));
    let recorded = acks(&running, "case-1").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["device_id"], device_a.as_str());
    assert_eq!(recorded[0]["command_id"], handled[0].command_id.as_str());
    assert_eq!(recorded[0]["status"], "locked");

    // Queueing is idempotent per (case, device).
    let requeued = devices.queue_lock("acme", "emp-7", "case-1").await.unwrap();
    let ids = |records: &[SignedCommandRecord]| {
        records
            .iter()
            .map(|r| r.command_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&requeued), ids(&queued));
    assert!(requeued.iter().all(|r| !r.newly_queued));

    // Another organisation's device sees none of these commands and cannot ack them.
    let (status, polled) = running
        .get(device_c.clone(), "/v1/device/commands?wait=0")
        .await;
    assert_eq!(
        (status, polled["commands"].clone()),
        (StatusCode::OK, json!([]))
    );
    let path = format!("/v1/device/commands/{}/ack", handled[0].command_id);
    let failed = json!({"status": "failed", "detail": "x"});
    let (status, _) = running.post(device_c, &path, failed.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        running.get(None, "/v1/device/commands").await.0,
        StatusCode::UNAUTHORIZED
    );
    let bogus = Some("Device cdev_bogus".to_owned());
    assert_eq!(
        running.get(bogus, "/v1/device/commands").await.0,
        StatusCode::UNAUTHORIZED
    );
    // The first acknowledgement stands.
    let credential_a = Some(format!("Device {}", state.credential()));
    let (status, _) = running.post(credential_a, &path, failed).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Forged, expired, other-device and replayed commands are refused and reported.
    let signer = running.service_signer();
    let forger = CommandSigner::from_seed(devices.verifier_key().name(), [9; 32]).unwrap();
    let executed: Value = serde_json::from_str(
        &queued
            .iter()
            .find(|r| r.device_id == device_a)
            .unwrap()
            .signed_command,
    )
    .unwrap();
    let mut replay = lock_command(&device_a, "case-replay", 0, 3600);
    replay
        .nonce
        .copy_from_slice(&hex::decode(executed["command"]["nonce"].as_str().unwrap()).unwrap());
    let injected = [
        row(
            &forger,
            &lock_command(&device_a, "case-forged", 0, 3600),
            &device_a,
        ),
        row(
            &signer,
            &lock_command(&device_a, "case-expired", 2 * 86_400, 86_400),
            &device_a,
        ),
        row(
            &signer,
            &lock_command(&device_b, "case-other-device", 0, 3600),
            &device_a,
        ),
        row(&signer, &replay, &device_a),
    ];
    for record in &injected {
        assert!(devices.danger_insert_signed(record).await.unwrap());
    }
    std::fs::remove_file(&blocklist).unwrap();
    let handled = agent_a.run_once(Duration::ZERO).await.unwrap();
    let outcomes: Vec<_> = handled
        .iter()
        .map(|h| (h.command_id.clone(), h.outcome.clone()))
        .collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    let refusal = |case: &str| {
        let id = format!("cmd_test_{case}");
        match outcomes.iter().find(|(c, _)| *c == id) {
            Some((_, Outcome::Refused(e))) => e.clone(),
            other => panic!("{case}: {other:?}"),
        }
    };
    assert!(matches!(
        refusal("case-forged"),
        CommandError::BadSignature { .. }
    ));
    assert!(matches!(
        refusal("case-expired"),
        CommandError::Expired { .. }
    ));
    assert!(matches!(
        refusal("case-other-device"),
        CommandError::WrongDevice { .. }
    ));
    assert!(matches!(
        refusal("case-replay"),
        CommandError::Replayed { seen: "nonce", .. }
    ));
    assert!(!blocklist.exists(), "no refused command was acted on");
    let failed = acks(&running, "case-forged").await;
    assert_eq!(failed[0]["status"], "failed");
    assert!(
        failed[0]["detail"].as_str().unwrap().contains("signature"),
        "{failed:?}"
    );

    // A redelivered command (its acknowledgement lost) is acknowledged again, not re-run.
    sqlx::query("UPDATE device_commands SET status = 'pending' WHERE command_id = $1")
        .bind(handled_id(&queued, &device_a))
        .execute(running.service.db.pool())
        .await
        .unwrap();
    let handled = agent_a.run_once(Duration::ZERO).await.unwrap();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].outcome, Outcome::AlreadyLocked);
    assert!(!blocklist.exists());
    assert_eq!(
        acks(&running, "case-1").await.len(),
        1,
        "one node per command"
    );

    running.service.shutdown().await.unwrap();
}

fn handled_id(queued: &[SignedCommandRecord], device_id: &str) -> String {
    queued
        .iter()
        .find(|r| r.device_id == device_id)
        .unwrap()
        .command_id
        .clone()
}

/// An admin revokes a lost laptop: its credential stops working at once, the lockout
/// that follows sends commands only to the employee's other device, and the list says so.
async fn revoked_device_scenario(database_url: Option<String>) {
    let running = start(database_url).await;
    let admin = Some(format!("Bearer {}", running.admin));
    let body = json!({"id": "emp-7", "email": "emp7@acme.example"});
    assert_eq!(
        running.post(admin.clone(), "/v1/employees", body).await.0,
        StatusCode::CREATED
    );
    let token = running.enrollment_token(&running.admin, "emp-7").await;
    let (kept, kept_credential) = running.enroll_raw(&token, "desktop").await;
    let token = running.enrollment_token(&running.admin, "emp-7").await;
    let (lost, lost_credential) = running.enroll_raw(&token, "lost laptop").await;
    let lost_auth = Some(format!("Device {lost_credential}"));
    assert_eq!(
        running
            .get(lost_auth.clone(), "/v1/device/commands?wait=0")
            .await
            .0,
        StatusCode::OK
    );

    let revoke = |auth: Option<String>, device: String| {
        let request = running
            .http
            .delete(format!("{}/v1/devices/{device}", running.base));
        async move {
            let request = match auth {
                Some(auth) => request.header("authorization", auth),
                None => request,
            };
            let response = request.send().await.unwrap();
            (
                response.status(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // Only an admin of the device's organisation can revoke it.
    let auditor = auth::issue(&running.service.db, "acme", Role::Auditor, "auditor")
        .await
        .unwrap();
    let (status, _) = revoke(Some(format!("Bearer {}", auditor.expose())), lost.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stranger = auth::issue(&running.service.db, "globex", Role::Admin, "globex")
        .await
        .unwrap();
    let (status, _) = revoke(Some(format!("Bearer {}", stranger.expose())), lost.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = revoke(admin.clone(), lost.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = revoke(admin.clone(), lost.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");
    assert_eq!(
        running.get(lost_auth, "/v1/device/commands?wait=0").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, listed) = running
        .get(admin.clone(), "/v1/devices?subject=emp-7")
        .await;
    let mut revoked: Vec<(&str, bool)> = listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["device_id"].as_str().unwrap(),
                d["revoked"].as_bool().unwrap(),
            )
        })
        .collect();
    revoked.sort_by_key(|(_, revoked)| *revoked);
    assert_eq!(revoked, [(kept.as_str(), false), (lost.as_str(), true)]);

    let body = json!({"email": "emp7@acme.example", "confirm": true});
    let (status, case) = running.post(admin.clone(), "/v1/lockouts", body).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let sent = loop {
        let nodes = running
            .service
            .ledger
            .case_nodes("acme", &case_id)
            .await
            .unwrap();
        if let Some(sent) = nodes.iter().find(|n| n.kind == "device_lock_sent") {
            break serde_json::from_slice::<Value>(&sent.bytes).unwrap()["body"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no lock command sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sent["devices"], 1, "{sent}");
    let (_, polled) = running
        .get(
            Some(format!("Device {kept_credential}")),
            "/v1/device/commands?wait=0",
        )
        .await;
    assert_eq!(polled["commands"].as_array().unwrap().len(), 1, "{polled}");
    running.service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_devices_on_sqlite() {
    revoked_device_scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_devices_on_postgres() {
    let server = postgres::shared();
    let db = server.create_database().await;
    revoked_device_scenario(Some(server.url(&db))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_lock_commands_on_sqlite() {
    scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_lock_commands_on_postgres() {
    let server = postgres::shared();
    let db = server.create_database().await;
    scenario(Some(server.url(&db))).await;
}
