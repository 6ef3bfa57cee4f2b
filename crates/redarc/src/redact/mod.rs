//! Redaction: policy (serde data) → compiled once → applied to every record.
//!
//! - [`Policy`] is plain data read from TOML or JSON ([`policy_schema`] is its
//!   JSON Schema). [`Policy::default_policy`] is what `pack` applies.
//! - [`Policy::compile`] builds a [`Redactor`]: every regex and keyword
//!   automaton once, shared by all records and threads.
//! - [`Redactor::redact_line`] rewrites one JSONL record and counts what it
//!   changed in a [`Report`] (rule × entity × JSON path, never values).
//! - [`Redactor::scan_line`] and [`Redactor::scan_text`] return
//!   [`Finding`]s: rule, path, line and an 8-hex fingerprint, never the secret.
//!
//! Where it looks: key names (case-insensitive, separators normalised),
//! JSON paths per entity, and value rules on every string — including
//! strings that are JSON themselves, which are walked as structure. The
//! built-in rules are two named tables in `builtin.rs`, each row with the
//! examples its tests run; `docs/redaction.md` lists them.
//!
//! Speed: a record is first searched for the rules' literals with one
//! Aho-Corasick pass; a record with none of them is validated and copied
//! without building a tree.
//!
//! ```
//! let redactor = redarc::Policy::default_policy().compile().unwrap();
//! let mut out = Vec::new();
//! let mut report = redarc::Report::new();
//! redactor.redact_line(
//!     "incident_citations",
//!     br#"{"output":"DATABASE_URL=postgres://app:FakePass123@db.internal:5432/app"}"#,
//!     &mut out,
//!     &mut report,
//! ).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     r#"{"output":"DATABASE_URL=postgres://app:[REDACTED:connection-string-password]@db.internal:5432/app"}"#
//! );
//! assert_eq!(report.total(), 1);
//! ```

mod apply;
mod builtin;
mod compiled;
mod detect;
mod literals;
mod matcher;
mod node;
mod policy;
mod pseudonym;
mod report;
mod scan;

pub use compiled::Redactor;
pub use policy::{
    policy_schema, Action, Allow, Base, KeyNameRule, PathMatch, PathRule, PatternRule, Policy,
    Profile, PseudonymSource, RuleOverride,
};
pub use pseudonym::{PseudonymKey, PSEUDONYM_KEY_ENV};
pub use report::Report;
pub use scan::Finding;

/// Every built-in rule as `(id, what it catches)`: value rules in the
/// order they win ties, then the key-name families. Rule ids repeat where
/// one rule has several shapes.
pub fn builtin_rules() -> Vec<(&'static str, &'static str)> {
    let mut rules: Vec<_> = builtin::VALUE_RULES
        .iter()
        .map(|r| (r.id, r.catches))
        .collect();
    rules.extend(builtin::KEY_RULES.iter().map(|r| (r.id, r.catches)));
    rules
}
