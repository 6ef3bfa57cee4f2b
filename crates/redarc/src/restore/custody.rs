//! Custody: noticing that a copy of production data is past its expiry,
//! deleting it, and keeping a log of the deletion.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::{verify, Identities, ReadLimits};
use crate::error::Error;
use crate::format::{Manifest, Timestamp, MANIFEST_MEMBER};
use crate::restore::naming::ARCHIVE_SUFFIX;
use crate::Result;

/// Default file name of the custody log inside the purged directory.
pub const CUSTODY_LOG: &str = "custody-log.jsonl";

/// Deepest directory level [`purge`] descends to below its root.
const MAX_DEPTH: usize = 16;

/// When the archive's custody expired, if it has.
pub fn expired_at(manifest: &Manifest, now: Timestamp) -> Option<Timestamp> {
    let custody = manifest.custody.as_ref()?;
    if custody.is_expired(now) {
        custody.expires_at
    } else {
        None
    }
}

/// A one-line warning when the archive is past its custody expiry, for
/// `verify` and similar commands to print.
pub fn expiry_warning(manifest: &Manifest, now: Timestamp) -> Option<String> {
    let at = expired_at(manifest, now)?;
    let ticket = manifest
        .custody
        .as_ref()
        .and_then(|c| c.ticket.as_deref())
        .map(|t| format!(" (ticket {})", crate::error::printable(t)))
        .unwrap_or_default();
    Some(format!(
        "custody expired at {at}{ticket}: this copy is due for deletion (redarc purge)"
    ))
}

/// What was deleted (or, in a dry run, would be): one line of the custody log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustodyRecord {
    /// `deleted`, or `would-delete` in a dry run.
    pub action: String,
    /// `archive` or `unpacked`.
    pub kind: String,
    /// The path deleted.
    pub path: String,
    /// Other paths deleted with it (an archive's `.sha256` sidecar).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_deleted: Vec<String>,
    /// File or directory name.
    pub archive_name: String,
    /// Source environment.
    pub environment: String,
    /// When the export was generated.
    pub generated_at: Timestamp,
    /// Purpose recorded at export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Ticket recorded at export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Scope recorded at export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The custody expiry.
    pub expires_at: Timestamp,
    /// When it was deleted.
    pub deleted_at: Timestamp,
    /// Why: `expired at …`.
    pub reason: String,
    /// Who ran the purge.
    pub operator: String,
}

/// Something [`purge`] found but could not judge, and left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PurgeSkip {
    /// The path.
    pub path: String,
    /// Why it was left (e.g. no identity given, not valid).
    pub reason: String,
}

/// What [`purge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Deleted (or, in a dry run, to be deleted) items, as logged.
    pub deleted: Vec<CustodyRecord>,
    /// Items found whose custody has not expired (or that declare none).
    pub kept: u64,
    /// Items that could not be judged and were left alone.
    pub skipped: Vec<PurgeSkip>,
}

/// How to purge.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PurgeOptions {
    /// Judge expiry against this instant.
    pub now: Timestamp,
    /// List without deleting or logging.
    pub dry_run: bool,
    /// Who runs the purge, for the log.
    pub operator: String,
    /// Custody log to append to; `<dir>/custody-log.jsonl` when `None`.
    pub log: Option<PathBuf>,
}

impl PurgeOptions {
    /// Purge now, for real, by `operator`, logging to the default log.
    pub fn new(operator: impl Into<String>) -> PurgeOptions {
        PurgeOptions {
            now: Timestamp::now(),
            dry_run: false,
            operator: operator.into(),
            log: None,
        }
    }

    /// List without deleting.
    pub fn dry_run(mut self, dry_run: bool) -> PurgeOptions {
        self.dry_run = dry_run;
        self
    }

    /// Judge expiry against `now`.
    pub fn now(mut self, now: Timestamp) -> PurgeOptions {
        self.now = now;
        self
    }

    /// Append deletion records to `log`.
    pub fn log(mut self, log: impl Into<PathBuf>) -> PurgeOptions {
        self.log = Some(log.into());
        self
    }
}

/// Finds archives (`*.tar.zst.age`) and unpacked exports (directories with
/// a `manifest.json`) under `dir` whose custody has expired, deletes them
/// (with an archive's `.sha256` sidecar) and appends one JSON line per
/// deletion to the custody log.
///
/// An archive's manifest is its last member, so reading it needs
/// `identities` and a full verification pass; without identities, or when
/// an archive is not valid, it is left alone and listed in
/// [`PurgeReport::skipped`]. Symbolic links are never followed or deleted.
///
/// # Errors
/// An I/O error listing `dir`, deleting an item or writing the log. Items
/// deleted before the error have been logged.
pub fn purge(
    dir: &Path,
    identities: Option<&Identities>,
    opts: &PurgeOptions,
) -> Result<PurgeReport> {
    let log_path = opts.log.clone().unwrap_or_else(|| dir.join(CUSTODY_LOG));
    let mut report = PurgeReport::default();
    let mut found = Vec::new();
    find(dir, 0, &mut found)?;
    for item in found {
        let manifest = match read_manifest(&item, identities) {
            Ok(m) => m,
            Err(reason) => {
                report.skipped.push(PurgeSkip {
                    path: item.path().display().to_string(),
                    reason,
                });
                continue;
            }
        };
        let Some(expires_at) = expired_at(&manifest, opts.now) else {
            report.kept += 1;
            continue;
        };
        let custody = manifest.custody.clone().unwrap_or_default();
        let mut record = CustodyRecord {
            action: if opts.dry_run {
                "would-delete"
            } else {
                "deleted"
            }
            .into(),
            kind: match item {
                Found::Archive(_) => "archive",
                Found::Unpacked(_) => "unpacked",
            }
            .into(),
            path: item.path().display().to_string(),
            also_deleted: Vec::new(),
            archive_name: item
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            environment: manifest.environment.clone(),
            generated_at: manifest.generated_at,
            purpose: custody.purpose,
            ticket: custody.ticket,
            scope: custody.scope,
            expires_at,
            deleted_at: Timestamp::now(),
            reason: format!("expired at {expires_at}"),
            operator: opts.operator.clone(),
        };
        if let Found::Archive(path) = &item {
            let sidecar = PathBuf::from(format!("{}.sha256", path.display()));
            if is_regular_file(&sidecar) {
                record.also_deleted.push(sidecar.display().to_string());
            }
        }
        if !opts.dry_run {
            match &item {
                Found::Archive(path) => {
                    std::fs::remove_file(path).map_err(|e| Error::io_path("deleting", path, e))?;
                    for extra in &record.also_deleted {
                        let extra = Path::new(extra);
                        std::fs::remove_file(extra)
                            .map_err(|e| Error::io_path("deleting", extra, e))?;
                    }
                }
                Found::Unpacked(path) => std::fs::remove_dir_all(path)
                    .map_err(|e| Error::io_path("deleting", path, e))?,
            }
            record.deleted_at = Timestamp::now();
            append_log(&log_path, &record)?;
        }
        report.deleted.push(record);
    }
    Ok(report)
}

enum Found {
    Archive(PathBuf),
    Unpacked(PathBuf),
}

impl Found {
    fn path(&self) -> &Path {
        match self {
            Found::Archive(p) | Found::Unpacked(p) => p,
        }
    }
}

fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Collects candidates, sorted, without following symbolic links and
/// without descending into an unpacked export.
fn find(dir: &Path, depth: usize, out: &mut Vec<Found>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io_path("reading", dir, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io_path("reading", dir, e))?;
    entries.sort();
    for path in entries {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.as_deref().unwrap_or("");
        if meta.file_type().is_file() && name.ends_with(ARCHIVE_SUFFIX) && !name.starts_with('.') {
            out.push(Found::Archive(path));
        } else if meta.file_type().is_dir() {
            if is_regular_file(&path.join(MANIFEST_MEMBER)) {
                out.push(Found::Unpacked(path));
            } else if depth < MAX_DEPTH {
                find(&path, depth + 1, out)?;
            }
        }
    }
    Ok(())
}

fn read_manifest(
    item: &Found,
    identities: Option<&Identities>,
) -> std::result::Result<Manifest, String> {
    match item {
        Found::Unpacked(dir) => {
            let path = dir.join(MANIFEST_MEMBER);
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read its manifest: {e}"))?;
            Manifest::from_slice(&bytes).map_err(|e| e.to_string())
        }
        Found::Archive(path) => {
            let ids = identities
                .ok_or_else(|| "an identity is needed to read an archive's custody".to_string())?;
            let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let report = verify(
                std::io::BufReader::with_capacity(1 << 20, file),
                ids,
                ReadLimits::default(),
            )
            .map_err(|e| e.to_string())?;
            if !report.valid {
                // A damaged archive's custody cannot be trusted either way.
                return Err("the archive is not valid; left for a person to judge".into());
            }
            Ok(report.manifest)
        }
    }
}

fn append_log(path: &Path, record: &CustodyRecord) -> Result<()> {
    let mut line = serde_json::to_vec(record).map_err(|e| {
        Error::Usage(format!(
            "cannot write the custody record ({})",
            crate::json_error_category(&e)
        ))
    })?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io_path("opening", path, e))?;
    file.write_all(&line)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io_path("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Custody;

    #[test]
    fn expiry_is_judged_against_now() {
        let at = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let before = Timestamp::parse("2025-12-31T23:59:59Z").unwrap();
        let mut v = serde_json::json!({
            "format": "redarc", "format_version": "1.0",
            "generated_at": "2025-12-01T00:00:00Z", "environment": "production",
            "producer": {"name": "redarc", "version": "0.1.0"},
            "entities": [{"name": "users", "records": 0, "bytes": 0, "parts": [
                {"path": "data/users.00000.jsonl", "records": 0, "bytes": 0,
                 "sha256": crate::format::Digest::of(b"").to_string()}]}],
            "sha256sums": crate::format::Digest::of(b"").to_string(),
        });
        let m = Manifest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(expired_at(&m, at), None, "no custody, never expires");
        v["custody"] = serde_json::to_value(Custody::new().ticket("INC-7").expires_at(at)).unwrap();
        let m = Manifest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap();
        let after = Timestamp::parse("2026-01-01T00:00:01Z").unwrap();
        assert_eq!(expired_at(&m, before), None);
        assert_eq!(expired_at(&m, at), None, "expires at, not before");
        assert_eq!(expired_at(&m, after), Some(at));
        let w = expiry_warning(&m, after).unwrap();
        assert!(
            w.contains("2026-01-01T00:00:00Z") && w.contains("INC-7"),
            "{w}"
        );
    }
}
