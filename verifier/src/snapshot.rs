//! Audit snapshots: the PDF a `snapshot_uploaded` node commits to (step 6).
//!
//! The node's `body.pdf` records the PDF's SHA-256 digest and size, where it was stored
//! (object key, version id) and under which retention (Object Lock mode and
//! retain-until date). The verifier re-hashes the PDF shipped in a bundle against it.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::time::UtcTime;

/// The node kind that records an uploaded snapshot.
pub const SNAPSHOT_KIND: &str = "snapshot_uploaded";

/// How the stored object is protected from deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// S3 Object Lock in compliance mode: no one can shorten or remove the retention.
    Compliance,
    /// S3 Object Lock in governance mode: privileged users can bypass it.
    Governance,
    /// No Object Lock (the embedded default's local folder).
    None,
}

/// The PDF fields of a snapshot node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// SHA-256 of the PDF bytes.
    pub sha256: [u8; 32],
    /// Size of the PDF in bytes.
    pub size: u64,
    /// The object key the PDF was stored under.
    pub object_key: String,
    /// The storage's version id of the object, when it versions objects.
    pub version_id: Option<String>,
    /// The retention mode the object was stored with.
    pub lock_mode: LockMode,
    /// The end of the retention period; present exactly when a lock is set.
    pub retain_until: Option<UtcTime>,
}

/// A snapshot node whose record is malformed, or a PDF that does not match it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// A field of `body.pdf` is missing or has the wrong type or value.
    #[error("node {index}: body.pdf.{field} is invalid: {reason}")]
    InvalidRecord {
        /// The snapshot node.
        index: u64,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The PDF's SHA-256 differs from the one recorded.
    #[error("node {index}: PDF {file} has SHA-256 {}, the node records {}", hex::encode(.actual), hex::encode(.expected))]
    DigestMismatch {
        /// The snapshot node.
        index: u64,
        /// The PDF file in the bundle.
        file: String,
        /// The recorded digest.
        expected: [u8; 32],
        /// The digest of the file.
        actual: [u8; 32],
    },
    /// The PDF's size differs from the one recorded.
    #[error("node {index}: PDF {file} is {actual} bytes, the node records {expected}")]
    SizeMismatch {
        /// The snapshot node.
        index: u64,
        /// The PDF file in the bundle.
        file: String,
        /// The recorded size.
        expected: u64,
        /// The size of the file.
        actual: u64,
    },
}

impl SnapshotRecord {
    /// Reads `body.pdf` of the snapshot node at `index`.
    pub fn from_body(index: u64, body: &Map<String, Value>) -> Result<Self, SnapshotError> {
        let bad = |field, reason| SnapshotError::InvalidRecord {
            index,
            field,
            reason,
        };
        let pdf = body
            .get("pdf")
            .and_then(Value::as_object)
            .ok_or(bad("pdf", "must be an object"))?;
        let text = |field: &'static str| {
            pdf.get(field)
                .and_then(Value::as_str)
                .ok_or(bad(field, "must be a string"))
        };
        let sha256 = crate::node::parse_hash_hex(text("sha256")?)
            .ok_or(bad("sha256", "must be 64 lower-case hex digits"))?;
        let size = pdf
            .get("size")
            .and_then(Value::as_u64)
            .ok_or(bad("size", "must be a non-negative integer"))?;
        let object_key = text("object_key")?.to_owned();
        if object_key.is_empty() {
            return Err(bad("object_key", "must not be empty"));
        }
        let version_id = match pdf.get("version_id") {
            Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => return Err(bad("version_id", "must be a non-empty string or null")),
        };
        let lock_mode = match text("lock_mode")? {
            "COMPLIANCE" => LockMode::Compliance,
            "GOVERNANCE" => LockMode::Governance,
            "NONE" => LockMode::None,
            _ => return Err(bad("lock_mode", "must be COMPLIANCE, GOVERNANCE or NONE")),
        };
        let retain_until = match pdf.get("retain_until") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                UtcTime::parse_rfc3339(s)
                    .map_err(|_| bad("retain_until", "must be an RFC 3339 UTC time"))?,
            ),
            _ => return Err(bad("retain_until", "must be a time or null")),
        };
        if (lock_mode == LockMode::None) != retain_until.is_none() {
            return Err(bad(
                "retain_until",
                "is set exactly when lock_mode is not NONE",
            ));
        }
        Ok(Self {
            sha256,
            size,
            object_key,
            version_id,
            lock_mode,
            retain_until,
        })
    }

    /// Checks `pdf` (the file `file` of a bundle) against this record.
    pub fn check_pdf(&self, index: u64, file: &str, pdf: &[u8]) -> Result<(), SnapshotError> {
        let actual: [u8; 32] = Sha256::digest(pdf).into();
        if actual != self.sha256 {
            return Err(SnapshotError::DigestMismatch {
                index,
                file: file.to_owned(),
                expected: self.sha256,
                actual,
            });
        }
        let actual = pdf.len() as u64;
        if actual != self.size {
            return Err(SnapshotError::SizeMismatch {
                index,
                file: file.to_owned(),
                expected: self.size,
                actual,
            });
        }
        Ok(())
    }
}

impl LockMode {
    /// The name the record uses.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
            LockMode::None => "NONE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(pdf: &[u8], lock: &str, until: Value) -> Map<String, Value> {
        let digest = hex::encode(Sha256::digest(pdf));
        let value = serde_json::json!({"pdf": {
            "sha256": digest, "size": pdf.len(), "object_key": "offboarding-snapshots/acme/emp-1/2026-11-22T10:00:00Z.pdf",
            "version_id": "v1", "lock_mode": lock, "retain_until": until}});
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_matching_pdf_passes_and_a_changed_one_fails() {
        let pdf = b"%PDF-1.7 sample";
        let record =
            SnapshotRecord::from_body(4, &body(pdf, "COMPLIANCE", "2033-11-22T10:00:00Z".into()))
                .expect("record");
        assert_eq!(record.lock_mode, LockMode::Compliance);
        assert_eq!(record.check_pdf(4, "pdfs/a.pdf", pdf), Ok(()));
        let err = record
            .check_pdf(4, "pdfs/a.pdf", b"%PDF-1.7 sampl3")
            .expect_err("changed");
        assert!(matches!(
            err,
            SnapshotError::DigestMismatch { index: 4, .. }
        ));
    }

    #[test]
    fn retention_fields_must_agree() {
        let pdf = b"x";
        for (lock, until) in [
            ("NONE", Value::from("2033-01-01T00:00:00Z")),
            ("COMPLIANCE", Value::Null),
            ("WORM", Value::Null),
        ] {
            let err = SnapshotRecord::from_body(1, &body(pdf, lock, until)).expect_err(lock);
            assert!(
                matches!(err, SnapshotError::InvalidRecord { index: 1, .. }),
                "{lock}: {err:?}"
            );
        }
        assert!(SnapshotRecord::from_body(1, &body(pdf, "NONE", Value::Null)).is_ok());
    }
}
