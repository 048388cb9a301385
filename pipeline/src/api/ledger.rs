//! `/v1/ledger/…`: the log, its nodes, checkpoints, proofs and evidence exports, for the
//! caller's organisation only.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use custody_ledger::{LedgerError, NewNode, NodeFilter, StoredCheckpoint, StoredNode};
use custody_verifier::node::{ParentRef, parse_hash_hex};
use custody_verifier::time::UtcTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ApiError, AppState};
use crate::auth::{Principal, Role};

const READERS: &[Role] = &[Role::Admin, Role::Legal, Role::Auditor];

/// The ledger routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/log", get(log_info))
        .route("/checkpoints/latest", get(latest_checkpoint))
        .route("/checkpoints/{size}", get(checkpoint_at))
        .route("/nodes", post(append).get(list_nodes))
        .route("/nodes/{index}", get(node_by_index))
        .route("/nodes/{index}/dag", get(node_dag))
        .route("/nodes/by-hash/{hash}", get(node_by_hash))
        .route("/cases/{case_id}", get(case_nodes))
        .route("/proofs/inclusion/{index}", get(inclusion_proof))
        .route("/proofs/consistency", get(consistency_proof))
        .route("/export/cases/{case_id}", get(export_case))
        .route("/export/range", get(export_range))
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::UnknownOrg { .. } | LedgerError::NotFound { .. } => ApiError::NotFound {
                what: e.to_string(),
            },
            LedgerError::Append(_) | LedgerError::Range(_) => ApiError::BadRequest {
                message: e.to_string(),
            },
            LedgerError::Export(_) => ApiError::Conflict {
                message: e.to_string(),
            },
            other => ApiError::internal(other),
        }
    }
}

/// `GET /log`: the organisation's log: origin, verifier key, size, stamping status.
async fn log_info(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let info = state.ledger.org_info(&principal.org).await?;
    let size = state.ledger.size(&principal.org).await?;
    let status = state.ledger.stamping_status(&principal.org).await?;
    Ok(Json(json!({
        "org": info.org,
        "origin": info.origin,
        "log_key": info.vkey,
        "size": size,
        "stamping": {
            "unstamped_checkpoints": status.unstamped,
            "oldest_unstamped_created_at": status.oldest_unstamped_created_at.map(|t| t.to_string()),
            "latest_stamped_size": status.latest_stamped_size,
        },
    })))
}

async fn checkpoint_json(
    state: &AppState,
    org: &str,
    checkpoint: StoredCheckpoint,
) -> Result<Json<Value>, ApiError> {
    let tokens = state.ledger.timestamps(org, checkpoint.size).await?;
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"tsa": t.tsa, "gen_time": t.gen_time.to_string(), "token": STANDARD.encode(&t.token_der)}))
        .collect();
    Ok(Json(json!({
        "size": checkpoint.size,
        "root": hex::encode(checkpoint.root),
        "note": String::from_utf8_lossy(&checkpoint.note),
        "created_at": checkpoint.created_at.to_string(),
        "timestamps": tokens,
    })))
}

/// `GET /checkpoints/latest`.
async fn latest_checkpoint(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let checkpoint = state
        .ledger
        .latest_checkpoint(&principal.org)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "checkpoint".into(),
        })?;
    checkpoint_json(&state, &principal.org, checkpoint).await
}

/// `GET /checkpoints/{size}`.
async fn checkpoint_at(
    State(state): State<AppState>,
    principal: Principal,
    Path(size): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let checkpoint = state
        .ledger
        .checkpoint_at(&principal.org, size)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("checkpoint of size {size}"),
        })?;
    checkpoint_json(&state, &principal.org, checkpoint).await
}

/// The JSON body of `POST /nodes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendBody {
    kind: String,
    case_id: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    parents: Vec<ParentBody>,
    recorded_at: Option<String>,
    #[serde(default)]
    body: Map<String, Value>,
    idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParentBody {
    index: u64,
    hash: String,
}

/// `POST /nodes` (admin): appends one node; answers once it is durable.
async fn append(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<AppendBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(&[Role::Admin])?;
    let body = super::json_body(body)?;
    let parents = body
        .parents
        .iter()
        .map(|p| {
            parse_hash_hex(&p.hash)
                .map(|hash| ParentRef {
                    index: p.index,
                    hash,
                })
                .ok_or_else(|| ApiError::BadRequest {
                    message: format!("parent {}: hash must be 64 lower-case hex digits", p.index),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let recorded_at = match &body.recorded_at {
        Some(text) => UtcTime::parse_rfc3339(text).map_err(|e| ApiError::BadRequest {
            message: e.to_string(),
        })?,
        None => crate::clock::now(),
    };
    let node = NewNode {
        kind: body.kind,
        case_id: body.case_id,
        subject: body.subject,
        parents,
        recorded_at,
        body: body.body,
        idempotency_key: body.idempotency_key,
    };
    let appended = state.ledger.append(&principal.org, node).await?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(
            json!({"index": appended.index, "leaf_hash": hex::encode(appended.leaf_hash), "duplicate": appended.duplicate}),
        ),
    ))
}

fn node_json(node: &StoredNode) -> Value {
    let content: Value = serde_json::from_slice(&node.bytes).unwrap_or(Value::Null);
    json!({
        "index": node.index,
        "leaf_hash": hex::encode(node.leaf_hash),
        "node": content,
        "canonical": STANDARD.encode(&node.bytes),
        "appended_at": node.appended_at.to_string(),
    })
}

fn nodes_json(nodes: &[StoredNode]) -> Json<Value> {
    Json(json!({"nodes": nodes.iter().map(node_json).collect::<Vec<_>>()}))
}

/// `GET /nodes/{index}`.
async fn node_by_index(
    State(state): State<AppState>,
    principal: Principal,
    Path(index): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let node = state.ledger.node(&principal.org, index).await?;
    node.map(|n| Json(node_json(&n)))
        .ok_or_else(|| ApiError::NotFound {
            what: format!("node {index}"),
        })
}

/// `GET /nodes/by-hash/{hash}`.
async fn node_by_hash(
    State(state): State<AppState>,
    principal: Principal,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let leaf = parse_hash_hex(&hash).ok_or_else(|| ApiError::BadRequest {
        message: "hash must be 64 lower-case hex digits".into(),
    })?;
    let node = state.ledger.node_by_hash(&principal.org, &leaf).await?;
    node.map(|n| Json(node_json(&n)))
        .ok_or_else(|| ApiError::NotFound {
            what: format!("node with hash {hash}"),
        })
}

/// `GET /nodes/{index}/dag`: the node's ancestors and descendants.
async fn node_dag(
    State(state): State<AppState>,
    principal: Principal,
    Path(index): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let ancestors = state.ledger.ancestors(&principal.org, index).await?;
    let descendants = state.ledger.descendants(&principal.org, index).await?;
    Ok(Json(json!({
        "ancestors": ancestors.iter().map(node_json).collect::<Vec<_>>(),
        "descendants": descendants.iter().map(node_json).collect::<Vec<_>>(),
    })))
}

/// `GET /cases/{case_id}`: the case's nodes and their ancestors.
async fn case_nodes(
    State(state): State<AppState>,
    principal: Principal,
    Path(case_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let nodes = state.ledger.case_nodes(&principal.org, &case_id).await?;
    if nodes.is_empty() {
        return Err(ApiError::NotFound {
            what: format!("case {case_id}"),
        });
    }
    Ok(nodes_json(&nodes))
}

/// Query of `GET /nodes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    kind: Option<String>,
    subject: Option<String>,
    recorded_from: Option<String>,
    recorded_before: Option<String>,
    after: Option<u64>,
    limit: Option<u32>,
}

fn time_param(name: &str, value: Option<&String>) -> Result<Option<UtcTime>, ApiError> {
    value
        .map(|t| {
            UtcTime::parse_rfc3339(t).map_err(|e| ApiError::BadRequest {
                message: format!("{name}: {e}"),
            })
        })
        .transpose()
}

/// `GET /nodes?kind=&subject=&recorded_from=&recorded_before=&after=&limit=`.
async fn list_nodes(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let filter = NodeFilter {
        kind: query.kind,
        subject: query.subject,
        recorded_from: time_param("recorded_from", query.recorded_from.as_ref())?,
        recorded_before: time_param("recorded_before", query.recorded_before.as_ref())?,
        after_index: query.after,
        limit: query.limit.unwrap_or(0),
    };
    let nodes = state.ledger.nodes(&principal.org, &filter).await?;
    let next = (nodes.len() as u32 == filter.page_size())
        .then(|| nodes.last().map(|n| n.index))
        .flatten();
    let Json(mut page) = nodes_json(&nodes);
    page["next_after"] = json!(next);
    Ok(Json(page))
}

/// Query of `GET /proofs/inclusion/{index}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SizeQuery {
    size: Option<u64>,
}

/// `GET /proofs/inclusion/{index}?size=`: a C2SP tlog-proof to the checkpoint of `size`
/// (default: the latest checkpoint).
async fn inclusion_proof(
    State(state): State<AppState>,
    principal: Principal,
    Path(index): Path<u64>,
    Query(query): Query<SizeQuery>,
) -> Result<Response, ApiError> {
    principal.require(READERS)?;
    let size = match query.size {
        Some(size) => size,
        None => state
            .ledger
            .latest_checkpoint(&principal.org)
            .await?
            .map(|c| c.size)
            .ok_or_else(|| ApiError::Conflict {
                message: "no checkpoint yet".into(),
            })?,
    };
    let proof = state.ledger.tlog_proof(&principal.org, index, size).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        proof.format(),
    )
        .into_response())
}

/// Query of `GET /proofs/consistency` and `GET /export/range`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    from: u64,
    to: u64,
}

/// `GET /proofs/consistency?from=&to=`.
async fn consistency_proof(
    State(state): State<AppState>,
    principal: Principal,
    Query(range): Query<RangeQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(READERS)?;
    let proof = state
        .ledger
        .consistency_proof(&principal.org, range.from, range.to)
        .await?;
    Ok(Json(
        json!({"from": range.from, "to": range.to, "hashes": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>()}),
    ))
}

/// The bundle as a tar download; the archive is written on a blocking thread (an
/// organisation range can be large).
async fn tar_response(
    files: custody_verifier::bundle::BundleFiles,
    name: &str,
) -> Result<Response, ApiError> {
    let tar = tokio::task::spawn_blocking(move || files.to_tar())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.custody.tar\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-tar"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        tar,
    )
        .into_response())
}

/// `GET /export/cases/{case_id}`: the case's evidence bundle (tar).
async fn export_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(case_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(READERS)?;
    let files = state
        .ledger
        .export_case(&principal.org, &case_id, None)
        .await?;
    let safe: String = case_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    tar_response(files, &format!("case-{safe}")).await
}

/// `GET /export/range?from=&to=`: the organisation's nodes between two stamped checkpoints.
async fn export_range(
    State(state): State<AppState>,
    principal: Principal,
    Query(range): Query<RangeQuery>,
) -> Result<Response, ApiError> {
    principal.require(READERS)?;
    let files = state
        .ledger
        .export_range(&principal.org, range.from, range.to, None)
        .await?;
    tar_response(
        files,
        &format!("{}-{}-{}", principal.org, range.from, range.to),
    )
    .await
}
