//! Importing an archive into a store: the [`Importer`] trait, the dry run,
//! the human-approved real import and a JSONL-directory importer.
//!
//! # Why an approval value
//!
//! Export, verification, drills and dry runs are meant to be automated;
//! writing into a store is not. [`import`] takes an [`Approval`], and the
//! only ways to get one ask a person: [`Approval::ask_on_terminal`] refuses
//! unless standard input is a terminal and has the operator type the target
//! environment's name (and, for a production target, a fixed phrase);
//! [`Approval::from_typed_confirmation`] exists for other interactive front
//! ends and checks the same typed words. An approval names one environment
//! and is refused by any importer whose environment differs.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::archive::ArchiveReader;
use crate::error::Error;
use crate::format::{validate_entity_name, Digest, Timestamp};
use crate::restore::naming::validate_environment;
use crate::Result;

/// Records handed to [`Importer::write_batch`] at a time.
pub const DEFAULT_BATCH: usize = 500;

/// The phrase an operator types, after the environment name, to approve an
/// import into a target marked production.
pub const PRODUCTION_CONFIRMATION: &str = "write to production";

/// A store records can be restored into. Implement it for your database.
///
/// Implementations must not put record contents into the errors and
/// messages they return: those end up in drill evidence and logs.
pub trait Importer {
    /// The environment this target belongs to, e.g. `restore-test`. An
    /// [`Approval`] for another environment is refused.
    fn target_environment(&self) -> &str;

    /// Whether the target is production. A drill fails against a production
    /// target, and a real import needs an approval with the production
    /// confirmation. Defaults to `false`.
    fn is_production(&self) -> bool {
        false
    }

    /// Whether the store already holds `record` of `entity` (it is then
    /// counted as skipped and not written). Asked about the store as it is;
    /// records of the same run not yet written do not count.
    ///
    /// # Errors
    /// The store cannot be asked; the dry run or import stops.
    fn exists(&mut self, entity: &str, record: &Value) -> Result<bool>;

    /// Whether `record` may be written. An `Err` reason counts the record as
    /// invalid and it is never written. The reason must not quote the
    /// record. Defaults to accepting everything.
    fn check(&mut self, entity: &str, record: &Value) -> std::result::Result<(), String> {
        let _ = (entity, record);
        Ok(())
    }

    /// Writes records of `entity`. Called only by [`import`], never by
    /// [`dry_run`] or [`drill`](crate::restore::drill).
    ///
    /// # Errors
    /// The write failed; the import stops.
    fn write_batch(&mut self, entity: &str, records: &[Value]) -> Result<()>;
}

/// Per-entity outcome of a dry run or an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntityCounts {
    /// Entity name.
    pub entity: String,
    /// Records read from the archive.
    pub records: u64,
    /// Records that are new and valid: written by an import, would be
    /// written by a dry run.
    pub would_write: u64,
    /// Records written (always 0 for a dry run).
    pub written: u64,
    /// Records the store already holds.
    pub skipped: u64,
    /// Records [`Importer::check`] refused.
    pub invalid: u64,
    /// Number (1-based) of the first invalid record, if any: a position,
    /// never contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_invalid: Option<u64>,
}

/// The outcome of a dry run or an import: counts per entity, in manifest order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImportCounts {
    /// `true` for a dry run (nothing was written).
    pub dry_run: bool,
    /// Counts per entity.
    pub entities: Vec<EntityCounts>,
}

impl ImportCounts {
    /// Counts for `entity`, if the archive has it.
    pub fn entity(&self, entity: &str) -> Option<&EntityCounts> {
        self.entities.iter().find(|e| e.entity == entity)
    }

    /// Total records read.
    pub fn records(&self) -> u64 {
        self.entities.iter().map(|e| e.records).sum()
    }

    /// Total records that would be (or were) written.
    pub fn would_write(&self) -> u64 {
        self.entities.iter().map(|e| e.would_write).sum()
    }

    /// Total records written.
    pub fn written(&self) -> u64 {
        self.entities.iter().map(|e| e.written).sum()
    }

    /// Total records skipped as already present.
    pub fn skipped(&self) -> u64 {
        self.entities.iter().map(|e| e.skipped).sum()
    }

    /// Total invalid records.
    pub fn invalid(&self) -> u64 {
        self.entities.iter().map(|e| e.invalid).sum()
    }
}

/// Whether a pass may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    DryRun,
    Write { batch: usize },
}

/// One pass over one entity; `observe` sees every record (the drill's smoke
/// checks use it). Stops at the first error, returning the counts so far.
pub(crate) fn pass_entity<R, I>(
    reader: &mut ArchiveReader<R>,
    importer: &mut I,
    entity: &str,
    mode: Mode,
    mut observe: impl FnMut(&Value),
) -> (EntityCounts, Option<Error>)
where
    R: Read + Seek,
    I: Importer + ?Sized,
{
    let mut counts = EntityCounts {
        entity: entity.to_string(),
        ..EntityCounts::default()
    };
    let records = match reader.records::<Value>(entity) {
        Ok(r) => r,
        Err(e) => return (counts, Some(e)),
    };
    let mut batch = Vec::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => return (counts, Some(e)),
        };
        counts.records += 1;
        observe(&record);
        if let Err(reason) = importer.check(entity, &record) {
            // The reason is the importer's; only the position is kept.
            let _ = reason;
            counts.invalid += 1;
            counts.first_invalid.get_or_insert(counts.records);
            continue;
        }
        match importer.exists(entity, &record) {
            Ok(true) => {
                counts.skipped += 1;
                continue;
            }
            Ok(false) => counts.would_write += 1,
            Err(e) => return (counts, Some(e)),
        }
        if let Mode::Write { batch: size } = mode {
            batch.push(record);
            if batch.len() >= size.max(1) {
                if let Err(e) = importer.write_batch(entity, &batch) {
                    return (counts, Some(e));
                }
                counts.written += batch.len() as u64;
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        if let Err(e) = importer.write_batch(entity, &batch) {
            return (counts, Some(e));
        }
        counts.written += batch.len() as u64;
    }
    (counts, None)
}

fn run<R, I>(reader: &mut ArchiveReader<R>, importer: &mut I, mode: Mode) -> Result<ImportCounts>
where
    R: Read + Seek,
    I: Importer + ?Sized,
{
    let names: Vec<String> = reader
        .manifest()
        .entities
        .iter()
        .map(|e| e.name.clone())
        .collect();
    let mut out = ImportCounts {
        dry_run: mode == Mode::DryRun,
        entities: Vec::with_capacity(names.len()),
    };
    for name in names {
        let (counts, error) = pass_entity(reader, importer, &name, mode, |_| {});
        if let Some(e) = error {
            return Err(e);
        }
        out.entities.push(counts);
    }
    Ok(out)
}

/// Counts, per entity, the records an import would write, skip (already
/// present) and refuse (invalid), without writing anything:
/// [`Importer::write_batch`] is never called.
///
/// # Errors
/// A record that cannot be read, or an error from [`Importer::exists`].
pub fn dry_run<R, I>(reader: &mut ArchiveReader<R>, importer: &mut I) -> Result<ImportCounts>
where
    R: Read + Seek,
    I: Importer + ?Sized,
{
    run(reader, importer, Mode::DryRun)
}

/// Imports every new, valid record into `importer`, in batches of
/// [`DEFAULT_BATCH`]. Needs an [`Approval`] for the importer's environment.
///
/// # Errors
/// [`Error::Usage`] when the approval is for another environment, or the
/// target is production and the approval lacks the production confirmation;
/// otherwise a read or store error (records written before it stay written).
pub fn import<R, I>(
    reader: &mut ArchiveReader<R>,
    importer: &mut I,
    approval: &Approval,
) -> Result<ImportCounts>
where
    R: Read + Seek,
    I: Importer + ?Sized,
{
    approval.permits(importer)?;
    run(
        reader,
        importer,
        Mode::Write {
            batch: DEFAULT_BATCH,
        },
    )
}

/// A person's approval to write one archive's records into one environment.
///
/// There is no public struct literal, no `Deserialize` and no `Clone`: an
/// approval comes from [`Approval::ask_on_terminal`] or, for other
/// interactive front ends, [`Approval::from_typed_confirmation`].
#[derive(Debug, Serialize)]
pub struct Approval {
    operator: String,
    reason: String,
    target_environment: String,
    production: bool,
    approved_at: Timestamp,
}

impl Approval {
    /// Asks on the terminal: prints what is about to happen on standard
    /// error and reads the operator's answers from standard input.
    ///
    /// The operator types the target environment's name; when `production`
    /// is set they then type [`PRODUCTION_CONFIRMATION`].
    ///
    /// # Errors
    /// [`Error::Usage`] when standard input is not a terminal (automation
    /// cannot approve), when an answer does not match, or when `operator`,
    /// `reason` or the environment is empty or invalid.
    pub fn ask_on_terminal(
        operator: &str,
        reason: &str,
        target_environment: &str,
        production: bool,
    ) -> Result<Approval> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Error::Usage(
                "refusing to import: standard input is not a terminal; a real import needs a person to confirm it"
                    .into(),
            ));
        }
        let mut err = std::io::stderr();
        let mut input = stdin.lock();
        let mut ask = |prompt: &str| -> Result<String> {
            write!(err, "{prompt}")
                .and_then(|_| err.flush())
                .map_err(|e| Error::io("writing the prompt", e))?;
            let mut line = String::new();
            input
                .read_line(&mut line)
                .map_err(|e| Error::io("reading the confirmation", e))?;
            Ok(line.trim_end_matches(['\n', '\r']).to_string())
        };
        let typed_env = ask(&format!(
            "Import into environment {target_environment}{}. Type the environment name to approve: ",
            if production { " (PRODUCTION)" } else { "" }
        ))?;
        let typed_phrase = if production {
            Some(ask(&format!(
                "This target is production. Type \"{PRODUCTION_CONFIRMATION}\" to approve: "
            ))?)
        } else {
            None
        };
        Approval::from_typed_confirmation(
            operator,
            reason,
            target_environment,
            production,
            &typed_env,
            typed_phrase.as_deref(),
        )
    }

    /// Builds an approval from what a person typed. **For interactive use
    /// only**: pass exactly what the operator entered, never a value
    /// computed by a program; [`Approval::ask_on_terminal`] is the usual
    /// way in.
    ///
    /// `typed_environment` must equal `target_environment`; when
    /// `production` is set, `typed_production_phrase` must be
    /// [`PRODUCTION_CONFIRMATION`].
    ///
    /// # Errors
    /// [`Error::Usage`] when a typed answer does not match, or `operator`,
    /// `reason` or the environment is empty or invalid.
    pub fn from_typed_confirmation(
        operator: &str,
        reason: &str,
        target_environment: &str,
        production: bool,
        typed_environment: &str,
        typed_production_phrase: Option<&str>,
    ) -> Result<Approval> {
        validate_environment(target_environment)
            .map_err(|e| Error::Usage(format!("target environment: {e}")))?;
        if operator.trim().is_empty() {
            return Err(Error::Usage("an approval needs an operator".into()));
        }
        if reason.trim().is_empty() {
            return Err(Error::Usage("an approval needs a reason or ticket".into()));
        }
        if typed_environment.trim() != target_environment {
            return Err(Error::Usage(
                "not approved: the typed environment name does not match the target".into(),
            ));
        }
        if production && typed_production_phrase.map(str::trim) != Some(PRODUCTION_CONFIRMATION) {
            return Err(Error::Usage(
                "not approved: a production target needs the production confirmation phrase".into(),
            ));
        }
        Ok(Approval {
            operator: operator.trim().to_string(),
            reason: reason.trim().to_string(),
            target_environment: target_environment.to_string(),
            production,
            approved_at: Timestamp::now(),
        })
    }

    /// Who approved.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Why (reason or ticket).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The one environment this approval allows writing into.
    pub fn target_environment(&self) -> &str {
        &self.target_environment
    }

    /// Whether the production confirmation was given.
    pub fn production(&self) -> bool {
        self.production
    }

    /// When it was given.
    pub fn approved_at(&self) -> Timestamp {
        self.approved_at
    }

    /// Refuses an importer this approval does not cover.
    fn permits<I: Importer + ?Sized>(&self, importer: &I) -> Result<()> {
        if importer.target_environment() != self.target_environment {
            return Err(Error::Usage(format!(
                "refusing to import: the approval is for environment {}, the target is {}",
                self.target_environment,
                importer.target_environment()
            )));
        }
        if importer.is_production() && !self.production {
            return Err(Error::Usage(
                "refusing to import: the target is production and the approval lacks the production confirmation"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A target that holds nothing and accepts no writes: what a drill runs
/// against when no real target is given.
#[derive(Debug, Clone)]
pub struct EmptyTarget {
    environment: String,
}

impl EmptyTarget {
    /// An empty target in `environment`.
    pub fn new(environment: impl Into<String>) -> EmptyTarget {
        EmptyTarget {
            environment: environment.into(),
        }
    }
}

impl Importer for EmptyTarget {
    fn target_environment(&self) -> &str {
        &self.environment
    }

    fn exists(&mut self, _: &str, _: &Value) -> Result<bool> {
        Ok(false)
    }

    fn check(&mut self, _: &str, record: &Value) -> std::result::Result<(), String> {
        match record {
            Value::Object(_) => Ok(()),
            _ => Err("record is not a JSON object".into()),
        }
    }

    fn write_batch(&mut self, entity: &str, _: &[Value]) -> Result<()> {
        Err(Error::Usage(format!(
            "the empty target accepts no writes (entity {entity})"
        )))
    }
}

/// An importer for a directory of `<entity>.jsonl` files, one JSON object
/// per line.
///
/// A record already exists when the directory's file holds a record with
/// the same key field value (`id` by default); keys are kept as SHA-256
/// fingerprints, loaded the first time an entity is asked about. Writes
/// append to the file (created with its directory on the first write) and
/// are synced before returning. Constructing it touches nothing on disk.
#[derive(Debug)]
pub struct JsonlDirImporter {
    dir: PathBuf,
    environment: String,
    production: bool,
    key_field: String,
    keys: HashMap<String, HashSet<Digest>>,
}

impl JsonlDirImporter {
    /// An importer for `dir`, which belongs to `environment`.
    ///
    /// The target counts as production when marked so with
    /// [`JsonlDirImporter::production`] or when the environment is named
    /// `production` or `prod`.
    ///
    /// # Errors
    /// [`Error::Usage`] when the environment name is not valid (see
    /// [`validate_environment`](crate::restore::validate_environment)).
    pub fn new(dir: impl Into<PathBuf>, environment: &str) -> Result<JsonlDirImporter> {
        validate_environment(environment)
            .map_err(|e| Error::Usage(format!("target environment: {e}")))?;
        Ok(JsonlDirImporter {
            dir: dir.into(),
            production: matches!(environment, "production" | "prod"),
            environment: environment.to_string(),
            key_field: "id".into(),
            keys: HashMap::new(),
        })
    }

    /// Marks the target as production (it cannot be unmarked).
    pub fn production(mut self, production: bool) -> JsonlDirImporter {
        self.production |= production;
        self
    }

    /// The top-level field that identifies a record (default `id`).
    pub fn key_field(mut self, field: impl Into<String>) -> JsonlDirImporter {
        self.key_field = field.into();
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, entity: &str) -> Result<PathBuf> {
        // Entity names become file names: refuse anything but the format's.
        validate_entity_name(entity).map_err(Error::Usage)?;
        Ok(self.dir.join(format!("{entity}.jsonl")))
    }

    fn fingerprint(&self, record: &Value) -> Option<Digest> {
        let key = record.get(&self.key_field)?;
        // serde_json writes a Value deterministically (maps are sorted).
        Some(Digest::of(serde_json::to_string(key).ok()?.as_bytes()))
    }

    fn keys(&mut self, entity: &str) -> Result<&mut HashSet<Digest>> {
        if !self.keys.contains_key(entity) {
            let path = self.path(entity)?;
            let mut set = HashSet::new();
            match File::open(&path) {
                Ok(file) => {
                    for (i, line) in BufReader::new(file).lines().enumerate() {
                        let line = line.map_err(|e| Error::io_path("reading", &path, e))?;
                        if line.trim().is_empty() {
                            continue;
                        }
                        let value: Value =
                            serde_json::from_str(&line).map_err(|e| Error::Record {
                                entity: entity.to_string(),
                                record: i as u64 + 1,
                                detail: format!(
                                    "{} holds a line that is not JSON ({})",
                                    path.display(),
                                    crate::json_error_category(&e)
                                ),
                            })?;
                        if let Some(fp) = self.fingerprint(&value) {
                            set.insert(fp);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io_path("opening", &path, e)),
            }
            self.keys.insert(entity.to_string(), set);
        }
        self.keys
            .get_mut(entity)
            .ok_or_else(|| Error::Usage(format!("no key set for entity {entity}")))
    }
}

impl Importer for JsonlDirImporter {
    fn target_environment(&self) -> &str {
        &self.environment
    }

    fn is_production(&self) -> bool {
        self.production
    }

    fn exists(&mut self, entity: &str, record: &Value) -> Result<bool> {
        let Some(fp) = self.fingerprint(record) else {
            return Ok(false);
        };
        Ok(self.keys(entity)?.contains(&fp))
    }

    fn check(&mut self, _: &str, record: &Value) -> std::result::Result<(), String> {
        match record {
            Value::Object(_) => Ok(()),
            _ => Err("record is not a JSON object".into()),
        }
    }

    fn write_batch(&mut self, entity: &str, records: &[Value]) -> Result<()> {
        let path = self.path(entity)?;
        // Load existing keys first so later `exists` calls see both.
        self.keys(entity)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io_path("creating", &self.dir, e))?;
        let mut buf = Vec::new();
        for (i, record) in records.iter().enumerate() {
            serde_json::to_writer(&mut buf, record).map_err(|e| Error::Record {
                entity: entity.to_string(),
                record: i as u64 + 1,
                detail: crate::json_error_category(&e),
            })?;
            buf.push(b'\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io_path("opening", &path, e))?;
        file.write_all(&buf)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io_path("writing", &path, e))?;
        let fps: Vec<Digest> = records.iter().filter_map(|r| self.fingerprint(r)).collect();
        self.keys(entity)?.extend(fps);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_needs_the_typed_environment_and_phrase() {
        let ok = Approval::from_typed_confirmation(
            "ada",
            "INC-1",
            "restore-test",
            false,
            "restore-test",
            None,
        )
        .unwrap();
        assert_eq!(ok.target_environment(), "restore-test");
        assert!(!ok.production());
        assert!(Approval::from_typed_confirmation(
            "ada",
            "INC-1",
            "restore-test",
            false,
            "yes",
            None
        )
        .is_err());
        assert!(Approval::from_typed_confirmation(
            "",
            "INC-1",
            "restore-test",
            false,
            "restore-test",
            None
        )
        .is_err());
        assert!(Approval::from_typed_confirmation(
            "ada",
            " ",
            "restore-test",
            false,
            "restore-test",
            None
        )
        .is_err());
        assert!(Approval::from_typed_confirmation(
            "ada",
            "INC-1",
            "production",
            true,
            "production",
            None
        )
        .is_err());
        assert!(Approval::from_typed_confirmation(
            "ada",
            "INC-1",
            "production",
            true,
            "production",
            Some("yes")
        )
        .is_err());
        let prod = Approval::from_typed_confirmation(
            "ada",
            "INC-1",
            "production",
            true,
            "production",
            Some(PRODUCTION_CONFIRMATION),
        )
        .unwrap();
        assert!(prod.production());
    }

    #[test]
    fn approval_covers_only_its_environment_and_production_needs_the_phrase() {
        let staging = JsonlDirImporter::new("/nonexistent", "staging").unwrap();
        let other = JsonlDirImporter::new("/nonexistent", "restore-test").unwrap();
        let prod = JsonlDirImporter::new("/nonexistent", "prod").unwrap();
        let marked = JsonlDirImporter::new("/nonexistent", "staging")
            .unwrap()
            .production(true);
        let a = Approval::from_typed_confirmation("ada", "t", "staging", false, "staging", None)
            .unwrap();
        assert!(a.permits(&staging).is_ok());
        assert!(a.permits(&other).is_err());
        assert!(a.permits(&marked).is_err());
        let p = Approval::from_typed_confirmation("ada", "t", "prod", false, "prod", None).unwrap();
        assert!(p.permits(&prod).is_err(), "prod is production by name");
    }

    #[test]
    fn automation_cannot_get_a_terminal_approval() {
        // Test runners give the test no terminal on stdin.
        if !std::io::stdin().is_terminal() {
            let err = Approval::ask_on_terminal("ada", "t", "staging", false).unwrap_err();
            assert!(err.to_string().contains("not a terminal"));
        }
    }

    #[test]
    fn jsonl_dir_importer_keys_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        let mut imp = JsonlDirImporter::new(&target, "restore-test").unwrap();
        assert!(!target.exists(), "construction touches nothing");
        let a = serde_json::json!({"id": 1, "x": "a"});
        assert!(!imp.exists("users", &a).unwrap());
        assert!(!target.exists(), "asking touches nothing");
        imp.write_batch("users", std::slice::from_ref(&a)).unwrap();
        assert!(imp.exists("users", &a).unwrap());
        assert!(!imp
            .exists("users", &serde_json::json!({"id": "1"}))
            .unwrap());
        let mut again = JsonlDirImporter::new(&target, "restore-test").unwrap();
        assert!(again
            .exists("users", &serde_json::json!({"id": 1, "x": "changed"}))
            .unwrap());
        assert!(again.write_batch("../escape", &[a]).is_err());
        assert_eq!(
            std::fs::read_to_string(target.join("users.jsonl")).unwrap(),
            "{\"id\":1,\"x\":\"a\"}\n"
        );
        assert!(again.check("users", &serde_json::json!([1])).is_err());
    }
}
