//! The `SHA256SUMS` member, in the text format `sha256sum -c` reads.

use super::{Digest, Manifest};

/// Renders `SHA256SUMS` for the parts of `entities`: one line per part,
/// `<64 hex><two spaces><path>\n`, in member order.
pub fn render_sha256sums<'a>(parts: impl IntoIterator<Item = (&'a str, &'a Digest)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, digest) in parts {
        out.extend_from_slice(digest.hex().as_bytes());
        out.extend_from_slice(b"  ");
        out.extend_from_slice(path.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Parses `SHA256SUMS` text into `(path, digest)` pairs, strictly: every line
/// must be `<64 lowercase hex><two spaces><path>` and end with `\n`.
pub fn parse_sha256sums(bytes: &[u8]) -> Result<Vec<(String, Digest)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| "last line has no newline".to_string())?;
    body.split('\n')
        .enumerate()
        .map(|(i, line)| {
            let (hex, path) = line
                .split_once("  ")
                .ok_or_else(|| format!("line {} is malformed", i + 1))?;
            let digest = Digest::from_hex(hex).map_err(|e| format!("line {}: {e}", i + 1))?;
            Ok((path.to_string(), digest))
        })
        .collect()
}

impl Manifest {
    /// The `SHA256SUMS` text this manifest implies.
    pub fn expected_sha256sums(&self) -> Vec<u8> {
        render_sha256sums(
            self.entities
                .iter()
                .flat_map(|e| e.parts.iter().map(|p| (p.path.as_str(), &p.sha256))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_parse_round_trip() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let text = render_sha256sums([("data/x.00000.jsonl", &a), ("data/y.00000.jsonl", &b)]);
        let s = String::from_utf8(text.clone()).unwrap();
        assert!(s.starts_with(&format!("{}  data/x.00000.jsonl\n", a.hex())));
        let parsed = parse_sha256sums(&text).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("data/x.00000.jsonl".into(), a),
                ("data/y.00000.jsonl".into(), b)
            ]
        );
        assert!(parse_sha256sums(b"abc  x\n").is_err());
        assert!(parse_sha256sums(&text[..text.len() - 1]).is_err());
        assert_eq!(parse_sha256sums(b"").unwrap(), vec![]);
    }
}
