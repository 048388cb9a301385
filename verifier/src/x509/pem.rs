//! A tiny PEM reader: the base64 bodies of `CERTIFICATE` blocks, in file order.
//! Text outside the blocks (comments, `openssl x509 -text` output) is ignored.

use base64::Engine as _;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// Why a PEM block could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PemProblem {
    /// A BEGIN line without its END line.
    Unterminated,
    /// The body is not base64.
    Base64,
}

/// The DER bodies of every `CERTIFICATE` block, or the index of the first bad block.
pub(crate) fn certificate_blocks(input: &[u8]) -> Result<Vec<Vec<u8>>, (usize, PemProblem)> {
    let mut blocks = Vec::new();
    let mut rest = input;
    while let Some(start) = find(rest, BEGIN) {
        let index = blocks.len();
        let after_begin = rest.get(start + BEGIN.len()..).unwrap_or_default();
        let end = find(after_begin, END).ok_or((index, PemProblem::Unterminated))?;
        let body: Vec<u8> = after_begin
            .get(..end)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .map_err(|_| (index, PemProblem::Base64))?;
        blocks.push(der);
        rest = after_begin.get(end + END.len()..).unwrap_or_default();
    }
    Ok(blocks)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_and_skips_text() {
        let input = b"subject=CN=x\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\nnoise\n\
            -----BEGIN CERTIFICATE-----\r\nBA==\r\n-----END CERTIFICATE-----\r\n";
        assert_eq!(
            certificate_blocks(input),
            Ok(vec![vec![0, 1, 2, 3], vec![4]])
        );
        assert_eq!(certificate_blocks(b"nothing here"), Ok(vec![]));
    }

    #[test]
    fn reports_the_bad_block() {
        let unterminated = b"-----BEGIN CERTIFICATE-----\nAAEC\n";
        assert_eq!(
            certificate_blocks(unterminated),
            Err((0, PemProblem::Unterminated))
        );
        let bad = b"-----BEGIN CERTIFICATE-----\nBA==\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n";
        assert_eq!(certificate_blocks(bad), Err((1, PemProblem::Base64)));
    }
}
