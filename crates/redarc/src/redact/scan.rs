//! Residual scan: where secrets are, never what they are.

use sha2::{Digest as _, Sha256};

use super::Redactor;
use crate::{Error, Result};

/// One secret found by a scan: the rule, where, and a fixed-length
/// fingerprint. Never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// JSON path of the value (`$.a[*].b`), when the line was JSON.
    pub path: Option<String>,
    /// 1-based line number (or record number).
    pub line: u64,
    /// First 8 hex digits of the SHA-256 of the matched text: enough to tell
    /// two findings apart, too short to confirm a guess.
    pub fingerprint: String,
}

impl Finding {
    pub(crate) fn new(rule: &str, path: Option<String>, line: u64, value: &[u8]) -> Finding {
        let digest = Sha256::digest(value);
        Finding {
            rule: rule.to_string(),
            path,
            line,
            fingerprint: hex::encode(&digest[..4]),
        }
    }
}

impl Redactor {
    /// Scans one JSONL record of `entity`.
    ///
    /// # Errors
    /// [`Error::Record`] when `line` is not one JSON value.
    pub fn scan_line(&self, entity: &str, line_no: u64, line: &[u8]) -> Result<Vec<Finding>> {
        if !self.needs_walk(line) {
            serde_json::from_slice::<serde::de::IgnoredAny>(line).map_err(|e| Error::Record {
                entity: entity.to_string(),
                record: line_no,
                detail: crate::json_error_category(&e),
            })?;
            return Ok(Vec::new());
        }
        self.scan_checked_line(entity, line_no, line)
    }

    /// As [`Redactor::scan_line`] for a line already known to hold one
    /// JSON value: a line that needs no walk is not parsed again.
    pub(crate) fn scan_checked_line(
        &self,
        entity: &str,
        line_no: u64,
        line: &[u8],
    ) -> Result<Vec<Finding>> {
        if !self.needs_walk(line) {
            return Ok(Vec::new());
        }
        let mut value: super::node::Node =
            serde_json::from_slice(line).map_err(|e| Error::Record {
                entity: entity.to_string(),
                record: line_no,
                detail: crate::json_error_category(&e),
            })?;
        Ok(self.scan_value(entity, &mut value, line_no))
    }

    /// Scans one line of plain text with the value rules (key names need
    /// structure, so only `key = value` forms in the text count).
    ///
    /// ```
    /// let r = redarc::Policy::default_policy().compile().unwrap();
    /// let found = r.scan_text("export GITHUB_TOKEN=ghp_FakeFakeFakeFakeFakeFakeFake01234567", 3);
    /// assert_eq!(found[0].rule, "github-token");
    /// assert_eq!(found[0].fingerprint.len(), 8);
    /// ```
    pub fn scan_text(&self, text: &str, line_no: u64) -> Vec<Finding> {
        self.scan_plain(text, line_no)
    }
}

#[cfg(test)]
mod tests {
    use crate::redact::Policy;

    #[test]
    fn scan_reports_path_and_fingerprint_not_value() {
        let r = Policy::default_policy().compile().unwrap();
        let line = br#"{"cfg":{"db":"postgres://app:FakePass123@db/app"}}"#;
        let found = r.scan_line("incidents", 4, line).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "connection-string-password");
        assert_eq!(found[0].path.as_deref(), Some("$.cfg.db"));
        assert_eq!(found[0].line, 4);
        assert!(!format!("{found:?}").contains("FakePass123"));
        assert!(r.scan_line("x", 1, br#"{"a":"b"}"#).unwrap().is_empty());
    }
}
