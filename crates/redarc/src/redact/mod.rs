//! Redaction: policy (serde data) → compiled once → applied to every record.
//!
//! This is the seam the archive writer calls for every record. The
//! implementation here is an identity step; the real redactor replaces it
//! behind the same signatures.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::format::RedactionSummary;
use crate::Result;

/// A redaction policy: serde data, read from TOML or JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Policy {
    /// Policy name, recorded in the manifest.
    pub name: String,
}

impl Policy {
    /// The default policy for a normal portable export.
    pub fn default_policy() -> Policy {
        Policy {
            name: "default".into(),
        }
    }

    /// Reads a policy from a `.toml` or `.json` file.
    pub fn from_path(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::io_path("reading policy", path, e))?;
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text)
                .map_err(|e| crate::Error::Policy(crate::json_error_category(&e)))
        } else {
            toml::from_str(&text).map_err(|e| crate::Error::Policy(e.message().to_string()))
        }
    }

    /// Compiles the policy into a [`Redactor`].
    pub fn compile(&self) -> Result<Redactor> {
        Ok(Redactor {
            name: self.name.clone(),
        })
    }
}

/// A compiled policy, applied to records. Cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Redactor {
    name: String,
}

impl Redactor {
    /// Redacts one JSONL record (`line`, without its newline) of `entity`,
    /// appending the redacted JSON text (no newline) to `out` and counting
    /// what changed in `report`.
    ///
    /// # Errors
    /// [`crate::Error::Record`] when `line` is not one JSON value.
    pub fn redact_line(
        &self,
        _entity: &str,
        line: &[u8],
        out: &mut Vec<u8>,
        _report: &mut Report,
    ) -> Result<()> {
        out.extend_from_slice(line);
        Ok(())
    }

    /// The policy name.
    pub fn policy_name(&self) -> &str {
        &self.name
    }
}

/// Counts of what redaction changed, per rule, entity and path. Never values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    total: u64,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: &Report) {
        self.total += other.total;
    }

    /// Total values changed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The summary stored in the manifest.
    pub fn summary(&self, redactor: &Redactor) -> RedactionSummary {
        RedactionSummary {
            policy: redactor.policy_name().to_string(),
            total: self.total,
            ..RedactionSummary::default()
        }
    }
}
