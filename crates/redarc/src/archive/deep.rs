//! Checks that need the manifest before the records: declared JSON Schemas,
//! relations (foreign keys) and tenant scope.
//!
//! The manifest is the archive's last member, so these run as a second pass
//! over records whose parts already passed size and hash checks, and only
//! when the manifest declares something to check.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use sha2::Digest as _;

use crate::archive::batch::{Piece, Work, Workers};
use crate::archive::reader::{Check, MemberData, Worker};
use crate::error::ArchiveProblem as P;
use crate::format::Manifest;
use crate::{Error, Result};

/// Most distinct referenced keys held for one relation check. Each takes 16
/// bytes, so this bounds the check at 64 MiB.
pub(crate) const MAX_RELATION_KEYS: usize = 4 << 20;

/// Something that can replay the verified records of an archive.
pub(crate) trait RecordSource {
    /// Calls `f(entity, line)` with every record line of `entities` (raw
    /// JSON, no newline), each entity's records in order, in one pass where
    /// the source allows.
    fn each_line(
        &mut self,
        entities: &[String],
        f: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()>;
}

/// Compiles a declared entity schema; refused if it is not a usable schema
/// or would need to fetch anything.
pub(crate) fn compile_schema(schema: &Value) -> std::result::Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema)
        .map_err(|e| format!("schema does not compile ({})", e.schema_path()))
}

/// `None` when `value` matches, else where in the schema it failed. Only the
/// schema location is reported: the data never is.
pub(crate) fn schema_problem(validator: &jsonschema::Validator, value: &Value) -> Option<String> {
    validator
        .validate(value)
        .err()
        .map(|e| format!("does not match its schema at {}", e.schema_path()))
}

/// Whether the manifest declares anything this module checks. An archive
/// that says it was redacted gets a residual-secret scan; a raw backup
/// (no redaction summary) holds secrets by design and does not.
pub(crate) fn needed(manifest: &Manifest) -> bool {
    manifest.entities.iter().any(|e| e.schema.is_some())
        || !manifest.relations.is_empty()
        || manifest.tenant.is_some()
        || manifest.redaction.is_some()
}

fn fingerprint(value: &Value) -> u128 {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let d = sha2::Sha256::digest(&bytes);
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    u128::from_le_bytes(out)
}

pub(crate) type Failures = Vec<(Option<String>, P)>;

/// Runs the schema, relation, tenant and residual-secret checks the
/// manifest declares, in one pass over the records.
///
/// One pass matters: replaying an archive means decrypting and
/// decompressing it again, so a pass per check and entity made a deep
/// verify cost many times a plain one.
///
/// `scanned` is the residual-secrets check when a [`PartScan`] already ran
/// it; the replay then skips it, and is skipped itself when nothing else
/// is declared.
pub(crate) fn run(
    manifest: &Manifest,
    src: &mut dyn RecordSource,
    scanned: Option<(Check, Failures)>,
) -> Result<Vec<(Check, Failures)>> {
    let mut schemas = Schemas::new(manifest);
    let mut relations = Relations::new(manifest);
    let mut tenant = Tenant::new(manifest);
    let residual = match (&manifest.redaction, &scanned) {
        (Some(_), None) => Some(Residual::new()?),
        _ => None,
    };
    if schemas.is_none() && relations.is_none() && tenant.is_none() && residual.is_none() {
        return Ok(scanned.into_iter().collect());
    }
    let names: Vec<String> = manifest.entities.iter().map(|e| e.name.clone()).collect();
    // The residual scan reads the raw line; only the other checks need it parsed.
    let needs_value = schemas.is_some() || relations.is_some() || tenant.is_some();
    let mut record_no: BTreeMap<String, u64> = BTreeMap::new();
    // The residual scan runs at redaction speed, several times slower than
    // replaying the records: it gets a thread of its own, fed batches of
    // lines, while this one replays and runs the other checks.
    let residual = std::thread::scope(|scope| -> Result<Option<Residual>> {
        let mut feed = match residual {
            Some(r) => Some(ResidualFeed::start(scope, r)?),
            None => None,
        };
        src.each_line(&names, &mut |entity, line| {
            let n = record_no.entry(entity.to_string()).or_insert(0);
            *n += 1;
            let record = *n;
            if needs_value {
                let value: Value = serde_json::from_slice(line).map_err(|e| Error::Record {
                    entity: entity.to_string(),
                    record,
                    detail: crate::json_error_category(&e),
                })?;
                if let Some(s) = schemas.as_mut() {
                    s.record(entity, record, &value);
                }
                if let Some(r) = relations.as_mut() {
                    r.record(entity, &value)?;
                }
                if let Some(t) = tenant.as_mut() {
                    t.record(entity, &value);
                }
            }
            if let Some(feed) = feed.as_mut() {
                feed.line(entity, record, line)?;
            }
            Ok(())
        })?;
        feed.map(ResidualFeed::finish).transpose()
    })?;
    let mut out = Vec::new();
    if let Some(s) = schemas {
        out.push(s.finish(manifest));
    }
    if let Some(r) = relations {
        out.push(r.finish());
    }
    if let Some(t) = tenant {
        out.push(t.finish());
    }
    if let Some(r) = residual {
        out.push(r.finish(manifest));
    }
    out.extend(scanned);
    Ok(out)
}

/// Lines of one entity for the residual thread: `\n`-separated, the first
/// being record `first`.
struct Batch {
    entity: String,
    first: u64,
    /// How many lines `lines` holds (a line could in principle be empty).
    count: u64,
    lines: Vec<u8>,
}

/// Bytes of lines sent to the residual thread at once; with the two queued
/// and the one being scanned, a few MiB at most.
const BATCH_BYTES: usize = 1 << 20;

/// The residual scan on its own thread.
struct ResidualFeed<'scope> {
    tx: Option<std::sync::mpsc::SyncSender<Batch>>,
    batch: Batch,
    worker: Worker<'scope, Residual>,
}

impl<'scope> ResidualFeed<'scope> {
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        mut residual: Residual,
    ) -> Result<ResidualFeed<'scope>> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let worker = Worker::start(scope, "residual", move || {
            for batch in rx {
                let lines = crate::archive::batch::split_lines(&batch.lines);
                let records = batch.first..batch.first + batch.count;
                for (record, line) in records.zip(lines) {
                    residual.record(&batch.entity, record, line)?;
                }
            }
            Ok(residual)
        })?;
        Ok(ResidualFeed {
            tx: Some(tx),
            batch: Batch {
                entity: String::new(),
                first: 0,
                count: 0,
                lines: Vec::new(),
            },
            worker,
        })
    }

    /// Queues record `record` of `entity` (a line the first pass checked:
    /// no newline in it).
    fn line(&mut self, entity: &str, record: u64, line: &[u8]) -> Result<()> {
        if self.batch.entity != entity || self.batch.lines.len() >= BATCH_BYTES {
            self.send()?;
        }
        if self.batch.count == 0 {
            self.batch.entity.clear();
            self.batch.entity.push_str(entity);
            self.batch.first = record;
        } else {
            self.batch.lines.push(b'\n');
        }
        self.batch.lines.extend_from_slice(line);
        self.batch.count += 1;
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        if self.batch.count == 0 {
            return Ok(());
        }
        let batch = Batch {
            entity: self.batch.entity.clone(),
            first: self.batch.first,
            count: std::mem::take(&mut self.batch.count),
            lines: std::mem::replace(&mut self.batch.lines, Vec::with_capacity(BATCH_BYTES)),
        };
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if !sent {
            // The thread stopped early; `finish` returns why.
            self.tx = None;
        }
        Ok(())
    }

    /// Sends what is left, waits for the thread and returns its tallies.
    fn finish(mut self) -> Result<Residual> {
        self.send()?;
        drop(self.tx.take());
        self.worker.join()
    }
}

/// Residual-secret scan: every record of a redacted archive is scanned with
/// the default policy; what redaction should have removed must not be
/// there. Findings are counted per entity and named by rule and JSON path,
/// never by value.
struct Residual {
    scanner: crate::Redactor,
    /// Per entity: records, findings, the first finding described.
    seen: BTreeMap<String, (u64, u64, Option<String>)>,
}

impl Residual {
    fn new() -> Result<Residual> {
        Ok(Residual {
            scanner: default_scanner()?.clone(),
            seen: BTreeMap::new(),
        })
    }

    fn record(&mut self, entity: &str, record: u64, line: &[u8]) -> Result<()> {
        let findings = self.scanner.scan_line(entity, record, line)?;
        let seen = self.seen.entry(entity.to_string()).or_default();
        seen.0 += 1;
        if let Some(f) = findings.first() {
            seen.1 += findings.len() as u64;
            seen.2.get_or_insert_with(|| {
                format!(
                    "entity {entity}, record {record}: rule {} at {}",
                    f.rule,
                    f.path.as_deref().unwrap_or("$")
                )
            });
        }
        Ok(())
    }

    fn finish(self, manifest: &Manifest) -> (Check, Failures) {
        residual_check(manifest, &self.seen)
    }
}

/// The residual-secrets check from per-entity tallies: records scanned,
/// findings, the first finding described.
fn residual_check(
    manifest: &Manifest,
    seen: &BTreeMap<String, (u64, u64, Option<String>)>,
) -> (Check, Failures) {
    let mut check = Check::new("residual-secrets", 0);
    let mut failures = Vec::new();
    for entity in &manifest.entities {
        let Some((records, found, first)) = seen.get(&entity.name) else {
            continue;
        };
        check.checked += records;
        if *found > 0 {
            check.record_entity_failures(&entity.name, *found, first.clone());
            failures.push((
                None,
                P::ResidualSecrets {
                    entity: entity.name.clone(),
                    count: *found,
                },
            ));
        }
    }
    (check, failures)
}

/// Declared JSON Schemas, per entity.
struct Schemas {
    check: Check,
    failures: Failures,
    /// Entity → its compiled schema, records seen and records that fail.
    entities: BTreeMap<String, (jsonschema::Validator, u64, u64, Option<String>)>,
}

impl Schemas {
    fn new(manifest: &Manifest) -> Option<Schemas> {
        if !manifest.entities.iter().any(|e| e.schema.is_some()) {
            return None;
        }
        let mut check = Check::new("schemas", 0);
        let mut failures = Vec::new();
        let mut entities = BTreeMap::new();
        for entity in &manifest.entities {
            let Some(schema) = &entity.schema else {
                continue;
            };
            match compile_schema(schema) {
                Ok(v) => {
                    entities.insert(entity.name.clone(), (v, 0, 0, None));
                }
                Err(why) => check.fail(
                    &mut failures,
                    None,
                    P::ManifestInvalid(format!("entity {}: {why}", entity.name)),
                ),
            }
        }
        Some(Schemas {
            check,
            failures,
            entities,
        })
    }

    fn record(&mut self, entity: &str, record: u64, value: &Value) {
        let Some((validator, seen, bad, first)) = self.entities.get_mut(entity) else {
            return;
        };
        *seen += 1;
        if let Some(detail) = schema_problem(validator, value) {
            *bad += 1;
            if *bad == 1 {
                let problem = P::SchemaMismatch {
                    entity: entity.to_string(),
                    record,
                    detail,
                };
                *first = Some(problem.to_string());
                self.failures.push((None, problem));
            }
        }
    }

    fn finish(mut self, manifest: &Manifest) -> (Check, Failures) {
        for entity in &manifest.entities {
            let Some((_, seen, bad, first)) = self.entities.get(&entity.name) else {
                continue;
            };
            self.check.checked += seen;
            if *bad > 0 {
                self.check
                    .record_entity_failures(&entity.name, *bad, first.clone());
            }
        }
        (self.check, self.failures)
    }
}

/// Relations (foreign keys): the referenced keys and the references, as
/// 128-bit fingerprints, compared once every record has been seen.
struct Relations {
    /// Per declared relation: its name, referenced keys, references.
    rels: Vec<(crate::format::Relation, String, Vec<u128>, Vec<u128>)>,
}

impl Relations {
    fn new(manifest: &Manifest) -> Option<Relations> {
        if manifest.relations.is_empty() {
            return None;
        }
        let rels = manifest
            .relations
            .iter()
            .map(|rel| {
                let name = format!(
                    "{}.{} -> {}.{}",
                    rel.from_entity, rel.from_field, rel.to_entity, rel.to_field
                );
                (rel.clone(), name, Vec::new(), Vec::new())
            })
            .collect();
        Some(Relations { rels })
    }

    fn record(&mut self, entity: &str, value: &Value) -> Result<()> {
        for (rel, name, keys, refs) in &mut self.rels {
            if rel.to_entity == entity {
                if let Some(v) = value.get(&rel.to_field) {
                    push_bounded(keys, fingerprint(v), name)?;
                }
            }
            if rel.from_entity == entity {
                match value.get(&rel.from_field) {
                    None | Some(Value::Null) => {}
                    Some(v) => push_bounded(refs, fingerprint(v), name)?,
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> (Check, Failures) {
        let mut check = Check::new("relations", 0);
        let mut failures = Vec::new();
        for (rel, name, mut keys, refs) in self.rels {
            keys.sort_unstable();
            keys.dedup();
            check.checked += refs.len() as u64;
            let dangling = refs
                .iter()
                .filter(|r| keys.binary_search(r).is_err())
                .count() as u64;
            if dangling > 0 {
                let problem = P::DanglingReferences {
                    relation: name,
                    count: dangling,
                };
                check.record_entity_failures(&rel.from_entity, dangling, Some(problem.to_string()));
                failures.push((None, problem));
            }
        }
        (check, failures)
    }
}

/// Adds a fingerprint, refusing to hold more than [`MAX_RELATION_KEYS`].
fn push_bounded(v: &mut Vec<u128>, fp: u128, relation: &str) -> Result<()> {
    if v.len() >= MAX_RELATION_KEYS {
        return Err(Error::Usage(format!(
            "relation {relation}: more than {MAX_RELATION_KEYS} keys or references; the check needs more memory than allowed"
        )));
    }
    v.push(fp);
    Ok(())
}

/// Tenant scope: records whose tenant field holds another value.
struct Tenant {
    field: String,
    value: Value,
    checked: u64,
    foreign: BTreeMap<String, u64>,
}

impl Tenant {
    fn new(manifest: &Manifest) -> Option<Tenant> {
        manifest.tenant.as_ref().map(|scope| Tenant {
            field: scope.field.clone(),
            value: scope.value.clone(),
            checked: 0,
            foreign: BTreeMap::new(),
        })
    }

    fn record(&mut self, entity: &str, value: &Value) {
        if let Some(v) = value.get(&self.field) {
            self.checked += 1;
            if v != &self.value {
                *self.foreign.entry(entity.to_string()).or_insert(0) += 1;
            }
        }
    }

    fn finish(self) -> (Check, Failures) {
        let mut check = Check::new("tenant", self.checked);
        let mut failures = Vec::new();
        for (entity, count) in self.foreign {
            let problem = P::ForeignTenant {
                entity: entity.clone(),
                count,
            };
            check.record_entity_failures(&entity, count, Some(problem.to_string()));
            failures.push((None, problem));
        }
        (check, failures)
    }
}

/// The default policy compiled, or why it did not compile.
static SCANNER: OnceLock<std::result::Result<crate::Redactor, String>> = OnceLock::new();

/// The default policy, compiled once per process: every residual scan
/// uses it, and compiling it takes longer than verifying a small archive.
fn default_scanner() -> Result<&'static crate::Redactor> {
    SCANNER
        .get_or_init(|| {
            crate::Policy::default_policy()
                .compile()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Usage(format!("the default policy does not compile: {e}")))
}

/// What one piece of a part taught the [`PartScan`]: lines seen, the first
/// that is not one JSON value (its line counted from the piece's start),
/// and how many secrets the scan found.
#[derive(Default)]
pub(crate) struct ScanPiece {
    lines: u64,
    bad: Option<(u64, String)>,
    found: u64,
}

impl Piece for ScanPiece {
    fn clear(&mut self) {
        *self = ScanPiece::default();
    }
}

/// The same for a whole part.
struct PartTally {
    name: String,
    entity: String,
    lines: u64,
    bad: Option<(u64, String)>,
    found: u64,
}

/// The record checks of `verify` that read every line, run on the parts as
/// they stream by, on worker threads: each record one JSON value, and the
/// residual-secret scan.
///
/// The scan runs before the manifest (the last member) says whether the
/// archive was redacted. It stops at the first part with a finding: that
/// is a raw backup, whose scan would be wasted, or an archive that fails
/// the check anyway, which the replay then scans whole for exact counts.
/// A raw backup without a secret is scanned whole for nothing.
pub(crate) struct PartScan {
    /// Started with the first part.
    workers: Option<Workers<ScanPiece>>,
    threads: usize,
    parts: Vec<PartTally>,
    /// The part whose pieces are out with the workers.
    pending: Option<PartTally>,
    /// Cleared at the first part with a finding: the workers then only
    /// check the JSON.
    scanning: Arc<AtomicBool>,
}

impl PartScan {
    /// A scan on `threads` worker threads, started when the first part
    /// arrives. The default policy is compiled meanwhile on a thread of
    /// its own, unless an earlier scan did it already.
    pub(crate) fn new(threads: usize) -> PartScan {
        if SCANNER.get().is_none() {
            // If the thread cannot start, the first part compiles it.
            let _ = std::thread::Builder::new()
                .name("redarc-policy".into())
                .spawn(|| default_scanner().map(|_| ()));
        }
        PartScan {
            workers: None,
            threads,
            parts: Vec::new(),
            pending: None,
            scanning: Arc::new(AtomicBool::new(true)),
        }
    }

    fn start(threads: usize, scanning: Arc<AtomicBool>) -> Result<Workers<ScanPiece>> {
        let scanner = default_scanner()?;
        let work: Arc<Work<ScanPiece>> = Arc::new(move |entity, piece, out: &mut ScanPiece| {
            let piece = piece.strip_suffix(b"\n").unwrap_or(piece);
            let scan = scanning.load(Ordering::Relaxed);
            for line in crate::archive::batch::split_lines(piece) {
                out.lines += 1;
                let n = out.lines;
                if let Err(detail) = crate::archive::reader::check_json_line(line) {
                    out.bad.get_or_insert((n, detail));
                    continue;
                }
                if !scan {
                    continue;
                }
                match scanner.scan_checked_line(entity, n, line) {
                    Ok(findings) => out.found += findings.len() as u64,
                    Err(e) => {
                        let detail = match e {
                            Error::Record { detail, .. } => detail,
                            other => other.to_string(),
                        };
                        out.bad.get_or_insert((n, detail));
                    }
                }
            }
            false
        });
        Workers::start(threads, work)
    }

    /// Checks and scans the lines of part member `name`, read where the
    /// archive reader left them. The work goes on
    /// after this returns, while the caller hashes the part; the next
    /// call or [`PartScan::finish`] waits for it.
    pub(crate) fn part(&mut self, name: &str, data: MemberData) -> Result<()> {
        self.finish()?;
        let entity = crate::format::parse_part_path(name).map_or("", |(e, _)| e);
        let workers = match &mut self.workers {
            Some(w) => w,
            None => self
                .workers
                .insert(PartScan::start(self.threads, Arc::clone(&self.scanning))?),
        };
        workers.dispatch_shared(entity, Arc::new(data))?;
        self.pending = Some(PartTally {
            name: name.to_string(),
            entity: entity.to_string(),
            lines: 0,
            bad: None,
            found: 0,
        });
        Ok(())
    }

    /// Waits for the part handed over last and takes in its tallies.
    pub(crate) fn finish(&mut self) -> Result<()> {
        let (Some(mut tally), Some(workers)) = (self.pending.take(), self.workers.as_mut()) else {
            return Ok(());
        };
        workers.collect(|piece| {
            let before = tally.lines;
            if let Some((line, detail)) = piece.bad.take() {
                tally.bad.get_or_insert((before + line, detail));
            }
            tally.found += piece.found;
            tally.lines += piece.lines;
            Ok(())
        })?;
        if tally.found > 0 {
            // A raw backup, most likely: its secrets are there by design,
            // and scanning the rest would be work for nothing. Should the
            // manifest say it was redacted, the replay scans it all.
            self.scanning.store(false, Ordering::Relaxed);
        }
        self.parts.push(tally);
        Ok(())
    }

    /// The first line of part `name` that is not one JSON value, if any.
    pub(crate) fn bad_line(&self, name: &str) -> Option<&(u64, String)> {
        self.parts.iter().find(|p| p.name == name)?.bad.as_ref()
    }

    /// The residual-secrets check, or `None` when the manifest does not
    /// call for one (a raw backup) or the scan stopped at a finding (the
    /// replay then counts and names the findings).
    pub(crate) fn residual(&self, manifest: &Manifest) -> Option<(Check, Failures)> {
        manifest.redaction.as_ref()?;
        if !self.scanning.load(Ordering::Relaxed) {
            return None;
        }
        // Scanning only goes on while no part has a finding: what is left
        // to report is how many records were scanned.
        let mut seen: BTreeMap<String, (u64, u64, Option<String>)> = BTreeMap::new();
        for part in &self.parts {
            let (records, found, _) = seen.entry(part.entity.clone()).or_default();
            *records += part.lines;
            *found += part.found;
        }
        Some(residual_check(manifest, &seen))
    }
}
