//! Where each piece of evidence lives in a bundle.
//!
//! Every path a bundle may hold is one of these; the verifier refuses any other. Numbers
//! in names are canonical decimals (no sign, no leading zeros).

use crate::merkle::Hash;

/// The node list: one line per node, `<index> SP <canonical node JSON> LF`, by index.
pub const NODES: &str = "nodes.log";

/// A file of a bundle, by what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BundlePath {
    /// `manifest.json`.
    Manifest,
    /// `nodes.log`.
    Nodes,
    /// `checkpoints/<size>.note`: a signed checkpoint of the log at `size`.
    Checkpoint(u64),
    /// `proofs/<index>.tlog-proof`: the C2SP tlog-proof of node `index`.
    Proof(u64),
    /// `timestamps/<size>.<n>.tst`: the `n`-th RFC 3161 TimeStampToken over checkpoint `size`.
    Token(u64, u32),
    /// `timestamps/<size>.<n>.certs.pem`: certificates archived beside that token (untrusted).
    TokenCerts(u64, u32),
    /// `consistency/<from>-<to>.hashes`: an RFC 6962 consistency proof between two checkpoints.
    Consistency(u64, u64),
    /// `frontier/<size>.hashes`: the perfect-subtree roots of the tree prefix of `size` leaves.
    Frontier(u64),
    /// `pdfs/<sha256>.pdf`: an audit snapshot PDF, named by its digest.
    Pdf(Hash),
}

impl BundlePath {
    /// The relative path of this file.
    pub fn path(&self) -> String {
        match self {
            BundlePath::Manifest => super::manifest::MANIFEST_PATH.to_owned(),
            BundlePath::Nodes => NODES.to_owned(),
            BundlePath::Checkpoint(size) => format!("checkpoints/{size}.note"),
            BundlePath::Proof(index) => format!("proofs/{index}.tlog-proof"),
            BundlePath::Token(size, n) => format!("timestamps/{size}.{n}.tst"),
            BundlePath::TokenCerts(size, n) => format!("timestamps/{size}.{n}.certs.pem"),
            BundlePath::Consistency(from, to) => format!("consistency/{from}-{to}.hashes"),
            BundlePath::Frontier(size) => format!("frontier/{size}.hashes"),
            BundlePath::Pdf(digest) => format!("pdfs/{}.pdf", hex::encode(digest)),
        }
    }

    /// Recognises a path; `None` for anything the format does not define.
    pub fn classify(path: &str) -> Option<Self> {
        match path {
            "manifest.json" => return Some(BundlePath::Manifest),
            NODES => return Some(BundlePath::Nodes),
            _ => {}
        }
        let (dir, name) = path.split_once('/')?;
        match dir {
            "checkpoints" => Some(BundlePath::Checkpoint(decimal(
                name.strip_suffix(".note")?,
            )?)),
            "proofs" => Some(BundlePath::Proof(decimal(
                name.strip_suffix(".tlog-proof")?,
            )?)),
            "timestamps" => {
                if let Some(stem) = name.strip_suffix(".certs.pem") {
                    let (size, n) = stem.split_once('.')?;
                    Some(BundlePath::TokenCerts(
                        decimal(size)?,
                        u32::try_from(decimal(n)?).ok()?,
                    ))
                } else {
                    let (size, n) = name.strip_suffix(".tst")?.split_once('.')?;
                    Some(BundlePath::Token(
                        decimal(size)?,
                        u32::try_from(decimal(n)?).ok()?,
                    ))
                }
            }
            "consistency" => {
                let (from, to) = name.strip_suffix(".hashes")?.split_once('-')?;
                Some(BundlePath::Consistency(decimal(from)?, decimal(to)?))
            }
            "frontier" => Some(BundlePath::Frontier(decimal(
                name.strip_suffix(".hashes")?,
            )?)),
            "pdfs" => Some(BundlePath::Pdf(crate::node::parse_hash_hex(
                name.strip_suffix(".pdf")?,
            )?)),
            _ => None,
        }
    }
}

/// Parses a canonical decimal: digits only, no leading zero unless the number is 0.
pub fn decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// Encodes a hash list (consistency proof, frontier): one standard base64 hash per line.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<u8> {
    use base64::Engine;
    let mut out = Vec::with_capacity(hashes.len() * 45);
    for hash in hashes {
        out.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(hash)
                .as_bytes(),
        );
        out.push(b'\n');
    }
    out
}

/// Decodes a hash list; `None` unless every line is one canonical base64 hash ending in LF.
pub fn decode_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    use base64::Engine;
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let body = bytes.strip_suffix(b"\n")?;
    body.split(|&b| b == b'\n')
        .map(|line| {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(line)
                .ok()?;
            let hash: Hash = decoded.try_into().ok()?;
            Some(hash)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_round_trips() {
        let paths = [
            BundlePath::Manifest,
            BundlePath::Nodes,
            BundlePath::Checkpoint(0),
            BundlePath::Checkpoint(1_000_000),
            BundlePath::Proof(42),
            BundlePath::Token(7, 0),
            BundlePath::TokenCerts(7, 1),
            BundlePath::Consistency(3, 9),
            BundlePath::Frontier(8),
            BundlePath::Pdf([0xab; 32]),
        ];
        for p in paths {
            assert_eq!(BundlePath::classify(&p.path()), Some(p), "{}", p.path());
        }
    }

    #[test]
    fn unknown_and_non_canonical_paths_are_refused() {
        for path in [
            "checkpoints/01.note",
            "checkpoints/+1.note",
            "proofs/1.proof",
            "timestamps/1.tst",
            "pdfs/AB.pdf",
            "extra.txt",
            "checkpoints/1.note/x",
            "consistency/1_2.hashes",
            "frontier/18446744073709551616.hashes",
        ] {
            assert_eq!(BundlePath::classify(path), None, "{path}");
        }
    }

    #[test]
    fn hash_lists_round_trip_strictly() {
        let hashes = vec![[1u8; 32], [2u8; 32]];
        let bytes = encode_hashes(&hashes);
        assert_eq!(decode_hashes(&bytes), Some(hashes));
        assert_eq!(decode_hashes(b""), Some(vec![]));
        assert_eq!(decode_hashes(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_hashes(b"\n"), None);
        let mut crlf = bytes.clone();
        crlf.insert(44, b'\r');
        assert_eq!(decode_hashes(&crlf), None);
    }
}
