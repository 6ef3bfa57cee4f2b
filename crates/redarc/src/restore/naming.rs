//! Object names for archives kept offsite.
//!
//! A name carries the environment and the generation time and nothing
//! else: `<prefix>/<environment>/<YYYY>/<MM>/<DD>/<environment>-<YYYYMMDDTHHMMSSZ>-<random>.tar.zst.age`.
//! Environment and prefix are restricted to a small alphabet so that a
//! tenant name, an email address or any other private value cannot end up
//! in a bucket listing by accident.

use std::fmt;

use crate::error::Error;
use crate::format::Timestamp;
use crate::Result;

/// Suffix of every archive object name.
pub const ARCHIVE_SUFFIX: &str = ".tar.zst.age";

/// Longest environment name, in bytes.
const MAX_ENVIRONMENT: usize = 32;
/// Longest prefix, in bytes.
const MAX_PREFIX: usize = 128;
/// Length of the random suffix, in hex digits.
const RANDOM_LEN: usize = 8;

/// Checks an environment name: 1–32 characters of `a-z 0-9 -`, starting
/// and ending with a letter or digit.
///
/// # Errors
/// A message saying which rule the name breaks (never the name itself, which
/// may be exactly the private value the rule keeps out).
pub fn validate_environment(environment: &str) -> std::result::Result<(), String> {
    if environment.is_empty() || environment.len() > MAX_ENVIRONMENT {
        return Err(format!(
            "environment must be 1 to {MAX_ENVIRONMENT} characters"
        ));
    }
    if !environment
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("environment may hold only a-z, 0-9 and '-'".into());
    }
    if environment.starts_with('-') || environment.ends_with('-') {
        return Err("environment must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Checks a prefix: `/`-separated segments of `a-z 0-9 . _ -`, each starting
/// with a letter or digit, at most 128 bytes in all. An empty prefix is
/// allowed and means "none".
///
/// # Errors
/// A message saying which rule the prefix breaks.
pub fn validate_prefix(prefix: &str) -> std::result::Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.len() > MAX_PREFIX {
        return Err(format!("prefix must be at most {MAX_PREFIX} characters"));
    }
    for segment in prefix.split('/') {
        let first_ok = segment
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !first_ok {
            return Err("each prefix segment must be non-empty and start with a-z or 0-9".into());
        }
        if !segment.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        }) {
            return Err("prefix may hold only a-z, 0-9, '-', '_', '.' and '/'".into());
        }
    }
    Ok(())
}

/// A parsed archive object name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectName {
    /// The prefix, without a trailing `/` (empty when there is none).
    pub prefix: String,
    /// The source environment.
    pub environment: String,
    /// When the export was generated.
    pub generated_at: Timestamp,
    /// The random part that keeps two exports of the same second apart.
    pub random: String,
}

impl ObjectName {
    /// A fresh name for an export of `environment` generated at
    /// `generated_at`, with a new random part.
    ///
    /// # Errors
    /// [`Error::Usage`] when the prefix or environment breaks the rules of
    /// [`validate_prefix`] or [`validate_environment`].
    pub fn new(prefix: &str, environment: &str, generated_at: Timestamp) -> Result<ObjectName> {
        validate_prefix(prefix).map_err(Error::Usage)?;
        validate_environment(environment).map_err(Error::Usage)?;
        Ok(ObjectName {
            prefix: prefix.trim_end_matches('/').to_string(),
            environment: environment.to_string(),
            generated_at,
            random: format!("{:08x}", rand::random::<u32>()),
        })
    }

    /// Parses a name written by [`object_name`] (or its file name alone,
    /// without the directories).
    ///
    /// # Errors
    /// [`Error::Usage`] saying what does not fit; never panics.
    pub fn parse(name: &str) -> Result<ObjectName> {
        let bad = |why: &str| Error::Usage(format!("not a redarc object name: {why}"));
        let (dirs, file) = match name.rsplit_once('/') {
            Some((d, f)) => (Some(d), f),
            None => (None, name),
        };
        let stem = file
            .strip_suffix(ARCHIVE_SUFFIX)
            .ok_or_else(|| bad("it does not end in .tar.zst.age"))?;
        let (rest, random) = stem.rsplit_once('-').ok_or_else(|| bad("no random part"))?;
        if random.len() != RANDOM_LEN
            || !random
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("the random part is not 8 lowercase hex digits"));
        }
        let (environment, compact) = rest.rsplit_once('-').ok_or_else(|| bad("no timestamp"))?;
        validate_environment(environment).map_err(|e| bad(&e))?;
        let generated_at = parse_compact(compact).ok_or_else(|| bad("bad timestamp"))?;
        let mut prefix = String::new();
        if let Some(dirs) = dirs {
            let date = generated_at.compact();
            let expected_tail = format!(
                "{environment}/{}/{}/{}",
                &date[0..4],
                &date[4..6],
                &date[6..8]
            );
            let head = dirs
                .strip_suffix(&expected_tail)
                .ok_or_else(|| bad("the directories do not match the environment and date"))?;
            if !head.is_empty() {
                prefix = head
                    .strip_suffix('/')
                    .ok_or_else(|| bad("the directories do not match the environment and date"))?
                    .to_string();
            }
            validate_prefix(&prefix).map_err(|e| bad(&e))?;
        }
        Ok(ObjectName {
            prefix,
            environment: environment.to_string(),
            generated_at,
            random: random.to_string(),
        })
    }

    /// The file name alone: `<environment>-<YYYYMMDDTHHMMSSZ>-<random>.tar.zst.age`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}{ARCHIVE_SUFFIX}",
            self.environment,
            self.generated_at.compact(),
            self.random
        )
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = self.generated_at.compact();
        if !self.prefix.is_empty() {
            write!(f, "{}/", self.prefix)?;
        }
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.environment,
            &date[0..4],
            &date[4..6],
            &date[6..8],
            self.file_name()
        )
    }
}

/// `YYYYMMDDTHHMMSSZ` back to a timestamp.
fn parse_compact(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !digits(0..8) || !digits(9..15) {
        return None;
    }
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    Timestamp::parse(&rfc).ok()
}

/// A fresh object name:
/// `<prefix>/<environment>/<YYYY>/<MM>/<DD>/<environment>-<YYYYMMDDTHHMMSSZ>-<random>.tar.zst.age`.
///
/// An empty prefix leaves out the first segment.
///
/// # Errors
/// [`Error::Usage`] when the prefix or environment breaks the rules of
/// [`validate_prefix`] or [`validate_environment`].
///
/// # Example
/// ```
/// use redarc::format::Timestamp;
/// let at = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
/// let name = redarc::object_name("exports", "staging", at)?;
/// assert!(name.starts_with("exports/staging/2026/11/23/staging-20261123T100000Z-"));
/// assert_eq!(redarc::ObjectName::parse(&name)?.environment, "staging");
/// assert!(redarc::object_name("exports", "acme@example.com", at).is_err());
/// # Ok::<(), redarc::Error>(())
/// ```
pub fn object_name(prefix: &str, environment: &str, generated_at: Timestamp) -> Result<String> {
    Ok(ObjectName::new(prefix, environment, generated_at)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse("2026-01-05T07:08:09Z").unwrap()
    }

    #[test]
    fn names_have_the_documented_shape_and_round_trip() {
        let name = object_name("backups/offsite", "prod-eu-1", at()).unwrap();
        let (head, random) = name.rsplit_once('-').unwrap();
        assert_eq!(
            head,
            "backups/offsite/prod-eu-1/2026/01/05/prod-eu-1-20260105T070809Z"
        );
        assert_eq!(random.len(), 8 + ARCHIVE_SUFFIX.len());
        let parsed = ObjectName::parse(&name).unwrap();
        assert_eq!(parsed.prefix, "backups/offsite");
        assert_eq!(parsed.environment, "prod-eu-1");
        assert_eq!(parsed.generated_at, at());
        assert_eq!(parsed.to_string(), name);
        let file = ObjectName::parse(&parsed.file_name()).unwrap();
        assert_eq!(file.environment, "prod-eu-1");
        assert_eq!(file.prefix, "");
    }

    #[test]
    fn empty_prefix_and_fresh_random_parts() {
        let a = object_name("", "staging", at()).unwrap();
        assert!(a.starts_with("staging/2026/01/05/staging-"), "{a}");
        let b = object_name("", "staging", at()).unwrap();
        assert_ne!(a, b, "two names of the same second must differ");
        assert_eq!(ObjectName::parse(&a).unwrap().prefix, "");
    }

    #[test]
    fn private_data_cannot_get_in() {
        for env in [
            "",
            "Acme",
            "acme@example.com",
            "a b",
            "a/b",
            "-x",
            "x-",
            "tenant_42",
            &"x".repeat(33),
        ] {
            assert!(object_name("p", env, at()).is_err(), "{env:?}");
        }
        for prefix in [
            "/abs",
            "a//b",
            "a/../b",
            "..",
            "a/.hidden",
            "Jane.Doe",
            "ops@example.com",
            "a b",
            "a\\b",
            &"x".repeat(129),
        ] {
            assert!(object_name(prefix, "staging", at()).is_err(), "{prefix:?}");
        }
        let err = object_name("p", "ops@example.com", at()).unwrap_err();
        assert!(!err.to_string().contains("example.com"));
    }

    #[test]
    fn parser_rejects_what_the_writer_never_writes() {
        let good = object_name("p", "staging", at()).unwrap();
        assert!(ObjectName::parse(&good).is_ok());
        for bad in [
            "staging-20260105T070809Z-0123abcd.tar.zst",
            "staging-20260105T070809Z-0123ABCD.tar.zst.age",
            "staging-20260105T070809Z-0123abc.tar.zst.age",
            "staging-2026015T070809Z-0123abcd.tar.zst.age",
            "staging-20261305T070809Z-0123abcd.tar.zst.age",
            "Staging-20260105T070809Z-0123abcd.tar.zst.age",
            "p/other/2026/01/05/staging-20260105T070809Z-0123abcd.tar.zst.age",
            "p/staging/2026/01/06/staging-20260105T070809Z-0123abcd.tar.zst.age",
            "Bad/staging/2026/01/05/staging-20260105T070809Z-0123abcd.tar.zst.age",
            "xstaging/2026/01/05/staging-20260105T070809Z-0123abcd.tar.zst.age",
            "-20260105T070809Z-0123abcd.tar.zst.age",
            "",
        ] {
            assert!(ObjectName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
