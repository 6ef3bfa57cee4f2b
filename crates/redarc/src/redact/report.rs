//! What redaction changed: counts per rule, entity and JSON path. Never values.

use std::collections::BTreeMap;

use crate::format::{RedactionCount, RedactionSummary};

use super::Redactor;

/// Counts of what redaction changed, per rule, entity and path. Never values.
///
/// ```
/// let r = redarc::Policy::default_policy().compile().unwrap();
/// let mut report = redarc::Report::new();
/// let mut out = Vec::new();
/// r.redact_line("users", br#"{"password":"hunter2!"}"#, &mut out, &mut report).unwrap();
/// assert_eq!(report.total(), 1);
/// assert_eq!(report.summary(&r).counts[0].path, "$.password");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    counts: BTreeMap<(String, String, String), u64>,
    total: u64,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Counts one change by `rule` at `path` of `entity`.
    pub(crate) fn add(&mut self, rule: &str, entity: &str, path: &str) {
        self.total += 1;
        // Look up before allocating: the same few keys repeat across records.
        if let Some(n) = self
            .counts
            .iter_mut()
            .find(|((r, e, p), _)| r == rule && e == entity && p == path)
            .map(|(_, n)| n)
        {
            *n += 1;
            return;
        }
        self.counts
            .insert((rule.to_string(), entity.to_string(), path.to_string()), 1);
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: &Report) {
        for (k, n) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += n;
        }
        self.total += other.total;
    }

    /// Total values changed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts as `(rule, entity, path, count)`, sorted.
    pub fn counts(&self) -> impl Iterator<Item = (&str, &str, &str, u64)> {
        self.counts
            .iter()
            .map(|((r, e, p), n)| (r.as_str(), e.as_str(), p.as_str(), *n))
    }

    /// The summary stored in the manifest.
    pub fn summary(&self, redactor: &Redactor) -> RedactionSummary {
        RedactionSummary {
            policy: redactor.policy_name().to_string(),
            policy_sha256: Some(redactor.policy_sha256()),
            pseudonym_key_id: redactor.pseudonym_key_id().map(str::to_string),
            total: self.total,
            counts: self
                .counts
                .iter()
                .map(|((r, e, p), n)| RedactionCount::new(r.clone(), e.clone(), p.clone(), *n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_per_key() {
        let mut a = Report::new();
        a.add("jwt", "logs", "$.data");
        a.add("jwt", "logs", "$.data");
        let mut b = Report::new();
        b.add("jwt", "logs", "$.data");
        b.add("password", "users", "$.password");
        a.merge(&b);
        assert_eq!(a.total(), 4);
        let rows: Vec<_> = a.counts().collect();
        assert_eq!(
            rows,
            [
                ("jwt", "logs", "$.data", 3),
                ("password", "users", "$.password", 1)
            ]
        );
    }
}
