//! Bundle verification, as numbered steps. Each step either passes or returns the first
//! failure it found, with the node or file concerned; a later step runs only when every
//! earlier one passed.
//!
//! 0. inventory: the manifest, and exactly the files it lists, with their digests;
//! 1. node encoding: every node canonical (RFC 8785) and valid;
//! 2. DAG: parents exist, are earlier, hash-match; the case has one root;
//! 3. checkpoint signatures, against the log keys the auditor passes;
//! 4. the log: roots recomputed, inclusion and consistency proofs;
//! 5. timestamps: every RFC 3161 token, and every node's proven time;
//! 6. snapshot PDFs against their records.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::layout::BundlePath;
use super::manifest::{MANIFEST_PATH, Manifest, Scope};
use super::proofs::check_log;
use super::report::{CheckpointReport, NODE_TIMES_LIMIT, NodeTime, PdfReport, VerifiedBundle};
use super::times::{ProvenTime, StampedCheckpoint, prove_node_times, verify_tokens};
use super::{BundleError, BundleFiles, LinkError, nodes};
use crate::checkpoint::{self, NoteVerifierKey, VerifiedCheckpoint};
use crate::dag::{self, DagSummary, Placed};
use crate::error::Error;
use crate::node::EncodedNode;
use crate::snapshot::{SNAPSHOT_KIND, SnapshotRecord};
use crate::time::UtcTime;
use crate::timestamp::{TimestampOptions, TrustAnchors};

/// Where a long verification has got to, for a progress display.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The step number (see the module documentation).
    pub step: u8,
    /// The step's name.
    pub name: &'static str,
    /// Items done in this step.
    pub done: u64,
    /// Items in this step.
    pub total: u64,
}

/// The auditor's choices: whom to trust, at what time, and how strict to be.
pub struct VerifyOptions<'a> {
    /// The log's checkpoint-signing keys (C2SP note verifier keys).
    pub log_keys: &'a [NoteVerifierKey],
    /// The TSA trust anchors.
    pub tsa_anchors: &'a TrustAnchors,
    /// How each token is checked (validation time, SHA-1 policy).
    pub timestamp: &'a TimestampOptions,
    /// How far a node's claimed `recorded_at` may be after its proven time.
    pub max_clock_skew_seconds: u64,
    /// Fail when a snapshot's PDF is not in the bundle.
    pub require_pdfs: bool,
    /// Accept nodes that no timestamped checkpoint covers (reported by index). Weakens
    /// the guarantee that every node's time is proven.
    pub danger_allow_unstamped: bool,
    /// Threads for node decoding (at least 1).
    pub threads: usize,
    /// Called as long steps advance.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

/// The clock skew [`VerifyOptions::new`] allows between a node's claimed and proven time.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 300;

impl<'a> VerifyOptions<'a> {
    /// The strict defaults for these trust inputs: every node must be stamped, claimed
    /// times may lead proven ones by at most [`DEFAULT_CLOCK_SKEW_SECONDS`], missing
    /// PDFs are reported but not fatal, one thread, no progress reports.
    pub fn new(
        log_keys: &'a [NoteVerifierKey],
        tsa_anchors: &'a TrustAnchors,
        timestamp: &'a TimestampOptions,
    ) -> Self {
        Self {
            log_keys,
            tsa_anchors,
            timestamp,
            max_clock_skew_seconds: DEFAULT_CLOCK_SKEW_SECONDS,
            require_pdfs: false,
            danger_allow_unstamped: false,
            threads: 1,
            progress: None,
        }
    }
}

/// What step 0 found: the manifest and the files by role.
pub(super) struct Inventory {
    pub(super) manifest: Manifest,
    pub(super) paths: BTreeSet<BundlePath>,
}

impl Inventory {
    pub(super) fn checkpoint_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.paths.iter().filter_map(|p| {
            if let BundlePath::Checkpoint(s) = p {
                Some(*s)
            } else {
                None
            }
        })
    }
}

/// Verifies a bundle's files: every step, in order.
pub fn verify(files: &BundleFiles, options: &VerifyOptions<'_>) -> Result<VerifiedBundle, Error> {
    let inventory = take_inventory(files)?;
    let nodes = decode_nodes(files, options)?;
    let placed: Vec<Placed<'_>> = nodes
        .iter()
        .map(|(index, node)| Placed {
            index: *index,
            node,
        })
        .collect();
    let dag = check_dag(&inventory.manifest, &placed)?;
    let checkpoints = verify_checkpoints(files, &inventory, options)?;
    check_log(files, &inventory, &placed, &checkpoints)?;
    let tokens = verify_tokens(files, &inventory, &checkpoints, options)?;
    let (node_times, unstamped) = prove_node_times(&placed, &tokens, options)?;
    let pdfs = check_pdfs(files, &inventory, &placed, options.require_pdfs)?;
    Ok(build_report(
        inventory.manifest,
        &placed,
        dag,
        &checkpoints,
        tokens,
        node_times,
        unstamped,
        pdfs,
    ))
}

pub(super) fn report(
    options: &VerifyOptions<'_>,
    step: u8,
    name: &'static str,
    done: u64,
    total: u64,
) {
    if let Some(progress) = options.progress {
        progress(Progress {
            step,
            name,
            done,
            total,
        });
    }
}

/// Step 0: the manifest, and exactly the files it lists with their digests.
fn take_inventory(files: &BundleFiles) -> Result<Inventory, Error> {
    let bytes = files.get(MANIFEST_PATH).ok_or(BundleError::Manifest {
        reason: "missing".into(),
    })?;
    let manifest = Manifest::parse(bytes)?;
    crate::node::check_org(&manifest.org).map_err(|e| BundleError::Manifest {
        reason: format!("org `{}`: {e}", manifest.org),
    })?;
    // A custody log is named after its organisation (evidence-format.md §5), so a bundle
    // cannot present one organisation's log as another's.
    let suffix = format!("/custody/{}", manifest.org);
    if !manifest.origin.ends_with(&suffix) || manifest.origin.len() == suffix.len() {
        return Err(BundleError::ForeignOrigin {
            origin: manifest.origin.clone(),
            org: manifest.org.clone(),
        }
        .into());
    }
    let mut paths = BTreeSet::new();
    for (path, bytes) in files.iter() {
        if path == MANIFEST_PATH {
            continue;
        }
        let role = BundlePath::classify(path)
            .ok_or_else(|| BundleError::UnexpectedPath { path: path.into() })?;
        let entry = manifest
            .files
            .get(path)
            .ok_or_else(|| BundleError::UnlistedFile { path: path.into() })?;
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != entry.sha256 || bytes.len() as u64 != entry.size {
            return Err(BundleError::FileMismatch {
                path: path.into(),
                expected: entry.sha256.clone(),
                actual,
                expected_size: entry.size,
                actual_size: bytes.len() as u64,
            }
            .into());
        }
        paths.insert(role);
    }
    if let Some(missing) = manifest.files.keys().find(|p| files.get(p).is_none()) {
        return Err(BundleError::MissingFile {
            path: missing.clone(),
        }
        .into());
    }
    if !paths.contains(&BundlePath::Nodes) {
        return Err(BundleError::MissingFile {
            path: BundlePath::Nodes.path(),
        }
        .into());
    }
    Ok(Inventory { manifest, paths })
}

/// Step 1: every node decodes and is canonical.
fn decode_nodes(
    files: &BundleFiles,
    options: &VerifyOptions<'_>,
) -> Result<Vec<(u64, EncodedNode)>, Error> {
    let log = files.get(super::layout::NODES).unwrap_or_default();
    let lines = nodes::split(log)?;
    if lines.is_empty() {
        return Err(LinkError::NoNodes.into());
    }
    let total = lines.len() as u64;
    let tick = |done| report(options, 1, "node encoding", done, total);
    let decoded = nodes::decode_all(&lines, options.threads, &tick)?;
    Ok(lines.iter().map(|l| l.index).zip(decoded).collect())
}

/// Step 2: DAG rules, the scope's range, and the case rules.
fn check_dag(manifest: &Manifest, placed: &[Placed<'_>]) -> Result<DagSummary, Error> {
    match &manifest.scope {
        Scope::Case { case_id } => {
            let summary = dag::check(placed, &manifest.org, true)?;
            if !placed
                .iter()
                .any(|p| p.node.node().case_id.as_deref() == Some(case_id))
            {
                return Err(LinkError::CaseMissing {
                    case_id: case_id.clone(),
                }
                .into());
            }
            dag::check_case(placed, case_id)?;
            Ok(summary)
        }
        Scope::Org { from_size, to_size } => {
            let summary = dag::check(placed, &manifest.org, *from_size == 0)?;
            let first = placed.first().map_or(0, |p| p.index);
            let end = placed.last().map_or(0, |p| p.index + 1);
            // Indices strictly increase (checked above), so the right count means contiguous.
            if first != *from_size || end != *to_size || placed.len() as u64 != to_size - from_size
            {
                return Err(LinkError::RangeMismatch {
                    from_size: *from_size,
                    to_size: *to_size,
                    first,
                    end,
                }
                .into());
            }
            Ok(summary)
        }
    }
}

/// Step 3: every checkpoint's signature, size and origin.
fn verify_checkpoints(
    files: &BundleFiles,
    inventory: &Inventory,
    options: &VerifyOptions<'_>,
) -> Result<BTreeMap<u64, VerifiedCheckpoint>, Error> {
    let mut verified = BTreeMap::new();
    for size in inventory.checkpoint_sizes() {
        let file = BundlePath::Checkpoint(size).path();
        let bytes = files.get(&file).unwrap_or_default();
        let checkpoint =
            checkpoint::verify_checkpoint(bytes, options.log_keys).map_err(|source| {
                Error::Checkpoint {
                    file: file.clone(),
                    source,
                }
            })?;
        let body = checkpoint.checkpoint();
        if body.size != size {
            return Err(LinkError::CheckpointSizeMismatch {
                file_size: size,
                size: body.size,
            }
            .into());
        }
        if body.origin != inventory.manifest.origin {
            return Err(LinkError::OriginMismatch {
                size,
                expected: inventory.manifest.origin.clone(),
                actual: body.origin.clone(),
            }
            .into());
        }
        verified.insert(size, checkpoint);
    }
    Ok(verified)
}

/// Step 6: every snapshot record is well-formed and its PDF, when included, matches;
/// every included PDF is recorded by a snapshot node.
fn check_pdfs(
    files: &BundleFiles,
    inventory: &Inventory,
    placed: &[Placed<'_>],
    require_pdfs: bool,
) -> Result<Vec<PdfReport>, Error> {
    let mut reports = Vec::new();
    let mut referenced = BTreeSet::new();
    for node in placed
        .iter()
        .filter(|p| p.node.node().kind == SNAPSHOT_KIND)
    {
        let record = SnapshotRecord::from_body(node.index, &node.node.node().body)?;
        let file = BundlePath::Pdf(record.sha256).path();
        let included = match files.get(&file) {
            Some(pdf) => {
                record.check_pdf(node.index, &file, pdf)?;
                true
            }
            None if require_pdfs => {
                return Err(LinkError::PdfMissing {
                    index: node.index,
                    sha256: record.sha256,
                }
                .into());
            }
            None => false,
        };
        referenced.insert(record.sha256);
        reports.push(PdfReport {
            index: node.index,
            sha256: hex::encode(record.sha256),
            size: record.size,
            object_key: record.object_key,
            version_id: record.version_id,
            lock_mode: record.lock_mode.as_str().to_owned(),
            retain_until: record.retain_until.map(|t| t.to_string()),
            included,
        });
    }
    for path in &inventory.paths {
        if let BundlePath::Pdf(digest) = path
            && !referenced.contains(digest)
        {
            return Err(LinkError::UnreferencedPdf { path: path.path() }.into());
        }
    }
    Ok(reports)
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    manifest: Manifest,
    placed: &[Placed<'_>],
    dag: DagSummary,
    checkpoints: &BTreeMap<u64, VerifiedCheckpoint>,
    tokens: Vec<StampedCheckpoint>,
    node_times: Vec<ProvenTime>,
    unstamped_nodes: Vec<u64>,
    pdfs: Vec<PdfReport>,
) -> VerifiedBundle {
    let checkpoint_reports = checkpoints
        .iter()
        .map(|(size, c)| CheckpointReport {
            size: *size,
            root: hex::encode(c.checkpoint().root),
            signed_by: c.signed_by().iter().map(|k| k.name().to_owned()).collect(),
            stamped_at: tokens
                .iter()
                .filter(|t| t.size == *size)
                .map(|t| t.gen_time)
                .min()
                .map(|t| t.to_string()),
        })
        .collect();
    let stamped: Vec<UtcTime> = node_times
        .iter()
        .filter_map(|t| t.map(|(time, _)| time))
        .collect();
    let stamped_range = stamped
        .iter()
        .min()
        .zip(stamped.iter().max())
        .map(|(a, b)| (a.to_string(), b.to_string()));
    let list_all = matches!(manifest.scope, Scope::Case { .. }) || placed.len() <= NODE_TIMES_LIMIT;
    let node_time_reports = if list_all {
        placed
            .iter()
            .zip(&node_times)
            .map(|(p, proven)| NodeTime {
                index: p.index,
                kind: p.node.node().kind.clone(),
                case_id: p.node.node().case_id.clone(),
                recorded_at: p.node.node().recorded_at.to_string(),
                stamped_at: proven.map(|(t, _)| t.to_string()),
                stamped_by_checkpoint: proven.map(|(_, s)| s),
            })
            .collect()
    } else {
        Vec::new()
    };
    let development_tsa = tokens.iter().any(|t| t.report.development);
    VerifiedBundle {
        org: manifest.org,
        origin: manifest.origin,
        scope: manifest.scope,
        exported_at_claim: manifest.exported_at,
        exporter_claim: manifest.exporter,
        node_count: placed.len() as u64,
        edges_checked: dag.edges_checked,
        edges_before_range: dag.edges_before_range,
        checkpoints: checkpoint_reports,
        tokens: tokens.into_iter().map(|t| t.report).collect(),
        node_times: node_time_reports,
        stamped_range,
        unstamped_nodes,
        pdfs,
        development_tsa,
    }
}
