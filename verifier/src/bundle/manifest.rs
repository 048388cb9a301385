//! `manifest.json`: what a bundle claims to hold.
//!
//! The manifest names the organisation, its log origin and the bundle's scope, and lists
//! every other file with its SHA-256 and size. Nothing in it is trusted: the verifier
//! re-derives every claim it can (file digests, org, scope) and reports the rest
//! (`exported_at`, `exporter`) as unverified.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::BundleError;

/// The value of the manifest's `format` member.
pub const BUNDLE_FORMAT: &str = "custody-bundle";

/// The bundle format version this crate reads and writes.
pub const BUNDLE_VERSION: u64 = 1;

/// The manifest's file name at the bundle root.
pub const MANIFEST_PATH: &str = "manifest.json";

/// The largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 1 << 30;

/// A bundle's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Always [`BUNDLE_VERSION`] for this crate.
    pub format_version: u64,
    /// The organisation whose log the evidence comes from.
    pub org: String,
    /// The log's checkpoint origin (`<host>/custody/<org>`).
    pub origin: String,
    /// What the bundle covers.
    pub scope: Scope,
    /// When the exporter says it wrote the bundle (unverified).
    pub exported_at: String,
    /// The software that wrote the bundle (unverified).
    pub exporter: String,
    /// Every other file of the bundle, by path.
    pub files: BTreeMap<String, FileEntry>,
}

/// What part of the log a bundle covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    /// One offboarding case: its whole sub-DAG with its ancestors, each node with an
    /// inclusion proof to a timestamped checkpoint.
    Case {
        /// The case id.
        case_id: String,
    },
    /// Every node of the organisation's log from tree size `from_size` to `to_size`.
    Org {
        /// The size of the first checkpoint (0 for the whole log).
        from_size: u64,
        /// The size of the last checkpoint.
        to_size: u64,
    },
}

/// A listed file's digest and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// The file's size in bytes.
    pub size: u64,
}

impl Manifest {
    /// Parses a manifest and checks its format and version.
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(BundleError::Manifest {
                reason: format!("manifest is {} bytes", bytes.len()),
            });
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Manifest {
                reason: e.to_string(),
            })?;
        if manifest.format != BUNDLE_FORMAT {
            return Err(BundleError::Manifest {
                reason: format!("format is `{}`, not `{BUNDLE_FORMAT}`", manifest.format),
            });
        }
        if manifest.format_version != BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion {
                found: manifest.format_version,
            });
        }
        if let Scope::Org { from_size, to_size } = manifest.scope
            && (from_size > to_size || to_size == 0)
        {
            return Err(BundleError::Manifest {
                reason: format!("org scope {from_size}..{to_size} is empty or reversed"),
            });
        }
        Ok(manifest)
    }

    /// Serializes the manifest as indented JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: BUNDLE_FORMAT.into(),
            format_version: BUNDLE_VERSION,
            org: "acme".into(),
            origin: "custody.example/custody/acme".into(),
            scope: Scope::Case {
                case_id: "case-7".into(),
            },
            exported_at: "2026-11-22T10:00:00Z".into(),
            exporter: "test".into(),
            files: BTreeMap::from([(
                "nodes.log".into(),
                FileEntry {
                    sha256: "00".repeat(32),
                    size: 0,
                },
            )]),
        }
    }

    #[test]
    fn round_trips() {
        let manifest = sample();
        assert_eq!(
            Manifest::parse(&manifest.to_bytes()).expect("parses"),
            manifest
        );
    }

    #[test]
    fn rejects_other_formats_versions_and_members() {
        let text = String::from_utf8(sample().to_bytes()).expect("utf8");
        let cases = [
            (
                text.replace("\"format_version\": 1", "\"format_version\": 2"),
                "UnsupportedVersion",
            ),
            (text.replace("\"custody-bundle\"", "\"other\""), "Manifest"),
            (
                text.replace("\"exporter\"", "\"extra\": 1, \"exporter\""),
                "Manifest",
            ),
            (
                text.replace(
                    "{\n    \"type\": \"case\",\n    \"case_id\": \"case-7\"\n  }",
                    "{\"type\":\"org\",\"from_size\":5,\"to_size\":4}",
                ),
                "Manifest",
            ),
        ];
        for (bad, expected) in cases {
            let err = Manifest::parse(bad.as_bytes()).expect_err(&bad);
            assert!(format!("{err:?}").starts_with(expected), "{bad}: {err:?}");
        }
    }
}
