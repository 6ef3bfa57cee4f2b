//! Hand-written matchers for the hottest value rules.
//!
//! A rule's regex is its definition. For the two shapes that fire on most
//! records — URL query parameters and `key = value` assignments — running
//! the regex over every string that holds a keyword cost more than
//! everything else in redaction together. These matchers start at each
//! keyword hit the automaton already found and look only at the bytes
//! around it. They return exactly what the regex's `find_iter` /
//! `captures_iter` would (tests compare the two on random text), with one
//! documented exception: the regexes' Unicode case folding also lets `ſ`
//! (U+017F) and `K` (U+212A) stand for `s` and `k`, which these two ASCII
//! matchers do not — the keyword automaton never reports such spellings,
//! so the regex never ran on them either.
//!
//! The third shape, a vendor token behind a fixed prefix (`ghp_…`,
//! `AKIA…`), is cheap for a regex to match, but each of those rules runs
//! rarely, so every run found the regex's own tables (its lazy DFA, its
//! caches) evicted from the CPU's caches by the records streamed in
//! between: ~10 µs a run, most of it memory latency, against ~0.2 µs with
//! the tables at hand. [`Matcher::Token`] reads the prefix and a byte
//! class's bitmap instead; [`Matcher::AuthHeader`] and
//! [`Matcher::Userinfo`] do the same for `Authorization`/`Bearer` headers
//! and URL passwords, and [`Matcher::Screened`] keeps a regex from running
//! on strings that lack what all its matches hold. These follow the
//! regexes' case folding exactly.

use std::ops::Range;

/// How a value rule finds its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Matcher {
    /// Run the rule's regex over the whole string.
    Regex,
    /// Run the rule's regex over the whole string when it passes `Screen`,
    /// a quick test of something every match holds.
    Screened(Screen),
    /// `[delims]name=value`: a URL query parameter.
    ///
    /// Mirrors `(?i)[delims](?:names…)=(?P<s>[^stop\s]+)`. Every name must
    /// contain one of the rule's keywords (checked by a test), so every
    /// match holds a hit.
    QueryParam {
        /// Bytes that may come right before the name.
        delims: &'static [u8],
        /// Parameter names, lowercase ASCII.
        names: &'static [&'static str],
        /// ASCII bytes that end the value (besides Unicode whitespace).
        stop: &'static [u8],
    },
    /// `key = value` in text, the key holding one of the rule's keywords.
    ///
    /// Mirrors `(?i)(?P<k>[a-z0-9_.\-]*(?:kw…)[a-z0-9_.\-]*)\\?["']?[ \t]*`
    /// `(?:=>|:=|=|:)[ \t]*(?:\\?"(?P<q1>[^"\\\r\n]*)\\?"|'(?P<q2>[^'\r\n]*)'`
    /// `|(?P<s>[^\s"'\\,;&})\]<>]+))`.
    Assignment,
    /// The password in a URL's userinfo, at a `://` hit.
    ///
    /// Mirrors `(?i)\bSCHEME://[^\s:/@"'<>\\]*:(?P<s>[^\s@/?#"'<>\\]+)@`
    /// with an ASCII word boundary, SCHEME being one of `schemes` (or
    /// `jdbc:[a-z0-9]+` with `jdbc`), or any `[a-z][a-z0-9+.\-]{1,20}` when
    /// `schemes` is empty. The value and the match's end do not depend on
    /// where the scheme starts, only on whether one fits.
    Userinfo {
        /// Scheme names, lowercase.
        schemes: &'static [&'static str],
        /// Whether `jdbc:` and a subprotocol is a scheme too.
        jdbc: bool,
    },
    /// An `Authorization` header's credential, or a `Bearer` token.
    ///
    /// Mirrors `(?i)(?:\bauthorization\\?["']?\s*[:=]\s*\\?["']?\s*`
    /// `(?:scheme…)\s+|\bbearer\s+)(?P<s>[A-Za-z0-9\-._~+/:]{8,}=*)`, with
    /// ASCII word boundaries and the regex's case folding (`ſ` and `K` for
    /// `s` and `k` included), the credential being the value.
    AuthHeader,
    /// A token that starts with a fixed prefix: `(?-u:\b)?(?:alt|…)(?-u:\b)?`,
    /// each alternative `prefix[body]{min,max}`.
    ///
    /// Every prefix must begin where one of the rule's trigger literals
    /// does, so that every match starts at a hit; with `lead`, every prefix
    /// starts with a word byte; with `trail`, every body is made of word
    /// bytes (all checked by a test), so that the boundary after a greedy
    /// body can only be at its end.
    Token {
        /// Whether a word boundary must come right before the prefix.
        lead: bool,
        /// The alternatives, in the regex's order.
        alts: &'static [TokenAlt],
        /// Whether a word boundary must come right after the body.
        trail: bool,
    },
}

impl Matcher {
    /// Whether matches are found by the rule's regex (screened or not).
    pub(crate) fn runs_regex(self) -> bool {
        matches!(self, Matcher::Regex | Matcher::Screened(_))
    }
}

/// A necessary condition for a rule's regex to match, much cheaper to test
/// than the regex is to run (see [`Matcher::Screened`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    /// A run of exactly 40 `[A-Za-z0-9/+]` not followed by `=`: the secret
    /// part of the AWS secret-key rules, which no character of that class
    /// may come right before or after (nor `=` after).
    AwsSecret,
    /// As [`Screen::AwsSecret`], and `aw` in any case: the rule's `(?i)aws`
    /// (no other character folds to `a` or `w`).
    NamedAwsSecret,
}

impl Screen {
    /// Whether `text` passes: `false` means the rule's regex cannot match.
    pub(crate) fn passes(self, text: &[u8]) -> bool {
        match self {
            Screen::AwsSecret => has_exact_run_40(text),
            Screen::NamedAwsSecret => has_aw(text) && has_exact_run_40(text),
        }
    }
}

/// `aw`, `AW`, `aW` or `Aw` somewhere in `text`.
fn has_aw(text: &[u8]) -> bool {
    memchr::memchr2_iter(b'a', b'A', text)
        .any(|i| text.get(i + 1).is_some_and(|&b| b | 0x20 == b'w'))
}

/// A maximal run of exactly 40 `[A-Za-z0-9/+]` not followed by `=`.
fn has_exact_run_40(text: &[u8]) -> bool {
    const N: usize = 40;
    let class = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    each_long_run(text, N, class, |start, end| {
        end - start == N && text.get(end) != Some(&b'=')
    })
}

/// Calls `f(start, end)` for each maximal run of `class` bytes at least
/// `min` long (at least 1), in order, until `f` returns `true`; returns
/// whether it did.
///
/// Looks at about one byte in `min` outside such runs: a byte outside the
/// class rules out every run through it, so the search jumps past it.
pub(crate) fn each_long_run(
    text: &[u8],
    min: usize,
    class: impl Fn(u8) -> bool,
    mut f: impl FnMut(usize, usize) -> bool,
) -> bool {
    let min = min.max(1);
    // Every run of `min` or more that starts at `floor` or later holds the
    // byte at `i`, or one `min` further on.
    let mut floor = 0;
    let mut i = min - 1;
    while let Some(&b) = text.get(i) {
        if !class(b) {
            i += min;
            floor = i + 1 - min;
            continue;
        }
        let start = run_start(text, i, floor, &class);
        let end = run_end(text, i, &class);
        if end - start >= min && f(start, end) {
            return true;
        }
        // The byte at `end` is outside the class: the next run starts after it.
        floor = end;
        i = end + min;
    }
    false
}

/// One alternative of a [`Matcher::Token`]: `prefix[body]{min,max}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenAlt {
    /// The prefix, spelled exactly (these regexes are case-sensitive).
    pub(crate) prefix: &'static str,
    /// The body's bytes, one bit per ASCII byte (see [`ascii_set`]).
    pub(crate) body: u128,
    /// Fewest body bytes.
    pub(crate) min: usize,
    /// Most body bytes; `usize::MAX` for no bound.
    pub(crate) max: usize,
}

impl TokenAlt {
    /// `prefix[body]{min,max}`, the body written as for [`ascii_set`].
    pub(crate) const fn new(prefix: &'static str, body: &[u8], min: usize, max: usize) -> Self {
        TokenAlt {
            prefix,
            body: ascii_set(body),
            min,
            max,
        }
    }
}

/// The ASCII bytes a regex class body such as `A-Za-z0-9_-` names: single
/// bytes, and `a-z` ranges (a `-` first or last stands for itself).
pub(crate) const fn ascii_set(spec: &[u8]) -> u128 {
    let mut set = 0u128;
    let mut i = 0;
    while i < spec.len() {
        let range = i + 2 < spec.len() && spec[i + 1] == b'-';
        let (lo, hi) = if range {
            (spec[i], spec[i + 2])
        } else {
            (spec[i], spec[i])
        };
        let mut b = lo;
        while b <= hi && b < 128 {
            set |= 1u128 << b;
            b += 1;
        }
        i += if range { 3 } else { 1 };
    }
    set
}

/// Whether `b` is in the [`ascii_set`] `set` (no byte past ASCII is).
fn in_set(set: u128, b: u8) -> bool {
    b < 128 && set >> b & 1 == 1
}

/// An ASCII word byte: what `(?-u:\b)` tells from everything else.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// One match: where the whole match ends (the next search starts there),
/// the key (assignments only) and the value, the part a rule replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) end: usize,
    pub(crate) key: Option<Range<usize>>,
    pub(crate) value: Range<usize>,
}

/// Runs `matcher` at each hit (`(start, keyword length)`, in increasing
/// order) of `text`, skipping hits inside an earlier match as `find_iter`
/// would, and returns the matches in order.
#[cfg(test)]
pub(crate) fn find_at_hits(matcher: Matcher, text: &str, hits: &[(usize, usize)]) -> Vec<Found> {
    find_accepted_at_hits(matcher, text, hits, |_| true)
}

/// Refused matches per text that do not hide the hits inside them; past
/// this, a refused match hides them as an accepted one does. A refused
/// match can reach to the end of the text, so trying every hit inside each
/// one would make a text of many refused matches cost quadratic time.
const MAX_SEE_THROUGH: usize = 8;

/// As [`find_at_hits`], keeping only the matches `accept` takes: a match it
/// refuses does not hide the hits inside it (up to [`MAX_SEE_THROUGH`]
/// times per text). Otherwise a refused match could hide a secret that a
/// second pass, with the text before it redacted, would find: redacting
/// twice must change nothing.
pub(crate) fn find_accepted_at_hits(
    matcher: Matcher,
    text: &str,
    hits: &[(usize, usize)],
    mut accept: impl FnMut(&Found) -> bool,
) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut see_through = 0usize;
    // Where the previous match ended: the regex resumes its search there.
    let mut resume = 0usize;
    // A hit in the same key (or name) as a failed one fails the same way.
    let mut failed_until = 0usize;
    for &(hit, len) in hits {
        if hit < resume || hit < failed_until {
            continue;
        }
        let found = match matcher {
            Matcher::Regex | Matcher::Screened(_) => None,
            Matcher::QueryParam {
                delims,
                names,
                stop,
            } => query_param(text, hit, resume, delims, names, stop),
            Matcher::Assignment => assignment(text, hit, len, resume),
            Matcher::Token { lead, alts, trail } => token(text.as_bytes(), hit, lead, alts, trail),
            Matcher::AuthHeader => auth_header(text, hit),
            Matcher::Userinfo { schemes, jdbc } => userinfo(text, hit, resume, schemes, jdbc),
        };
        match found {
            Some(f) if !accept(&f) => {
                if see_through < MAX_SEE_THROUGH {
                    see_through += 1;
                } else {
                    resume = f.end.max(hit + 1);
                }
            }
            Some(f) => {
                resume = f.end.max(hit + 1);
                out.push(f);
            }
            // A failed token, header or URL password says nothing of the
            // hits after it.
            None if matches!(
                matcher,
                Matcher::Token { .. } | Matcher::AuthHeader | Matcher::Userinfo { .. }
            ) => {}
            None => {
                failed_until = run_end(text.as_bytes(), hit, |b| is_name_byte(b) || b == b'.');
            }
        }
    }
    out
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_key_byte(b: u8) -> bool {
    is_name_byte(b) || b == b'.'
}

/// End of the run of `class` bytes that contains `at`.
fn run_end(text: &[u8], at: usize, class: impl Fn(u8) -> bool) -> usize {
    let mut e = at;
    while text.get(e).is_some_and(|&b| class(b)) {
        e += 1;
    }
    e
}

/// Start of the run of `class` bytes that ends at `at`, not before `floor`.
fn run_start(text: &[u8], at: usize, floor: usize, class: impl Fn(u8) -> bool) -> usize {
    let mut s = at;
    while s > floor && class(text[s - 1]) {
        s -= 1;
    }
    s
}

/// Whether the char starting at byte `i` of `text` is Unicode whitespace
/// (the regex's `\s`), and its length.
fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|t| t.chars().next())
}

/// The longest non-empty run from `from` of chars that are neither
/// whitespace nor one of the ASCII `stop` bytes; `None` when empty.
fn value_run(text: &str, from: usize, stop: &[u8]) -> Option<Range<usize>> {
    // One bit per ASCII byte that ends the run: the stop bytes and ASCII
    // whitespace (with \x0b, which `char::is_whitespace` also counts).
    // Values run long, and a set lookup per byte cost more than the rest.
    let ends = stop
        .iter()
        .chain(b" \t\n\x0b\x0c\r")
        .filter(|b| b.is_ascii())
        .fold(0u128, |m, &b| m | 1u128 << b);
    let bytes = text.as_bytes();
    let mut e = from;
    while let Some(&b) = bytes.get(e) {
        if b.is_ascii() {
            if ends >> b & 1 == 1 {
                break;
            }
            e += 1;
        } else {
            match char_at(text, e) {
                Some(c) if !c.is_whitespace() => e += c.len_utf8(),
                _ => break,
            }
        }
    }
    (e > from).then_some(from..e)
}

fn query_param(
    s: &str,
    hit: usize,
    floor: usize,
    delims: &[u8],
    names: &[&str],
    stop: &[u8],
) -> Option<Found> {
    // The name is the run of name bytes around the hit; a delimiter must
    // come right before it, and `=` right after.
    let text = s.as_bytes();
    let start = run_start(text, hit, floor, is_name_byte);
    let end = run_end(text, hit, is_name_byte);
    if start == 0 || start <= floor || !delims.contains(&text[start - 1]) {
        return None;
    }
    if text.get(end) != Some(&b'=') {
        return None;
    }
    let name = &text[start..end];
    if !names
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
    {
        return None;
    }
    let value = value_run(s, end + 1, stop)?;
    Some(Found {
        end: value.end,
        key: None,
        value,
    })
}

/// The [`Matcher::Token`] match that starts at `hit`, if any: the first
/// alternative whose prefix is spelled there and whose greedy body (and the
/// boundaries asked for) fits, as the regex's leftmost-first search has it.
pub(crate) fn token(
    text: &[u8],
    hit: usize,
    lead: bool,
    alts: &[TokenAlt],
    trail: bool,
) -> Option<Found> {
    if lead && !boundary(text, hit) {
        return None;
    }
    let rest = text.get(hit..)?;
    alts.iter().find_map(|alt| {
        let body_at = hit + alt.prefix.len();
        if !rest.starts_with(alt.prefix.as_bytes()) {
            return None;
        }
        let run = run_end(text, body_at, |b| in_set(alt.body, b)) - body_at;
        let len = if trail {
            // The body is word bytes: a boundary can only follow the whole run.
            let after = text.get(body_at + run).copied();
            (run <= alt.max && !after.is_some_and(is_word_byte)).then_some(run)?
        } else {
            run.min(alt.max)
        };
        (len >= alt.min).then(|| Found {
            end: body_at + len,
            key: None,
            value: hit..body_at + len,
        })
    })
}

/// The [`Matcher::Userinfo`] match at the `://` at `hit`, if any, with its
/// scheme starting at `floor` or later.
pub(crate) fn userinfo(
    text: &str,
    hit: usize,
    floor: usize,
    schemes: &[&str],
    jdbc: bool,
) -> Option<Found> {
    let b = text.as_bytes();
    if b.get(hit..hit + 3) != Some(b"://".as_slice()) {
        return None;
    }
    // The authority first: it is the same whatever the scheme.
    let user_end = value_run(text, hit + 3, b":/@\"'<>\\").map_or(hit + 3, |user| user.end);
    if b.get(user_end) != Some(&b':') {
        return None;
    }
    let password = value_run(text, user_end + 1, b"@/?#\"'<>\\")?;
    if b.get(password.end) != Some(&b'@') {
        return None;
    }
    let head = text.get(floor..hit)?;
    let fits = if schemes.is_empty() {
        any_scheme_ends(head, floor, b)
    } else {
        schemes
            .iter()
            .any(|name| folded_word_before(head, name).is_some_and(|p| boundary(b, floor + p)))
            || jdbc && jdbc_scheme_ends(head, floor, b)
    };
    fits.then(|| Found {
        end: password.end + 1,
        key: None,
        value: password,
    })
}

/// Whether `(?i)[a-z][a-z0-9+.\-]{1,20}`, after an ASCII word boundary,
/// ends where `head` does (`head` being `text[floor..]` up to the `://`).
fn any_scheme_ends(head: &str, floor: usize, text: &[u8]) -> bool {
    let mut chars = 0;
    for (p, c) in head.char_indices().rev() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-') || is_folded_letter(c)) {
            return false;
        }
        chars += 1;
        if chars > 21 {
            return false;
        }
        let letter = c.is_ascii_alphabetic() || is_folded_letter(c);
        if chars >= 2 && letter && boundary(text, floor + p) {
            return true;
        }
    }
    false
}

/// Whether `(?i)jdbc:[a-z0-9]+`, after an ASCII word boundary, ends where
/// `head` does.
fn jdbc_scheme_ends(head: &str, floor: usize, text: &[u8]) -> bool {
    let sub = head
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_ascii_alphanumeric() || is_folded_letter(c))
        .last();
    let Some((sub_start, _)) = sub else {
        return false;
    };
    let Some(p) = sub_start.checked_sub(5) else {
        return false;
    };
    head.get(p..sub_start)
        .is_some_and(|j| j.eq_ignore_ascii_case("jdbc:"))
        && boundary(text, floor + p)
}

/// Where `word` (lowercase ASCII) ends `head`, spelled as `(?i)` matches it
/// (see [`folded_word`]); the offset in `head` where it starts.
fn folded_word_before(head: &str, word: &str) -> Option<usize> {
    let mut at = head.len();
    for w in word.bytes().rev() {
        let c = head.get(..at)?.chars().next_back()?;
        if !folds_to(c, w) {
            return None;
        }
        at -= c.len_utf8();
    }
    Some(at)
}

/// `ſ` and `K` (the Kelvin sign): the letters `(?i)` lets stand for ASCII
/// ones (`s` and `k`).
fn is_folded_letter(c: char) -> bool {
    matches!(c, '\u{17f}' | '\u{212a}')
}

/// Whether `c` matches the ASCII letter or byte `w` under `(?i)`.
fn folds_to(c: char, w: u8) -> bool {
    c.is_ascii() && (c as u8).eq_ignore_ascii_case(&w)
        || w == b's' && c == '\u{17f}'
        || w == b'k' && c == '\u{212a}'
}

/// An ASCII word boundary (`(?-u:\b)`) at byte `p` of `text`.
fn boundary(text: &[u8], p: usize) -> bool {
    let before = p > 0 && text.get(p - 1).is_some_and(|&c| is_word_byte(c));
    let after = text.get(p).is_some_and(|&c| is_word_byte(c));
    before != after
}

/// The schemes `authorization-bearer` takes after `Authorization:`, in
/// its regex's order.
const AUTH_SCHEMES: &[&str] = &[
    "token",
    "apikey",
    "api-key",
    "key",
    "sso-key",
    "dsn",
    "otp",
    "ssws",
    "splunk",
    "klaviyo-api-key",
];

/// The [`Matcher::AuthHeader`] match that starts at `hit` (at `bearer` or
/// `authorization`, in any case), if any.
pub(crate) fn auth_header(text: &str, hit: usize) -> Option<Found> {
    let b = text.as_bytes();
    if !boundary(b, hit) {
        return None;
    }
    // `\\?["']?` at `p`.
    let escape_and_quote = |mut p: usize| {
        if b.get(p) == Some(&b'\\') {
            p += 1;
        }
        if matches!(b.get(p), Some(b'"' | b'\'')) {
            p += 1;
        }
        p
    };
    if let Some(p) = folded_word(text, hit, "authorization") {
        let p = skip_whitespace(text, escape_and_quote(p));
        if !matches!(b.get(p), Some(b':' | b'=')) {
            return None;
        }
        let p = skip_whitespace(text, escape_and_quote(skip_whitespace(text, p + 1)));
        // The first scheme that spells the text there and leads to a
        // credential, as the regex's alternation tries them.
        return AUTH_SCHEMES
            .iter()
            .find_map(|scheme| credential_after(text, folded_word(text, p, scheme)?));
    }
    credential_after(text, folded_word(text, hit, "bearer")?)
}

/// `\s+(?P<s>[A-Za-z0-9\-._~+/:]{8,}=*)` at `p`, under `(?i)` (which adds
/// `ſ` and `K` to the class).
fn credential_after(text: &str, p: usize) -> Option<Found> {
    let start = skip_whitespace(text, p);
    if start == p {
        return None;
    }
    let b = text.as_bytes();
    let mut end = start;
    let mut chars = 0usize;
    loop {
        match b.get(end) {
            Some(c) if c.is_ascii_alphanumeric() || b"-._~+/:".contains(c) => end += 1,
            Some(_)
                if text
                    .get(end..)
                    .is_some_and(|t| t.starts_with(['\u{17f}', '\u{212a}'])) =>
            {
                end += char_at(text, end).map_or(1, char::len_utf8);
            }
            _ => break,
        }
        chars += 1;
    }
    if chars < 8 {
        return None;
    }
    end = run_end(b, end, |c| c == b'=');
    Some(Found {
        end,
        key: None,
        value: start..end,
    })
}

/// The end of `word` (lowercase ASCII letters and `-`) spelled at `p` as
/// the regex's `(?i)` matches it: ASCII case aside, `ſ` stands for `s` and
/// `K` (the Kelvin sign) for `k`.
fn folded_word(text: &str, p: usize, word: &str) -> Option<usize> {
    let mut at = p;
    for w in word.bytes() {
        let c = char_at(text, at)?;
        if !folds_to(c, w) {
            return None;
        }
        at += c.len_utf8();
    }
    Some(at)
}

/// The end of the whitespace (the regex's `\s`) starting at `p`.
fn skip_whitespace(text: &str, mut p: usize) -> usize {
    while let Some(c) = char_at(text, p).filter(|c| c.is_whitespace()) {
        p += c.len_utf8();
    }
    p
}

/// The value bytes that end an unquoted assignment value.
const ASSIGNMENT_STOP: &[u8] = b"\"'\\,;&})]<>";

fn assignment(text: &str, hit: usize, len: usize, floor: usize) -> Option<Found> {
    let b = text.as_bytes();
    let key_start = run_start(b, hit, floor, is_key_byte);
    if !b.get(hit..hit + len)?.iter().all(|&c| is_key_byte(c)) {
        return None;
    }
    let key_end = run_end(b, hit + len, is_key_byte);
    let mut p = key_end;
    if b.get(p) == Some(&b'\\') {
        p += 1;
    }
    if matches!(b.get(p), Some(b'"' | b'\'')) {
        p += 1;
    }
    while matches!(b.get(p), Some(b' ' | b'\t')) {
        p += 1;
    }
    // The separators in the regex's order; the first whose value matches wins.
    for sep in ["=>", ":=", "=", ":"] {
        if !b[p..].starts_with(sep.as_bytes()) {
            continue;
        }
        let mut q = p + sep.len();
        while matches!(b.get(q), Some(b' ' | b'\t')) {
            q += 1;
        }
        if let Some((value, end)) = assignment_value(text, q) {
            return Some(Found {
                end,
                key: Some(key_start..key_end),
                value,
            });
        }
    }
    None
}

/// The value part of an assignment at `q`: the quoted content (`q1`, `q2`)
/// or the bare run (`s`), and where the whole match ends.
fn assignment_value(text: &str, q: usize) -> Option<(Range<usize>, usize)> {
    let b = text.as_bytes();
    // \\?"(?P<q1>[^"\\\r\n]*)\\?"
    let open = match (b.get(q), b.get(q + 1)) {
        (Some(b'\\'), Some(b'"')) => Some(q + 2),
        (Some(b'"'), _) => Some(q + 1),
        _ => None,
    };
    if let Some(c) = open {
        let e = run_end(b, c, |x| !matches!(x, b'"' | b'\\' | b'\r' | b'\n'));
        match (b.get(e), b.get(e + 1)) {
            (Some(b'\\'), Some(b'"')) => return Some((c..e, e + 2)),
            (Some(b'"'), _) => return Some((c..e, e + 1)),
            _ => {}
        }
    }
    // '(?P<q2>[^'\r\n]*)'
    if b.get(q) == Some(&b'\'') {
        let e = run_end(b, q + 1, |x| !matches!(x, b'\'' | b'\r' | b'\n'));
        if b.get(e) == Some(&b'\'') {
            return Some((q + 1..e, e + 1));
        }
    }
    // (?P<s>[^\s"'\\,;&})\]<>]+)
    let s = value_run(text, q, ASSIGNMENT_STOP)?;
    let end = s.end;
    Some((s, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: Matcher = Matcher::QueryParam {
        delims: b"?&;",
        names: &["signature", "policy"],
        stop: b"&#\"'<>\\",
    };

    fn hits_of(text: &str, words: &[&str]) -> Vec<(usize, usize)> {
        let lower = text.to_ascii_lowercase();
        let mut hits = Vec::new();
        for i in 0..lower.len() {
            for w in words {
                if lower.as_bytes()[i..].starts_with(w.as_bytes()) {
                    hits.push((i, w.len()));
                }
            }
        }
        hits
    }

    #[test]
    fn query_parameters() {
        let t = "https://x/y?a=1&Signature=abc%2F&policy=p q";
        let found = find_at_hits(SIGNED, t, &hits_of(t, &["signature=", "policy="]));
        let values: Vec<&str> = found.iter().map(|f| &t[f.value.clone()]).collect();
        assert_eq!(values, ["abc%2F", "p"]);
        // No delimiter before the name, or an empty value: no match.
        for t in ["x_signature=abc", "?signature=&", "?signatures=abc"] {
            assert!(
                find_at_hits(SIGNED, t, &hits_of(t, &["signature="])).is_empty(),
                "{t}"
            );
        }
    }

    #[test]
    fn assignments() {
        let cases = [
            ("export DB_PASSWORD=hunter2 x", "DB_PASSWORD", "hunter2"),
            (
                r#"{'client_secret': 'abc def', 'n': 1}"#,
                "client_secret",
                "abc def",
            ),
            (r#"{\"api_key\": \"v1\"}"#, "api_key", "v1"),
            ("token := xyz;", "token", "xyz"),
            ("auth => 'a'", "auth", "a"),
        ];
        for (t, key, value) in cases {
            let found = find_at_hits(
                Matcher::Assignment,
                t,
                &hits_of(t, &["pass", "secret", "key", "token", "auth"]),
            );
            assert_eq!(found.len(), 1, "{t}");
            assert_eq!(&t[found[0].key.clone().unwrap()], key, "{t}");
            assert_eq!(&t[found[0].value.clone()], value, "{t}");
        }
        let t = "the token was rotated";
        assert!(find_at_hits(Matcher::Assignment, t, &hits_of(t, &["token"])).is_empty());
    }
}
