//! Writing bundles. The ledger's export and the tests build bundles through this one
//! writer, so every bundle has the layout the verifier reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::layout::{BundlePath, encode_hashes};
use super::manifest::{BUNDLE_FORMAT, BUNDLE_VERSION, FileEntry, MANIFEST_PATH, Manifest, Scope};
use super::{BundleError, BundleFiles, nodes};
use crate::merkle::Hash;
use crate::time::UtcTime;

/// Collects the pieces of a bundle, then writes its manifest.
#[derive(Debug)]
pub struct BundleBuilder {
    org: String,
    origin: String,
    scope: Scope,
    exported_at: UtcTime,
    exporter: String,
    nodes_log: Vec<u8>,
    last_index: Option<u64>,
    files: BTreeMap<String, Vec<u8>>,
}

impl BundleBuilder {
    /// Starts a bundle of `org`'s log `origin` covering `scope`.
    pub fn new(
        org: &str,
        origin: &str,
        scope: Scope,
        exported_at: UtcTime,
        exporter: &str,
    ) -> Self {
        Self {
            org: org.to_owned(),
            origin: origin.to_owned(),
            scope,
            exported_at,
            exporter: exporter.to_owned(),
            nodes_log: Vec::new(),
            last_index: None,
            files: BTreeMap::new(),
        }
    }

    /// Adds a node's canonical bytes at its log index; indices must increase.
    pub fn add_node(&mut self, index: u64, canonical_bytes: &[u8]) -> Result<(), BundleError> {
        if self.last_index.is_some_and(|last| last >= index) {
            return Err(BundleError::Build {
                reason: format!("node {index} added after node {:?}", self.last_index),
            });
        }
        if canonical_bytes.contains(&b'\n') {
            return Err(BundleError::Build {
                reason: format!("node {index} is not canonical JSON (holds LF)"),
            });
        }
        nodes::encode_line(index, canonical_bytes, &mut self.nodes_log);
        self.last_index = Some(index);
        Ok(())
    }

    /// Adds a signed checkpoint of the log at `size`.
    pub fn add_checkpoint(&mut self, size: u64, signed_note: &[u8]) -> Result<(), BundleError> {
        self.put(BundlePath::Checkpoint(size), signed_note.to_vec())
    }

    /// Adds node `index`'s C2SP tlog-proof (as formatted bytes).
    pub fn add_inclusion_proof(
        &mut self,
        index: u64,
        tlog_proof: &[u8],
    ) -> Result<(), BundleError> {
        self.put(BundlePath::Proof(index), tlog_proof.to_vec())
    }

    /// Adds the `n`-th RFC 3161 token over checkpoint `size`, with certificates archived
    /// beside it (PEM) when the token does not embed its whole chain.
    pub fn add_timestamp(
        &mut self,
        size: u64,
        n: u32,
        token_der: &[u8],
        certs_pem: Option<&[u8]>,
    ) -> Result<(), BundleError> {
        self.put(BundlePath::Token(size, n), token_der.to_vec())?;
        match certs_pem {
            Some(pem) => self.put(BundlePath::TokenCerts(size, n), pem.to_vec()),
            None => Ok(()),
        }
    }

    /// Adds the consistency proof between checkpoints `from` and `to`.
    pub fn add_consistency(
        &mut self,
        from: u64,
        to: u64,
        proof: &[Hash],
    ) -> Result<(), BundleError> {
        self.put(BundlePath::Consistency(from, to), encode_hashes(proof))
    }

    /// Adds the frontier (perfect-subtree roots) of the tree of `size` leaves.
    pub fn add_frontier(&mut self, size: u64, hashes: &[Hash]) -> Result<(), BundleError> {
        self.put(BundlePath::Frontier(size), encode_hashes(hashes))
    }

    /// Adds a snapshot PDF; its name is its SHA-256.
    pub fn add_pdf(&mut self, pdf: &[u8]) -> Result<(), BundleError> {
        let digest: Hash = Sha256::digest(pdf).into();
        self.put(BundlePath::Pdf(digest), pdf.to_vec())
    }

    fn put(&mut self, path: BundlePath, bytes: Vec<u8>) -> Result<(), BundleError> {
        let path = path.path();
        if self.files.contains_key(&path) {
            return Err(BundleError::DuplicatePath { path });
        }
        self.files.insert(path, bytes);
        Ok(())
    }

    /// Writes `nodes.log` and the manifest, returning the bundle's files.
    pub fn finish(mut self) -> Result<BundleFiles, BundleError> {
        self.files.insert(
            BundlePath::Nodes.path(),
            std::mem::take(&mut self.nodes_log),
        );
        let entries = self
            .files
            .iter()
            .map(|(path, bytes)| {
                (
                    path.clone(),
                    FileEntry {
                        sha256: hex::encode(Sha256::digest(bytes)),
                        size: bytes.len() as u64,
                    },
                )
            })
            .collect();
        let manifest = Manifest {
            format: BUNDLE_FORMAT.into(),
            format_version: BUNDLE_VERSION,
            org: self.org,
            origin: self.origin,
            scope: self.scope,
            exported_at: self.exported_at.to_string(),
            exporter: self.exporter,
            files: entries,
        };
        let mut files = BundleFiles::new();
        files.insert(MANIFEST_PATH.into(), manifest.to_bytes())?;
        for (path, bytes) in self.files {
            files.insert(path, bytes)?;
        }
        Ok(files)
    }
}

impl BundleFiles {
    /// Writes the bundle as a directory at `dir` (created; must not exist or be empty).
    pub fn write_dir(&self, dir: &Path) -> Result<(), BundleError> {
        let io = |p: &Path, e: std::io::Error| BundleError::Io {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        for (path, bytes) in self.iter() {
            let target = dir.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::write(&target, bytes).map_err(|e| io(&target, e))?;
        }
        Ok(())
    }

    /// The bundle as one tar file, byte-for-byte reproducible (fixed modes, owners, times).
    pub fn to_tar(&self) -> Result<Vec<u8>, BundleError> {
        let err = |e: std::io::Error| BundleError::Container {
            reason: e.to_string(),
        };
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        for (path, bytes) in self.iter() {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o444);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, path, bytes).map_err(err)?;
        }
        let mut out = builder.into_inner().map_err(err)?;
        out.flush().map_err(err)?;
        Ok(out)
    }
}
