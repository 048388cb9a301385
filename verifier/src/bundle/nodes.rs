//! `nodes.log`: one node per line, `<index> SP <canonical node JSON> LF`, by index.
//!
//! Canonical JSON never holds a raw line feed (strings escape it), so lines split
//! unambiguously. Decoding is the hot path for large organisation bundles and runs on
//! several threads.

use super::BundleError;
use super::layout::decimal;
use crate::error::Error;
use crate::node::{self, EncodedNode};

/// One line of `nodes.log`, split but not yet decoded.
pub(crate) struct NodeLine<'a> {
    pub index: u64,
    pub bytes: &'a [u8],
}

/// Appends a node's line to `out`.
pub(crate) fn encode_line(index: u64, node_bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(index.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(node_bytes);
    out.push(b'\n');
}

/// Splits `nodes.log` into lines, checking the line syntax (not the nodes).
pub(crate) fn split(log: &[u8]) -> Result<Vec<NodeLine<'_>>, BundleError> {
    let mut lines = Vec::new();
    let mut rest = log;
    let mut number = 0u64;
    while !rest.is_empty() {
        number += 1;
        let bad = |reason| BundleError::NodeLine {
            line: number,
            reason,
        };
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(bad("the last line does not end in LF"))?;
        let (line, tail) = rest.split_at(end);
        rest = tail.get(1..).unwrap_or_default();
        let space = line
            .iter()
            .position(|&b| b == b' ')
            .ok_or(bad("no space after the index"))?;
        let (index, json) = line.split_at(space);
        let index = std::str::from_utf8(index)
            .ok()
            .and_then(decimal)
            .ok_or(bad("the index is not a canonical decimal"))?;
        lines.push(NodeLine {
            index,
            bytes: json.get(1..).unwrap_or_default(),
        });
    }
    Ok(lines)
}

/// Decodes every line on up to `threads` threads, calling `tick` with the number of
/// nodes decoded so far (from one thread at a time, every few thousand nodes).
pub(crate) fn decode_all(
    lines: &[NodeLine<'_>],
    threads: usize,
    tick: &(dyn Fn(u64) + Sync),
) -> Result<Vec<EncodedNode>, Error> {
    let threads = threads.clamp(1, 64);
    let chunk = lines.len().div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicU64::new(0);
    let results: Vec<Result<Vec<EncodedNode>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for (i, line) in part.iter().enumerate() {
                        let decoded = node::decode(line.bytes).map_err(|source| Error::Node {
                            index: line.index,
                            source,
                        })?;
                        out.push(decoded);
                        if i % 4096 == 4095 {
                            let total =
                                done.fetch_add(4096, std::sync::atomic::Ordering::Relaxed) + 4096;
                            tick(total);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Bundle(BundleError::Build {
                        reason: "decoder thread panicked".into(),
                    }))
                })
            })
            .collect()
    });
    let mut all = Vec::with_capacity(lines.len());
    for part in results {
        all.extend(part?);
    }
    tick(all.len() as u64);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_and_round_trip() {
        let mut log = Vec::new();
        encode_line(0, b"{\"a\":1}", &mut log);
        encode_line(17, b"{}", &mut log);
        let lines = split(&log).expect("splits");
        assert_eq!(
            lines.iter().map(|l| (l.index, l.bytes)).collect::<Vec<_>>(),
            vec![(0, &b"{\"a\":1}"[..]), (17, &b"{}"[..])]
        );
    }

    #[test]
    fn malformed_lines_are_named() {
        for (log, line) in [
            (&b"0 {}"[..], 1),
            (b"0 {}\n01 {}\n", 2),
            (b"0{}\n", 1),
            (b"0 {}\n\n", 2),
            (b"-1 {}\n", 1),
        ] {
            assert!(
                matches!(split(log), Err(BundleError::NodeLine { line: l, .. }) if l == line),
                "{log:?}"
            );
        }
    }
}
