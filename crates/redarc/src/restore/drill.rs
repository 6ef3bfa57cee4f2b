//! The restore drill and its evidence.
//!
//! A drill proves an archive restores without writing anywhere: it hashes
//! the file as transported, verifies it, runs a dry-run import against a
//! non-production target and a list of smoke checks, and records all of it
//! as [`Evidence`]. Evidence holds names, counts, digests and check results;
//! never a record, never a key.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::archive::{verify, ArchiveReader, Check, Identities, ReadLimits};
use crate::error::Error;
use crate::format::{Custody, Digest, FormatVersion, Manifest, Producer, Sha256, Timestamp};
use crate::restore::import::{pass_entity, EntityCounts, Importer, Mode};

/// Version of the evidence document; bumped when a field changes meaning.
pub const EVIDENCE_VERSION: u32 = 1;

/// One check and its outcome, as recorded in [`Evidence`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckResult {
    /// Check name, e.g. `hashes` or `records-are-objects`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// How many items were checked.
    pub checked: u64,
    /// How many failed.
    pub failed: u64,
    /// The first failure, or a note (never record contents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl CheckResult {
    fn new(name: &str, checked: u64, failed: u64, detail: Option<String>) -> CheckResult {
        CheckResult {
            name: name.to_string(),
            passed: failed == 0,
            checked,
            failed,
            detail,
        }
    }

    /// A check that could not run because of `error`.
    fn error(name: &str, error: &Error) -> CheckResult {
        CheckResult::new(name, 1, 1, Some(error.to_string()))
    }
}

impl From<&Check> for CheckResult {
    fn from(c: &Check) -> CheckResult {
        CheckResult {
            name: c.name.clone(),
            passed: c.passed,
            checked: c.checked,
            failed: c.failed,
            detail: c.detail.clone(),
        }
    }
}

/// The manifest's checksums for one entity: digests, never data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntityChecksums {
    /// Entity name.
    pub entity: String,
    /// Number of parts.
    pub parts: u64,
    /// Records across parts.
    pub records: u64,
    /// Bytes of JSONL across parts.
    pub bytes: u64,
    /// SHA-256 of each part, in order.
    pub part_sha256: Vec<Digest>,
}

/// What a restore drill found. Serializes to the evidence JSON;
/// [`Evidence::to_markdown`] gives the readable summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// [`EVIDENCE_VERSION`].
    pub evidence_version: u32,
    /// The program that ran the drill.
    pub drilled_by: Producer,
    /// The archive's file name.
    pub archive_name: String,
    /// Size of the archive file in bytes, if it could be read.
    pub archive_bytes: Option<u64>,
    /// SHA-256 of the archive file as transported, if it could be read.
    pub transport_sha256: Option<Digest>,
    /// The program that wrote the archive (from the manifest).
    pub producer: Option<Producer>,
    /// Version of the source application (from the manifest).
    pub source_version: Option<String>,
    /// When the export was generated.
    pub generated_at: Option<Timestamp>,
    /// The environment the data came from.
    pub source_environment: Option<String>,
    /// The archive's format version.
    pub format_version: Option<FormatVersion>,
    /// Custody metadata (purpose, ticket, scope, expiry), if declared.
    pub custody: Option<Custody>,
    /// SHA-256 of the archive's `SHA256SUMS` member, from the manifest.
    pub sha256sums: Option<Digest>,
    /// The manifest's checksum summary, per entity.
    pub checksums: Vec<EntityChecksums>,
    /// Whether verification found the archive complete.
    pub complete: bool,
    /// Whether verification found the archive valid.
    pub valid: bool,
    /// Every verification check and its result, in the order they ran.
    pub validation: Vec<CheckResult>,
    /// Dry-run counts per entity (would write, skipped, invalid).
    pub dry_run: Vec<EntityCounts>,
    /// The environment the drill restored into (dry run).
    pub target_environment: String,
    /// When the drill ran.
    pub drilled_at: Timestamp,
    /// Smoke checks and their results.
    pub smoke_checks: Vec<CheckResult>,
    /// Whether every check passed.
    pub passed: bool,
    /// The first check that failed, if any.
    pub failed_check: Option<String>,
    /// Every check that failed, in order.
    pub failed_checks: Vec<String>,
}

impl Evidence {
    fn start(archive_name: String, target_environment: &str, now: Timestamp) -> Evidence {
        Evidence {
            evidence_version: EVIDENCE_VERSION,
            drilled_by: Producer::redarc(),
            archive_name,
            archive_bytes: None,
            transport_sha256: None,
            producer: None,
            source_version: None,
            generated_at: None,
            source_environment: None,
            format_version: None,
            custody: None,
            sha256sums: None,
            checksums: Vec::new(),
            complete: false,
            valid: false,
            validation: Vec::new(),
            dry_run: Vec::new(),
            target_environment: target_environment.to_string(),
            drilled_at: now,
            smoke_checks: Vec::new(),
            passed: false,
            failed_check: None,
            failed_checks: Vec::new(),
        }
    }

    fn record_manifest(&mut self, m: &Manifest) {
        self.producer = Some(m.producer.clone());
        self.source_version = m.source_version.clone();
        self.generated_at = Some(m.generated_at);
        self.source_environment = Some(m.environment.clone());
        self.format_version = Some(m.format_version);
        self.custody = m.custody.clone();
        self.sha256sums = Some(m.sha256sums);
        self.checksums = m
            .entities
            .iter()
            .map(|e| EntityChecksums {
                entity: e.name.clone(),
                parts: e.parts.len() as u64,
                records: e.records,
                bytes: e.bytes,
                part_sha256: e.parts.iter().map(|p| p.sha256).collect(),
            })
            .collect();
    }

    /// Sets the outcome from the checks recorded so far.
    fn conclude(mut self) -> Evidence {
        self.failed_checks = self
            .validation
            .iter()
            .chain(&self.smoke_checks)
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect();
        self.failed_check = self.failed_checks.first().cloned();
        let ran_something = !self.validation.is_empty() || !self.smoke_checks.is_empty();
        self.passed = ran_something && self.failed_checks.is_empty();
        self
    }

    /// Records read by the dry run, across entities.
    pub fn records_read(&self) -> u64 {
        self.dry_run.iter().map(|e| e.records).sum()
    }

    /// Records the dry run would write, across entities.
    pub fn would_write(&self) -> u64 {
        self.dry_run.iter().map(|e| e.would_write).sum()
    }

    /// The evidence as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serializing cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// A readable summary in Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let opt = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        s.push_str(&format!("# Restore drill: {verdict}\n\n"));
        if let Some(f) = &self.failed_check {
            s.push_str(&format!("**Failed check:** `{f}`"));
            if self.failed_checks.len() > 1 {
                s.push_str(&format!(" (all failed: {})", self.failed_checks.join(", ")));
            }
            s.push_str("\n\n");
        }
        s.push_str("| | |\n|---|---|\n");
        let mut row = |k: &str, v: String| s.push_str(&format!("| {k} | {} |\n", md_cell(&v)));
        row("Archive", self.archive_name.clone());
        row(
            "Archive size",
            opt(self.archive_bytes.map(|b| format!("{b} bytes"))),
        );
        row(
            "Transport SHA-256",
            opt(self.transport_sha256.map(|d| d.hex())),
        );
        row(
            "Producer",
            opt(self
                .producer
                .as_ref()
                .map(|p| format!("{} {}", p.name, p.version))),
        );
        row("Source version", opt(self.source_version.clone()));
        row(
            "Generated at",
            opt(self.generated_at.map(|t| t.to_string())),
        );
        row("Source environment", opt(self.source_environment.clone()));
        row(
            "Format version",
            opt(self.format_version.map(|v| v.to_string())),
        );
        row("Target environment", self.target_environment.clone());
        row("Drilled at", self.drilled_at.to_string());
        row(
            "Drilled by",
            format!("{} {}", self.drilled_by.name, self.drilled_by.version),
        );
        if let Some(c) = &self.custody {
            row("Custody purpose", opt(c.purpose.clone()));
            row("Custody ticket", opt(c.ticket.clone()));
            row("Custody scope", opt(c.scope.clone()));
            row("Expires at", opt(c.expires_at.map(|t| t.to_string())));
        }
        s.push_str(&format!(
            "\n## Verification: {}\n\n",
            if self.valid { "valid" } else { "NOT valid" }
        ));
        checks_table(&mut s, &self.validation);
        s.push_str("\n## Manifest checksums\n\n");
        if self.checksums.is_empty() {
            s.push_str("Not available (the manifest could not be read).\n");
        } else {
            s.push_str(
                "| Entity | Parts | Records | Bytes | Part SHA-256 |\n|---|---:|---:|---:|---|\n",
            );
            for e in &self.checksums {
                let digests: Vec<String> = e.part_sha256.iter().map(|d| d.hex()).collect();
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    md_cell(&e.entity),
                    e.parts,
                    e.records,
                    e.bytes,
                    digests.join("<br>")
                ));
            }
            if let Some(d) = self.sha256sums {
                s.push_str(&format!("\nSHA256SUMS: `{}`\n", d.hex()));
            }
        }
        s.push_str(&format!(
            "\n## Dry-run import into `{}`\n\n",
            md_cell(&self.target_environment)
        ));
        if self.dry_run.is_empty() {
            s.push_str("Not run.\n");
        } else {
            s.push_str("| Entity | Records | Would write | Skipped | Invalid |\n|---|---:|---:|---:|---:|\n");
            for e in &self.dry_run {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    md_cell(&e.entity),
                    e.records,
                    e.would_write,
                    e.skipped,
                    e.invalid
                ));
            }
            let total = |f: fn(&EntityCounts) -> u64| self.dry_run.iter().map(f).sum::<u64>();
            s.push_str(&format!(
                "| **total** | {} | {} | {} | {} |\n",
                total(|e| e.records),
                total(|e| e.would_write),
                total(|e| e.skipped),
                total(|e| e.invalid)
            ));
        }
        s.push_str("\n## Smoke checks\n\n");
        checks_table(&mut s, &self.smoke_checks);
        s
    }
}

fn checks_table(s: &mut String, checks: &[CheckResult]) {
    if checks.is_empty() {
        s.push_str("Not run.\n");
        return;
    }
    s.push_str("| Check | Result | Checked | Failed | Detail |\n|---|---|---:|---:|---|\n");
    for c in checks {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md_cell(&c.name),
            if c.passed { "pass" } else { "**FAIL**" },
            c.checked,
            c.failed,
            md_cell(c.detail.as_deref().unwrap_or(""))
        ));
    }
}

/// Keeps a value inside its table cell.
fn md_cell(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Runs a restore drill of the archive at `archive_path` against
/// `importer` (a dry run: nothing is written) and returns the evidence.
///
/// Steps, each recorded: hash the file as transported; verify it (every
/// check of [`crate::VerifyReport`]); dry-run import every entity; smoke
/// checks (target is the requested environment and not production; every
/// entity readable; record counts agree with the manifest; records are JSON
/// objects; the importer accepts every record; the archive is not past its
/// custody expiry).
///
/// Never fails: when the archive cannot be read (missing file, wrong key,
/// damage) the evidence says which check failed and [`Evidence::passed`] is
/// `false`.
pub fn drill<I: Importer + ?Sized>(
    archive_path: &Path,
    identities: &Identities,
    target_environment: &str,
    importer: &mut I,
) -> Evidence {
    drill_at(
        archive_path,
        identities,
        target_environment,
        importer,
        Timestamp::now(),
    )
}

/// As [`drill`], as if run at `now` (custody expiry is judged against it).
pub fn drill_at<I: Importer + ?Sized>(
    archive_path: &Path,
    identities: &Identities,
    target_environment: &str,
    importer: &mut I,
    now: Timestamp,
) -> Evidence {
    let name = archive_path
        .file_name()
        .map(|n| crate::error::printable(&n.to_string_lossy()))
        .unwrap_or_else(|| crate::error::printable(&archive_path.to_string_lossy()));
    let mut ev = Evidence::start(name, target_environment, now);

    // 1. The file as transported.
    match transport_digest(archive_path) {
        Ok((digest, bytes)) => {
            ev.transport_sha256 = Some(digest);
            ev.archive_bytes = Some(bytes);
        }
        Err(e) => {
            ev.validation.push(CheckResult::error("read-archive", &e));
            return ev.conclude();
        }
    }

    // 2. Verification. `ArchiveReader::open` verifies; on failure a plain
    // `verify` pass recovers the per-check report.
    let mut reader = match open(archive_path).and_then(|f| ArchiveReader::open(f, identities)) {
        Ok(reader) => {
            let report = reader.report();
            ev.record_manifest(&report.manifest);
            ev.complete = report.complete;
            ev.valid = report.valid;
            ev.validation = report.checks.iter().map(CheckResult::from).collect();
            reader
        }
        Err(first) => {
            match open(archive_path).and_then(|f| verify(f, identities, ReadLimits::default())) {
                Ok(report) => {
                    ev.record_manifest(&report.manifest);
                    ev.complete = report.complete;
                    ev.valid = report.valid;
                    ev.validation = report.checks.iter().map(CheckResult::from).collect();
                    if report.valid {
                        // Valid on the second read but not the first: the file changed.
                        ev.validation
                            .push(CheckResult::error("stable-archive", &first));
                    }
                }
                Err(e) => ev
                    .validation
                    .push(CheckResult::error(unreadable_check(&e), &e)),
            }
            return ev.conclude();
        }
    };

    // 3. Smoke checks about the target, before touching it.
    let wrong_env = importer.target_environment() != target_environment;
    ev.smoke_checks.push(CheckResult::new(
        "target-environment",
        1,
        u64::from(wrong_env),
        wrong_env.then(|| {
            format!(
                "the importer's environment is {}, the drill's is {target_environment}",
                importer.target_environment()
            )
        }),
    ));
    let production = importer.is_production();
    ev.smoke_checks.push(CheckResult::new(
        "target-not-production",
        1,
        u64::from(production),
        production.then(|| "a drill never runs against a production target".to_string()),
    ));

    // 4. The dry run, observing every record for the smoke checks.
    let manifest = reader.manifest().clone();
    let mut unreadable = 0u64;
    let mut first_unreadable = None;
    let mut count_mismatch = 0u64;
    let mut first_mismatch = None;
    let mut non_objects = 0u64;
    let mut first_non_object = None;
    let mut dry_run_error = None;
    if !production {
        for entity in &manifest.entities {
            let mut objects_failed = 0u64;
            let (counts, error) = pass_entity(
                &mut reader,
                importer,
                &entity.name,
                Mode::DryRun,
                |record: &Value| {
                    if !record.is_object() {
                        objects_failed += 1;
                    }
                },
            );
            if objects_failed > 0 {
                non_objects += objects_failed;
                first_non_object.get_or_insert_with(|| format!("entity {}", entity.name));
            }
            match error {
                Some(e @ (Error::Archive { .. } | Error::Record { .. } | Error::Decrypt(_))) => {
                    unreadable += 1;
                    first_unreadable.get_or_insert_with(|| e.to_string());
                }
                Some(e) => {
                    dry_run_error.get_or_insert_with(|| e.to_string());
                }
                None => {
                    if counts.records != entity.records {
                        count_mismatch += 1;
                        first_mismatch.get_or_insert_with(|| {
                            format!(
                                "entity {}: read {} records, manifest says {}",
                                entity.name, counts.records, entity.records
                            )
                        });
                    }
                }
            }
            ev.dry_run.push(counts);
        }
        let entities = manifest.entities.len() as u64;
        let records: u64 = ev.dry_run.iter().map(|c| c.records).sum();
        ev.smoke_checks.push(CheckResult::new(
            "dry-run",
            entities,
            u64::from(dry_run_error.is_some()),
            dry_run_error,
        ));
        ev.smoke_checks.push(CheckResult::new(
            "entities-readable",
            entities,
            unreadable,
            first_unreadable,
        ));
        ev.smoke_checks.push(CheckResult::new(
            "counts-match-manifest",
            entities,
            count_mismatch,
            first_mismatch,
        ));
        ev.smoke_checks.push(CheckResult::new(
            "records-are-objects",
            records,
            non_objects,
            first_non_object,
        ));
        let invalid: u64 = ev.dry_run.iter().map(|c| c.invalid).sum();
        let first_invalid = ev.dry_run.iter().find_map(|c| {
            c.first_invalid
                .map(|n| format!("entity {}, record {n}", c.entity))
        });
        ev.smoke_checks.push(CheckResult::new(
            "target-accepts-records",
            records,
            invalid,
            first_invalid,
        ));
    }

    // 5. Custody.
    ev.smoke_checks.push(custody_check(&manifest, now));
    ev.conclude()
}

/// `custody-not-expired`: passes when no expiry is declared or it lies ahead.
fn custody_check(manifest: &Manifest, now: Timestamp) -> CheckResult {
    match manifest.custody.as_ref().and_then(|c| c.expires_at) {
        None => CheckResult::new(
            "custody-not-expired",
            0,
            0,
            Some("no expiry declared".into()),
        ),
        Some(at) if at < now => CheckResult::new(
            "custody-not-expired",
            1,
            1,
            Some(format!(
                "custody expired at {at}; the archive is due for deletion"
            )),
        ),
        Some(at) => CheckResult::new(
            "custody-not-expired",
            1,
            0,
            Some(format!("expires at {at}")),
        ),
    }
}

/// The check an error that stops reading belongs to.
fn unreadable_check(e: &Error) -> &'static str {
    match e {
        Error::Decrypt(_) | Error::Key(_) => "decrypt",
        Error::Archive { .. } => "archive-structure",
        Error::Io { .. } => "read-archive",
        _ => "verify",
    }
}

fn open(path: &Path) -> crate::Result<BufReader<File>> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|e| Error::io_path("opening", path, e))
}

fn transport_digest(path: &Path) -> crate::Result<(Digest, u64)> {
    let mut file = open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io_path("reading", path, e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hasher.finish(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_fails_the_read_check() {
        let ids = Identities::generate_x25519();
        let mut target = crate::restore::EmptyTarget::new("drill");
        let ev = drill(
            Path::new("/nonexistent/x.tar.zst.age"),
            &ids,
            "drill",
            &mut target,
        );
        assert!(!ev.passed);
        assert_eq!(ev.failed_check.as_deref(), Some("read-archive"));
        assert_eq!(ev.archive_name, "x.tar.zst.age");
        assert!(ev.to_markdown().contains("`read-archive`"));
    }

    #[test]
    fn table_cells_stay_in_their_cells() {
        assert_eq!(md_cell("a|b\nc"), "a/b c");
    }
}
