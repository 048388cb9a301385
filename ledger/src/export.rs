//! Evidence bundles, in the layout of `schemas/evidence-format.md` §8, written through
//! `custody_verifier::bundle::BundleBuilder` so the verifier reads what we write.

use std::collections::BTreeSet;

use custody_verifier::bundle::{BundleBuilder, BundleFiles, Scope};
use custody_verifier::merkle::Hash;
use custody_verifier::node::parse_hash_hex;

use crate::error::ExportError;
use crate::model::{NodeFilter, StoredNode};
use crate::store::{now_us, time_from_us};
use crate::{Ledger, LedgerError};

/// Looks a snapshot PDF up by its SHA-256 (object storage); `None` leaves it out of the
/// bundle, and the verifier reports it as not included.
pub type PdfSource<'a> = &'a (dyn Fn(&Hash) -> Option<Vec<u8>> + Sync);

/// The `exporter` a bundle's manifest names.
pub const EXPORTER: &str = concat!("custody-ledger ", env!("CARGO_PKG_VERSION"));

impl Ledger {
    async fn builder(&self, org: &str, scope: Scope) -> Result<BundleBuilder, LedgerError> {
        let info = self.org_info(org).await?;
        let now = time_from_us(now_us());
        Ok(BundleBuilder::new(org, &info.origin, scope, now, EXPORTER))
    }

    async fn waiting(&self, org: &str) -> Result<u64, LedgerError> {
        Ok(self.stamping_status(org).await?.unstamped)
    }

    /// Adds checkpoint `size` and every token over it.
    async fn add_stamped_checkpoint(
        &self,
        builder: &mut BundleBuilder,
        org: &str,
        size: u64,
    ) -> Result<(), LedgerError> {
        let checkpoint =
            self.checkpoint_at(org, size)
                .await?
                .ok_or_else(|| LedgerError::NotFound {
                    what: format!("checkpoint {size} of `{org}`"),
                })?;
        builder.add_checkpoint(size, &checkpoint.note)?;
        for (n, token) in (0u32..).zip(self.timestamps(org, size).await?) {
            builder.add_timestamp(size, n, &token.token_der, token.certs_pem.as_deref())?;
        }
        Ok(())
    }

    /// A case bundle: the case's nodes and all their ancestors, each with a tlog-proof to
    /// the smallest timestamped checkpoint that covers it; for each TSA, its smallest
    /// checkpoint covering the whole case; those checkpoints with all their tokens (and
    /// archived certificates); consistency proofs between consecutive ones; and the
    /// snapshot PDFs `pdfs` can supply.
    ///
    /// # Errors
    /// [`ExportError::EmptyCase`]; [`ExportError::NotYetStamped`] while a node waits for
    /// a timestamped checkpoint (it says how many checkpoints wait for a TSA).
    pub async fn export_case(
        &self,
        org: &str,
        case_id: &str,
        pdfs: Option<PdfSource<'_>>,
    ) -> Result<BundleFiles, LedgerError> {
        let nodes = self.case_nodes(org, case_id).await?;
        if nodes.is_empty() {
            return Err(ExportError::EmptyCase {
                org: org.into(),
                case_id: case_id.into(),
            }
            .into());
        }
        let scope = Scope::Case {
            case_id: case_id.into(),
        };
        let mut builder = self.builder(org, scope).await?;
        let mut sizes = BTreeSet::new();
        let mut covering: Option<u64> = None;
        for node in &nodes {
            let size = match covering.filter(|size| *size > node.index) {
                Some(size) => size,
                None => self.covering_size(org, node.index).await?,
            };
            covering = Some(size);
            sizes.insert(size);
            builder.add_node(node.index, &node.bytes)?;
            let proof = self.tlog_proof(org, node.index, size).await?;
            builder.add_inclusion_proof(node.index, &proof.format())?;
        }
        // Each TSA's first checkpoint over the whole case, so that the case's time rests
        // on every TSA that has covered it, not only on the one that stamped first.
        if let Some(last) = nodes.iter().map(|n| n.index).max() {
            let by_tsa = self
                .inner
                .store
                .stamped_sizes_covering_by_tsa(org, last)
                .await?;
            sizes.extend(by_tsa);
        }
        let sizes: Vec<u64> = sizes.into_iter().collect();
        for size in &sizes {
            self.add_stamped_checkpoint(&mut builder, org, *size)
                .await?;
        }
        for pair in sizes.windows(2) {
            let proof = self.consistency_proof(org, pair[0], pair[1]).await?;
            builder.add_consistency(pair[0], pair[1], &proof)?;
        }
        if let Some(source) = pdfs {
            add_pdfs(&mut builder, &nodes, source)?;
        }
        Ok(builder.finish()?)
    }

    async fn covering_size(&self, org: &str, index: u64) -> Result<u64, LedgerError> {
        match self.inner.store.stamped_size_covering(org, index).await? {
            Some(size) => Ok(size),
            None => Err(ExportError::NotYetStamped {
                org: org.into(),
                index,
                waiting: self.waiting(org).await?,
            }
            .into()),
        }
    }

    /// An organisation bundle of nodes `from_size..to_size`: both ends timestamped
    /// checkpoints (or `from_size` 0), the frontier at `from_size` and the consistency
    /// proof between them, with every token over both.
    ///
    /// # Errors
    /// [`ExportError::EmptyRange`], [`ExportError::CheckpointNotStamped`].
    pub async fn export_range(
        &self,
        org: &str,
        from_size: u64,
        to_size: u64,
        pdfs: Option<PdfSource<'_>>,
    ) -> Result<BundleFiles, LedgerError> {
        if from_size >= to_size {
            return Err(ExportError::EmptyRange { from_size, to_size }.into());
        }
        let ends: &[u64] = if from_size == 0 {
            &[to_size]
        } else {
            &[from_size, to_size]
        };
        for size in ends {
            if self.timestamps(org, *size).await?.is_empty() {
                return Err(ExportError::CheckpointNotStamped {
                    org: org.into(),
                    size: *size,
                    waiting: self.waiting(org).await?,
                }
                .into());
            }
        }
        let scope = Scope::Org { from_size, to_size };
        let mut builder = self.builder(org, scope).await?;
        let nodes = self.nodes_in(org, from_size, to_size).await?;
        for node in &nodes {
            builder.add_node(node.index, &node.bytes)?;
        }
        if from_size > 0 {
            builder.add_frontier(from_size, &self.frontier(org, from_size).await?)?;
            let proof = self.consistency_proof(org, from_size, to_size).await?;
            builder.add_consistency(from_size, to_size, &proof)?;
        }
        for size in ends {
            self.add_stamped_checkpoint(&mut builder, org, *size)
                .await?;
        }
        if let Some(source) = pdfs {
            add_pdfs(&mut builder, &nodes, source)?;
        }
        Ok(builder.finish()?)
    }

    /// Nodes with indices `from..to`, in order.
    async fn nodes_in(
        &self,
        org: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        let mut nodes = Vec::new();
        let mut filter = NodeFilter {
            after_index: from.checked_sub(1),
            ..NodeFilter::default()
        };
        loop {
            let page = self.nodes(org, &filter).await?;
            let Some(last) = page.last().map(|n| n.index) else {
                break;
            };
            nodes.extend(page.into_iter().filter(|n| n.index < to));
            if last + 1 >= to {
                break;
            }
            filter.after_index = Some(last);
        }
        Ok(nodes)
    }
}

/// Adds each distinct snapshot PDF the nodes record and `source` supplies.
fn add_pdfs(
    builder: &mut BundleBuilder,
    nodes: &[StoredNode],
    source: PdfSource<'_>,
) -> Result<(), LedgerError> {
    let mut seen = BTreeSet::new();
    for node in nodes.iter().filter(|n| n.kind == "snapshot_uploaded") {
        let Some(digest) = snapshot_digest(&node.bytes) else {
            continue;
        };
        if seen.insert(digest)
            && let Some(pdf) = source(&digest)
        {
            builder.add_pdf(&pdf)?;
        }
    }
    Ok(())
}

/// The `body.pdf.sha256` of a snapshot node's canonical bytes.
fn snapshot_digest(bytes: &[u8]) -> Option<Hash> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    parse_hash_hex(value.get("body")?.get("pdf")?.get("sha256")?.as_str()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn reads_the_snapshot_digest() {
        let digest = "ab".repeat(32);
        let node =
            format!(r#"{{"body":{{"pdf":{{"sha256":"{digest}"}}}},"kind":"snapshot_uploaded"}}"#);
        assert_eq!(snapshot_digest(node.as_bytes()), Some([0xab; 32]));
        assert_eq!(snapshot_digest(br#"{"body":{}}"#), None);
    }
}
