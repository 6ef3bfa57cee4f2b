//! docs/redaction.md lists every built-in rule, and its examples are true.
//!
//! The tables are checked against [`redarc::redact::builtin_rules`]: every
//! rule id with its "catches" text, no row for a rule that does not exist,
//! and value rules in the order they win ties (the page says so). Each
//! value rule's example must be one of that rule's positive examples in
//! `src/redact/builtin.rs` (`⏎` stands for a line break), must be found by
//! that rule, and must redact to the "after" shown; each key family's
//! example keys must be redacted by that family, or not.
//!
//! When a redaction changes on purpose, rewrite the "after" column with
//!
//! ```text
//! REDARC_UPDATE_DOCS=1 cargo test -p redarc --test it docs
//! ```

use std::path::Path;

use redarc::redact::{builtin_rules, Profile};
use redarc::{Policy, Redactor, Report};

const PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/redaction.md");
const TABLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/redact/builtin.rs");

/// One row of the rule tables: `| `id` | catches | rest… |`.
#[derive(Debug)]
struct Row {
    section: String,
    line: usize,
    id: String,
    catches: String,
    cells: Vec<String>,
}

fn rows(page: &str) -> Vec<Row> {
    let mut section = String::new();
    let mut found = Vec::new();
    for (i, line) in page.lines().enumerate() {
        if let Some(title) = line.strip_prefix("## ") {
            section = title.to_string();
            continue;
        }
        if !(VALUE_SECTIONS.contains(&section.as_str()) || section == KEY_SECTION) {
            continue; // e.g. the table of actions
        }
        let Some(inner) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<String> = split_row(inner.trim_end().trim_end_matches('|'));
        let id = cells[0].trim_end_matches('`').to_string();
        found.push(Row {
            section: section.clone(),
            line: i + 1,
            id,
            catches: cells.get(1).cloned().unwrap_or_default(),
            cells: cells[2..].to_vec(),
        });
    }
    found
}

/// Splits table cells at `|` outside code spans (a pattern may hold `|`).
fn split_row(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut code = true; // the row starts inside the id's code span
    for c in row.chars() {
        match c {
            '`' => code = !code,
            '|' if !code => {
                cells.push(String::new());
                continue;
            }
            _ => {}
        }
        cells.last_mut().unwrap().push(c);
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

const VALUE_SECTIONS: &[&str] = &["Built-in value rules", "The `pii` profile"];
const KEY_SECTION: &str = "Key-name families";

/// The default policy with the opt-in profiles on.
fn redactor() -> Redactor {
    let mut policy = Policy::default_policy();
    policy.profiles.push(Profile::Pii);
    policy.compile().unwrap()
}

/// Redacts `text` as a string field and returns the field.
fn redact_text(r: &Redactor, text: &str) -> String {
    let line = serde_json::json!({ "text": text }).to_string();
    let mut out = Vec::new();
    r.redact_line("docs", line.as_bytes(), &mut out, &mut Report::new())
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["text"].as_str().unwrap().to_string()
}

/// A value of a key, redacted.
fn redact_key(r: &Redactor, key: &str) -> serde_json::Value {
    let line = serde_json::json!({ key: "Fake0123456789xyzFake" }).to_string();
    let mut out = Vec::new();
    r.redact_line("docs", line.as_bytes(), &mut out, &mut Report::new())
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v[key].clone()
}

/// A code span's text: `` `x` `` → `x`, `⏎` → line break.
fn code(cell: &str, what: &str) -> String {
    cell.strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or_else(|| panic!("{what}: not one code span: {cell}"))
        .replace('⏎', "\n")
}

/// How `s` is written inside a Rust string literal in builtin.rs.
fn rust_literal(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

/// Shown in the page: `⏎` for a line break.
fn shown(s: &str) -> String {
    s.replace('\n', "⏎")
}

#[test]
fn redaction_md_lists_every_builtin_rule_in_order() {
    let page = std::fs::read_to_string(PAGE).unwrap();
    let rows = rows(&page);
    let rules = builtin_rules();
    assert!(rules.len() >= 50, "{}", rules.len());

    // Every rule, with what it catches, has its row.
    let mut missing = Vec::new();
    for (id, catches) in &rules {
        if !rows.iter().any(|r| r.id == *id && r.catches == *catches) {
            missing.push(format!("| `{id}` | {catches} | … |"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/redaction.md lacks these built-in rules (add a row with an example taken from the \
         rule's positive examples in builtin.rs, then run REDARC_UPDATE_DOCS=1 cargo test -p redarc \
         --test it docs):\n{}",
        missing.join("\n")
    );
    // And no row names a rule that is not built in.
    for row in &rows {
        assert!(
            rules
                .iter()
                .any(|(id, catches)| *id == row.id && *catches == row.catches),
            "docs/redaction.md:{}: `{}` ({}) is not a built-in rule",
            row.line,
            row.id,
            row.catches
        );
    }
    // Value rules in the order they win ties.
    let in_page: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| VALUE_SECTIONS.contains(&r.section.as_str()))
        .map(|r| (r.id.as_str(), r.catches.as_str()))
        .collect();
    let in_tables: Vec<(&str, &str)> = rules
        .iter()
        .copied()
        .filter(|rule| in_page.contains(rule))
        .collect();
    assert_eq!(in_page, in_tables, "value rules out of order");
}

#[test]
fn redaction_md_examples_are_true() {
    let mut page = std::fs::read_to_string(PAGE).unwrap();
    let tables = std::fs::read_to_string(TABLES).unwrap();
    let r = redactor();
    let update = std::env::var_os("REDARC_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    let mut checked = 0;
    for row in rows(&page) {
        let at = format!("docs/redaction.md:{} `{}`", row.line, row.id);
        if row.section == KEY_SECTION {
            let [secret, not_secret] = &row.cells[..] else {
                panic!("{at}: want secret and not-secret keys: {:?}", row.cells);
            };
            let placeholder = format!("[REDACTED:{}]", row.id);
            for key in secret.split(", ") {
                let key = code(key, &at);
                assert!(
                    tables.contains(&rust_literal(&key)),
                    "{at}: {key} is not an example in builtin.rs"
                );
                let v = redact_key(&r, &key);
                assert!(
                    v.as_str().is_some_and(|v| v.contains(&placeholder)),
                    "{at}: the value of {key:?} became {v}"
                );
                checked += 1;
            }
            for key in not_secret.split(", ") {
                let key = code(key, &at);
                assert!(
                    tables.contains(&rust_literal(&key)),
                    "{at}: {key} is not an example in builtin.rs"
                );
                let v = redact_key(&r, &key);
                assert!(
                    !v.to_string().contains(&placeholder),
                    "{at}: the value of {key:?} became {v}"
                );
                checked += 1;
            }
            continue;
        }
        let [example] = &row.cells[..] else {
            panic!("{at}: want one example cell: {:?}", row.cells);
        };
        let (before, after) = example
            .split_once(" → ")
            .unwrap_or_else(|| panic!("{at}: want `before` → `after`: {example}"));
        let before = code(before, &at);
        assert!(
            tables.contains(&rust_literal(&before)),
            "{at}: the example is not one of the rule's positive examples in builtin.rs"
        );
        let found = r.scan_text(&before, 1);
        assert!(
            found.iter().any(|f| f.rule == row.id),
            "{at}: the rule does not find its example: {found:?}"
        );
        let redacted = redact_text(&r, &before);
        if code(after, &at) != redacted {
            let new = format!("`{}` → `{}`", shown(&before), shown(&redacted));
            stale.push(format!("{at}:\n  page: {example}\n  now:  {new}"));
            if update {
                page = page.replacen(example.as_str(), &new, 1);
            }
        }
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} examples checked");
    if update && !stale.is_empty() {
        std::fs::write(Path::new(PAGE), &page).unwrap();
        eprintln!("rewrote {} examples in docs/redaction.md", stale.len());
    } else {
        assert!(
            stale.is_empty(),
            "examples in docs/redaction.md redact differently now (REDARC_UPDATE_DOCS=1 cargo test \
             -p redarc --test it docs rewrites them):\n{}",
            stale.join("\n")
        );
    }
}
