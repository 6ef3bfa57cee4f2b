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
    /// Rule → entity → path → count. Nested so that counting one change
    /// looks each name up by `&str` (no allocation) in logarithmic time;
    /// iteration order is that of the (rule, entity, path) triple.
    counts: Counts,
    total: u64,
}

type Counts = BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>;

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
            .get_mut(rule)
            .and_then(|by_entity| by_entity.get_mut(entity))
            .and_then(|by_path| by_path.get_mut(path))
        {
            *n += 1;
            return;
        }
        self.count(rule, entity, path, 1);
    }

    /// Adds `n` to the count of `(rule, entity, path)`, making it if new.
    fn count(&mut self, rule: &str, entity: &str, path: &str, n: u64) {
        *self
            .counts
            .entry(rule.to_string())
            .or_default()
            .entry(entity.to_string())
            .or_default()
            .entry(path.to_string())
            .or_default() += n;
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: &Report) {
        for (rule, entity, path, n) in other.counts() {
            self.count(rule, entity, path, n);
        }
        self.total += other.total;
    }

    /// Total values changed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts as `(rule, entity, path, count)`, sorted.
    pub fn counts(&self) -> impl Iterator<Item = (&str, &str, &str, u64)> {
        self.counts.iter().flat_map(|(r, by_entity)| {
            by_entity.iter().flat_map(move |(e, by_path)| {
                by_path
                    .iter()
                    .map(move |(p, n)| (r.as_str(), e.as_str(), p.as_str(), *n))
            })
        })
    }

    /// The summary stored in the manifest.
    pub fn summary(&self, redactor: &Redactor) -> RedactionSummary {
        RedactionSummary {
            policy: redactor.policy_name().to_string(),
            policy_sha256: Some(redactor.policy_sha256()),
            pseudonym_key_id: redactor.pseudonym_key_id().map(str::to_string),
            total: self.total,
            counts: self
                .counts()
                .map(|(r, e, p, n)| RedactionCount::new(r.into(), e.into(), p.into(), n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Counts, order and merge are those of one flat map keyed by the
        /// (rule, entity, path) triple.
        #[test]
        fn counts_are_those_of_the_triples(
            adds in proptest::collection::vec((0..4u8, 0..3u8, 0..5u8), 0..60),
            split in 0..60usize,
        ) {
            let name = |p: &str, i: u8| format!("{p}{i}");
            let mut expected: BTreeMap<(String, String, String), u64> = BTreeMap::new();
            let (mut a, mut b) = (Report::new(), Report::new());
            for (i, &(r, e, p)) in adds.iter().enumerate() {
                let (r, e, p) = (name("rule", r), name("entity", e), name("$.f", p));
                let into = if i < split { &mut a } else { &mut b };
                into.add(&r, &e, &p);
                *expected.entry((r, e, p)).or_default() += 1;
            }
            a.merge(&b);
            let got: Vec<(String, String, String, u64)> = a
                .counts()
                .map(|(r, e, p, n)| (r.to_string(), e.to_string(), p.to_string(), n))
                .collect();
            let want: Vec<(String, String, String, u64)> =
                expected.into_iter().map(|((r, e, p), n)| (r, e, p, n)).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(a.total(), adds.len() as u64);
        }
    }

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
