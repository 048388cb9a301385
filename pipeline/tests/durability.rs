//! Durability end to end, with the real `custody serve` binary as child processes: a
//! service killed with SIGKILL in the middle of its cases and restarted on the same data
//! finishes every case, and two services sharing one PostgreSQL split the work. Either
//! way each step is recorded by exactly one custody node and the provider sees each
//! removal exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fakes;
#[path = "../../ledger/tests/support/postgres.rs"]
mod postgres;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fakes::Fault;
use fakes::openai::{OrgState, Project, ProjectKey, User};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ADMIN_KEY: &str = "sk-admin-durability-test";
const DELETE_USER: &str = "/v1/organization/users/{user_id}";
const DELETE_KEY: &str = "/v1/organization/projects/{project_id}/api_keys/{key_id}";
/// Generous: a loaded 2-core machine runs several test binaries at once.
const PATIENCE: Duration = Duration::from_secs(120);

/// One `custody serve` child process; killed (SIGKILL) and reaped when dropped. Its
/// stderr goes to a log file, printed if the test panics.
struct Custody {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Custody {
    /// Starts `custody serve` on `data` (SQLite there unless `database_url`), with the
    /// engine's step lease set to `lease_ms` when given.
    fn spawn(data: &Path, database_url: Option<&str>, lease_ms: Option<u64>, name: &str) -> Self {
        let port = free_port();
        let log = data.with_extension(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_custody"));
        command
            .arg("serve")
            .env("CUSTODY_DATA_DIR", data)
            .env("CUSTODY_LISTEN", format!("127.0.0.1:{port}"))
            .env("CUSTODY_BOOTSTRAP_ORG", "acme")
            .env("CUSTODY_ORIGIN_HOST", "durability.test")
            .env("CUSTODY_CHECKPOINT_INTERVAL_MS", "100")
            // Provider answers are logged at debug: which process did which revocation.
            .env("RUST_LOG", "info,custody_pipeline::providers::http=debug")
            .env("NO_COLOR", "1")
            .env_remove("CUSTODY_DATABASE_URL")
            .env_remove("CUSTODY_STEP_LEASE_MS")
            .env_remove("CUSTODY_TSA_URLS")
            .env_remove("CUSTODY_SECRET_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        if let Some(url) = database_url {
            command.env("CUSTODY_DATABASE_URL", url);
        }
        if let Some(ms) = lease_ms {
            command.env("CUSTODY_STEP_LEASE_MS", ms.to_string());
        }
        let child = command.spawn().expect("cannot start custody serve");
        Custody {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Waits until the API answers `/healthz`; panics if the process exits first.
    async fn ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("custody serve exited during start-up: {status}");
            }
            let health = http.get(format!("{}/healthz", self.base)).send().await;
            if health.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "custody serve never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many answers to `what` (e.g. `DELETE org user`) this process logged.
    fn provider_answers(&self, what: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap();
        log.lines()
            .filter(|l| l.contains("provider answered") && l.contains(what))
            .count()
    }

    /// SIGKILL: no shutdown handler runs, nothing is flushed.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Custody {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- {} (last lines) ---", self.log.display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An admin's view of one service's API.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(service: &Custody, data: &Path) -> Self {
        let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: service.base.clone(),
            token: token.trim().to_owned(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
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
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Connects the fake OpenAI organisation.
    async fn connect_openai(&self, fake: &fakes::openai::Fake) {
        let (status, body) = self
            .post(
                "/v1/providers",
                json!({"id": "openai", "kind": "openai", "base_url": fake.base_url, "credential": ADMIN_KEY}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Adds `count` employees and locks each out; the case ids, in order.
    /// How many `provider_action` nodes of `cases` journal `action`.
    async fn journaled(&self, cases: &[String], action: &str) -> usize {
        let mut found = 0;
        for case_id in cases {
            let (_, case) = self.get(&format!("/v1/lockouts/{case_id}")).await;
            found += events(&case, "provider_action")
                .iter()
                .filter(|e| e["body"]["action"]["action"] == action)
                .count();
        }
        found
    }

    async fn lock_out_all(&self, count: usize) -> Vec<String> {
        for i in 0..count {
            let (status, body) = self
                .post(
                    "/v1/employees",
                    json!({"id": format!("emp-{i}"), "email": email(i)}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let mut cases = Vec::with_capacity(count);
        for i in 0..count {
            let (status, case) = self
                .post("/v1/lockouts", json!({"email": email(i), "confirm": true}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{case}");
            cases.push(case["case_id"].as_str().unwrap().to_owned());
        }
        cases
    }

    /// Polls every case until it is completed; their final sync-log entries.
    async fn wait_all_completed(&self, cases: &[String]) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        let mut done = Vec::with_capacity(cases.len());
        for case_id in cases {
            loop {
                let (status, case) = self.get(&format!("/v1/hris/sync-log/{case_id}")).await;
                // The case_completed node lands a moment before its step row is marked.
                let steps_done = case["steps"]
                    .as_array()
                    .is_some_and(|steps| steps.iter().all(|s| s["status"] == "done"));
                if status == StatusCode::OK && case["status"] == "completed" && steps_done {
                    done.push(case);
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "case {case_id} did not complete: {case}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        done
    }
}

fn email(i: usize) -> String {
    format!("leaver{i}@acme.example")
}

/// An OpenAI organisation where each of `count` leavers is a member of one project and
/// owns one key in it.
fn openai_org(count: usize) -> OrgState {
    OrgState {
        users: (0..count)
            .map(|i| User {
                id: format!("user_{i:02}"),
                email: email(i),
                role: "reader".into(),
            })
            .collect(),
        projects: vec![Project {
            id: "proj_1".into(),
            archived: false,
            members: (0..count).map(|i| format!("user_{i:02}")).collect(),
        }],
        project_keys: (0..count)
            .map(|i| ProjectKey {
                id: format!("key_{i:02}"),
                project: "proj_1".into(),
                owner: Some((format!("user_{i:02}"), email(i))),
            })
            .collect(),
        admin_keys: vec![],
        invites: vec![],
        page_cap: 100,
    }
}

/// The case's timeline events of `kind`.
fn events<'a>(case: &'a Value, kind: &str) -> Vec<&'a Value> {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// Each case has exactly one node per step, all steps done, every journaled provider
/// action once and counted by the step's node, and the provider removed each leaver's key
/// and user exactly once. Returns how many key deletions and user removals were
/// journaled with the provider's confirmation.
fn assert_each_step_once(cases: &[Value], fake: &fakes::openai::Fake) -> (usize, usize) {
    let (mut keys, mut users) = (0, 0);
    for case in cases {
        let mut kinds: Vec<&str> = case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .filter(|kind| *kind != "provider_action")
            .collect();
        kinds.sort_unstable();
        assert_eq!(
            kinds,
            [
                "case_completed",
                "device_lock_sent",
                "lockout_requested",
                "provider_revoked",
                "sessions_invalidated"
            ],
            "{case}"
        );
        let steps = case["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 4, "{case}");
        assert!(steps.iter().all(|s| s["status"] == "done"), "{case}");

        let journaled = events(case, "provider_action");
        let mut seen: Vec<(String, String)> = journaled
            .iter()
            .map(|e| {
                let action = &e["body"]["action"];
                assert_eq!(action["outcome"], "done", "{e}");
                let name = action["action"].as_str().unwrap().to_owned();
                (name, action["target"].as_str().unwrap().to_owned())
            })
            .collect();
        keys += seen
            .iter()
            .filter(|(a, _)| a == "delete_project_api_key")
            .count();
        users += seen.iter().filter(|(a, _)| a == "remove_org_user").count();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            journaled.len(),
            "an action journaled twice: {case}"
        );
        let revoked = events(case, "provider_revoked");
        assert_eq!(
            revoked[0]["body"]["journaled_actions"],
            journaled.len(),
            "{case}"
        );
    }
    let n = u32::try_from(cases.len()).unwrap();
    let c = &fake.control;
    assert_eq!(c.served("DELETE", DELETE_KEY), n, "each key deleted once");
    assert_eq!(c.served("DELETE", DELETE_USER), n, "each user removed once");
    let org = fake.state.lock().unwrap();
    assert!(org.users.is_empty() && org.project_keys.is_empty());
    assert!(org.projects[0].members.is_empty());
    (keys, users)
}

/// SIGKILL while a revocation is in flight — the provider removed the user but its
/// answer never arrived — then a restart on the same data: every case completes, and the
/// interrupted revocation is finished without removing anything a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_mid_case_finishes_every_case_after_restart() {
    const LEAVERS: usize = 6;
    // Short leases: the restarted process reclaims the dead one's steps after 2 s, not 60.
    const LEASE_MS: u64 = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let openai = fakes::openai::start(openai_org(LEAVERS), ADMIN_KEY).await;
    // The first user removal takes effect, but its answer is held until long after the kill.
    openai.control.inject(
        Some("DELETE"),
        Some(DELETE_USER),
        Fault::Stall(Duration::from_secs(600)),
        1,
    );
    // Transient failures on the way there, retried inside the revocation.
    openai.control.inject(
        Some("GET"),
        Some("/v1/organization/projects"),
        Fault::ServerError,
        2,
    );

    let mut first = Custody::spawn(&data, None, Some(LEASE_MS), "first");
    first.ready().await;
    let api = Api::new(&first, &data);
    api.connect_openai(&openai).await;
    let cases = api.lock_out_all(LEAVERS).await;
    let deadline = Instant::now() + PATIENCE;
    while openai.control.served("DELETE", DELETE_USER) == 0 {
        assert!(
            Instant::now() < deadline,
            "no revocation reached the user removal"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Every key deletion has been answered; the kill comes once their confirmations are
    // journaled (within one group commit of the answer), while one user removal is still
    // unanswered.
    loop {
        let journaled = api.journaled(&cases, "delete_project_api_key").await;
        if journaled == LEAVERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{journaled} key deletions journaled of {LEAVERS}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(openai.control.served("DELETE", DELETE_KEY), LEAVERS as u32);
    first.kill();

    let mut second = Custody::spawn(&data, None, Some(LEASE_MS), "second");
    second.ready().await;
    let api = Api::new(&second, &data);
    let done = api.wait_all_completed(&cases).await;
    assert_each_step_once(&done, &openai);

    // The interrupted revocation was claimed again after the restart and found the user
    // already gone, rather than removing them twice; the key it deleted before the kill
    // keeps its confirmation, journaled by the attempt that deleted it.
    let resumed: Vec<&Value> = done
        .iter()
        .filter(|case| {
            let revoked = case["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == "provider_revoked")
                .unwrap();
            revoked["body"]["revocation"]["user_found"] == false
        })
        .collect();
    assert!(!resumed.is_empty(), "the kill did not land mid-revocation");
    for case in resumed {
        let step = case["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == "revoke:openai")
            .unwrap();
        let attempts = step["attempts"].as_i64().unwrap();
        assert!(attempts >= 2, "{case}");
        let deleted_before = events(case, "provider_action").into_iter().any(|e| {
            e["body"]["action"]["action"] == "delete_project_api_key"
                && e["body"]["attempt"].as_i64().unwrap() < attempts
        });
        assert!(
            deleted_before,
            "the interrupted attempt's key deletion: {case}"
        );
    }
    let (_, employees) = api.get("/v1/employees").await;
    let employees = employees["employees"].as_array().unwrap();
    assert_eq!(employees.len(), LEAVERS);
    assert!(
        employees.iter().all(|e| e["status"] == "locked"),
        "{employees:?}"
    );
}

/// Two services on one PostgreSQL database (and one data directory, for the shared log
/// and command keys): cases started through one are finished by both without any step
/// performed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_on_one_database_share_the_work_without_repeating_it() {
    // More revocations than one process has worker slots (32).
    const LEAVERS: usize = 40;
    let server = postgres::shared();
    let url = server.url(&server.create_database().await);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let openai = fakes::openai::start(openai_org(LEAVERS), ADMIN_KEY).await;
    // Every user lookup is slow, so revocations overlap and both services hold claims on
    // the queue at the same time.
    openai.control.inject(
        Some("GET"),
        Some("/v1/organization/users"),
        Fault::Hang(Duration::from_secs(1)),
        u32::try_from(LEAVERS).unwrap(),
    );
    openai
        .control
        .inject(Some("DELETE"), Some(DELETE_KEY), Fault::ServerError, 3);

    // The first start creates the keys and the organisation; the second shares them.
    let mut one = Custody::spawn(&data, Some(&url), None, "one");
    one.ready().await;
    let mut two = Custody::spawn(&data, Some(&url), None, "two");
    two.ready().await;
    let api = Api::new(&one, &data);
    let other = Api::new(&two, &data);
    api.connect_openai(&openai).await;
    // Lockouts arrive at both services; each also claims the other's due steps when it
    // polls, so the two race on the same rows of one queue.
    for i in 0..LEAVERS {
        let (status, body) = api
            .post(
                "/v1/employees",
                json!({"id": format!("emp-{i}"), "email": email(i)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut cases = Vec::with_capacity(LEAVERS);
    for i in 0..LEAVERS {
        let via = if i % 2 == 0 { &api } else { &other };
        let (status, case) = via
            .post("/v1/lockouts", json!({"email": email(i), "confirm": true}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        cases.push(case["case_id"].as_str().unwrap().to_owned());
    }

    let done = api.wait_all_completed(&cases).await;
    let journaled = assert_each_step_once(&done, &openai);
    assert_eq!(
        journaled,
        (LEAVERS, LEAVERS),
        "no crash: every deletion is journaled with its confirmation"
    );
    // The other service reads the same cases from the same ledger.
    let (status, log) = other.get("/v1/hris/sync-log").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let statuses: Vec<&Value> = log["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses.len(), LEAVERS);
    assert!(statuses.iter().all(|s| *s == "completed"), "{log}");
    // Both did revocations, and between them removed each user once.
    let removals = [&one, &two].map(|s| s.provider_answers("DELETE org user"));
    assert_eq!(removals.iter().sum::<usize>(), LEAVERS, "{removals:?}");
    assert!(
        removals.iter().all(|&n| n > 0),
        "one service did every removal: {removals:?}"
    );
}
