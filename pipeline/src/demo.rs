//! `custody demo`: offboards a sample employee against an in-process service on the
//! embedded defaults (SQLite, development TSA), through the real HTTP API, then exports
//! the case's evidence bundle and verifies it with the offline verifier.
//!
//! No LLM provider is connected, so none is contacted: the case revokes the employee's
//! API tokens in this service and completes, and every step is a real custody node.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use custody_verifier::bundle::{self, BundleFiles, VerifyOptions};
use custody_verifier::checkpoint::NoteVerifierKey;
use custody_verifier::timestamp::{TimestampOptions, TrustAnchors};
use serde_json::{Value, json};

use crate::config::ServeConfig;
use crate::server::{self, ADMIN_TOKEN_FILE, ServeError};

/// Arguments of `custody demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to write the exported bundle, the log key and the TSA root.
    #[arg(long, default_value = "./custody-demo")]
    pub out: PathBuf,
}

const ORG: &str = "acme";
const EMPLOYEE: &str = "emp-1042";
const EMAIL: &str = "dana@acme.example";

/// Runs the demonstration; fails if any step, or the final verification, fails.
pub async fn run(args: DemoArgs) -> Result<ExitCode, ServeError> {
    let data = tempfile::tempdir()?;
    let config = ServeConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        origin_host: "demo.custody.local".into(),
        checkpoint_interval_ms: 200,
        bootstrap_org: ORG.into(),
        ..ServeConfig::in_dir(data.path().to_path_buf())
    };
    let service = server::start(&config).await?;
    let result = drive(&service, &config, &args).await;
    service.shutdown().await?;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => {
            eprintln!("demo failed: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A client of the service's API with the bootstrap admin token.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(response)
        } else {
            let status = response.status();
            Err(format!(
                "{status}: {}",
                response.text().await.unwrap_or_default()
            ))
        }
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        let response = self.send(request).await?;
        response.json().await.map_err(|e| e.to_string())
    }
}

async fn drive(
    service: &server::Service,
    config: &ServeConfig,
    args: &DemoArgs,
) -> Result<(), String> {
    let token = std::fs::read_to_string(config.data_dir.join(ADMIN_TOKEN_FILE))
        .map_err(|e| e.to_string())?;
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{}", service.addr),
        token: token.trim().to_owned(),
    };
    println!(
        "custody demo: service on {} (SQLite, development TSA)",
        service.addr
    );

    let started = Instant::now();
    let case_id = lock_out(service, &api).await?;
    let case = wait_for_case(&api, &case_id).await?;
    let timeline = case["timeline"].as_array().cloned().unwrap_or_default();
    println!(
        "  case {case_id} {} after {} ms:",
        case["status"].as_str().unwrap_or("?"),
        started.elapsed().as_millis()
    );
    for event in &timeline {
        println!(
            "    #{} {} {}",
            event["index"],
            event["kind"].as_str().unwrap_or("?"),
            event["body"]
        );
    }

    let size = timeline
        .iter()
        .filter_map(|e| e["index"].as_u64())
        .max()
        .map_or(0, |i| i + 1);
    let log = wait_for_stamp(&api, size).await?;
    println!(
        "  checkpoint signed and timestamped after {} ms",
        started.elapsed().as_millis()
    );

    let tar = api
        .get(&format!("/v1/ledger/export/cases/{case_id}"))
        .await?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let vkey = log["log_key"].as_str().unwrap_or_default().to_owned();
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    std::fs::write(args.out.join("bundle.tar"), &tar).map_err(|e| e.to_string())?;
    std::fs::write(args.out.join("log.vkey"), format!("{vkey}\n")).map_err(|e| e.to_string())?;
    std::fs::write(args.out.join("tsa-roots.pem"), &service.tsa_roots_pem)
        .map_err(|e| e.to_string())?;
    println!(
        "  exported GET /v1/ledger/export/cases/{case_id} → {} ({} bytes)",
        args.out.join("bundle.tar").display(),
        tar.len()
    );

    let report = verify(&tar, &vkey, &service.tsa_roots_pem)?;
    println!(
        "  custody-verifier: VERIFIED {} nodes, {} checkpoint(s), {} token(s)",
        report.node_count,
        report.checkpoints.len(),
        report.tokens.len()
    );
    if report.development_tsa {
        println!("  (timestamps are from the development TSA: untrusted, for demonstration only)");
    }
    let out = args.out.display();
    println!("verify it yourself, offline:");
    println!(
        "  cargo run -p custody-verifier --bin custody-verify -- bundle {out}/bundle.tar --log-key-file {out}/log.vkey --tsa-roots {out}/tsa-roots.pem"
    );
    Ok(())
}

/// Adds the sample employee (who holds an API token of this service), then presses
/// "Lock Out" through the API. No provider is connected: the demo contacts no one.
async fn lock_out(service: &server::Service, api: &Api) -> Result<String, String> {
    api.post(
        "/v1/employees",
        json!({"id": EMPLOYEE, "email": EMAIL, "display_name": "Dana Example"}),
    )
    .await?;
    crate::auth::issue_owned(
        &service.db,
        ORG,
        crate::auth::Role::Auditor,
        "dana's laptop",
        Some(EMAIL),
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "  added employee {EMAIL} (holding one API token); no LLM provider is connected in the demo"
    );
    let case = api
        .post(
            "/v1/lockouts",
            json!({"email": EMAIL, "confirm": true, "reason": "last day"}),
        )
        .await?;
    let case_id = case["case_id"]
        .as_str()
        .ok_or("no case id in the lockout response")?
        .to_owned();
    println!(
        "  POST /v1/lockouts {{\"email\": \"{EMAIL}\", \"confirm\": true}} started case {case_id}"
    );
    Ok(case_id)
}

/// Polls the sync log until the case is completed.
async fn wait_for_case(api: &Api, case_id: &str) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let case: Value = api
            .get(&format!("/v1/hris/sync-log/{case_id}"))
            .await?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if case["status"] == "completed" {
            return Ok(case);
        }
        if Instant::now() > deadline {
            return Err(format!("case {case_id} not completed after 30 s: {case}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the log until a timestamped checkpoint covers `size` nodes.
async fn wait_for_stamp(api: &Api, size: u64) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log: Value = api
            .get("/v1/ledger/log")
            .await?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if log["stamping"]["latest_stamped_size"]
            .as_u64()
            .is_some_and(|s| s >= size)
        {
            return Ok(log);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no timestamped checkpoint covers {size} nodes after 30 s: {log}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn verify(tar: &[u8], vkey: &str, roots_pem: &[u8]) -> Result<bundle::VerifiedBundle, String> {
    let files = BundleFiles::from_tar(tar).map_err(|e| e.to_string())?;
    let key: NoteVerifierKey = vkey.parse().map_err(|e| format!("log key: {e}"))?;
    let anchors = TrustAnchors::from_pem(roots_pem).map_err(|e| e.to_string())?;
    let timestamp = TimestampOptions::default();
    let options = VerifyOptions::new(std::slice::from_ref(&key), &anchors, &timestamp);
    bundle::verify(&files, &options)
        .map_err(|e| format!("verification failed at step {}: {e}", e.step()))
}
