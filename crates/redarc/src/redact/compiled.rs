//! The compiled policy: every regex and automaton built once, shared by all
//! records and threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aho_corasick::AhoCorasick;

use super::literals::Literals;

use super::matcher::Matcher;
use regex::Regex;

use super::builtin::{self, Check, KeyKind, Trigger, VALUE_RULES};
use super::policy::{Action, Base, Policy, Profile};
use super::pseudonym::PseudonymKey;
use crate::format::Digest;
use crate::{Error, Result};

/// Which regex-run a keyword leads to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// A value rule, by index.
    Rule(usize),
    /// A value rule whose literal only counts in a `key = value` shape.
    KeyShaped(usize),
    /// Only a key-name trigger: counts when the key it sits in names a secret.
    Structure,
    /// The last key of a path rule: always walks, the walk matching paths.
    Path,
    /// `://`: a URL whose userinfo the URL-userinfo rules look at, when
    /// an `@` follows before the authority ends.
    Userinfo,
}

/// Source of [`Inner::id`].
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A value rule ready to run.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) id: String,
    pub(crate) regex: Regex,
    pub(crate) check: Check,
    pub(crate) action: Action,
    /// Whether the regex has the `s`/`q1`/`q2`/`k` groups (else `find_iter` does).
    pub(crate) has_groups: bool,
    /// The regex itself, or a matcher run at the keyword hits that finds
    /// the same matches faster.
    pub(crate) matcher: Matcher,
}

/// A key family or custom key name with its action.
#[derive(Debug, Clone)]
pub(crate) struct KeyAction {
    pub(crate) id: String,
    pub(crate) kind: KeyKind,
    pub(crate) action: Action,
}

/// A path rule or allowed path.
#[derive(Debug)]
pub(crate) struct CompiledPath {
    pub(crate) entity: Option<String>,
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) action: Action,
}

/// Everything a [`Redactor`] holds; behind an `Arc` so clones are cheap.
pub(crate) struct Inner {
    /// Unique per compiled policy: keys the per-thread key-name cache.
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) policy_sha256: Digest,
    pub(crate) rules: Vec<CompiledRule>,
    /// One ASCII case-insensitive search for every trigger literal; it runs
    /// on the text as is (no lowercased copy).
    pub(crate) literals: Option<Literals>,
    /// Per literal: what a hit leads to, with the exact spelling the hit
    /// must also have in the original text for case-carrying literals.
    pub(crate) targets: Vec<Vec<Hit>>,
    pub(crate) userinfo_rules: Vec<usize>,
    pub(crate) blob_rules: Vec<usize>,
    pub(crate) always_rules: Vec<usize>,
    /// Some rule has no literal to look for: every record takes the full walk.
    pub(crate) always_walk: bool,
    /// Built-in key families, `None` when the family is off.
    pub(crate) key_families: Vec<(KeyKind, Option<KeyAction>)>,
    /// Custom key names, normalised (lowercase alphanumerics only).
    pub(crate) custom_keys: Vec<(String, KeyAction)>,
    pub(crate) paths: Vec<CompiledPath>,
    pub(crate) allow_paths: Vec<CompiledPath>,
    pub(crate) allow_values: Vec<Regex>,
    pub(crate) pseudonym: Option<PseudonymKey>,
    pub(crate) protected: Regex,
    /// [`KEY_TRIGGERS`], ASCII case-insensitive: a key whose alphanumerics
    /// hold none of them is no built-in key family.
    pub(crate) key_triggers: AhoCorasick,
}

/// A compiled policy, applied to records. Cheap to clone and share across threads.
///
/// ```
/// let r = redarc::Policy::default_policy().compile().unwrap();
/// let mut out = Vec::new();
/// let mut report = redarc::Report::new();
/// r.redact_line(
///     "chat_sessions",
///     br#"{"text":"use Authorization: Bearer FakeToken0123456789"}"#,
///     &mut out,
///     &mut report,
/// ).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     r#"{"text":"use Authorization: Bearer [REDACTED:authorization-bearer]"}"#
/// );
/// ```
#[derive(Clone)]
pub struct Redactor {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("policy", &self.inner.name)
            .field("value_rules", &self.inner.rules.len())
            .field("pseudonym_key_id", &self.pseudonym_key_id())
            .finish()
    }
}

/// Literals whose presence means a key could name a secret. Every key
/// [`builtin::classify_key`] accepts contains one of them (ASCII case-insensitive),
/// which is what lets a record without any of them skip the walk.
/// What precedes a URL's authority: the literal of [`Target::Userinfo`].
pub(crate) const SCHEME_SEP: &str = "://";

const KEY_TRIGGERS: &[&str] = &[
    "pass", "pwd", "secret", "token", "key", "auth", "cookie", "sess",
    // `cred` and not `creds`: `classify_key` also accepts a last word `cred`.
    "cred", "jwt",
];

/// The placeholder or pseudonym forms that must never match again.
const PROTECTED: &str =
    r"\[(?:REDACTED:[A-Za-z0-9_.\-]+(?: size=\d+ sha256=[0-9a-f]{64})?|PSEUDONYM:[0-9a-f]{16})\]";

impl Policy {
    /// Compiles the policy into a [`Redactor`], reading the pseudonym key from
    /// the policy's `pseudonym` source when a rule needs one.
    ///
    /// # Errors
    /// [`Error::Policy`] for an unknown rule id, a bad regex, a rule id that
    /// is not `[A-Za-z0-9_.-]+`, or a pseudonym action without a key.
    pub fn compile(&self) -> Result<Redactor> {
        self.compile_with_key(None)
    }

    /// Compiles the policy with a pseudonym key given by the caller, which
    /// takes precedence over the policy's own `pseudonym` source.
    ///
    /// # Errors
    /// As [`Policy::compile`].
    pub fn compile_with_key(&self, key: Option<PseudonymKey>) -> Result<Redactor> {
        let action_of = |a: Option<Action>| a.unwrap_or(self.default_action);
        for o in &self.rules {
            let known = VALUE_RULES.iter().any(|r| r.id == o.id)
                || builtin::KEY_RULES.iter().any(|r| r.id == o.id);
            if !known {
                return Err(Error::Policy(format!(
                    "unknown built-in rule id {:?}",
                    o.id
                )));
            }
        }
        let override_for = |id: &str| self.rules.iter().rev().find(|o| o.id == id);
        let mut uses_pseudonym = self.default_action == Action::Pseudonym;

        // Each rule with its pattern; the regexes are compiled at the end,
        // two at a time.
        let mut rules: Vec<(RuleSource, String)> = Vec::new();
        let mut triggers: Vec<(String, bool, Target)> = Vec::new();
        let mut userinfo_rules = Vec::new();
        let mut blob_rules = Vec::new();
        let mut always_rules = Vec::new();
        if self.base == Base::Builtin {
            for b in VALUE_RULES {
                let on = match b.profile {
                    Profile::Default => true,
                    Profile::Pii => self.has_profile(Profile::Pii),
                };
                let ov = override_for(b.id);
                if !on && ov.is_none() || ov.is_some_and(|o| !o.enabled) {
                    continue;
                }
                let action = action_of(ov.and_then(|o| o.action));
                uses_pseudonym |= action == Action::Pseudonym;
                let idx = rules.len();
                // ASCII word boundaries: Unicode ones would keep the fast DFA
                // from running on text with non-ASCII letters.
                let pattern = b.pattern.replace(r"\b", r"(?-u:\b)");
                let source = RuleSource {
                    id: b.id.to_string(),
                    check: b.check,
                    action,
                    matcher: b.matcher,
                    refusal: format!("built-in rule {} does not compile", b.id),
                };
                rules.push((source, pattern));
                match b.trigger {
                    Trigger::Keywords(k) => {
                        triggers.extend(k.iter().map(|k| (k.to_string(), false, Target::Rule(idx))))
                    }
                    Trigger::KeyShaped(k) => triggers.extend(
                        k.iter()
                            .map(|k| (k.to_string(), false, Target::KeyShaped(idx))),
                    ),
                    Trigger::Exact(k) => {
                        triggers.extend(k.iter().map(|k| (k.to_string(), true, Target::Rule(idx))))
                    }
                    Trigger::UrlUserinfo => {
                        if userinfo_rules.is_empty() {
                            triggers.push((SCHEME_SEP.to_string(), false, Target::Userinfo));
                        }
                        userinfo_rules.push(idx);
                    }
                    Trigger::Base64Run => blob_rules.push(idx),
                    Trigger::Always => always_rules.push(idx),
                }
            }
        }
        for p in &self.patterns {
            check_id(&p.id)?;
            let action = action_of(p.action);
            uses_pseudonym |= action == Action::Pseudonym;
            let idx = rules.len();
            let source = RuleSource {
                id: p.id.clone(),
                check: Check::None,
                action,
                matcher: Matcher::Regex,
                refusal: format!("pattern of rule {} does not compile", p.id),
            };
            rules.push((source, p.pattern.clone()));
            if p.keywords.is_empty() {
                always_rules.push(idx);
            } else {
                triggers.extend(
                    p.keywords
                        .iter()
                        .map(|k| (k.clone(), false, Target::Rule(idx))),
                );
            }
        }

        let mut key_families = Vec::new();
        if self.base == Base::Builtin {
            for k in builtin::KEY_RULES {
                let ov = override_for(k.id);
                let entry = if ov.is_some_and(|o| !o.enabled) {
                    None
                } else {
                    let action = action_of(ov.and_then(|o| o.action));
                    uses_pseudonym |= action == Action::Pseudonym;
                    Some(KeyAction {
                        id: k.id.to_string(),
                        kind: k.kind,
                        action,
                    })
                };
                key_families.push((k.kind, entry));
            }
            triggers.extend(
                KEY_TRIGGERS
                    .iter()
                    .map(|k| (k.to_string(), false, Target::Structure)),
            );
        }
        let mut custom_keys = Vec::new();
        for kn in &self.key_names {
            check_id(&kn.id)?;
            let action = action_of(kn.action);
            uses_pseudonym |= action == Action::Pseudonym;
            for name in &kn.names {
                let words = builtin::key_words(name);
                let Some(longest) = words.iter().max_by_key(|w| w.len()) else {
                    return Err(Error::Policy(format!("rule {}: empty key name", kn.id)));
                };
                triggers.push((longest.clone(), false, Target::Structure));
                custom_keys.push((
                    words.concat(),
                    KeyAction {
                        id: kn.id.clone(),
                        kind: KeyKind::Password,
                        action,
                    },
                ));
            }
        }
        let mut always_walk = !always_rules.is_empty();
        let mut paths = Vec::new();
        for p in &self.paths {
            let id = p.id.clone().unwrap_or_else(|| "path".to_string());
            check_id(&id)?;
            let action = action_of(p.action);
            uses_pseudonym |= action == Action::Pseudonym;
            match last_path_key(&p.path) {
                Some(k) => triggers.push((k, true, Target::Path)),
                None => always_walk = true,
            }
            paths.push(CompiledPath {
                entity: p.entity.clone(),
                path: p.path.clone(),
                id,
                action,
            });
        }
        let allow_paths = self
            .allow
            .paths
            .iter()
            .map(|p| CompiledPath {
                entity: p.entity.clone(),
                path: p.path.clone(),
                id: String::new(),
                action: Action::Keep,
            })
            .collect();
        let allow_values = self
            .allow
            .values
            .iter()
            .map(|v| {
                Regex::new(&format!("^(?:{v})$"))
                    .map_err(|_| Error::Policy("an allow.values pattern does not compile".into()))
            })
            .collect::<Result<Vec<_>>>()?;

        let key = match key {
            Some(k) => Some(k),
            None => match (&self.pseudonym.key_file, &self.pseudonym.key_env) {
                (Some(f), _) => Some(PseudonymKey::from_file(f)?),
                (None, Some(var)) => PseudonymKey::from_env(var)?,
                (None, None) => None,
            },
        };
        if uses_pseudonym && key.is_none() {
            return Err(Error::Policy(
                "the policy uses pseudonyms but no pseudonym key was given".into(),
            ));
        }

        let (sources, patterns): (Vec<RuleSource>, Vec<String>) = rules.into_iter().unzip();
        let (regexes, automaton) = compile_beside(patterns, || build_literals(&triggers));
        let rules = sources
            .into_iter()
            .zip(regexes)
            .map(|(source, regex)| {
                let regex = regex.map_err(|_| Error::Policy(source.refusal))?;
                Ok(CompiledRule {
                    id: source.id,
                    has_groups: regex.capture_names().flatten().next().is_some(),
                    regex,
                    check: source.check,
                    action: source.action,
                    matcher: source.matcher,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (literals, targets) = automaton?;
        let protected = Regex::new(PROTECTED)
            .map_err(|_| Error::Policy("placeholder pattern does not compile".into()))?;
        let key_triggers = AhoCorasick::new(KEY_TRIGGERS)
            .map_err(|_| Error::Policy("key-name automaton could not be built".into()))?;
        Ok(Redactor {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                key_triggers,
                name: self.name.clone(),
                policy_sha256: Digest::of(self.canonical_json().as_bytes()),
                rules,
                literals,
                targets,
                userinfo_rules,
                blob_rules,
                always_rules,
                always_walk,
                key_families,
                custom_keys,
                paths,
                allow_paths,
                allow_values,
                pseudonym: key,
                protected,
            }),
        })
    }
}

/// A value rule before its regex is compiled.
struct RuleSource {
    id: String,
    check: Check,
    action: Action,
    matcher: Matcher,
    /// The policy error if the pattern does not compile.
    refusal: String,
}

/// Compiles `patterns` on this thread and one beside it, while this
/// thread also runs `meanwhile`; returns the regexes in the order of
/// `patterns`. Each thread takes the next pattern not yet taken, so the
/// two finish together however the work falls.
///
/// The built-in rules' regexes take about 9 ms to compile on one core,
/// and the keyword table about 1 ms more, before any record can be
/// redacted; every command that redacts or scans waits for them, a pack
/// of 200 MB in 0.6 s among them. If the thread does not start, or
/// stops, the patterns it left are compiled here.
fn compile_beside<T>(
    patterns: Vec<String>,
    meanwhile: impl FnOnce() -> T,
) -> (Vec<std::result::Result<Regex, regex::Error>>, T) {
    let next = AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(pattern) = patterns.get(i) else {
                return done;
            };
            done.push((i, Regex::new(pattern)));
        }
    };
    std::thread::scope(|scope| {
        let beside = std::thread::Builder::new()
            .name("redarc-compile".into())
            .spawn_scoped(scope, take);
        let side = meanwhile();
        let mut slots: Vec<Option<_>> = std::iter::repeat_with(|| None)
            .take(patterns.len())
            .collect();
        let mine = take();
        let theirs = beside.ok().and_then(|handle| handle.join().ok());
        for (i, regex) in mine.into_iter().chain(theirs.into_iter().flatten()) {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(regex);
            }
        }
        let regexes = slots
            .into_iter()
            .zip(&patterns)
            .map(|(slot, pattern)| slot.unwrap_or_else(|| Regex::new(pattern)))
            .collect();
        (regexes, side)
    })
}

/// Rule ids appear inside placeholders, so they must not be able to break
/// out of one or look like something else.
fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(Error::Policy(format!(
            "rule id must be 1–64 of [A-Za-z0-9_.-], got {:?}",
            crate::error::printable(id)
        )));
    }
    Ok(())
}

/// The last object key named in a JSON path such as `$.a.b[*]` or
/// `$["x-y"]`, used as a literal trigger; `None` when the path names no key
/// or the key would be escaped in JSON text.
fn last_path_key(path: &str) -> Option<String> {
    let mut rest = path.strip_prefix('$')?;
    let mut last = None;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[*]") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("[\"") {
            let end = r.find("\"]")?;
            last = Some(r[..end].to_string());
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            last = Some(r[..end].to_string());
            rest = &r[end..];
        } else {
            return None;
        }
    }
    last.filter(|k| !k.is_empty() && !k.contains(['"', '\\']) && !k.chars().any(char::is_control))
}

/// What one literal leads to, with the exact spelling a case-carrying
/// literal must also have in the original text.
/// The middle field is the literal's length (the hit's end is start + it).
pub(crate) type Hit = (Target, usize, Option<Box<[u8]>>);

type Automaton = (Option<Literals>, Vec<Vec<Hit>>);

/// One search over the distinct lowercased literals; each literal maps to
/// every rule that listed it.
fn build_literals(triggers: &[(String, bool, Target)]) -> Result<Automaton> {
    let mut pats: Vec<String> = Vec::new();
    let mut targets: Vec<Vec<Hit>> = Vec::new();
    for (lit, exact, t) in triggers {
        if lit.is_empty() {
            continue;
        }
        let norm = lit.to_ascii_lowercase();
        let spelled = exact.then(|| lit.as_bytes().to_vec().into_boxed_slice());
        let len = norm.len();
        match pats.iter().position(|p| *p == norm) {
            Some(i) => targets[i].push((*t, len, spelled)),
            None => {
                pats.push(norm);
                targets.push(vec![(*t, len, spelled)]);
            }
        }
    }
    if pats.is_empty() {
        return Ok((None, targets));
    }
    let literals = Literals::new(&pats)
        .ok_or_else(|| Error::Policy("keyword automaton could not be built".into()))?;
    Ok((Some(literals), targets))
}

/// Whether a hit at `start` has the exact spelling a case-carrying literal needs.
pub(crate) fn spelled_at(text: &[u8], start: usize, spelled: &Option<Box<[u8]>>) -> bool {
    spelled
        .as_deref()
        .is_none_or(|s| text.get(start..start + s.len()) == Some(s))
}

impl Redactor {
    /// The policy name.
    pub fn policy_name(&self) -> &str {
        &self.inner.name
    }

    /// SHA-256 of the policy's canonical JSON, recorded in the manifest.
    pub fn policy_sha256(&self) -> Digest {
        self.inner.policy_sha256
    }

    /// The pseudonym key id, when the redactor holds a key.
    pub fn pseudonym_key_id(&self) -> Option<&str> {
        self.inner.pseudonym.as_ref().map(PseudonymKey::id)
    }

    /// Calls `f` with the start and the targets of every occurrence of a
    /// trigger literal in `text` (ASCII case-insensitive; overlapping ones
    /// too, so several calls may share a start), in no particular order,
    /// until `f` returns `true`; returns whether it did.
    pub(crate) fn trigger_hits(
        &self,
        text: &[u8],
        mut f: impl FnMut(usize, &[Hit]) -> bool,
    ) -> bool {
        let Some(literals) = &self.inner.literals else {
            return false;
        };
        let targets = &self.inner.targets;
        literals.each(text, |start, lit| {
            targets.get(lit).is_some_and(|hits| f(start, hits))
        })
    }

    /// Whether `line` could hold anything this policy changes. Sound: a
    /// `false` means no rule can match, so the line may be copied as is.
    pub(crate) fn needs_walk(&self, line: &[u8]) -> bool {
        let i = &self.inner;
        if i.always_walk {
            return true;
        }
        let mut settled = Settled::default();
        let hit = self.trigger_hits(line, |start, hits| {
            hits.iter().any(|(t, lit, spelled)| {
                let (s, e) = (start, start + *lit);
                if !spelled_at(line, s, spelled) {
                    return false;
                }
                // The quotes of the JSON string the hit is in, found once
                // for the checks below.
                let string = match t {
                    Target::Path => return true,
                    Target::Userinfo if !super::detect::userinfo_follows(line, e) => {
                        return false;
                    }
                    _ => string_around(line, s, e),
                };
                let matters = match t {
                    Target::Rule(r) => self.rule_hit_matters(line, s, string, *r),
                    Target::KeyShaped(_) | Target::Structure => {
                        self.key_hit_matters(line, s, e, string)
                    }
                    Target::Path | Target::Userinfo => true,
                };
                matters && !self.protected_string_stays(line, string, &mut settled)
            })
        });
        if hit {
            return true;
        }
        scan_bytes(line, !i.blob_rules.is_empty())
    }

    /// Whether a value rule's literal at `line[s..]` can lead to a change.
    /// When the hit sits in a JSON string with no escapes, the raw bytes are
    /// the string the walk would scan, so the rule decides now: its token
    /// or header matcher at the hit, or its screen and regex on the string.
    /// A short prefix such as `SK` inside an upper-case id then costs a look
    /// at one string instead of parsing and walking the whole record.
    /// Anything else (escapes, other hand-written matchers, path keys)
    /// walks.
    /// `string` holds the quotes around the hit ([`string_around`]).
    fn rule_hit_matters(
        &self,
        line: &[u8],
        s: usize,
        string: Option<(usize, usize)>,
        rule: usize,
    ) -> bool {
        let Some(r) = self.inner.rules.get(rule) else {
            return true;
        };
        let Some((q0, q1)) = string else {
            return true;
        };
        let raw = &line[q0 + 1..q1];
        if raw.contains(&b'\\') {
            return true;
        }
        // The hit's offset in the string.
        let at = s.checked_sub(q0 + 1);
        match r.matcher {
            // A token's or header's match depends only on the bytes from
            // its hit on and the one before it, all inside this string.
            Matcher::Token { lead, alts, trail } => match at {
                Some(at) => super::matcher::token(raw, at, lead, alts, trail).is_some(),
                None => true,
            },
            Matcher::AuthHeader => match (std::str::from_utf8(raw), at) {
                (Ok(text), Some(at)) => super::matcher::auth_header(text, at).is_some(),
                _ => true,
            },
            Matcher::Screened(screen) if !screen.passes(raw) => false,
            Matcher::Regex | Matcher::Screened(_) => match std::str::from_utf8(raw) {
                Ok(text) => r.regex.is_match(text),
                Err(_) => true,
            },
            Matcher::QueryParam { .. } | Matcher::Assignment | Matcher::Userinfo { .. } => true,
        }
    }

    /// Whether the string value between the quotes `string`, which holds a
    /// placeholder or a pseudonym and no escape, stays as it is in the walk,
    /// although a hit in it looked as if it could lead to a change. A
    /// redacted archive's residual scan meets such strings on most redacted
    /// lines: `Signature=[REDACTED:signed-url]`, `api_key=[REDACTED:…]`,
    /// `https://user:[REDACTED:…]@host` still show a rule's literal and
    /// shape. Without escapes the raw bytes are the string the walk sees, and
    /// what the walk does to a string under no key is what the value rules
    /// find in it (a key's own value is its key hit's business, and a
    /// string that parses as JSON holds no strings to change); so the value
    /// rules run on it now. `false` for any other string, a key included.
    /// `settled` remembers strings found to stay (one string often holds
    /// several hits).
    fn protected_string_stays(
        &self,
        line: &[u8],
        string: Option<(usize, usize)>,
        settled: &mut Settled,
    ) -> bool {
        let Some((q0, q1)) = string else {
            return false;
        };
        if settled.holds(q0) {
            return true;
        }
        let raw = &line[q0 + 1..q1];
        if !holds_protected(raw) || memchr::memchr(b'\\', raw).is_some() || is_json_key(line, q1) {
            return false;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return false;
        };
        let stays = self.find_spans(text).is_empty();
        if stays {
            settled.add(q0);
        }
        stays
    }

    /// Whether a key-name literal at `line[s..e]` can lead to a change: it
    /// sits in a JSON key that names a secret, in a string that may itself
    /// be JSON, or in a `key = value` shape whose key names a secret. The
    /// walk classifies exactly these keys, so skipping the rest is sound.
    /// `string` holds the quotes around the hit ([`string_around`]).
    fn key_hit_matters(
        &self,
        line: &[u8],
        s: usize,
        e: usize,
        string: Option<(usize, usize)>,
    ) -> bool {
        let Some((q0, q1)) = string else {
            return true;
        };
        let mut after = q1 + 1;
        while line.get(after).is_some_and(|b| b.is_ascii_whitespace()) {
            after += 1;
        }
        if line.get(after) == Some(&b':') {
            let raw = &line[q0 + 1..q1];
            if raw.contains(&b'\\') {
                return true;
            }
            return match std::str::from_utf8(raw) {
                Ok(key) => self
                    .key_action(key)
                    .is_some_and(|ka| self.key_value_may_change(ka, line, after + 1)),
                Err(_) => true,
            };
        }
        // A value string: one that may be JSON is walked as structure.
        if may_be_json(&line[q0 + 1..q1]) {
            return true;
        }
        let ident = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
        let mut a = s;
        while a > q0 + 1 && ident(line[a - 1]) {
            a -= 1;
        }
        let mut b = e;
        while b < q1 && ident(line[b]) {
            b += 1;
        }
        let mut c = b;
        let mut skipped = 0;
        while c < q1 && skipped < 6 && matches!(line[c], b'\\' | b'"' | b'\'') {
            c += 1;
            skipped += 1;
        }
        while c < q1 && matches!(line[c], b' ' | b'\t') {
            c += 1;
        }
        if c >= q1 || !matches!(line[c], b':' | b'=') {
            return false;
        }
        match std::str::from_utf8(&line[a..b]) {
            Ok(key) => {
                if self.key_action(key).is_some() {
                    return true;
                }
                let words = builtin::key_words(key);
                words.len() >= 2 && words.last().is_some_and(|w| w == "key")
                    || words.first().is_some_and(|w| w == "aws")
            }
            Err(_) => true,
        }
    }

    /// Whether the value starting at or after `pos` (a member value under a
    /// key of `ka`'s family) can be changed by the walk because of that key.
    /// Mirrors the walk: numbers, booleans and null under a secret key stay;
    /// a string that is already a placeholder (or an allowed value) stays; a
    /// string changes only when it is secret for the family (or may be JSON,
    /// or is an `Authorization` value); objects and arrays are always
    /// walked. Value rules inside the string are covered by the rest of the
    /// raw-byte check.
    fn key_value_may_change(&self, ka: &KeyAction, line: &[u8], pos: usize) -> bool {
        if ka.action == Action::Keep {
            return false;
        }
        let mut at = pos;
        while line.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        match line.get(at) {
            Some(b'"') => {}
            Some(b'{') | Some(b'[') | None => return true,
            // Numbers, booleans and null under a secret key stay as they are.
            Some(_) => return false,
        }
        let Some(end) = unescaped_quote_after(line, at + 1) else {
            return true;
        };
        let raw = &line[at + 1..end];
        if raw.contains(&b'\\') || ka.kind == KeyKind::Authorization || may_be_json(raw) {
            return true;
        }
        match std::str::from_utf8(raw) {
            // Without escapes the raw bytes are the string the walk sees.
            Ok(v) => {
                !(self.is_protected(v.trim()) || self.value_allowed(v))
                    && super::detect::value_is_secret_for(ka.kind, v)
            }
            Err(_) => true,
        }
    }
}

/// Whether a raw JSON string body may hold JSON the walk opens into keys
/// or strings. A body without a backslash holds no `"` (a JSON string
/// escapes every quote in it), so any JSON it frames has no keys and no
/// strings: numbers, booleans and nulls, which the walk never changes.
/// With escapes, conservatively: its first non-blank byte opens a container.
fn may_be_json(raw: &[u8]) -> bool {
    if !raw.contains(&b'\\') {
        return false;
    }
    let first = raw.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{') | Some(b'['))
}

/// The opening and closing quotes of the JSON string `line[s..e]` lies in.
fn string_around(line: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    Some((
        unescaped_quote_before(line, s)?,
        unescaped_quote_after(line, e)?,
    ))
}

/// The unescaped `"` before `pos` (the opening quote of the string `pos` is in).
fn unescaped_quote_before(line: &[u8], pos: usize) -> Option<usize> {
    let mut end = pos;
    while let Some(q) = memchr::memrchr(b'"', &line[..end]) {
        if !escaped(line, q) {
            return Some(q);
        }
        end = q;
    }
    None
}

/// The unescaped `"` at or after `pos`.
fn unescaped_quote_after(line: &[u8], pos: usize) -> Option<usize> {
    let mut from = pos;
    while let Some(off) = memchr::memchr(b'"', line.get(from..)?) {
        let q = from + off;
        if !escaped(line, q) {
            return Some(q);
        }
        from = q + 1;
    }
    None
}

/// Whether `raw` holds the start of a placeholder or a pseudonym.
pub(crate) fn holds_protected(raw: &[u8]) -> bool {
    // `[` is rare in text, and a search built per call would cost more.
    memchr::memchr_iter(b'[', raw)
        .any(|i| raw[i..].starts_with(b"[REDACTED:") || raw[i..].starts_with(b"[PSEUDONYM:"))
}

/// Whether the string whose closing quote is at `q1` is an object key.
fn is_json_key(line: &[u8], q1: usize) -> bool {
    let after = line
        .get(q1 + 1..)
        .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()));
    after == Some(&b':')
}

/// The strings of one line (by the offset of their opening quote) that
/// [`Redactor::protected_string_stays`] found to stay; the last few.
#[derive(Default)]
struct Settled {
    strings: [usize; SETTLED],
    len: usize,
    next: usize,
}

/// How many strings [`Settled`] keeps (the oldest gives way).
const SETTLED: usize = 8;

impl Settled {
    fn holds(&self, q0: usize) -> bool {
        self.strings[..self.len].contains(&q0)
    }

    fn add(&mut self, q0: usize) {
        self.strings[self.next % SETTLED] = q0;
        self.next = (self.next + 1) % SETTLED;
        self.len = (self.len + 1).min(SETTLED);
    }
}

/// Whether the byte at `q` is preceded by an odd number of backslashes.
fn escaped(line: &[u8], q: usize) -> bool {
    line[..q].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// One pass over the raw bytes for what literals cannot see: a long base64
/// run (when a blob rule is on) and escapes that may hide ASCII.
fn scan_bytes(line: &[u8], blobs: bool) -> bool {
    if blobs && super::detect::has_base64_run(line, builtin::BLOB_MIN) {
        return true;
    }
    escapes_may_hide_ascii(line)
}

/// JSON may spell an ASCII character as `\u00XX` or `/` as `\/`; a keyword
/// written that way is invisible to the literal search, so such lines take
/// the full walk. Non-ASCII escapes (`\u00e9`, `\u4e2d`) are harmless.
fn escapes_may_hide_ascii(line: &[u8]) -> bool {
    for i in memchr::memchr_iter(b'\\', line) {
        match line.get(i + 1) {
            Some(b'/') => return true,
            Some(b'u')
                if line.get(i + 2) == Some(&b'0')
                    && line.get(i + 3) == Some(&b'0')
                    && line.get(i + 4).is_some_and(|c| (b'0'..=b'7').contains(c)) =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::policy::{PathRule, PatternRule, RuleOverride};

    #[test]
    fn last_path_key_finds_the_literal() {
        assert_eq!(
            last_path_key("$.token_data.access_token").as_deref(),
            Some("access_token")
        );
        assert_eq!(last_path_key("$.messages[*]").as_deref(), Some("messages"));
        assert_eq!(last_path_key("$[\"x-y\"][*]").as_deref(), Some("x-y"));
        assert_eq!(last_path_key("$"), None);
        assert_eq!(last_path_key("$[*]"), None);
    }

    #[test]
    fn regexes_compiled_two_at_a_time_keep_their_order() {
        for n in [0, 1, 2, 5, 8] {
            let mut patterns: Vec<String> = (0..n).map(|i| format!("^a{{{i}}}$")).collect();
            if n > 2 {
                patterns[n - 2] = "(unclosed".to_string();
            }
            let (regexes, side) = compile_beside(patterns.clone(), || n * 10);
            assert_eq!(side, n * 10);
            assert_eq!(regexes.len(), n);
            for (i, r) in regexes.iter().enumerate() {
                if n > 2 && i == n - 2 {
                    assert!(r.is_err(), "{n}: {i}");
                    continue;
                }
                let r = r.as_ref().unwrap();
                assert_eq!(r.as_str(), patterns[i], "{n}: {i}");
                assert!(r.is_match(&"a".repeat(i)) && !r.is_match(&"a".repeat(i + 1)));
            }
        }
    }

    #[test]
    fn unknown_rule_ids_and_bad_regexes_are_policy_errors() {
        let mut p = Policy::default_policy();
        p.rules.push(RuleOverride {
            id: "no-such-rule".into(),
            action: None,
            enabled: false,
        });
        assert!(matches!(p.compile(), Err(Error::Policy(_))));
        let mut p = Policy::default_policy();
        p.patterns.push(PatternRule {
            id: "x".into(),
            pattern: "(".into(),
            keywords: vec![],
            action: None,
        });
        assert!(matches!(p.compile(), Err(Error::Policy(_))));
        let mut p = Policy::default_policy();
        p.paths.push(PathRule {
            id: Some("bad]id".into()),
            entity: None,
            path: "$.a".into(),
            action: None,
        });
        assert!(matches!(p.compile(), Err(Error::Policy(_))));
    }

    #[test]
    fn pseudonym_without_key_is_refused() {
        let mut p = Policy::default_policy();
        p.default_action = Action::Pseudonym;
        assert!(matches!(p.compile(), Err(Error::Policy(_))));
        let k = PseudonymKey::new(b"a-test-key-of-enough-length").unwrap();
        assert!(p
            .compile_with_key(Some(k))
            .unwrap()
            .pseudonym_key_id()
            .is_some());
    }

    #[test]
    fn escaped_ascii_forces_the_walk() {
        assert!(escapes_may_hide_ascii(br#"{"\u0070assword":"x"}"#));
        assert!(escapes_may_hide_ascii(br#"{"u":"https:\/\/x"}"#));
        assert!(!escapes_may_hide_ascii(br#"{"t":"caf\u00e9 \n"}"#));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let mut p = Policy::default_policy();
        p.default_action = Action::Pseudonym;
        let r = p
            .compile_with_key(Some(PseudonymKey::new(b"key-material-visible?").unwrap()))
            .unwrap();
        assert!(!format!("{r:?}").contains("key-material"));
    }
}
