//! Applying a compiled policy to one record.
//!
//! A record whose raw bytes hold no trigger (keyword, key-name fragment,
//! URL userinfo, long base64 run) is validated and copied as is: no tree is
//! built. Otherwise it is parsed, walked with its JSON path, and written
//! back only if something changed, so untouched records keep their exact
//! bytes.

use super::node::Node;
use sha2::{Digest as _, Sha256};
use std::borrow::Cow;

use super::builtin::{self, KeyKind};
use super::compiled::{CompiledPath, KeyAction, Redactor};
use super::detect::{self, Span};
use super::policy::Action;
use super::report::Report;
use super::scan::Finding;
use crate::{Error, Result};

/// How deep strings that are themselves JSON are opened.
const MAX_NESTED_JSON: usize = 4;

/// What the parent does with a value after the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Stay,
    Remove,
}

/// The key context a value is walked under.
#[derive(Debug, Clone, Copy)]
enum Under<'r> {
    /// Not under a secret key.
    Nothing,
    /// Directly under a secret key.
    Key(&'r KeyAction),
    /// Somewhere inside an object or array held by a secret key.
    Container(&'r KeyAction),
}

/// Per-record walk state.
pub(crate) struct Cx<'a> {
    entity: &'a str,
    path: String,
    report: &'a mut Report,
    findings: Option<&'a mut Vec<Finding>>,
    line: u64,
    changed: bool,
    nested: usize,
}

impl Cx<'_> {
    fn hit(&mut self, rule: &str, value: &[u8]) {
        self.changed = true;
        self.report.add(rule, self.entity, &self.path);
        if let Some(f) = self.findings.as_deref_mut() {
            f.push(Finding::new(
                rule,
                Some(self.path.clone()),
                self.line,
                value,
            ));
        }
    }
}

impl Redactor {
    /// Redacts one JSONL record (`line`, without its newline) of `entity`,
    /// appending the redacted JSON text (no newline) to `out` and counting
    /// what changed in `report`.
    ///
    /// # Errors
    /// [`crate::Error::Record`] (with record number 0; see
    /// [`Redactor::redact_record`]) when `line` is not one JSON value.
    pub fn redact_line(
        &self,
        entity: &str,
        line: &[u8],
        out: &mut Vec<u8>,
        report: &mut Report,
    ) -> Result<()> {
        self.redact_record(entity, 0, line, out, report)
    }

    /// As [`Redactor::redact_line`], naming the 1-based `record` number in errors.
    ///
    /// # Errors
    /// [`crate::Error::Record`] when `line` is not one JSON value.
    pub fn redact_record(
        &self,
        entity: &str,
        record: u64,
        line: &[u8],
        out: &mut Vec<u8>,
        report: &mut Report,
    ) -> Result<()> {
        let bad = |e: serde_json::Error| Error::Record {
            entity: entity.to_string(),
            record,
            detail: format!("not one JSON value: {}", crate::json_error_category(&e)),
        };
        if !self.needs_walk(line) {
            // UTF-8 is checked explicitly: serde_json does not validate the
            // bytes of strings it ignores.
            crate::archive::reader::check_json_line(line).map_err(|detail| Error::Record {
                entity: entity.to_string(),
                record,
                detail: format!("not one JSON value: {detail}"),
            })?;
            out.extend_from_slice(line);
            return Ok(());
        }
        let mut value: Node = serde_json::from_slice(line).map_err(bad)?;
        let mut cx = Cx {
            entity,
            path: String::from("$"),
            report,
            findings: None,
            line: record,
            changed: false,
            nested: 0,
        };
        let fate = self.walk(&mut value, &mut cx, Under::Nothing);
        if fate == Fate::Remove {
            // A record cannot disappear (counts must not change): it becomes null.
            value = Node::Null;
        }
        if cx.changed {
            value.write_json(out).map_err(|e| Error::Record {
                entity: entity.to_string(),
                record,
                detail: crate::json_error_category(&e),
            })?;
        } else {
            out.extend_from_slice(line);
        }
        Ok(())
    }

    /// Walks a parsed record, collecting findings instead of keeping output.
    pub(crate) fn scan_value(&self, entity: &str, value: &mut Node<'_>, line: u64) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut report = Report::new();
        let mut cx = Cx {
            entity,
            path: String::from("$"),
            report: &mut report,
            findings: Some(&mut findings),
            line,
            changed: false,
            nested: 0,
        };
        self.walk(value, &mut cx, Under::Nothing);
        findings
    }

    /// Scans plain text (not JSON) with the value rules.
    pub(crate) fn scan_plain(&self, text: &str, line: u64) -> Vec<Finding> {
        self.find_spans(text)
            .into_iter()
            .map(|s| {
                Finding::new(
                    &self.inner.rules[s.rule].id,
                    None,
                    line,
                    &text.as_bytes()[s.start..s.end],
                )
            })
            .collect()
    }

    /// The key family or custom key name `key` belongs to, if enabled.
    ///
    /// Records repeat the same few dozen key names millions of times, and
    /// classifying one splits it into words; so answers are remembered per
    /// thread and policy, up to [`KEY_CACHE_MAX`] names.
    pub(crate) fn key_action(&self, key: &str) -> Option<&KeyAction> {
        let inner = &*self.inner;
        let found = KEY_CACHE.with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return self.key_lookup(key);
            };
            if cache.0 != inner.id {
                cache.0 = inner.id;
                cache.1.clear();
            }
            if let Some(found) = cache.1.get(key) {
                return *found;
            }
            let found = self.key_lookup(key);
            if cache.1.len() >= KEY_CACHE_MAX {
                cache.1.clear();
            }
            cache.1.insert(key.into(), found);
            found
        });
        match found {
            KeyFound::None => None,
            KeyFound::Custom(i) => inner.custom_keys.get(i).map(|(_, ka)| ka),
            KeyFound::Family(i) => inner.key_families.get(i).and_then(|(_, a)| a.as_ref()),
        }
    }

    /// [`Redactor::key_action`] without the cache, as indexes into the policy.
    fn key_lookup(&self, key: &str) -> KeyFound {
        let inner = &*self.inner;
        if inner.custom_keys.is_empty() && !maybe_key_family(inner, key) {
            return KeyFound::None;
        }
        if !inner.custom_keys.is_empty() {
            let norm = builtin::key_words(key).concat();
            if let Some(i) = inner.custom_keys.iter().position(|(n, _)| *n == norm) {
                return KeyFound::Custom(i);
            }
        }
        let Some(kind) = builtin::classify_key(key) else {
            return KeyFound::None;
        };
        match inner
            .key_families
            .iter()
            .position(|(k, a)| *k == kind && a.is_some())
        {
            Some(i) => KeyFound::Family(i),
            None => KeyFound::None,
        }
    }

    fn path_rule(&self, entity: &str, path: &str) -> Option<&CompiledPath> {
        self.inner
            .paths
            .iter()
            .find(|p| p.path == path && p.entity.as_deref().is_none_or(|e| e == entity))
    }

    fn path_allowed(&self, entity: &str, path: &str) -> bool {
        self.inner
            .allow_paths
            .iter()
            .any(|p| p.path == path && p.entity.as_deref().is_none_or(|e| e == entity))
    }

    fn walk(&self, v: &mut Node<'_>, cx: &mut Cx<'_>, under: Under<'_>) -> Fate {
        if !self.inner.allow_paths.is_empty() && self.path_allowed(cx.entity, &cx.path) {
            return Fate::Stay;
        }
        if !self.inner.paths.is_empty() {
            if let Some(p) = self.path_rule(cx.entity, &cx.path) {
                let (id, action) = (p.id.clone(), p.action);
                return self.whole(v, &id, action, cx);
            }
        }
        match v {
            Node::Object(map) => {
                // Indexes of members to drop (allocated only when one is).
                let mut remove: Vec<usize> = Vec::new();
                for (i, (k, child)) in map.iter_mut().enumerate() {
                    let keep_len = cx.path.len();
                    push_key(&mut cx.path, k);
                    let child_under = match self.key_action(k) {
                        Some(ka) => Under::Key(ka),
                        None => match under {
                            Under::Key(ka) | Under::Container(ka) if !is_meta_key(k) => {
                                Under::Container(ka)
                            }
                            _ => Under::Nothing,
                        },
                    };
                    if self.walk(child, cx, child_under) == Fate::Remove {
                        remove.push(i);
                    }
                    cx.path.truncate(keep_len);
                }
                drop_indexes(map, &remove);
                Fate::Stay
            }
            Node::Array(items) => {
                let keep_len = cx.path.len();
                cx.path.push_str("[*]");
                let under = match under {
                    Under::Key(ka) => Under::Container(ka),
                    other => other,
                };
                let mut remove: Vec<usize> = Vec::new();
                for (i, item) in items.iter_mut().enumerate() {
                    if self.walk(item, cx, under) == Fate::Remove {
                        remove.push(i);
                    }
                }
                cx.path.truncate(keep_len);
                drop_indexes(items, &remove);
                Fate::Stay
            }
            Node::String(s) => self.walk_string(s, cx, under),
            Node::Number(_) | Node::Bool(_) | Node::Null => Fate::Stay,
        }
    }

    fn walk_string(&self, s: &mut Cow<'_, str>, cx: &mut Cx<'_>, under: Under<'_>) -> Fate {
        // Strings that are JSON themselves are walked as structure.
        if cx.nested < MAX_NESTED_JSON {
            let t = s.trim();
            let framed = (t.starts_with('{') && t.ends_with('}'))
                || (t.starts_with('[') && t.ends_with(']'));
            if framed && t.len() > 2 {
                if let Ok(mut inner) = serde_json::from_str::<Node<'_>>(t) {
                    let before = cx.changed;
                    cx.changed = false;
                    cx.nested += 1;
                    let fate = self.walk(&mut inner, cx, under);
                    cx.nested -= 1;
                    if fate == Fate::Remove {
                        inner = Node::Null;
                    }
                    if cx.changed {
                        let mut text = Vec::new();
                        if inner.write_json(&mut text).is_ok() {
                            if let Ok(text) = String::from_utf8(text) {
                                *s = Cow::Owned(text);
                            }
                        }
                    }
                    cx.changed |= before;
                    return Fate::Stay;
                }
            }
        }
        match under {
            Under::Key(ka) => {
                if let Some(fate) = self.secret_key_value(s, cx, ka) {
                    return fate;
                }
            }
            Under::Container(ka) => {
                if let Some(fate) = self.container_value(s, cx, ka) {
                    return fate;
                }
            }
            Under::Nothing => {}
        }
        let spans = self.find_spans(s);
        if spans.is_empty() {
            return Fate::Stay;
        }
        let fate = self.apply_spans(s, &spans, cx);
        if fate == Fate::Remove {
            return fate;
        }
        // What the value rules left may now be secret as a whole under the
        // key (`a=b://x` loses its `://` to an assignment rule): decide
        // again on the redacted text, or a second pass would, and redacting
        // twice would not be a no-op.
        match under {
            Under::Key(ka) => self.secret_key_value(s, cx, ka).unwrap_or(Fate::Stay),
            Under::Container(ka) => self.container_value(s, cx, ka).unwrap_or(Fate::Stay),
            Under::Nothing => Fate::Stay,
        }
    }

    /// A string inside an object or array held by a secret key; `None`
    /// when it does not have a credential's shape.
    fn container_value(
        &self,
        s: &mut Cow<'_, str>,
        cx: &mut Cx<'_>,
        ka: &KeyAction,
    ) -> Option<Fate> {
        if ka.action != Action::Keep
            && detect::container_value_is_secret(s)
            && !self.is_protected(s)
            && !self.value_allowed(s)
        {
            return Some(self.whole_string(s, &ka.id, ka.action, cx));
        }
        None
    }

    /// A string directly under a secret key; `None` when it is not secret
    /// as a whole (the value rules still look inside it).
    fn secret_key_value(
        &self,
        s: &mut Cow<'_, str>,
        cx: &mut Cx<'_>,
        ka: &KeyAction,
    ) -> Option<Fate> {
        if ka.action == Action::Keep || self.is_protected(s.trim()) || self.value_allowed(s) {
            return Some(Fate::Stay);
        }
        if ka.kind == KeyKind::Authorization {
            // Keep the scheme word: `Bearer [REDACTED:authorization]`.
            let t = s.trim();
            if let Some((scheme, rest)) = t.split_once(char::is_whitespace) {
                let rest = rest.trim();
                if detect::is_scheme_word(scheme) && !rest.is_empty() {
                    if self.is_protected(rest) {
                        return Some(Fate::Stay);
                    }
                    let action = if ka.action == Action::Remove {
                        Action::Placeholder
                    } else {
                        ka.action
                    };
                    let replacement = self.replacement(&ka.id, action, rest, cx);
                    *s = Cow::Owned(format!("{scheme} {replacement}"));
                    return Some(Fate::Stay);
                }
            }
        }
        if !detect::value_is_secret_for(ka.kind, s) {
            return None;
        }
        Some(self.whole_string(s, &ka.id, ka.action, cx))
    }

    pub(crate) fn is_protected(&self, t: &str) -> bool {
        // Every placeholder is framed in brackets.
        t.starts_with('[')
            && t.ends_with(']')
            && self
                .inner
                .protected
                .find(t)
                .is_some_and(|m| m.start() == 0 && m.end() == t.len())
    }

    pub(crate) fn value_allowed(&self, t: &str) -> bool {
        self.inner.allow_values.iter().any(|re| re.is_match(t))
    }

    /// Applies an action to a whole value of any type.
    fn whole(&self, v: &mut Node<'_>, id: &str, action: Action, cx: &mut Cx<'_>) -> Fate {
        match v {
            Node::String(s) => {
                if self.is_protected(s) {
                    return Fate::Stay;
                }
                self.whole_string(s, id, action, cx)
            }
            other => {
                if action == Action::Keep {
                    return Fate::Stay;
                }
                let text = serde_json::to_string(&*other).unwrap_or_default();
                match action {
                    Action::Remove => {
                        cx.hit(id, text.as_bytes());
                        Fate::Remove
                    }
                    _ => {
                        let r = self.replacement(id, action, &text, cx);
                        *other = Node::String(Cow::Owned(r));
                        Fate::Stay
                    }
                }
            }
        }
    }

    fn whole_string(
        &self,
        s: &mut Cow<'_, str>,
        id: &str,
        action: Action,
        cx: &mut Cx<'_>,
    ) -> Fate {
        match action {
            Action::Keep => Fate::Stay,
            Action::Remove => {
                cx.hit(id, s.as_bytes());
                Fate::Remove
            }
            Action::Placeholder | Action::Pseudonym => {
                let r = self.replacement(id, action, s, cx);
                *s = Cow::Owned(r);
                Fate::Stay
            }
        }
    }

    /// Counts the hit and returns the text that replaces `secret`.
    fn replacement(&self, id: &str, action: Action, secret: &str, cx: &mut Cx<'_>) -> String {
        cx.hit(id, secret.as_bytes());
        match (action, &self.inner.pseudonym) {
            (Action::Pseudonym, Some(key)) => key.pseudonym(secret.as_bytes()),
            _ if id == "binary-blob" => {
                let digest = hex::encode(Sha256::digest(secret.as_bytes()));
                let size = base64_decoded_len(secret);
                format!("[REDACTED:binary-blob size={size} sha256={digest}]")
            }
            _ => format!("[REDACTED:{id}]"),
        }
    }

    fn apply_spans(&self, s: &mut Cow<'_, str>, spans: &[Span], cx: &mut Cx<'_>) -> Fate {
        let whole = spans.len() == 1 && {
            let t = s.trim();
            let lead = s.len() - s.trim_start().len();
            spans[0].start == lead && spans[0].end == lead + t.len()
        };
        if whole {
            let rule = &self.inner.rules[spans[0].rule];
            if rule.action == Action::Remove {
                cx.hit(&rule.id, s.as_bytes());
                return Fate::Remove;
            }
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for span in spans {
            let rule = &self.inner.rules[span.rule];
            if rule.action == Action::Keep {
                continue;
            }
            out.push_str(&s[at..span.start]);
            let r = self.replacement(&rule.id, rule.action, &s[span.start..span.end], cx);
            out.push_str(&r);
            at = span.end;
        }
        out.push_str(&s[at..]);
        *s = Cow::Owned(out);
        Fate::Stay
    }
}

/// Key names and what they are.
type KeyMap = std::collections::HashMap<Box<str>, KeyFound, foldhash::fast::RandomState>;

/// Most key names remembered per thread by [`Redactor::key_action`].
const KEY_CACHE_MAX: usize = 4096;

/// A cached key classification: indexes into the policy's key tables.
#[derive(Debug, Clone, Copy)]
enum KeyFound {
    None,
    Custom(usize),
    Family(usize),
}

thread_local! {
    /// (policy id, key name → classification) for the policy used last.
    /// Every key a walk meets is looked up here first, so the hash is a
    /// fast one; the map is bounded and reset, so colliding keys cost time
    /// only up to that bound.
    static KEY_CACHE: std::cell::RefCell<(u64, KeyMap)> =
        std::cell::RefCell::new((u64::MAX, KeyMap::default()));
}

/// Cheap pre-check for [`builtin::classify_key`]: every key it accepts has
/// one of the key triggers in its lowercased alphanumerics (the words it
/// joins), so a key without any is no family; checked without allocating.
fn maybe_key_family(inner: &super::compiled::Inner, key: &str) -> bool {
    let mut norm = [0u8; 64];
    let mut n = 0;
    for b in key.bytes().filter(u8::is_ascii_alphanumeric) {
        let Some(slot) = norm.get_mut(n) else {
            // Too long for the buffer: let the full check decide.
            return true;
        };
        *slot = b.to_ascii_lowercase();
        n += 1;
    }
    inner.key_triggers.is_match(&norm[..n])
}

/// Removes the elements at `sorted` (ascending indexes) from `v`.
fn drop_indexes<T>(v: &mut Vec<T>, sorted: &[usize]) {
    if sorted.is_empty() {
        return;
    }
    let mut next = sorted.iter().copied().peekable();
    let mut i = 0;
    v.retain(|_| {
        let drop = next.next_if_eq(&i).is_some();
        i += 1;
        !drop
    });
}

/// Keys that describe a secret's metadata (`expires_at`, `token_type`):
/// their values stay even inside a secret-holding object.
fn is_meta_key(k: &str) -> bool {
    const META: &[&str] = &[
        "type", "at", "in", "expires", "expiry", "scope", "scopes", "provider", "name", "id",
        "created", "updated", "issued", "domain", "path", "kind", "status", "region", "url", "uri",
        "email", "user", "username", "login", "version",
    ];
    builtin::key_words(k)
        .last()
        .is_some_and(|w| META.contains(&w.as_str()))
}

/// Appends `.key` or `["key"]` to a JSON path.
fn push_key(path: &mut String, key: &str) {
    let simple = key
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()))
        && !key.is_empty();
    if simple {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str("[\"");
        for c in key.chars() {
            match c {
                '"' => path.push_str("\\\""),
                '\\' => path.push_str("\\\\"),
                c if c.is_control() => path.push('?'),
                c => path.push(c),
            }
        }
        path.push_str("\"]");
    }
}

fn base64_decoded_len(s: &str) -> usize {
    let body = s.trim_end_matches('=');
    body.len() * 3 / 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::policy::{Allow, PathMatch, PathRule, Policy, Profile};
    use crate::redact::PseudonymKey;

    #[test]
    fn drop_indexes_removes_exactly_those() {
        let mut v: Vec<u32> = (0..10).collect();
        drop_indexes(&mut v, &[0, 3, 4, 9]);
        assert_eq!(v, [1, 2, 5, 6, 7, 8]);
        drop_indexes(&mut v, &[]);
        assert_eq!(v.len(), 6);
    }

    /// Pieces of text around secrets: literals, shapes, values, placeholders.
    const FRAGMENTS: &[&str] = &[
        "[REDACTED:signed-url]",
        "[REDACTED:url-secret-param]",
        "[PSEUDONYM:0123456789abcdef]",
        "[REDACTED:",
        "]",
        "https://x.example/a?",
        "Signature=",
        "&api_key=",
        "://root:",
        "@db.example",
        "AKIAFAKEFAKEFAKE2345",
        "Bearer ",
        "FakeToken0123456789",
        "password=",
        "hunter2secret",
        " ",
        "=",
        "{",
        "}",
        "'",
    ];

    /// Whether the full walk, with no raw-byte check first, changes `line`.
    fn walk_changes(r: &Redactor, line: &str) -> bool {
        let mut value: Node<'_> = serde_json::from_str(line).unwrap();
        let mut report = Report::new();
        let mut cx = Cx {
            entity: "e",
            path: String::from("$"),
            report: &mut report,
            findings: None,
            line: 1,
            changed: false,
            nested: 0,
        };
        r.walk(&mut value, &mut cx, Under::Nothing) == Fate::Remove || cx.changed
    }

    fn run(r: &Redactor, entity: &str, line: &str) -> (String, Report) {
        let mut out = Vec::new();
        let mut report = Report::new();
        r.redact_line(entity, line.as_bytes(), &mut out, &mut report)
            .unwrap();
        (String::from_utf8(out).unwrap(), report)
    }

    fn default() -> Redactor {
        Policy::default_policy().compile().unwrap()
    }

    #[test]
    fn untouched_records_keep_their_exact_bytes() {
        let line = r#"{ "id": 7,  "name":"Ada", "n": 1.50, "sha": "da39a3ee5e6b4b0d3255bfef95601890afd80709" }"#;
        assert_eq!(run(&default(), "users", line).0, line);
        // Under the walk too (a key trigger is present but nothing is secret).
        let line =
            r#"{ "input_tokens": 12, "session_id": "3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b" }"#;
        assert_eq!(run(&default(), "llm_usage", line).0, line);
    }

    #[test]
    fn key_family_pre_check_keeps_every_family_example() {
        let r = default();
        for rule in builtin::KEY_RULES {
            for key in rule.positive {
                assert!(
                    maybe_key_family(&r.inner, key) && r.key_action(key).is_some(),
                    "{key:?}"
                );
            }
        }
    }

    #[test]
    fn raw_pre_check_follows_the_member_value() {
        let r = default();
        // Skipped: nothing under the secret key can change.
        for line in [
            r#"{"session_id":"3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b","n":1}"#,
            r#"{"api_token":12345,"refresh_token":null,"jwt":false}"#,
            r#"{"title":"[CRITICAL] auth-service down"}"#,
            // Framed text without escapes holds no quote, so no JSON key or
            // string: a Python repr, or numbers only.
            r#"{"data":"{'token_count': 5, 'feed': 'C1'}"}"#,
            r#"{"api_token":"[1, 2, 3]"}"#,
            // Already a placeholder or a pseudonym (a redacted archive).
            r#"{"access_token":"[REDACTED:token-field]","n":2}"#,
            r#"{"password_hash":"[REDACTED:password-hash]"}"#,
            r#"{"session_id":"[PSEUDONYM:0123456789abcdef]"}"#,
        ] {
            assert!(!r.needs_walk(line.as_bytes()), "{line}");
            assert_eq!(run(&r, "e", line).0, line);
        }
        // Walked: the value is secret, a container, escaped or maybe JSON.
        for line in [
            r#"{"db_cred":"hunter2-secret"}"#,
            r#"{"session_id":"opaqueSessionValue0123456789"}"#,
            r#"{"api_token":{"v":"x"}}"#,
            r#"{"api_token":"ab\u0063def"}"#,
            r#"{"api_token":"[\"abcdef\"]"}"#,
            r#"{"note":" {\"password\":\"x\"} "}"#,
            r#"{"Authorization":"Bearer abc"}"#,
            // Placeholder-like, but not one.
            r#"{"access_token":"[REDACTED:token-field]abc123XYZ"}"#,
            r#"{"access_token":"[PSEUDONYM:0123456789abcdefff]"}"#,
        ] {
            assert!(r.needs_walk(line.as_bytes()), "{line}");
        }
        assert_eq!(
            run(&r, "e", r#"{"db_cred":"hunter2-secret"}"#).0,
            r#"{"db_cred":"[REDACTED:credentials-field]"}"#
        );
    }

    #[test]
    fn placeholders_in_text_do_not_make_the_walk() {
        let r = default();
        // A redacted archive's lines: a rule's literal and shape are still
        // there, but what follows is a placeholder or a pseudonym.
        for line in [
            r#"{"url":"https://cdn.example/a.gz?Expires=1719228336&Signature=[REDACTED:signed-url]"}"#,
            r#"{"data":"export?customer=C5230&api_key=[REDACTED:url-secret-param]&f=csv"}"#,
            r#"{"debug":"git clone https://x-access-token:[REDACTED:github-token]@github.com/o/r.git"}"#,
            r#"{"env":"AZURE_CLIENT_SECRET=[REDACTED:azure-client-secret]","n":1}"#,
            r#"{"log":"Authorization: Bearer [REDACTED:authorization-bearer] for [PSEUDONYM:0123456789abcdef]"}"#,
        ] {
            assert!(!r.needs_walk(line.as_bytes()), "{line}");
            assert!(!walk_changes(&r, line), "{line}");
        }
        // A live secret beside a placeholder in the same string still walks.
        for (line, want) in [
            (
                r#"{"data":"api_key=[REDACTED:url-secret-param] password=hunter2secret"}"#,
                r#"{"data":"api_key=[REDACTED:url-secret-param] password=[REDACTED:secret-assignment]"}"#,
            ),
            (
                r#"{"u":"https://u:[REDACTED:x]@h and https://bob:pa55word@h2"}"#,
                r#"{"u":"https://u:[REDACTED:x]@h and https://bob:[REDACTED:url-userinfo-password]@h2"}"#,
            ),
        ] {
            assert!(r.needs_walk(line.as_bytes()), "{line}");
            assert_eq!(run(&r, "e", line).0, want);
        }
    }

    proptest::proptest! {
        /// The raw-byte check skips only lines the walk leaves as they are,
        /// for strings mixing placeholders with secrets' literals and shapes.
        #[test]
        fn a_skipped_line_is_one_the_walk_leaves(
            parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..8),
            key in 0..3usize,
        ) {
            static R: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
            let r = R.get_or_init(default);
            let text: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
            let key = ["data", "api_key", "url"][key];
            let line = serde_json::json!({ key: text, "n": 1 }).to_string();
            if !r.needs_walk(line.as_bytes()) {
                proptest::prop_assert!(!walk_changes(r, &line), "{}", line);
            }
        }
    }

    #[test]
    fn raw_pre_check_runs_short_prefix_rules_on_the_string() {
        let r = default();
        // `SK` (Twilio) inside an upper-case id, `AKIA` in a word: no walk.
        for line in [
            r#"{"req_id":"01HK9V7NYWSKR5NV2P62PNE72T"}"#,
            r#"{"note":"AKIA is how AWS key ids start"}"#,
        ] {
            assert!(!r.needs_walk(line.as_bytes()), "{line}");
            assert_eq!(run(&r, "e", line).0, line);
        }
        // The real thing, plain or behind an escape, is walked and redacted.
        for line in [
            r#"{"k":"TWILIO SK0123456789abcdef0123456789abcdef"}"#,
            r#"{"k":"a\nSK0123456789abcdef0123456789abcdef"}"#,
        ] {
            assert!(r.needs_walk(line.as_bytes()), "{line}");
            assert!(
                run(&r, "e", line).0.contains("[REDACTED:twilio-api-key]"),
                "{line}"
            );
        }
    }

    #[test]
    fn key_cache_is_per_policy() {
        use crate::redact::policy::KeyNameRule;
        let plain = default();
        let mut p = Policy::default_policy();
        p.key_names.push(KeyNameRule {
            id: "ticket-field".into(),
            names: vec!["support_ticket".into()],
            action: Some(Action::Placeholder),
        });
        let custom = p.compile().unwrap();
        let line = r#"{"support_ticket":"T-1234"}"#;
        // Alternate on one thread: each policy keeps its own answer.
        for _ in 0..2 {
            assert_eq!(run(&plain, "e", line).0, line);
            assert_eq!(
                run(&custom, "e", line).0,
                r#"{"support_ticket":"[REDACTED:ticket-field]"}"#
            );
        }
    }

    #[test]
    fn key_names_redact_whatever_the_value_looks_like() {
        let (out, report) = run(
            &default(),
            "user_tokens",
            r#"{"clientSecret":"abc12345","token_data":{"access_token":"opaque-xyz-123","token_type":"Bearer","expires_at":"2024-01-01T00:00:00Z"},"password_hash":"whatever"}"#,
        );
        assert_eq!(
            out,
            r#"{"clientSecret":"[REDACTED:secret-field]","token_data":{"access_token":"[REDACTED:token-field]","token_type":"Bearer","expires_at":"2024-01-01T00:00:00Z"},"password_hash":"[REDACTED:password-hash]"}"#
        );
        let paths: Vec<_> = report.counts().map(|c| c.2.to_string()).collect();
        assert!(
            paths.contains(&"$.token_data.access_token".to_string()),
            "{paths:?}"
        );
    }

    #[test]
    fn strings_holding_json_are_walked_as_structure() {
        let (out, report) = run(
            &default(),
            "user_tokens",
            r#"{"token_data":"{\"refresh_token\": \"opaque-refresh-1\", \"scope\": \"read\"}"}"#,
        );
        assert_eq!(
            out,
            r#"{"token_data":"{\"refresh_token\":\"[REDACTED:token-field]\",\"scope\":\"read\"}"}"#
        );
        assert_eq!(
            report.counts().next().unwrap().2,
            "$.token_data.refresh_token"
        );
    }

    #[test]
    fn authorization_keeps_the_scheme_word() {
        let (out, _) = run(
            &default(),
            "e",
            r#"{"headers":{"Authorization":"Bearer abc.def"}}"#,
        );
        assert_eq!(
            out,
            r#"{"headers":{"Authorization":"Bearer [REDACTED:authorization]"}}"#
        );
    }

    #[test]
    fn arrays_report_star_paths_and_remove_drops_fields() {
        let mut p = Policy::default_policy();
        p.default_action = Action::Remove;
        let r = p.compile().unwrap();
        let (out, report) = run(
            &r,
            "e",
            r#"{"items":[{"password":"pw1"},{"password":"pw2","k":1}]}"#,
        );
        assert_eq!(out, r#"{"items":[{},{"k":1}]}"#);
        assert_eq!(
            report.counts().next().unwrap(),
            ("password", "e", "$.items[*].password", 2)
        );
    }

    #[test]
    fn path_rules_and_allowed_paths() {
        let mut p = Policy::default_policy();
        p.paths.push(PathRule {
            id: Some("notes".into()),
            entity: Some("users".into()),
            path: "$.notes".into(),
            action: Some(Action::Remove),
        });
        p.allow = Allow {
            paths: vec![PathMatch {
                entity: None,
                path: "$.demo_password".into(),
            }],
            values: vec!["sk_test_.*".into()],
        };
        let r = p.compile().unwrap();
        let (out, _) = run(
            &r,
            "users",
            r#"{"notes":"free text","demo_password":"demo"}"#,
        );
        assert_eq!(out, r#"{"demo_password":"demo"}"#);
        let (out, _) = run(&r, "users", r#"{"notes":"free text","n":1}"#);
        assert_eq!(out, r#"{"n":1}"#);
        let (out, _) = run(&r, "orders", r#"{"notes":"free text"}"#);
        assert_eq!(out, r#"{"notes":"free text"}"#);
        let (out, _) = run(&r, "x", r#"{"msg":"key sk_test_FakeFakeFake0123456789"}"#);
        assert_eq!(out, r#"{"msg":"key sk_test_FakeFakeFake0123456789"}"#);
    }

    #[test]
    fn pseudonyms_join_across_entities() {
        let mut p = Policy::default_policy();
        p.profiles.push(Profile::Pii);
        p.rules.push(crate::redact::policy::RuleOverride {
            id: "email".into(),
            action: Some(Action::Pseudonym),
            enabled: true,
        });
        let r = p
            .compile_with_key(Some(PseudonymKey::new(b"test-key-0123456789").unwrap()))
            .unwrap();
        let (a, _) = run(&r, "users", r#"{"email":"ada@example.com"}"#);
        let (b, _) = run(&r, "audit", r#"{"actor":"by ada@example.com"}"#);
        let token = &a[10..a.len() - 2];
        assert!(token.starts_with("[PSEUDONYM:"), "{a}");
        assert!(b.contains(token), "{b}");
        assert_eq!(run(&r, "users", &a).0, a, "pseudonyms never match again");
    }

    #[test]
    fn invalid_json_is_a_record_error_without_content() {
        let mut out = Vec::new();
        let err = default()
            .redact_line(
                "users",
                br#"{"password":"hunter2"#,
                &mut out,
                &mut Report::new(),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("entity users"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = default()
            .redact_line(
                "users",
                br#"{"a":"plain"} trailing"#,
                &mut out,
                &mut Report::new(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Record { .. }));
    }

    #[test]
    fn blobs_become_size_and_hash() {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut x: u32 = 12345;
        let blob: String = (0..400)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                B64[(x >> 16) as usize % 64] as char
            })
            .collect();
        let (out, _) = run(&default(), "e", &format!(r#"{{"payload":"{blob}"}}"#));
        assert!(out.contains("[REDACTED:binary-blob size="), "{out}");
        assert!(!out.contains(&blob));
    }
}
