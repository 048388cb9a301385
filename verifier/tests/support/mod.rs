//! Shared test fixtures: a local RFC 3161 TSA served by `openssl ts -reply`, and a log
//! that builds real signed checkpoints, proofs and bundles through the crate's own API.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use custody_verifier::bundle::{BundleBuilder, BundleFiles, Scope};
use custody_verifier::checkpoint::{Checkpoint, NoteSigner, NoteVerifierKey};
use custody_verifier::merkle::{self, CompactRange, Hash};
use custody_verifier::node::{EncodedNode, Node, ParentRef};
use custody_verifier::time::UtcTime;
use custody_verifier::tlog_proof::TlogProof;
use serde_json::{Map, Value, json};

mod local_tsa;

#[allow(unused_imports)] // each test binary uses a subset
pub use local_tsa::{LocalTsa, stamp_with_time, testdata, tsa_anchors};

pub const ORG: &str = "acme";
pub const ORIGIN: &str = "custody.test/custody/acme";

/// An in-memory organisation log with a fixed signing key.
pub struct TestLog {
    pub signer: NoteSigner,
    pub nodes: Vec<EncodedNode>,
    /// The instant `step` counts its seconds from.
    pub start: UtcTime,
}

impl TestLog {
    pub fn new() -> Self {
        Self::starting_at(base_time())
    }

    pub fn starting_at(start: UtcTime) -> Self {
        Self {
            signer: NoteSigner::from_seed(ORIGIN, [7; 32]).unwrap(),
            nodes: Vec::new(),
            start,
        }
    }

    pub fn verifier_key(&self) -> NoteVerifierKey {
        self.signer.verifier_key()
    }

    pub fn leaves(&self) -> Vec<Hash> {
        self.nodes.iter().map(EncodedNode::leaf_hash).collect()
    }

    /// Appends a node and returns its reference for children.
    pub fn append(&mut self, node: Node) -> ParentRef {
        let encoded = node.encode().unwrap();
        let parent = ParentRef {
            index: self.nodes.len() as u64,
            hash: encoded.leaf_hash(),
        };
        self.nodes.push(encoded);
        parent
    }

    /// Appends a node of `case_id` about `emp-1042` at `second` seconds past a fixed instant.
    pub fn step(
        &mut self,
        kind: &str,
        case_id: &str,
        parents: &[ParentRef],
        body: Value,
        second: i64,
    ) -> ParentRef {
        let body: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
        self.append(Node {
            org: ORG.into(),
            kind: kind.into(),
            case_id: Some(case_id.into()),
            subject: Some("emp-1042".into()),
            parents: parents.to_vec(),
            recorded_at: self.start.offset_seconds(second),
            body,
        })
    }

    pub fn root(&self, size: u64) -> Hash {
        merkle::root_from_leaves(&self.leaves()[..size as usize])
    }

    /// The signed checkpoint of the first `size` nodes.
    pub fn checkpoint(&self, size: u64) -> Vec<u8> {
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: self.root(size),
            extensions: vec![],
        };
        self.signer
            .sign_checkpoint(&checkpoint)
            .unwrap()
            .into_bytes()
    }

    fn add_checkpoints(&self, builder: &mut BundleBuilder, sizes: &[u64], tsa: &LocalTsa) {
        for &size in sizes {
            let note = self.checkpoint(size);
            builder.add_checkpoint(size, &note).unwrap();
            let signed = custody_verifier::checkpoint::parse_signed_note(&note).unwrap();
            let digest: [u8; 32] = sha2_digest(signed.text().as_bytes());
            builder
                .add_timestamp(size, 0, &tsa.stamp(&digest), None)
                .unwrap();
        }
    }

    /// A case bundle: the case's nodes and their ancestors, each proven to the smallest
    /// of `sizes` that includes it, with consistency proofs between the checkpoints.
    pub fn case_bundle(
        &self,
        case_id: &str,
        sizes: &[u64],
        tsa: &LocalTsa,
        pdfs: &[&[u8]],
    ) -> BundleFiles {
        let mut builder = BundleBuilder::new(
            ORG,
            ORIGIN,
            Scope::Case {
                case_id: case_id.into(),
            },
            self.exported_at(),
            "custody tests",
        );
        let leaves = self.leaves();
        for index in self.case_closure(case_id) {
            builder
                .add_node(index, self.nodes[index as usize].bytes())
                .unwrap();
            let size = *sizes
                .iter()
                .find(|s| **s > index)
                .expect("a checkpoint covers every node");
            let proof = TlogProof {
                extra: None,
                index,
                hashes: merkle::inclusion_proof(&leaves[..size as usize], index).unwrap(),
                checkpoint: self.checkpoint(size),
            };
            builder.add_inclusion_proof(index, &proof.format()).unwrap();
        }
        self.add_checkpoints(&mut builder, sizes, tsa);
        for pair in sizes.windows(2) {
            let proof = merkle::consistency_proof(&leaves[..pair[1] as usize], pair[0]).unwrap();
            builder.add_consistency(pair[0], pair[1], &proof).unwrap();
        }
        for pdf in pdfs {
            builder.add_pdf(pdf).unwrap();
        }
        builder.finish().unwrap()
    }

    /// An org bundle of nodes `from..to`, with checkpoints at `sizes` (which include both ends).
    pub fn org_bundle(
        &self,
        from: u64,
        to: u64,
        sizes: &[u64],
        tsa: &LocalTsa,
        pdfs: &[&[u8]],
    ) -> BundleFiles {
        let mut builder = BundleBuilder::new(
            ORG,
            ORIGIN,
            Scope::Org {
                from_size: from,
                to_size: to,
            },
            self.exported_at(),
            "custody tests",
        );
        for index in from..to {
            builder
                .add_node(index, self.nodes[index as usize].bytes())
                .unwrap();
        }
        if from > 0 {
            let mut range = CompactRange::new();
            for leaf in &self.leaves()[..from as usize] {
                range.append(*leaf);
            }
            builder.add_frontier(from, range.frontier()).unwrap();
            let proof = merkle::consistency_proof(&self.leaves()[..to as usize], from).unwrap();
            builder.add_consistency(from, to, &proof).unwrap();
        }
        self.add_checkpoints(&mut builder, sizes, tsa);
        for pdf in pdfs {
            builder.add_pdf(pdf).unwrap();
        }
        builder.finish().unwrap()
    }

    /// One minute after the last node.
    fn exported_at(&self) -> UtcTime {
        self.nodes
            .last()
            .map_or(self.start, |n| n.node().recorded_at)
            .offset_seconds(60)
    }

    /// Indices of the case's nodes and all their ancestors, ascending.
    fn case_closure(&self, case_id: &str) -> Vec<u64> {
        let mut wanted = std::collections::BTreeSet::new();
        for (i, node) in self.nodes.iter().enumerate().rev() {
            if node.node().case_id.as_deref() == Some(case_id) || wanted.contains(&(i as u64)) {
                wanted.insert(i as u64);
                wanted.extend(node.node().parents.iter().map(|p| p.index));
            }
        }
        wanted.into_iter().collect()
    }
}

pub fn base_time() -> UtcTime {
    UtcTime::parse_rfc3339("2025-06-01T09:00:00Z").unwrap()
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// A snapshot body recording `pdf` under COMPLIANCE retention.
pub fn snapshot_body(pdf: &[u8]) -> Value {
    json!({"snapshot_id": "snap-1", "pdf": {
        "sha256": hex::encode(sha2_digest(pdf)), "size": pdf.len(),
        "object_key": "offboarding-snapshots/acme/emp-1042/2025-06-01T09:00:05Z.pdf",
        "version_id": "3HL4kqtJlcpXroDTDmJ", "lock_mode": "COMPLIANCE", "retain_until": "2032-06-01T09:00:05Z"}})
}

/// A typical case: trigger, snapshot, two revocations, a device lock, sessions.
pub fn offboarding_case(log: &mut TestLog, case_id: &str, pdf: &[u8], start: i64) {
    let trigger = log.step(
        "termination_detected",
        case_id,
        &[],
        json!({"source": "bamboohr", "event_id": "evt-1"}),
        start,
    );
    let snap = log.step(
        "snapshot_uploaded",
        case_id,
        &[trigger],
        snapshot_body(pdf),
        start + 5,
    );
    let openai = log.step(
        "provider_revoked",
        case_id,
        &[snap],
        json!({"provider": "openai", "keys_deleted": 2}),
        start + 6,
    );
    let anthropic = log.step(
        "provider_revoked",
        case_id,
        &[snap],
        json!({"provider": "anthropic", "keys_disabled": 1}),
        start + 6,
    );
    let lock = log.step(
        "device_lock_sent",
        case_id,
        &[openai, anthropic],
        json!({"device": "mbp-17"}),
        start + 7,
    );
    log.step(
        "sessions_invalidated",
        case_id,
        &[lock],
        json!({"sessions": 3}),
        start + 8,
    );
}

/// Rewrites the manifest's digests after a test changed files, as a forger who also
/// edits the manifest would.
pub fn reseal(files: &mut BundleFiles) {
    use custody_verifier::bundle::{FileEntry, Manifest};
    use sha2::Digest;
    let mut manifest = Manifest::parse(files.get("manifest.json").unwrap()).unwrap();
    manifest.files = files
        .iter()
        .filter(|(p, _)| *p != "manifest.json")
        .map(|(p, b)| {
            (
                p.to_owned(),
                FileEntry {
                    sha256: hex::encode(sha2::Sha256::digest(b)),
                    size: b.len() as u64,
                },
            )
        })
        .collect();
    *files.get_mut("manifest.json").unwrap() = manifest.to_bytes();
}

/// A small but well-formed one-page PDF showing `lines` of text (Helvetica), with a
/// correct cross-reference table, standing in for the audit snapshot renderer.
pub fn sample_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT /F1 11 Tf 56 780 Td 14 TL\n");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}
