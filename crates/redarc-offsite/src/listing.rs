//! What a bucket listing yields: archives parsed from their keys.
//!
//! A key counts as an archive only when [`ObjectName::parse`] accepts it and
//! its prefix is the configured one; everything else in the bucket is
//! "foreign": counted, never returned, never deleted.

use std::fmt;
use std::str::FromStr;

use redarc::format::Timestamp;
use redarc::ObjectName;
use serde::{Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};

/// Suffix of the SHA-256 sidecar beside an archive (what `redarc pack` writes).
pub const SIDECAR_SUFFIX: &str = ".sha256";

/// A UTC calendar day, `YYYY-MM-DD`, for filtering by generation date.
///
/// # Example
/// ```
/// use redarc_offsite::Day;
/// let day: Day = "2026-11-23".parse()?;
/// assert_eq!(day.to_string(), "2026-11-23");
/// assert!("2026-13-01".parse::<Day>().is_err());
/// # Ok::<(), redarc_offsite::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(String);

impl Day {
    /// The day `at` falls on (UTC).
    pub fn of(at: Timestamp) -> Day {
        let mut text = at.to_string();
        text.truncate(10);
        Day(text)
    }

    /// `YYYY/MM/DD`, the key segments of this day.
    fn key_path(&self) -> String {
        self.0.replace('-', "/")
    }
}

impl FromStr for Day {
    type Err = Error;

    /// Parses `YYYY-MM-DD`.
    fn from_str(text: &str) -> Result<Day> {
        // Fixed width, so the text orders as the days do.
        let ok = text.len() == 10 && Timestamp::parse(&format!("{text}T00:00:00Z")).is_ok();
        if !ok {
            return Err(Error::new(
                ErrorKind::Config,
                "parsing a date",
                "a date must be YYYY-MM-DD",
            ));
        }
        Ok(Day(text.to_string()))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Which archives a listing returns: by environment and by generation day.
///
/// # Example
/// ```
/// use redarc_offsite::ListFilter;
/// let all_staging = ListFilter::new().environment("staging");
/// let november = ListFilter::new().from("2026-11-01".parse()?).to("2026-11-30".parse()?);
/// let one_day = ListFilter::new().on("2026-11-23".parse()?);
/// # Ok::<(), redarc_offsite::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only this environment.
    pub environment: Option<String>,
    /// Only archives generated on or after this day.
    pub from: Option<Day>,
    /// Only archives generated on or before this day.
    pub to: Option<Day>,
}

impl ListFilter {
    /// Every archive.
    pub fn new() -> ListFilter {
        ListFilter::default()
    }

    /// Only archives of `environment`.
    pub fn environment(mut self, environment: impl Into<String>) -> ListFilter {
        self.environment = Some(environment.into());
        self
    }

    /// Only archives generated on `day`.
    pub fn on(self, day: Day) -> ListFilter {
        self.from(day.clone()).to(day)
    }

    /// Only archives generated on or after `day`.
    pub fn from(mut self, day: Day) -> ListFilter {
        self.from = Some(day);
        self
    }

    /// Only archives generated on or before `day`.
    pub fn to(mut self, day: Day) -> ListFilter {
        self.to = Some(day);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(env) = &self.environment {
            redarc::restore::validate_environment(env)
                .map_err(|e| Error::new(ErrorKind::Config, "listing", e))?;
        }
        if let (Some(from), Some(to)) = (&self.from, &self.to) {
            if from > to {
                return Err(Error::new(
                    ErrorKind::Config,
                    "listing",
                    "the date range ends before it starts",
                ));
            }
        }
        Ok(())
    }

    /// Whether `name` passes the filter.
    pub fn matches(&self, name: &ObjectName) -> bool {
        let day = Day::of(name.generated_at);
        self.environment
            .as_ref()
            .is_none_or(|e| *e == name.environment)
            && self.from.as_ref().is_none_or(|f| day >= *f)
            && self.to.as_ref().is_none_or(|t| day <= *t)
    }

    /// The narrowest key prefix to list under `prefix` (no trailing `/`):
    /// down to the day when one environment and one day are asked for.
    pub(crate) fn scan_prefix(&self, prefix: &str) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !prefix.is_empty() {
            parts.push(prefix.to_string());
        }
        if let Some(env) = &self.environment {
            parts.push(env.clone());
            if let (Some(from), Some(to)) = (&self.from, &self.to) {
                if from == to {
                    parts.push(from.key_path());
                }
            }
        }
        parts.join("/")
    }
}

/// An archive in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteArchive {
    /// The object key.
    pub key: String,
    /// The key parsed: environment, generation time, random part.
    pub name: ObjectName,
    /// Size in bytes.
    pub size: u64,
    /// When the store last wrote it.
    pub last_modified: Option<Timestamp>,
    /// Whether a `.sha256` sidecar sits beside it.
    pub sidecar: bool,
}

impl RemoteArchive {
    /// The sidecar's key: the archive's key and `.sha256`.
    pub fn sidecar_key(&self) -> String {
        format!("{}{SIDECAR_SUFFIX}", self.key)
    }
}

impl Serialize for RemoteArchive {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RemoteArchive", 6)?;
        st.serialize_field("key", &self.key)?;
        st.serialize_field("environment", &self.name.environment)?;
        st.serialize_field("generated_at", &self.name.generated_at)?;
        st.serialize_field("size", &self.size)?;
        st.serialize_field("last_modified", &self.last_modified)?;
        st.serialize_field("sidecar", &self.sidecar)?;
        st.end()
    }
}

/// The result of [`Offsite::list`](crate::Offsite::list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Listing {
    /// Matching archives, oldest first (by environment, then generation time).
    pub archives: Vec<RemoteArchive>,
    /// Keys under the scanned prefix that are not archives of this layout
    /// (sidecars not counted). They are never returned or deleted.
    pub foreign: u64,
}

/// Sorts archives by environment, then generation time, then key.
pub(crate) fn sort(archives: &mut [RemoteArchive]) {
    archives.sort_by(|a, b| {
        (&a.name.environment, a.name.generated_at, &a.key).cmp(&(
            &b.name.environment,
            b.name.generated_at,
            &b.key,
        ))
    });
}

/// Parses `key` as an archive under `prefix`, if it is one.
pub(crate) fn parse_key(key: &str, prefix: &str) -> Option<ObjectName> {
    ObjectName::parse(key)
        .ok()
        // A bare file name parses too; in a bucket only the full layout counts.
        .filter(|n| n.prefix == prefix && n.to_string() == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(key: &str) -> ObjectName {
        ObjectName::parse(key).unwrap()
    }

    #[test]
    fn keys_parse_only_under_the_prefix_and_in_full() {
        let key = "exports/staging/2026/11/23/staging-20261123T100000Z-0123abcd.tar.zst.age";
        assert!(parse_key(key, "exports").is_some());
        assert!(parse_key(key, "").is_none());
        assert!(parse_key(key, "other").is_none());
        assert!(parse_key("staging-20261123T100000Z-0123abcd.tar.zst.age", "").is_none());
        assert!(parse_key(&format!("{key}.sha256"), "exports").is_none());
        assert!(parse_key("exports/notes.txt", "exports").is_none());
    }

    #[test]
    fn filters_by_environment_and_day() {
        let n = name("staging/2026/11/23/staging-20261123T235959Z-0123abcd.tar.zst.age");
        let day = |d: &str| d.parse::<Day>().unwrap();
        assert!(ListFilter::new().matches(&n));
        assert!(ListFilter::new().environment("staging").matches(&n));
        assert!(!ListFilter::new().environment("prod").matches(&n));
        assert!(ListFilter::new().on(day("2026-11-23")).matches(&n));
        assert!(!ListFilter::new().on(day("2026-11-24")).matches(&n));
        assert!(ListFilter::new()
            .from(day("2026-11-01"))
            .to(day("2026-11-23"))
            .matches(&n));
        assert!(!ListFilter::new().from(day("2026-11-24")).matches(&n));
        assert!(!ListFilter::new().to(day("2026-11-22")).matches(&n));
        assert!(ListFilter::new()
            .from(day("2026-11-24"))
            .to(day("2026-11-01"))
            .validate()
            .is_err());
        assert!(ListFilter::new().environment("A@b").validate().is_err());
    }

    #[test]
    fn scan_prefix_narrows_as_far_as_the_filter_allows() {
        let day = "2026-11-23".parse::<Day>().unwrap();
        assert_eq!(ListFilter::new().scan_prefix(""), "");
        assert_eq!(ListFilter::new().scan_prefix("exports"), "exports");
        let f = ListFilter::new().environment("staging");
        assert_eq!(f.scan_prefix("exports"), "exports/staging");
        assert_eq!(
            f.clone().on(day.clone()).scan_prefix("exports"),
            "exports/staging/2026/11/23"
        );
        assert_eq!(f.on(day.clone()).scan_prefix(""), "staging/2026/11/23");
        assert_eq!(ListFilter::new().on(day).scan_prefix("x"), "x");
    }

    #[test]
    fn days_parse_strictly() {
        for bad in [
            "2026-1-01",
            "2026-02-30",
            "20261123",
            "2026-11-23T00:00:00Z",
            "",
        ] {
            assert!(bad.parse::<Day>().is_err(), "{bad:?}");
        }
        let at = Timestamp::parse("2026-11-23T23:59:59Z").unwrap();
        assert_eq!(Day::of(at).to_string(), "2026-11-23");
    }
}
