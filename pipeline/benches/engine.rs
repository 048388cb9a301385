//! Offboarding engine benchmarks (issue 4), on SQLite and on PostgreSQL. Prints figures;
//! asserts no timings.
//!
//! 1. Confirm → first revocation request: `POST /v1/lockouts` sent → the first request of
//!    the case arrives at the fake OpenAI Admin API (target < 100 ms). Lockouts run one
//!    at a time, one employee each, so every request a tap in front of the fake sees after
//!    the POST belongs to that case.
//! 2. Trigger → case complete, 100 cases at once: 100 employees, each in a fake OpenAI and
//!    a fake Anthropic org with keys and memberships; 100 lockouts fired concurrently; the
//!    sync log (`GET /v1/hris/sync-log`) polled every 20 ms (targets p50 < 1 s, p99 < 3 s).
//!    Each case's timeline then splits its time into segments, from the nodes' `recorded_at`.
//!    Two profiles follow: 2a the same burst watched through a cheap query on the cases
//!    table (what the sync-log polling costs), 2b with no provider connected (what the
//!    engine, ledger and database cost alone).
//!
//! Run: `cargo bench -p custody-pipeline --bench engine`. `BENCH_ONLY=sqlite|postgres`,
//! `BENCH_LOCKOUTS` (default 50), `BENCH_CASES` (default 100).
//!
//! Everything runs in this process on one multi-threaded runtime: the service, the fakes
//! and the client. SQLite: a file in a temporary directory, WAL, `synchronous=FULL` (the
//! service's settings). PostgreSQL: the test harness's private server started with
//! `fsync=on` and synchronous commit, so every commit waits for the WAL flush.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/fakes/mod.rs"]
mod fakes;
#[path = "../../ledger/tests/support/postgres.rs"]
mod postgres;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use custody_pipeline::config::ServeConfig;
use custody_pipeline::server::{self, ADMIN_TOKEN_FILE, Service};
use custody_verifier::time::UtcTime;
use serde_json::{Value, json};

const OPENAI_KEY: &str = "sk-admin-bench-openai";
const ANTHROPIC_KEY: &str = "sk-ant-admin-bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn email(i: usize) -> String {
    format!("emp{i:03}@acme.example")
}

/// A thin admin client of the service under test.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let response = self.http.get(format!("{}{path}", self.base));
        let response = response.bearer_auth(&self.token).send().await.unwrap();
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn add_employees(&self, count: usize) {
        for i in 0..count {
            let body = json!({"id": format!("emp-{i:03}"), "email": email(i), "display_name": format!("Employee {i}")});
            assert_eq!(self.post("/v1/employees", body).await.0, 201);
        }
    }

    async fn connect(&self, id: &str, kind: &str, base_url: &str, credential: &str) {
        let body = json!({"id": id, "kind": kind, "base_url": base_url, "credential": credential});
        let (status, body) = self.post("/v1/providers", body).await;
        assert_eq!(status, 201, "{body}");
    }

    /// Starts a lockout; the case id.
    async fn lock_out(&self, i: usize) -> String {
        let body = json!({"email": email(i), "confirm": true, "reason": "bench"});
        let (status, case) = self.post("/v1/lockouts", body).await;
        assert_eq!(status, 201, "{case}");
        case["case_id"].as_str().unwrap().to_owned()
    }

    async fn wait_completed(&self, case_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let case = self.get(&format!("/v1/hris/sync-log/{case_id}")).await;
            if case["status"] == "completed" {
                return case;
            }
            assert!(Instant::now() < deadline, "case never completed: {case}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A service on a fresh SQLite file or PostgreSQL database.
struct Running {
    service: Service,
    api: Api,
    _data: tempfile::TempDir,
}

async fn start(pg: Option<&postgres::PgServer>) -> Running {
    let data = tempfile::tempdir().unwrap();
    let database_url = match pg {
        Some(pg) => Some(pg.url(&pg.create_database().await)),
        None => None,
    };
    let config = ServeConfig {
        data_dir: data.path().to_path_buf(),
        database_url,
        listen: ([127, 0, 0, 1], 0).into(),
        origin_host: "bench.custody.test".into(),
        tsa_urls: vec![],
        tsa_roots: None,
        checkpoint_interval_ms: 1000,
        bootstrap_org: "acme".into(),
        secret_key: None,
    };
    let service = server::start(&config).await.unwrap();
    let token = std::fs::read_to_string(data.path().join(ADMIN_TOKEN_FILE)).unwrap();
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{}", service.addr),
        token: token.trim().to_owned(),
    };
    Running {
        service,
        api,
        _data: data,
    }
}

/// An OpenAI org of `n` employees: three projects; each employee a member of one or two,
/// with one or two project keys.
fn openai_org(n: usize) -> fakes::openai::OrgState {
    use fakes::openai::{OrgState, Project, ProjectKey, User};
    let project = |p: usize| format!("proj_{p}");
    let mut org = OrgState {
        page_cap: 100,
        ..OrgState::default()
    };
    org.projects = (0..3)
        .map(|p| Project {
            id: project(p),
            archived: false,
            members: vec![],
        })
        .collect();
    for i in 0..n {
        let id = format!("user_{i:03}");
        org.users.push(User {
            id: id.clone(),
            email: email(i),
            role: "reader".into(),
        });
        for (k, p) in [(0, i % 3), (1, (i + 1) % 3)].into_iter().take(1 + i % 2) {
            org.projects[p].members.push(id.clone());
            org.project_keys.push(ProjectKey {
                id: format!("key_{i:03}_{k}"),
                project: project(p),
                owner: Some((id.clone(), email(i))),
            });
        }
    }
    org
}

/// An Anthropic org of `n` employees: two workspaces; each employee a member of one, with
/// one or two active keys.
fn anthropic_org(n: usize) -> fakes::anthropic::OrgState {
    use fakes::anthropic::{ApiKey, OrgState, User, Workspace};
    let mut org = OrgState {
        page_cap: 1000,
        ..OrgState::default()
    };
    org.workspaces = (0..2)
        .map(|w| Workspace {
            id: format!("wrkspc_{w}"),
            members: vec![],
        })
        .collect();
    for i in 0..n {
        let id = format!("user_{i:03}");
        org.users.push(User {
            id: id.clone(),
            email: email(i),
            role: "developer".into(),
        });
        org.workspaces[i % 2].members.push(id.clone());
        for k in 0..1 + i % 2 {
            org.api_keys.push(ApiKey {
                id: format!("apikey_{i:03}_{k}"),
                status: "active".into(),
                created_by: Some(id.clone()),
                principal: None,
                workspace_id: format!("wrkspc_{}", i % 2),
            });
        }
    }
    org
}

/// A forwarding proxy in front of a fake that notes when requests arrive, without
/// changing the fake: the first request, and the first side effect (not a GET), since
/// it was last armed.
struct Tap {
    upstream: String,
    client: reqwest::Client,
    seen: Mutex<(Option<Instant>, Option<Instant>)>,
}

impl Tap {
    async fn start(upstream: &str) -> (Arc<Tap>, String) {
        let tap = Arc::new(Tap {
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            seen: Mutex::new((None, None)),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(tap.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (tap, url)
    }

    /// Forgets what arrived so far; returns (first request, first side effect).
    fn take(&self) -> (Option<Instant>, Option<Instant>) {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

async fn forward(State(tap): State<Arc<Tap>>, request: Request) -> Response {
    let arrived = Instant::now();
    {
        let mut seen = tap.seen.lock().unwrap();
        seen.0.get_or_insert(arrived);
        if request.method() != axum::http::Method::GET {
            seen.1.get_or_insert(arrived);
        }
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = tap
        .client
        .request(parts.method, format!("{}{path}", tap.upstream));
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST {
            upstream = upstream.header(name, value);
        }
    }
    let reply = upstream.body(body).send().await.unwrap();
    let mut response = Response::builder().status(reply.status());
    for (name, value) in reply.headers() {
        if name != axum::http::header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(reply.bytes().await.unwrap()))
        .unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// "p50 … p99 … max …" over milliseconds.
fn summary(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:7.1} ms   p99 {:7.1} ms   max {:7.1} ms   (n={})",
        at(0.5),
        at(0.99),
        at(1.0),
        values.len()
    )
}

/// Bench 1: sequential lockouts, each timed from sending the POST to the tap seeing the
/// first provider request.
async fn confirm_to_first_request(pg: Option<&postgres::PgServer>, lockouts: usize) {
    let run = start(pg).await;
    let fake = fakes::openai::start(openai_org(lockouts), OPENAI_KEY).await;
    let (tap, tap_url) = Tap::start(&fake.base_url).await;
    run.api.add_employees(lockouts).await;
    run.api
        .connect("openai", "openai", &tap_url, OPENAI_KEY)
        .await;
    let (mut first, mut first_write, mut answered, mut complete) = (vec![], vec![], vec![], vec![]);
    for i in 0..lockouts {
        tap.take();
        let sent = Instant::now();
        let case_id = run.api.lock_out(i).await;
        answered.push(ms(sent.elapsed()));
        run.api.wait_completed(&case_id).await;
        complete.push(ms(sent.elapsed()));
        let (request, write) = tap.take();
        first.push(ms(request.expect("no provider request") - sent));
        first_write.push(ms(write.expect("no provider side effect") - sent));
        // Let the engine go idle, as a button press usually finds it.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("  confirm → first OpenAI request   {}", summary(&mut first));
    println!(
        "  confirm → first OpenAI write     {}",
        summary(&mut first_write)
    );
    println!(
        "  confirm → POST answered          {}",
        summary(&mut answered)
    );
    println!(
        "  confirm → completed (polled)     {}",
        summary(&mut complete)
    );
    assert_eq!(
        fake.control
            .served("DELETE", "/v1/organization/users/{user_id}") as usize,
        lockouts
    );
    run.service.shutdown().await.unwrap();
}

/// Milliseconds since the Unix epoch, of the wall clock and of a node's `recorded_at`.
fn wall_ms(t: SystemTime) -> f64 {
    ms(t.duration_since(UNIX_EPOCH).unwrap())
}

fn recorded_ms(event: &Value) -> f64 {
    let t = UtcTime::parse_rfc3339(event["recorded_at"].as_str().unwrap()).unwrap();
    t.unix_seconds() as f64 * 1000.0 + f64::from(t.subsec_nanos()) / 1e6
}

/// How the bench learns that a case completed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Observer {
    /// `GET /v1/hris/sync-log` (the API a person would watch).
    SyncLog,
    /// `SELECT case_id FROM cases WHERE closed = 1` on the service database: nearly free,
    /// to show what the sync-log polling itself costs the engine.
    CasesTable,
}

/// The ids of the completed cases, one poll.
async fn completed(run: &Running, observer: Observer) -> Vec<String> {
    match observer {
        Observer::SyncLog => {
            let log = run.api.get("/v1/hris/sync-log").await;
            let cases = log["cases"].as_array().unwrap();
            for case in cases {
                assert_ne!(case["status"], "needs_attention", "{case}");
            }
            cases
                .iter()
                .filter(|c| c["status"] == "completed")
                .map(|c| c["case_id"].as_str().unwrap().to_owned())
                .collect()
        }
        Observer::CasesTable => {
            use sqlx::Row;
            sqlx::query("SELECT case_id FROM cases WHERE closed = 1")
                .fetch_all(run.service.db.pool())
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String, _>(0).unwrap())
                .collect()
        }
    }
}

/// Polls every 20 ms until every case is completed; when each case was first seen so,
/// and how long each poll took.
async fn watch(
    run: &Running,
    observer: Observer,
    cases: usize,
) -> (HashMap<String, Instant>, Vec<f64>) {
    let mut seen = HashMap::new();
    let mut poll_ms = vec![];
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < cases {
        assert!(
            Instant::now() < deadline,
            "cases stuck: {} of {cases} completed",
            seen.len()
        );
        let asked = Instant::now();
        let done = completed(run, observer).await;
        let now = Instant::now();
        poll_ms.push(ms(now - asked));
        for case_id in done {
            seen.entry(case_id).or_insert(now);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (seen, poll_ms)
}

/// Fires `cases` lockouts at once and watches them complete; prints the figures.
async fn burst(run: &Arc<Running>, cases: usize, observer: Observer) {
    let began = Instant::now();
    let wall_began = wall_ms(SystemTime::now());
    let cpu_began = cpu_time();
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..cases {
        let run = run.clone();
        posts.spawn(async move {
            let sent = Instant::now();
            let case_id = run.api.lock_out(i).await;
            (case_id, sent, ms(sent.elapsed()))
        });
    }
    let (seen, mut poll_ms) = watch(run, observer, cases).await;
    let (wall, cpu) = (began.elapsed(), cpu_time() - cpu_began);
    let mut sent = HashMap::new();
    let mut answered = vec![];
    while let Some(joined) = posts.join_next().await {
        let (case_id, at, took) = joined.unwrap();
        sent.insert(case_id, at);
        answered.push(took);
    }
    let mut total: Vec<f64> = seen.iter().map(|(c, at)| ms(*at - sent[c])).collect();
    println!("  trigger → completed (polled)     {}", summary(&mut total));
    println!(
        "  POST /v1/lockouts answered       {}",
        summary(&mut answered)
    );
    let polled = match observer {
        Observer::SyncLog => "sync-log list request",
        Observer::CasesTable => "cases-table poll",
    };
    println!("  {polled:<32} {}", summary(&mut poll_ms));
    println!(
        "  all {cases} completed after {:.0} ms; this process used {:.0} ms of CPU meanwhile ({:.2} cores)",
        ms(seen.values().max().copied().unwrap() - began),
        ms(cpu),
        cpu.as_secs_f64() / wall.as_secs_f64()
    );
    breakdown(&run.api, &sent, began, wall_began).await;
}

/// Bench 2: `cases` lockouts fired at once against OpenAI and Anthropic fakes.
async fn hundred_at_once(pg: Option<&postgres::PgServer>, cases: usize, observer: Observer) {
    let run = Arc::new(start(pg).await);
    let openai = fakes::openai::start(openai_org(cases), OPENAI_KEY).await;
    let anthropic = fakes::anthropic::start(anthropic_org(cases), ANTHROPIC_KEY).await;
    run.api.add_employees(cases).await;
    run.api
        .connect("openai", "openai", &openai.base_url, OPENAI_KEY)
        .await;
    run.api
        .connect("anthropic", "anthropic", &anthropic.base_url, ANTHROPIC_KEY)
        .await;
    burst(&run, cases, observer).await;
    let served = |c: &fakes::Control, t| c.served("DELETE", t) as usize;
    assert_eq!(
        served(&openai.control, "/v1/organization/users/{user_id}"),
        cases
    );
    assert_eq!(
        served(&anthropic.control, "/v1/organizations/users/{user_id}"),
        cases
    );
    println!(
        "  provider calls: OpenAI {}, Anthropic {} ({:.1} and {:.1} per case)",
        openai.control.total_calls(),
        anthropic.control.total_calls(),
        f64::from(openai.control.total_calls()) / cases as f64,
        f64::from(anthropic.control.total_calls()) / cases as f64,
    );
    shutdown(run).await;
}

/// Profile: the same burst with no provider connected (devices, sessions, complete: the
/// engine, the ledger and the database alone).
async fn hundred_without_providers(pg: Option<&postgres::PgServer>, cases: usize) {
    let run = Arc::new(start(pg).await);
    run.api.add_employees(cases).await;
    burst(&run, cases, Observer::CasesTable).await;
    shutdown(run).await;
}

async fn shutdown(run: Arc<Running>) {
    match Arc::try_unwrap(run) {
        Ok(run) => run.service.shutdown().await.unwrap(),
        Err(_) => unreachable!("every POST task has finished"),
    }
}

/// Where each case's time went, from its timeline (`recorded_at`, millisecond precision):
/// POST sent → trigger node, trigger → last access step (providers, devices, sessions),
/// last access step → `case_completed`; and when the engine finished steps, by kind.
async fn breakdown(api: &Api, sent: &HashMap<String, Instant>, began: Instant, wall_began: f64) {
    let (mut to_trigger, mut access, mut closing, mut total) = (vec![], vec![], vec![], vec![]);
    let mut finished: HashMap<String, Vec<f64>> = HashMap::new();
    for (case_id, sent) in sent {
        let case = api.get(&format!("/v1/hris/sync-log/{case_id}")).await;
        let timeline = case["timeline"].as_array().unwrap();
        let at = |kind: &str| {
            timeline
                .iter()
                .filter(|e| e["kind"] == kind)
                .map(recorded_ms)
                .fold(f64::NAN, f64::max)
        };
        let post = wall_began + ms(*sent - began);
        let trigger = at("lockout_requested");
        let last_access = [
            "provider_revoked",
            "device_lock_sent",
            "sessions_invalidated",
        ]
        .map(at)
        .into_iter()
        .fold(f64::NAN, f64::max);
        to_trigger.push(trigger - post);
        access.push(last_access - trigger);
        closing.push(at("case_completed") - last_access);
        total.push(at("case_completed") - post);
        for event in timeline {
            let kind = event["kind"].as_str().unwrap().to_owned();
            finished
                .entry(kind)
                .or_default()
                .push(recorded_ms(event) - wall_began);
        }
    }
    println!("  breakdown per case (ledger recorded_at, ±1 ms):");
    println!(
        "    POST sent → trigger node       {}",
        summary(&mut to_trigger)
    );
    println!(
        "    trigger → last access step     {}",
        summary(&mut access)
    );
    println!(
        "    last access step → completed   {}",
        summary(&mut closing)
    );
    println!("    POST sent → case_completed     {}", summary(&mut total));
    println!("  when nodes were recorded, ms after the burst began (first … last):");
    let mut kinds: Vec<_> = finished.into_iter().collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    // What the workers recorded: step nodes, and the provider actions they journaled.
    let recorded: Vec<f64> = kinds
        .iter()
        .filter(|(kind, _)| kind != "lockout_requested")
        .flat_map(|(_, times)| times.iter().copied())
        .collect();
    let steps = kinds
        .iter()
        .filter(|(kind, _)| !matches!(kind.as_str(), "lockout_requested" | "provider_action"))
        .map(|(_, times)| times.len())
        .sum::<usize>();
    let span = recorded.iter().copied().fold(f64::NAN, f64::max)
        - recorded.iter().copied().fold(f64::NAN, f64::min);
    println!(
        "    engine: {} nodes ({steps} steps, {} journaled provider actions) in {span:.0} ms = {:.0} nodes/s, {:.0} steps/s",
        recorded.len(),
        recorded.len() - steps,
        recorded.len() as f64 * 1000.0 / span,
        steps as f64 * 1000.0 / span
    );
    for (kind, mut times) in kinds {
        times.sort_by(f64::total_cmp);
        let (first, last) = (times[0], times[times.len() - 1]);
        println!(
            "    {kind:<22} {first:7.1} … {last:7.1}   ({} nodes)",
            times.len()
        );
    }
}

/// CPU time this process has used (user + system), from `/proc/self/stat` (Linux; zero
/// elsewhere).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux.
}

/// What building one provider client costs (the engine builds one per revocation step).
fn client_build_cost() {
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        drop(reqwest::Client::builder().build().unwrap());
    }
    println!(
        "reqwest::Client build (one per provider step): {:.2} ms each",
        ms(started.elapsed()) / f64::from(rounds)
    );
}

async fn backend(name: &str, pg: Option<&postgres::PgServer>) {
    let lockouts = env_usize("BENCH_LOCKOUTS", 50);
    let cases = env_usize("BENCH_CASES", 100);
    println!("== {name}");
    println!(
        "1. confirm → first revocation request, {lockouts} lockouts one at a time (target < 100 ms)"
    );
    confirm_to_first_request(pg, lockouts).await;
    println!("2. trigger → case complete, {cases} cases at once (targets p50 < 1 s, p99 < 3 s)");
    hundred_at_once(pg, cases, Observer::SyncLog).await;
    println!(
        "2a. profile: the same burst, watched through the cases table instead of the sync log"
    );
    hundred_at_once(pg, cases, Observer::CasesTable).await;
    println!("2b. profile: the same burst with no provider connected");
    hundred_without_providers(pg, cases).await;
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!(
        "engine bench: {} CPU(s), one in-process runtime for service, fakes and client",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    client_build_cost();
    if only.is_empty() || only == "sqlite" {
        runtime.block_on(backend("SQLite (WAL, synchronous=FULL)", None));
    }
    if only.is_empty() || only == "postgres" {
        let pg = postgres::PgServer::start(true);
        runtime.block_on(backend(
            "PostgreSQL (fsync=on, synchronous_commit=on)",
            Some(&pg),
        ));
    }
}
