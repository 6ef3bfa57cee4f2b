//! Finding secrets inside one string: keyword prefilter, then the regexes of
//! the rules whose keywords occur, then each rule's check.
//!
//! Results are spans (byte ranges and rule index), never copies of the text.

use super::builtin::{self, Check, KeyKind};
use super::compiled::{Redactor, Target, SCHEME_SEP};
use super::matcher::{self, Matcher};

/// One match: a byte range of the string and the rule that found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) rule: usize,
}

impl Redactor {
    /// The non-overlapping spans of `text` that rules match, in order.
    pub(crate) fn find_spans(&self, text: &str) -> Vec<Span> {
        let inner = &*self.inner;
        let mut candidates: Vec<usize> = Vec::new();
        // Hits of rules with a hand-written matcher: (rule, start, length).
        let mut at_hits: Vec<(usize, usize, usize)> = Vec::new();
        // Starts of the `://` with userinfo after them.
        let mut userinfo: Vec<usize> = Vec::new();
        self.trigger_hits(text.as_bytes(), |start, hits| {
            for (t, len, spelled) in hits {
                if !super::compiled::spelled_at(text.as_bytes(), start, spelled) {
                    continue;
                }
                if let Target::Userinfo = t {
                    if userinfo_follows(text.as_bytes(), start + len) {
                        userinfo.push(start);
                    }
                    continue;
                }
                if let Target::Rule(i) | Target::KeyShaped(i) = t {
                    if inner.rules[*i].matcher.runs_regex() {
                        candidates.push(*i);
                    } else {
                        at_hits.push((*i, start, *len));
                    }
                }
            }
            false
        });
        if !userinfo.is_empty() {
            for &ri in &inner.userinfo_rules {
                if inner.rules[ri].matcher.runs_regex() {
                    candidates.push(ri);
                } else {
                    at_hits.extend(userinfo.iter().map(|&at| (ri, at, SCHEME_SEP.len())));
                }
            }
        }
        if !inner.blob_rules.is_empty() && has_base64_run(text.as_bytes(), builtin::BLOB_MIN) {
            candidates.extend_from_slice(&inner.blob_rules);
        }
        candidates.extend_from_slice(&inner.always_rules);
        if candidates.is_empty() && at_hits.is_empty() {
            return Vec::new();
        }
        candidates.sort_unstable();
        candidates.dedup();

        let mut spans = Vec::new();
        // By rule, and each rule's hits in text order (the search reports
        // them in no particular order).
        at_hits.sort_unstable();
        at_hits.dedup();
        for group in at_hits.chunk_by(|a, b| a.0 == b.0) {
            let ri = group[0].0;
            let rule = &inner.rules[ri];
            let hits: Vec<(usize, usize)> = group.iter().map(|&(_, s, l)| (s, l)).collect();
            let accept = |found: &matcher::Found| {
                let key = found.key.clone().map(|k| &text[k]);
                self.check(rule.check, text, found.value.start, found.value.end, key)
            };
            for found in matcher::find_accepted_at_hits(rule.matcher, text, &hits, accept) {
                spans.push(Span {
                    start: found.value.start,
                    end: found.value.end,
                    rule: ri,
                });
            }
        }
        for &ri in &candidates {
            let rule = &inner.rules[ri];
            if rule.check == Check::Blob {
                // The blob regex's bounded repeat makes a slow lazy DFA; the
                // runs it matches are found directly (a test holds the two equal).
                for (start, end) in base64_runs(text.as_bytes(), builtin::BLOB_MIN) {
                    if self.check(rule.check, text, start, end, None) {
                        spans.push(Span {
                            start,
                            end,
                            rule: ri,
                        });
                    }
                }
                continue;
            }
            if let Matcher::Screened(screen) = rule.matcher {
                if !screen.passes(text.as_bytes()) {
                    continue;
                }
            }
            if !rule.has_groups {
                for m in rule.regex.find_iter(text) {
                    if self.check(rule.check, text, m.start(), m.end(), None) {
                        spans.push(Span {
                            start: m.start(),
                            end: m.end(),
                            rule: ri,
                        });
                    }
                }
                continue;
            }
            for caps in rule.regex.captures_iter(text) {
                let Some(m) = caps
                    .name("s")
                    .or_else(|| caps.name("q1"))
                    .or_else(|| caps.name("q2"))
                    .or_else(|| caps.get(0))
                else {
                    continue;
                };
                if rule.check == Check::CookieHeader {
                    cookie_values(text, m.start(), m.end(), ri, &mut spans);
                    continue;
                }
                let key = caps.name("k").map(|k| k.as_str());
                if self.check(rule.check, text, m.start(), m.end(), key) {
                    spans.push(Span {
                        start: m.start(),
                        end: m.end(),
                        rule: ri,
                    });
                }
            }
        }
        if spans.is_empty() {
            return spans;
        }
        self.drop_protected_and_allowed(text, &mut spans);
        // Earliest first; at the same start the more specific (earlier) rule wins.
        spans.sort_unstable_by_key(|s| (s.start, s.rule));
        let mut out: Vec<Span> = Vec::with_capacity(spans.len());
        for s in spans {
            if s.start == s.end {
                continue;
            }
            if out.last().is_none_or(|l| s.start >= l.end) {
                out.push(s);
            }
        }
        out
    }

    /// Placeholders and pseudonyms never match again; allowed values stay.
    fn drop_protected_and_allowed(&self, text: &str, spans: &mut Vec<Span>) {
        let inner = &*self.inner;
        if super::compiled::holds_protected(text.as_bytes()) {
            let protected: Vec<(usize, usize)> = inner
                .protected
                .find_iter(text)
                .map(|m| (m.start(), m.end()))
                .collect();
            spans.retain(|s| !protected.iter().any(|&(a, b)| s.start < b && a < s.end));
        }
        if !inner.allow_values.is_empty() {
            spans.retain(|s| {
                !inner
                    .allow_values
                    .iter()
                    .any(|re| re.is_match(&text[s.start..s.end]))
            });
        }
    }

    fn check(&self, check: Check, text: &str, start: usize, end: usize, key: Option<&str>) -> bool {
        let v = &text[start..end];
        match check {
            Check::None => true,
            Check::Random => looks_random(v),
            Check::MinLen(n) => v.len() >= n,
            Check::AwsSecretShape => {
                v.bytes().any(|b| b.is_ascii_uppercase())
                    && v.bytes().any(|b| b.is_ascii_lowercase())
                    && v.bytes().any(|b| b.is_ascii_digit())
                    && entropy(v) > 4.0
            }
            Check::BasicAuth => basic_credentials(v),
            // Handled where the spans are made.
            Check::CookieHeader => true,
            Check::Assignment => key.is_some_and(|k| self.assignment_is_secret(k, v)),
            Check::Blob => is_blob(text, start, end),
            Check::Luhn => luhn(v),
            Check::Iban => iban(v),
            Check::Phone => {
                let digits = v.bytes().filter(u8::is_ascii_digit).count();
                (9..=15).contains(&digits) && !looks_like_date(v)
            }
        }
    }

    /// Whether `key = value` in text assigns a secret.
    fn assignment_is_secret(&self, key: &str, value: &str) -> bool {
        match self.key_action(key) {
            Some(ka) => value_is_secret_for(ka.kind, value) && !is_scheme_word(value),
            None => {
                // `FOO_KEY=…` in env files: only clearly random values.
                let words = builtin::key_words(key);
                words.last().is_some_and(|w| w == "key")
                    && words.len() >= 2
                    && value.len() >= 16
                    && looks_random(value)
                    && !is_hex(value)
                    && !value.contains('/')
            }
        }
    }
}

/// Each cookie's value inside a `Cookie:`/`Set-Cookie:` header, attributes kept.
fn cookie_values(text: &str, start: usize, end: usize, rule: usize, spans: &mut Vec<Span>) {
    const ATTRS: &[&str] = &[
        "path",
        "domain",
        "expires",
        "max-age",
        "samesite",
        "secure",
        "httponly",
        "priority",
        "partitioned",
        "version",
        "comment",
    ];
    let header = &text[start..end];
    let mut offset = start;
    for part in header.split(';') {
        let lead = part.len() - part.trim_start().len();
        if let Some(eq) = part.find('=') {
            let name = part[..eq].trim();
            let value = part[eq + 1..].trim_end();
            let vstart = offset + eq + 1;
            let vstart = vstart + (part[eq + 1..].len() - part[eq + 1..].trim_start().len());
            if !name.is_empty()
                && !ATTRS.contains(&name.to_ascii_lowercase().as_str())
                && value.trim().len() >= 8
                && !is_scheme_word(value)
            {
                spans.push(Span {
                    start: vstart,
                    end: offset + eq + 1 + value.len(),
                    rule,
                });
            }
        }
        let _ = lead;
        offset += part.len() + 1;
    }
}

/// A value under a key of `kind` that holds a secret (not a reference, a
/// mask, an empty value or a non-secret shape).
pub(crate) fn value_is_secret_for(kind: KeyKind, value: &str) -> bool {
    let t = value.trim();
    if t.is_empty() || is_reference(t) || is_masked(t) || is_null_word(t) {
        return false;
    }
    match kind {
        KeyKind::Password | KeyKind::PasswordHash | KeyKind::Cookie | KeyKind::PrivateKey => true,
        KeyKind::Authorization => !is_scheme_word(t),
        KeyKind::Secret | KeyKind::Token | KeyKind::ApiKey | KeyKind::Credentials => {
            t.len() >= 6
                && !has_whitespace(t)
                && !t.contains("://")
                && !t.bytes().all(|b| b.is_ascii_digit())
                && !looks_like_date(t)
        }
        KeyKind::Session => {
            t.len() >= 16
                && !has_whitespace(t)
                && !t.contains("://")
                && !is_uuid(t)
                && !t.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// A string inside an object or array held by a secret key: redacted when
/// it has the shape of a credential.
pub(crate) fn container_value_is_secret(value: &str) -> bool {
    let t = value.trim();
    t.len() >= 16
        && !has_whitespace(t)
        && !t.contains("://")
        && !is_uuid(t)
        && !is_reference(t)
        && !looks_like_date(t)
        && !t.contains('@')
        && looks_random(t)
}

/// Whether `t` holds whitespace (as `char::is_whitespace` has it). ASCII
/// text, nearly all of it, is tested byte by byte without decoding chars.
fn has_whitespace(t: &str) -> bool {
    if t.is_ascii() {
        t.bytes().any(|b| matches!(b, b'\t'..=b'\r' | b' '))
    } else {
        t.contains(char::is_whitespace)
    }
}

/// References to a secret manager name a secret without holding it.
pub(crate) fn is_reference(t: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "vault:",
        "secret://",
        "${",
        "{{",
        "env:",
        "arn:aws:secretsmanager:",
        "arn:aws:ssm:",
        "op://",
        "sm://",
        "gcpsm://",
        "awssm://",
        "azurekv://",
        "keyvault:",
        "ref+",
        "$(",
    ];
    PREFIXES.iter().any(|p| t.starts_with(p))
        || (t.starts_with("projects/") && t.contains("/secrets/"))
}

fn is_masked(t: &str) -> bool {
    t.chars()
        .all(|c| matches!(c, '*' | '•' | 'x' | 'X' | '#' | '.' | '-'))
        || t.eq_ignore_ascii_case("<redacted>")
        || t.eq_ignore_ascii_case("redacted")
}

fn is_null_word(t: &str) -> bool {
    ["null", "none", "nil", "true", "false", "undefined", "n/a"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// Authorization scheme words, kept when the credential after them goes.
pub(crate) fn is_scheme_word(t: &str) -> bool {
    [
        "bearer",
        "basic",
        "token",
        "digest",
        "negotiate",
        "ntlm",
        "apikey",
        "hmac",
        "aws4-hmac-sha256",
    ]
    .iter()
    .any(|w| t.trim().eq_ignore_ascii_case(w))
}

pub(crate) fn is_uuid(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_hex(t: &str) -> bool {
    t.bytes().all(|b| b.is_ascii_hexdigit())
}

fn looks_like_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && (b[4] == b'-' || b[4] == b'/')
        && b[5..7].iter().all(u8::is_ascii_digit)
}

/// Random-looking: long enough, digits or mixed case, no long letter-only
/// word, and enough Shannon entropy.
pub(crate) fn looks_random(v: &str) -> bool {
    if v.len() < 8 {
        return false;
    }
    let digits = v.bytes().any(|b| b.is_ascii_digit());
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    if !(digits || upper && lower) {
        return false;
    }
    // Identifiers like `task-runner-for-the-nightly-build` have low entropy per char.
    entropy(v) >= 3.0
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn basic_credentials(v: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .is_some_and(|s| s.contains(':') && !s.contains(char::is_control))
}

/// A long base64 run that is not a public key, a certificate or a hex hash.
fn is_blob(text: &str, start: usize, end: usize) -> bool {
    let v = &text[start..end];
    if is_hex(v.trim_end_matches('=')) {
        return false;
    }
    const PUBLIC_PREFIXES: &[&str] = &[
        "AAAAB3Nza",
        "AAAAC3Nza",
        "AAAAE2VjZHNh",
        "AAAAG3Nr",
        "AAAAGnNr",
    ];
    if PUBLIC_PREFIXES.iter().any(|p| v.starts_with(p)) {
        return false;
    }
    let before = &text.as_bytes()[start.saturating_sub(100)..start];
    let before = String::from_utf8_lossy(before);
    if before.contains("PUBLIC KEY") || before.contains("CERTIFICATE") {
        return false;
    }
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    upper && lower && entropy(v) > 4.5
}

fn luhn(v: &str) -> bool {
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban(v: &str) -> bool {
    let s: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let rotated = s[4..].chars().chain(s[..4].chars());
    let mut rem: u64 = 0;
    for c in rotated {
        let n = match c.to_digit(36) {
            Some(n) => u64::from(n),
            None => return false,
        };
        rem = if n >= 10 {
            (rem * 100 + n) % 97
        } else {
            (rem * 10 + n) % 97
        };
    }
    rem == 1
}

/// `://` followed by `@` before the first `/`, quote, space or end: a URL
/// with userinfo. Sound for the prefilter because userinfo cannot hold those.
/// (The search itself finds `://` with the other literals and asks
/// [`userinfo_follows`] at each; this is the whole-text reference for tests.)
#[cfg(test)]
pub(crate) fn has_url_userinfo(hay: &[u8]) -> bool {
    memchr::memmem::find_iter(hay, super::compiled::SCHEME_SEP)
        .any(|p| userinfo_follows(hay, p + super::compiled::SCHEME_SEP.len()))
}

/// Whether the URL authority starting at `hay[from..]` (just after `://`)
/// holds userinfo: an `@` before anything that ends an authority.
pub(crate) fn userinfo_follows(hay: &[u8], from: usize) -> bool {
    for &b in hay.get(from..).unwrap_or_default() {
        match b {
            b'@' => return true,
            b'/' | b'"' | b'\'' | b' ' | b'\t' | b'\n' | b'<' | b'>' => return false,
            _ => {}
        }
    }
    false
}

/// The blob pattern's base64 characters, by byte.
static BASE64: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
        b += 1;
    }
    t
};

/// Whether `b` is one of the blob pattern's base64 characters.
fn is_base64_char(b: u8) -> bool {
    BASE64[usize::from(b)]
}

/// The matches of the blob pattern `[A-Za-z0-9+/_\-]{min,}={0,2}` in
/// `hay`, as that regex's `find_iter` reports them: every maximal run of at
/// least `min` base64 characters, with up to two `=` after it.
///
/// Through [`matcher::each_long_run`], which looks at about one byte in
/// `min` outside such runs: strings that hold one (signed URLs, mostly)
/// are long.
fn base64_runs(hay: &[u8], min: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    matcher::each_long_run(hay, min, is_base64_char, |start, end| {
        let pad = hay[end..]
            .iter()
            .take(2)
            .take_while(|&&b| b == b'=')
            .count();
        out.push((start, end + pad));
        false
    });
    out
}

/// A run of at least `min` base64 (standard or URL-safe) characters.
///
/// Looks at about one byte in `min`: a byte outside the alphabet rules out
/// every run through it, so the search jumps past it.
pub(crate) fn has_base64_run(hay: &[u8], min: usize) -> bool {
    let b64 = is_base64_char;
    if min == 0 {
        return true;
    }
    let mut i = min - 1;
    while i < hay.len() {
        if !b64(hay[i]) {
            i += min;
            continue;
        }
        // Count back from i; a break at j means the next candidate ends at j + min.
        let start = i + 1 - min;
        match (start..i).rev().find(|&j| !b64(hay[j])) {
            None => return true,
            Some(j) => i = j + min,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::compiled::CompiledRule;
    use crate::redact::matcher::Screen;
    use crate::redact::Policy;
    use proptest::prelude::*;
    use std::ops::Range;

    type Match = (Range<usize>, Option<Range<usize>>);

    /// What the rule's regex finds, as `find_spans` read it before the
    /// hand-written matchers: the value group and the key group.
    fn by_regex(rule: &CompiledRule, text: &str) -> Vec<Match> {
        rule.regex
            .captures_iter(text)
            .filter_map(|caps| {
                let m = caps
                    .name("s")
                    .or_else(|| caps.name("q1"))
                    .or_else(|| caps.name("q2"))
                    .or_else(|| caps.get(0))?;
                Some((m.range(), caps.name("k").map(|k| k.range())))
            })
            .collect()
    }

    /// What the hand-written matcher finds from the automaton's hits.
    fn by_matcher(r: &Redactor, ri: usize, text: &str) -> Vec<Match> {
        let mut hits = Vec::new();
        r.trigger_hits(text.as_bytes(), |start, found| {
            for (t, len, spelled) in found {
                if let Target::Rule(i) | Target::KeyShaped(i) = t {
                    if *i == ri
                        && super::super::compiled::spelled_at(text.as_bytes(), start, spelled)
                    {
                        hits.push((start, *len));
                    }
                }
                if let Target::Userinfo = t {
                    if r.inner.userinfo_rules.contains(&ri) {
                        hits.push((start, *len));
                    }
                }
            }
            false
        });
        hits.sort_unstable();
        hits.dedup();
        matcher::find_at_hits(r.inner.rules[ri].matcher, text, &hits)
            .into_iter()
            .map(|f| (f.value, f.key))
            .collect()
    }

    const FRAGMENTS: &[&str] = &[
        "?",
        "&",
        ";",
        "#",
        "=",
        "=>",
        ":=",
        ":",
        " ",
        "\t",
        "\n",
        "\r",
        "\"",
        "'",
        "\\",
        "\\\"",
        ",",
        "}",
        ")",
        "]",
        "<",
        ">",
        ".",
        "-",
        "_",
        "a",
        "Z",
        "0",
        "%2F",
        "/",
        "é",
        "\u{a0}",
        "\u{2003}",
        "中",
        "Signature",
        "x-goog-",
        "X-Goog-Signature",
        "X-Amz-Credential",
        "x-amz-security-token",
        "sig",
        "Key",
        "api_key",
        "apikey",
        "Key-Pair-Id",
        "policy",
        "GoogleAccessId",
        "code",
        "sign",
        "ticket",
        "token",
        "password",
        "PASS",
        "secret",
        "pwd",
        "auth",
        "cookie",
        "sess",
        "jwt",
        "creds",
        "credential",
        "cred",
        "abc123XYZ",
        "https://h/p",
    ];

    fn default_redactor() -> &'static Redactor {
        static R: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
        R.get_or_init(|| Policy::default_policy().compile().unwrap())
    }

    /// Compares, on `text`, what each rule `which` picks finds by its
    /// hand-written matcher and by its regex.
    fn agree_on(text: &str, which: impl Fn(Matcher) -> bool) -> Result<(), TestCaseError> {
        let r = default_redactor();
        for (ri, rule) in r.inner.rules.iter().enumerate() {
            if which(rule.matcher) {
                prop_assert_eq!(
                    by_matcher(r, ri, text),
                    by_regex(rule, text),
                    "rule {} on {:?}",
                    rule.id,
                    text
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The hand-written matchers find exactly what their rule's regex
        /// finds, on text made of the pieces those regexes care about.
        #[test]
        fn matchers_agree_with_their_regexes(
            parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..40)
        ) {
            let text: String = parts.concat();
            agree_on(&text, |m| !m.runs_regex())?;
        }
    }

    /// Pieces of the token rules' prefixes and bodies, with the bytes their
    /// boundaries care about.
    const TOKEN_FRAGMENTS: &[&str] = &[
        "AKIA",
        "A3T",
        "AIza",
        "ya29.",
        "1//0",
        "GOCSPX-",
        "ghp_",
        "gh",
        "github_pat_",
        "glpat-",
        "GR1348941",
        "npm_",
        "pypi-AgE",
        "hf_",
        "api_org_",
        "sk-",
        "sk-ant-",
        "sk_live_",
        "whsec_",
        "SK",
        "key-",
        "KEY-",
        "shpat_",
        "dop_v1_",
        "hvs.",
        "FwoGZXIvYXdz",
        "AGE-SECRET-KEY-",
        "PQ-",
        "1",
        "0123456789abcdef",
        "0123456789ABCDEF",
        "QRSTUVWXYZqrstuv",
        "abcdef",
        "Z",
        "z",
        "9",
        "_",
        "-",
        ".",
        "/",
        "+",
        "=",
        "%",
        " ",
        "\"",
        "é",
        "中",
        "\u{a0}",
    ];

    /// The rule's triggers, as (literal, exact).
    fn triggers_of(id: &str) -> Vec<(&'static str, bool)> {
        builtin::VALUE_RULES
            .iter()
            .filter(|b| b.id == id)
            .flat_map(|b| match b.trigger {
                builtin::Trigger::Keywords(k) | builtin::Trigger::KeyShaped(k) => {
                    k.iter().map(|k| (*k, false)).collect()
                }
                builtin::Trigger::Exact(k) => k.iter().map(|k| (*k, true)).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn token_matchers_hold_what_their_shortcuts_assume() {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut seen = 0;
        for b in builtin::VALUE_RULES {
            let Matcher::Token { lead, alts, trail } = b.matcher else {
                continue;
            };
            seen += 1;
            let triggers = triggers_of(b.id);
            for alt in alts {
                // Every match starts at a hit of one of the rule's literals.
                assert!(
                    triggers.iter().any(|&(t, exact)| {
                        let head = alt.prefix.as_bytes().get(..t.len());
                        if exact {
                            head == Some(t.as_bytes())
                        } else {
                            head.is_some_and(|h| h.eq_ignore_ascii_case(t.as_bytes()))
                        }
                    }),
                    "{}: {}",
                    b.id,
                    alt.prefix
                );
                if lead {
                    assert!(word(alt.prefix.as_bytes()[0]), "{}", b.id);
                }
                if trail {
                    assert!(
                        (0..128u8).all(|c| alt.body >> c & 1 == 0 || word(c)),
                        "{}",
                        b.id
                    );
                }
                assert!(alt.min >= 1 && alt.min <= alt.max, "{}", b.id);
            }
        }
        assert_eq!(seen, 21);
    }

    #[test]
    fn ascii_sets_read_like_regex_classes() {
        let set = |spec: &[u8]| {
            let bits = matcher::ascii_set(spec);
            (0..128u8)
                .filter(|&c| bits >> c & 1 == 1)
                .collect::<Vec<u8>>()
        };
        assert_eq!(set(b"a-c"), b"abc");
        assert_eq!(set(b"_-"), b"-_");
        assert_eq!(set(b"-a"), b"-a");
        assert_eq!(set(b"0-9A-Fx"), b"0123456789ABCDEFx");
        assert_eq!(set(b"+/=%"), b"%+/=");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The token matchers find exactly what their rule's regex finds,
        /// on text made of their prefixes, bodies and boundaries.
        #[test]
        fn token_matchers_agree_with_their_regexes(
            parts in proptest::collection::vec(proptest::sample::select(TOKEN_FRAGMENTS), 0..24)
        ) {
            let text: String = parts.concat();
            agree_on(&text, |m| matches!(m, Matcher::Token { .. }))?;
        }
    }

    /// Pieces of `Authorization` and `Bearer` headers, with the bytes and
    /// case-folded letters their regex cares about.
    const AUTH_FRAGMENTS: &[&str] = &[
        "bearer",
        "Bearer",
        "BEARER",
        "authorization",
        "Authorization",
        "\\",
        "\"",
        "'",
        ":",
        "=",
        " ",
        "\t",
        "\u{a0}",
        "\u{2003}",
        "token",
        "To\u{212a}en",
        "\u{17f}plunk",
        "api-key",
        "ApiKey",
        "sso-key",
        "klaviyo-api-key",
        "dsn",
        "x",
        "_",
        "abcdefgh",
        "0123",
        ".~+/:",
        "==",
        "\u{17f}",
        "\u{212a}",
        "é",
        "-",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The header matcher finds exactly what its rule's regex finds,
        /// on header-shaped text with noise and pieces that may break it.
        #[test]
        fn auth_header_matcher_agrees_with_its_regex(
            parts in (
                proptest::collection::vec(proptest::sample::select(AUTH_FRAGMENTS), 0..8),
                proptest::sample::select(&["authorization", "Authorization", "x-authorization", "bearer", "Bearer", "xbearer", ""][..]),
                proptest::collection::vec(proptest::sample::select(&["\\", "\"", "'", ":", "=", " ", "\u{a0}", ""][..]), 0..5),
                proptest::sample::select(&["token", "To\u{212a}en", "\u{17f}plunk", "SSWS", "api-key", "apikey", "klaviyo-api-key", "sso-\u{212a}ey", "dsn", "otp", "key", "Bearer", ""][..]),
                proptest::collection::vec(proptest::sample::select(&[" ", "\t", "\u{2003}", ""][..]), 0..3),
                proptest::collection::vec(proptest::sample::select(&["abcdefgh", "0123", ".~+/:", "\u{17f}", "\u{212a}", "_-", "==", "=", "é"][..]), 0..5),
                proptest::collection::vec(proptest::sample::select(AUTH_FRAGMENTS), 0..8),
            )
        ) {
            let (before, head, seps, scheme, spaces, credential, after) = parts;
            let text = format!(
                "{}{head}{}{scheme}{}{}{}",
                before.concat(),
                seps.concat(),
                spaces.concat(),
                credential.concat(),
                after.concat()
            );
            agree_on(&text, |m| m == Matcher::AuthHeader)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The userinfo matchers find exactly what their rules' regexes
        /// find, on URL-shaped text with noise and pieces that may break it.
        #[test]
        fn userinfo_matchers_agree_with_their_regexes(
            parts in (
                proptest::collection::vec(proptest::sample::select(USERINFO_NOISE), 0..4),
                proptest::sample::select(&[
                    "postgres", "PostgreSQL", "po\u{17f}tgres", "mongodb+srv", "rediss", "redis",
                    "jdbc:mysql", "jdbc:foo", "JDBC:", "jdbc:my\u{17f}ql", "https", "h", "x.y-z+w", "s3", "9p",
                    "\u{17f}x", "\u{212a}", "abcdefghijklmnopqrstu", "abcdefghijklmnopqrstuv", "",
                ][..]),
                proptest::sample::select(&["://", "://", "://", ":/", ""][..]),
                proptest::collection::vec(proptest::sample::select(&["u", "u", "é", "\u{a0}", "@", "/", ":"][..]), 0..3),
                proptest::sample::select(&[":", ":", ""][..]),
                proptest::collection::vec(proptest::sample::select(&["p", "p", "w:", "?", "é", "\"", " "][..]), 0..3),
                proptest::sample::select(&["@", "@", ""][..]),
                proptest::collection::vec(proptest::sample::select(USERINFO_NOISE), 0..4),
            )
        ) {
            let (before, scheme, sep, user, colon, password, at, after) = parts;
            let text = format!(
                "{}{scheme}{sep}{}{colon}{}{at}{}",
                before.concat(),
                user.concat(),
                password.concat(),
                after.concat()
            );
            agree_on(&text, |m| matches!(m, Matcher::Userinfo { .. }))?;
        }
    }

    /// What may come around a URL: scheme bytes, separators, word bytes.
    const USERINFO_NOISE: &[&str] = &[
        "a", "Z", "_", "_", "-", ".", "+", "9", " ", " ", "\"", "é", "\u{212a}", "://", "h:p@x",
        "/",
    ];

    /// What may come around an AWS secret: its class, `=`, separators.
    const SCREEN_NOISE: &[&str] = &[
        "aw",
        "AW",
        "x",
        "+",
        "/",
        "=",
        " ",
        ",",
        "\"",
        "é",
        "AKIA",
        "ASIA",
        "0123456789",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// A screened rule's regex matches only text its screen passes. The
        /// text is shaped like an assignment, so that the regexes often
        /// match, with noise around and pieces that may break it.
        #[test]
        fn screens_pass_whatever_their_regex_matches(
            parts in (
                proptest::collection::vec(proptest::sample::select(SCREEN_NOISE), 0..6),
                proptest::sample::select(&["aws", "AWS", "aWs", "Aws", "awſ", "", "a"][..]),
                proptest::collection::vec(proptest::sample::select(&["_", "-", ".", "x", "9", "AKIA", " "][..]), 0..3),
                proptest::sample::select(&["secret", "SECRET", "Key", "\u{212a}ey", "ſecret", "id"][..]),
                proptest::sample::select(&["", "\"", "'", "\\\"", " "][..]),
                proptest::sample::select(&["=", "=>", ":=", ":", " = ", ""][..]),
                proptest::sample::select(&["", " ", "\"", "'", "\\'", "\u{a0}"][..]),
                proptest::sample::select(&[
                    "Zq3fR8tLw0Xn5VbKj2HsY7dPm4GcA1uE9oTiW6/+",
                    "Zq3fR8tLw0Xn5VbKj2HsY7dPm4GcA1uE9oTiW6/",
                    "Zq3fR8tLw0Xn5VbKj2HsY7dPm4GcA1uE9oTiW6/+x",
                    "Zq3fR8tLw0Xn5VbKj2HsY7dPm4GcA1uE9oTiW6/=",
                ][..]),
                proptest::collection::vec(proptest::sample::select(SCREEN_NOISE), 0..6),
            )
        ) {
            let (before, aws, middle, word, quote, sep, open, value, after) = parts;
            let text = format!(
                "{}{aws}{}{word}{quote}{sep}{open}{value}{}",
                before.concat(),
                middle.concat(),
                after.concat()
            );
            let r = default_redactor();
            for rule in &r.inner.rules {
                if let Matcher::Screened(screen) = rule.matcher {
                    if rule.regex.is_match(&text) {
                        prop_assert!(screen.passes(text.as_bytes()), "rule {} on {:?}", rule.id, text);
                    }
                }
            }
        }
    }

    #[test]
    fn the_aws_screens_look_for_a_run_of_exactly_40() {
        let run = |n: usize| "aB3/+".repeat(8)[..n].to_string();
        let passes = |s: Screen, t: &str| s.passes(t.as_bytes());
        for (text, aws, named) in [
            (format!("aws_secret={}", run(40)), true, true),
            (format!("AWS key: \"{}\" x", run(40)), true, true),
            (format!("{} AKIA", run(40)), true, false),
            (format!("aws_secret={}", run(39)), false, false),
            (format!("aws_secret={}x", run(40)), false, false),
            (format!("aws_secret={}=", run(40)), false, false),
            (format!("aws {}é{}", run(12), run(40)), true, true),
            (String::new(), false, false),
        ] {
            assert_eq!(passes(Screen::AwsSecret, &text), aws, "{text}");
            assert_eq!(passes(Screen::NamedAwsSecret, &text), named, "{text}");
        }
        let r = default_redactor();
        let screened = r
            .inner
            .rules
            .iter()
            .filter(|r| matches!(r.matcher, Matcher::Screened(_)))
            .count();
        assert_eq!(screened, 2);
    }

    proptest! {
        /// The run finder finds exactly what the blob rule's regex finds.
        #[test]
        fn base64_runs_agree_with_the_blob_regex(
            parts in proptest::collection::vec(
                proptest::sample::select(&["a", "Z", "0", "+", "/", "-", "_", "=", "==", " ", "\"", ".", "é", "Fake0123456789Fake0123456789Fake0123456789Fake0123456789"][..]),
                0..40,
            )
        ) {
            let text: String = parts.concat();
            let r = default_redactor();
            let rule = r.inner.rules.iter().find(|r| r.id == "binary-blob").unwrap();
            let by_regex: Vec<(usize, usize)> = rule.regex.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            prop_assert_eq!(base64_runs(text.as_bytes(), builtin::BLOB_MIN), by_regex);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The run finder's skipping finds every run at any minimum length,
        /// with runs of every length near it and separators of every width.
        #[test]
        fn base64_runs_agree_with_the_regex_at_any_minimum(
            min in 1usize..7,
            parts in proptest::collection::vec(
                proptest::sample::select(&["a", "Z9", "+/-_", "=", "==", "===", " ", ".", "é", "abcde"][..]),
                0..30,
            )
        ) {
            let text: String = parts.concat();
            let re = regex::Regex::new(&format!("[A-Za-z0-9+/_\\-]{{{min},}}={{0,2}}")).unwrap();
            let by_regex: Vec<(usize, usize)> = re.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            prop_assert_eq!(base64_runs(text.as_bytes(), min), by_regex);
        }
    }

    #[test]
    fn the_blob_rule_is_the_one_the_run_finder_mirrors() {
        let b = builtin::VALUE_RULES
            .iter()
            .find(|b| b.id == "binary-blob")
            .unwrap();
        assert_eq!(
            b.pattern,
            format!("[A-Za-z0-9+/_\\-]{{{},}}={{0,2}}", builtin::BLOB_MIN)
        );
        assert_eq!(b.check, Check::Blob);
        let only: Vec<_> = builtin::VALUE_RULES
            .iter()
            .filter(|b| b.check == Check::Blob)
            .collect();
        assert_eq!(only.len(), 1);
        let long = "A1b2".repeat(50);
        assert_eq!(
            base64_runs(format!("x {long}=== y").as_bytes(), 160),
            vec![(2, 204)]
        );
        assert!(base64_runs(&long.as_bytes()[..159], 160).is_empty());
    }

    #[test]
    fn every_builtin_matcher_is_used_and_agrees_on_its_examples() {
        let r = Policy::default_policy().compile().unwrap();
        let mut seen = 0;
        for (ri, rule) in r.inner.rules.iter().enumerate() {
            if rule.matcher.runs_regex() {
                continue;
            }
            seen += 1;
            let b = builtin::VALUE_RULES
                .iter()
                .find(|b| b.id == rule.id)
                .unwrap();
            for t in b.positive.iter().chain(b.negative) {
                assert_eq!(
                    by_matcher(&r, ri, t),
                    by_regex(rule, t),
                    "{} on {t:?}",
                    rule.id
                );
            }
            for t in b.positive {
                assert!(!by_matcher(&r, ri, t).is_empty(), "{} on {t:?}", rule.id);
            }
        }
        assert_eq!(seen, 30);
    }

    proptest! {
        /// The `://` hits of the literal search find userinfo exactly where
        /// the whole-text check does.
        #[test]
        fn userinfo_hits_agree_with_the_whole_text_check(
            parts in proptest::collection::vec(
                proptest::sample::select(&["://", ":/", "@", "/", "u", "p:w", " ", "\"", "'", "<", "\n", "h.example", "é"][..]),
                0..30,
            )
        ) {
            let text: String = parts.concat();
            let r = default_redactor();
            let mut by_hits = false;
            r.trigger_hits(text.as_bytes(), |start, found| {
                for (t, len, _) in found {
                    if let Target::Userinfo = t {
                        by_hits |= userinfo_follows(text.as_bytes(), start + len);
                    }
                }
                false
            });
            prop_assert_eq!(by_hits, has_url_userinfo(text.as_bytes()), "{:?}", text);
        }
    }

    #[test]
    fn whitespace_test_agrees_with_char_is_whitespace() {
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let t = format!("ab{c}cd");
            assert_eq!(has_whitespace(&t), c.is_whitespace(), "{:?}", c);
        }
        assert!(!has_whitespace(""));
    }

    #[test]
    fn userinfo_prefilter_matches_only_userinfo() {
        assert!(has_url_userinfo(b"x postgres://u:p@h/db"));
        assert!(!has_url_userinfo(b"https://example.com/a@b"));
        assert!(!has_url_userinfo(b"mail me at a@b.c, see https://x.y"));
    }

    #[test]
    fn base64_run_finds_runs_anywhere() {
        let run = "A".repeat(20);
        for pad in 0..25 {
            let text = format!("{}{run}{}", " ".repeat(pad), " x".repeat(pad));
            assert!(has_base64_run(text.as_bytes(), 20), "{pad}");
            assert!(!has_base64_run(text.as_bytes(), 21), "{pad}");
        }
        assert!(!has_base64_run(b"ab cd", 3));
    }

    #[test]
    fn luhn_and_iban_checks() {
        assert!(luhn("4111111111111111"));
        assert!(!luhn("4111111111111112"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("GB82WEST12345698765433"));
    }

    #[test]
    fn references_and_masks_are_not_secrets() {
        for v in [
            "vault:secret/data/x#pw",
            "${DB_PASSWORD}",
            "********",
            "",
            "null",
        ] {
            assert!(!value_is_secret_for(KeyKind::Password, v), "{v}");
        }
        assert!(value_is_secret_for(KeyKind::Password, "hunter2"));
        assert!(!value_is_secret_for(
            KeyKind::Session,
            "3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b"
        ));
        assert!(value_is_secret_for(
            KeyKind::Token,
            "3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b"
        ));
    }

    #[test]
    fn randomness_heuristic() {
        assert!(looks_random("Fake0123456789FakeFake"));
        assert!(!looks_random("task-runner-for-the-nightly-build"));
        assert!(!looks_random("short1"));
    }
}
