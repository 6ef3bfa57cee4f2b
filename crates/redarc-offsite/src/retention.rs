//! Retention: which archives go and why.
//!
//! Planning is a pure function of the listing, the policy and the time, so
//! it is tested without a store; [`Offsite::retain`](crate::Offsite::retain)
//! only carries the plan out. Age is the generation time in the object
//! name, not the store's modification time, which a copy or a restore of
//! the bucket would reset.

use std::collections::BTreeMap;

use redarc::format::Timestamp;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::listing::RemoteArchive;

/// What to keep.
///
/// # Example
/// ```
/// use redarc_offsite::RetentionPolicy;
/// // Delete what is older than 30 days, but keep the newest 3 per environment regardless.
/// let policy = RetentionPolicy::new(30, 3).environment("staging");
/// assert!(RetentionPolicy::new(30, 0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Archives generated more than this many days ago may be deleted.
    pub older_than_days: u32,
    /// The newest this many archives of each environment are never deleted (at least 1).
    pub keep_newest: usize,
    /// Only this environment; every environment when `None`.
    pub environment: Option<String>,
}

impl RetentionPolicy {
    /// Delete archives older than `older_than_days`, never the newest
    /// `keep_newest` of an environment.
    pub fn new(older_than_days: u32, keep_newest: usize) -> RetentionPolicy {
        RetentionPolicy {
            older_than_days,
            keep_newest,
            environment: None,
        }
    }

    /// Apply to one environment only.
    pub fn environment(mut self, environment: impl Into<String>) -> RetentionPolicy {
        self.environment = Some(environment.into());
        self
    }

    /// Checks the policy.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when `keep_newest` is 0 (a policy that can empty
    /// an environment is refused) or the environment name is not valid.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Error::new(ErrorKind::Config, "retention policy", why);
        if self.keep_newest == 0 {
            return Err(bad(
                "keep at least the newest archive of each environment (keep >= 1)".into(),
            ));
        }
        if let Some(env) = &self.environment {
            redarc::restore::validate_environment(env).map_err(bad)?;
        }
        Ok(())
    }

    /// Archives generated before this instant are old enough to delete.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        // Clamped to year 1, so an absurd day count means "nothing is old
        // enough", never "everything is".
        const YEAR_1: i64 = -62_135_596_800;
        let secs = now
            .unix()
            .saturating_sub(i64::from(self.older_than_days) * 86_400)
            .max(YEAR_1);
        Timestamp::from_unix(secs).unwrap_or(now)
    }
}

/// Why an archive is kept or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// One of the newest `keep_newest` of its environment.
    Newest,
    /// Generated after the cutoff.
    Recent,
    /// Generated before the cutoff and not among the newest.
    Expired,
}

impl Reason {
    /// A short phrase for tables: `newest`, `recent`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Newest => "newest",
            Reason::Recent => "recent",
            Reason::Expired => "expired",
        }
    }
}

/// One archive and what retention does with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Decision {
    /// The archive.
    #[serde(flatten)]
    pub archive: RemoteArchive,
    /// Why.
    pub reason: Reason,
}

/// What [`Offsite::retain`](crate::Offsite::retain) did, or would do in a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RetentionReport {
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// Archives generated before this were old enough to delete.
    pub cutoff: Timestamp,
    /// The policy's day count.
    pub older_than_days: u32,
    /// The policy's per-environment floor.
    pub keep_newest: usize,
    /// Deleted (or, in a dry run, to be deleted), with their sidecars; oldest first.
    pub delete: Vec<Decision>,
    /// Kept; oldest first.
    pub keep: Vec<Decision>,
    /// Keys in scope that are not archives of this layout; never touched.
    pub foreign: u64,
}

/// Splits `archives` into what `policy` deletes and what it keeps at `now`.
///
/// Archives outside the policy's environment are neither: they are left out.
pub fn plan(
    archives: &[RemoteArchive],
    policy: &RetentionPolicy,
    now: Timestamp,
) -> (Vec<Decision>, Vec<Decision>) {
    let cutoff = policy.cutoff(now);
    let mut by_env: BTreeMap<&str, Vec<&RemoteArchive>> = BTreeMap::new();
    for a in archives {
        if policy
            .environment
            .as_ref()
            .is_none_or(|e| *e == a.name.environment)
        {
            by_env.entry(&a.name.environment).or_default().push(a);
        }
    }
    let (mut delete, mut keep) = (Vec::new(), Vec::new());
    for (_, mut list) in by_env {
        // Newest first; the key breaks ties so the plan is deterministic.
        list.sort_by(|a, b| (b.name.generated_at, &b.key).cmp(&(a.name.generated_at, &a.key)));
        for (rank, a) in list.into_iter().enumerate() {
            let reason = if rank < policy.keep_newest {
                Reason::Newest
            } else if a.name.generated_at >= cutoff {
                Reason::Recent
            } else {
                Reason::Expired
            };
            let d = Decision {
                archive: a.clone(),
                reason,
            };
            if reason == Reason::Expired {
                delete.push(d);
            } else {
                keep.push(d);
            }
        }
    }
    for list in [&mut delete, &mut keep] {
        list.sort_by(|a, b| {
            (&a.archive.name.environment, a.archive.name.generated_at)
                .cmp(&(&b.archive.name.environment, b.archive.name.generated_at))
        });
    }
    (delete, keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redarc::ObjectName;

    fn archive(env: &str, at: &str) -> RemoteArchive {
        let name = ObjectName::new("p", env, Timestamp::parse(at).unwrap()).unwrap();
        RemoteArchive {
            key: name.to_string(),
            name,
            size: 1,
            last_modified: None,
            sidecar: true,
        }
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-03-01T00:00:00Z").unwrap()
    }

    fn dates(ds: &[Decision]) -> Vec<String> {
        ds.iter()
            .map(|d| {
                format!(
                    "{}@{}",
                    d.archive.name.environment, d.archive.name.generated_at
                )
            })
            .collect()
    }

    #[test]
    fn old_archives_go_but_the_newest_k_stay() {
        let all = vec![
            archive("prod", "2026-01-01T00:00:00Z"),
            archive("prod", "2026-01-15T00:00:00Z"),
            archive("prod", "2026-02-20T00:00:00Z"),
            archive("staging", "2025-06-01T00:00:00Z"),
            archive("staging", "2025-07-01T00:00:00Z"),
        ];
        let (delete, keep) = plan(&all, &RetentionPolicy::new(30, 1), now());
        assert_eq!(
            dates(&delete),
            [
                "prod@2026-01-01T00:00:00Z",
                "prod@2026-01-15T00:00:00Z",
                "staging@2025-06-01T00:00:00Z"
            ]
        );
        assert_eq!(
            dates(&keep),
            ["prod@2026-02-20T00:00:00Z", "staging@2025-07-01T00:00:00Z"]
        );
        assert_eq!(keep[0].reason, Reason::Newest);
        assert!(delete.iter().all(|d| d.reason == Reason::Expired));

        // Keeping 2: the second prod and the second staging archive stay too.
        let (delete, keep) = plan(&all, &RetentionPolicy::new(30, 2), now());
        assert_eq!(dates(&delete), ["prod@2026-01-01T00:00:00Z"]);
        assert_eq!(keep.len(), 4);

        // Young archives stay whatever their rank.
        let (delete, keep) = plan(&all, &RetentionPolicy::new(365, 1), now());
        assert!(delete.is_empty());
        assert_eq!(
            keep.iter().filter(|d| d.reason == Reason::Recent).count(),
            3
        );
    }

    #[test]
    fn environment_scope_leaves_others_out() {
        let all = vec![
            archive("prod", "2020-01-01T00:00:00Z"),
            archive("prod", "2020-01-02T00:00:00Z"),
            archive("staging", "2020-01-01T00:00:00Z"),
            archive("staging", "2020-01-02T00:00:00Z"),
        ];
        let (delete, keep) = plan(
            &all,
            &RetentionPolicy::new(1, 1).environment("staging"),
            now(),
        );
        assert_eq!(dates(&delete), ["staging@2020-01-01T00:00:00Z"]);
        assert_eq!(dates(&keep), ["staging@2020-01-02T00:00:00Z"]);
    }

    #[test]
    fn never_empties_an_environment() {
        let all = vec![archive("prod", "2000-01-01T00:00:00Z")];
        let (delete, keep) = plan(&all, &RetentionPolicy::new(0, 1), now());
        assert!(delete.is_empty() && keep.len() == 1);
        assert!(RetentionPolicy::new(0, 0).validate().is_err());
        assert!(RetentionPolicy::new(1, 1)
            .environment("Acme@x")
            .validate()
            .is_err());
    }

    #[test]
    fn cutoff_counts_whole_days() {
        let p = RetentionPolicy::new(30, 1);
        assert_eq!(p.cutoff(now()).to_string(), "2026-01-30T00:00:00Z");
        let far = RetentionPolicy::new(u32::MAX, 1).cutoff(now());
        assert_eq!(far.to_string(), "0001-01-01T00:00:00Z");
    }
}
