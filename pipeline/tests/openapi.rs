//! `schemas/openapi.yaml` stays true to the router: every (method, path) it documents is
//! routed (the service answers it with something other than axum's bare "no route" 404
//! or 405), and every route the service answers is documented.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use custody_pipeline::config::ServeConfig;
use custody_pipeline::server::{self, ADMIN_TOKEN_FILE};

/// `(method, path)` pairs from the OpenAPI document (two-space path keys, four-space methods).
fn documented() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/openapi.yaml"
    ))
    .unwrap();
    let mut in_paths = false;
    let mut path = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line == "paths:" {
            in_paths = true;
        } else if !line.starts_with(' ') && !line.is_empty() {
            in_paths = false;
        } else if in_paths {
            if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = format!("/{p}");
            } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
                && ["get", "post", "put", "delete", "patch"].contains(&m)
            {
                out.push((m.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// The same pairs as the router declares them (keep in sync with `api::ledger::router`).
const ROUTED: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/v1/ledger/log"),
    ("get", "/v1/ledger/checkpoints/latest"),
    ("get", "/v1/ledger/checkpoints/{size}"),
    ("post", "/v1/ledger/nodes"),
    ("get", "/v1/ledger/nodes"),
    ("get", "/v1/ledger/nodes/{index}"),
    ("get", "/v1/ledger/nodes/{index}/dag"),
    ("get", "/v1/ledger/nodes/by-hash/{hash}"),
    ("get", "/v1/ledger/cases/{case_id}"),
    ("get", "/v1/ledger/proofs/inclusion/{index}"),
    ("get", "/v1/ledger/proofs/consistency"),
    ("get", "/v1/ledger/export/cases/{case_id}"),
    ("get", "/v1/ledger/export/range"),
    ("get", "/v1/employees"),
    ("post", "/v1/employees"),
    ("get", "/v1/providers"),
    ("post", "/v1/providers"),
    ("delete", "/v1/providers/{id}"),
    ("get", "/v1/lockouts"),
    ("post", "/v1/lockouts"),
    ("get", "/v1/lockouts/{case_id}"),
    ("post", "/v1/lockouts/{case_id}/override"),
    ("get", "/v1/hris/sync-log"),
    ("get", "/v1/hris/sync-log/{case_id}"),
    ("get", "/.well-known/custody-command-key"),
    ("get", "/v1/devices"),
    ("delete", "/v1/devices/{device_id}"),
    ("post", "/v1/devices/enrollment-tokens"),
    ("post", "/v1/devices/enroll"),
    ("get", "/v1/device/commands"),
    ("post", "/v1/device/commands/{command_id}/ack"),
    ("get", "/v1/tokens"),
    ("post", "/v1/tokens"),
    ("delete", "/v1/tokens/{id}"),
];

#[tokio::test]
async fn every_documented_route_is_served_and_every_route_documented() {
    let mut documented = documented();
    documented.sort();
    let mut routed: Vec<(String, String)> = ROUTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    routed.sort();
    assert_eq!(documented, routed);

    let data = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        origin_host: "openapi.test".into(),
        checkpoint_interval_ms: 100,
        bootstrap_org: "acme".into(),
        ..ServeConfig::in_dir(data.path().to_path_buf())
    };
    let service = server::start(&config).await.unwrap();
    let token = std::fs::read_to_string(data.path().join(ADMIN_TOKEN_FILE)).unwrap();
    let http = reqwest::Client::new();
    for (method, path) in &routed {
        let concrete = path
            .replace("{size}", "0")
            .replace("{index}", "0")
            .replace("{hash}", &"0".repeat(64))
            .replace("{case_id}", "c")
            .replace("{id}", "0000000000000000")
            .replace("{device_id}", "dev_0")
            .replace("consistency", "consistency?from=0&to=0")
            .replace("export/range", "export/range?from=0&to=1");
        let url = format!("http://{}{concrete}", service.addr);
        let request = match method.as_str() {
            "post" => http
                .post(url)
                .json(&serde_json::json!({"kind": "legal_hold"})),
            "delete" => http.delete(url),
            _ => http.get(url),
        };
        let response = request.bearer_auth(token.trim()).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        // axum answers an unknown route with an empty 404; ours always carry a JSON error.
        let unrouted = (status == 404 && body.is_empty()) || status == 405;
        assert!(!unrouted, "{method} {path}: {status} {body:?}");
    }
    service.shutdown().await.unwrap();
}
