//! Streaming export writer: records → JSONL parts → tar → zstd → age.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::archive::batch;
use crate::archive::crypto::Recipients;
use crate::archive::sink::Sink;
use crate::error::Error;
use crate::format::{
    self, Custody, Digest, Entity, FormatVersion, Manifest, Omission, Part, Producer, Relation,
    TenantScope, Timestamp, MANIFEST_MEMBER, MAX_PARTS_PER_ENTITY, MAX_PART_BYTES, SUMS_MEMBER,
};
use crate::redact::{Redactor, Report};
use crate::Result;

/// Default size at which an entity's current part is closed: 8 MiB.
///
/// A part is buffered whole (its tar header needs the size first), so this
/// is also the writer's main memory cost.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

/// The context of the [`Error::Io`] [`EntityWriter::write_jsonl_from`]
/// returns when its reader fails, so that a caller can name the source.
pub const READING_RECORDS: &str = "reading the records";

/// Bytes [`EntityWriter::write_jsonl_from`] reads at a time.
const READ_CHUNK: usize = 2 << 20;

fn still_shared() -> Error {
    Error::Usage("a chunk of records is still with the worker threads".into())
}

/// Default zstd level: 1.
///
/// On JSONL exports level 1 is both faster and smaller than the zstd
/// tool's default of 3: the generated 200 MB export, redacted, compresses
/// to 37.8 MB at level 1 and 39.9 MB at level 3, in three quarters of the
/// time (docs/performance.md). At this level the match finder's hash
/// table is also kept smaller than zstd's own choice, for a little more
/// speed: the same export then makes 38.4 MB. Higher levels remain a
/// choice, with zstd's own parameters.
pub const DEFAULT_LEVEL: i32 = 1;

/// Default largest record accepted: 16 MiB.
pub const DEFAULT_MAX_RECORD: u64 = 16 * 1024 * 1024;

/// How to write an export.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExportOptions {
    pub(crate) environment: String,
    pub(crate) source_version: Option<String>,
    pub(crate) generated_at: Option<Timestamp>,
    pub(crate) part_size: u64,
    pub(crate) max_record: u64,
    pub(crate) level: i32,
    pub(crate) threads: u32,
    pub(crate) workers: usize,
    pub(crate) redactor: Option<Redactor>,
    pub(crate) custody: Option<Custody>,
    pub(crate) tenant: Option<TenantScope>,
    pub(crate) relations: Vec<Relation>,
}

impl ExportOptions {
    /// Options for an export of `environment` (e.g. `production`), with
    /// defaults: 8 MiB parts, zstd level 1, no redaction.
    pub fn new(environment: impl Into<String>) -> ExportOptions {
        ExportOptions {
            environment: environment.into(),
            source_version: None,
            generated_at: None,
            part_size: DEFAULT_PART_SIZE,
            max_record: DEFAULT_MAX_RECORD,
            level: DEFAULT_LEVEL,
            threads: 0,
            workers: 1,
            redactor: None,
            custody: None,
            tenant: None,
            relations: Vec::new(),
        }
    }

    /// Version of the application the data comes from (e.g. a git SHA).
    pub fn source_version(mut self, version: impl Into<String>) -> Self {
        self.source_version = Some(version.into());
        self
    }

    /// Fixes `generated_at` (default: now). With the same records and
    /// options, a fixed time gives byte-identical plaintext.
    pub fn generated_at(mut self, at: Timestamp) -> Self {
        self.generated_at = Some(at);
        self
    }

    /// Part size threshold in bytes (clamped to 1 byte … 64 MiB).
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes.clamp(1, MAX_PART_BYTES);
        self
    }

    /// Largest record accepted, in bytes (clamped to 1 byte … 64 MiB − 1).
    pub fn max_record(mut self, bytes: u64) -> Self {
        self.max_record = bytes.clamp(1, MAX_PART_BYTES - 1);
        self
    }

    /// zstd compression level (1–19; default [`DEFAULT_LEVEL`]).
    pub fn compression_level(mut self, level: i32) -> Self {
        self.level = level.clamp(1, 19);
        self
    }

    /// zstd worker threads; 0 (the default) compresses on the calling thread.
    pub fn compression_threads(mut self, threads: u32) -> Self {
        self.threads = threads;
        self
    }

    /// Threads that check and redact the records given to
    /// [`EntityWriter::write_jsonl`] (default 1, 0 counts as 1: the calling
    /// thread does it). Above 1, that many threads do it while the calling
    /// thread commits their results in order, so parts, report and archive
    /// bytes are the same for every count. Each thread holds its own regex
    /// caches: about 2.5 MiB of memory with the default policy.
    pub fn workers(mut self, threads: usize) -> Self {
        self.workers = threads.max(1);
        self
    }

    /// Passes every record through `redactor` before it is written; the
    /// manifest then carries the redaction summary.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Custody metadata (purpose, ticket, scope, expiry).
    pub fn custody(mut self, custody: Custody) -> Self {
        self.custody = Some(custody);
        self
    }

    /// Declares the tenant the export is scoped to.
    pub fn tenant(mut self, tenant: TenantScope) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// Declares a foreign key between two exported entities.
    pub fn relation(mut self, relation: Relation) -> Self {
        self.relations.push(relation);
        self
    }
}

/// Writes an export archive as a stream.
///
/// Open entities one at a time with [`ExportWriter::entity`], write records,
/// [`EntityWriter::finish`] each, declare omissions, then call
/// [`ExportWriter::finish`], which writes `SHA256SUMS` and the manifest and
/// reports every error. Dropping the writer without `finish` leaves an
/// incomplete archive that every reader rejects.
pub struct ExportWriter<W: Write> {
    sink: Option<Sink<W>>,
    opts: ExportOptions,
    generated_at: Timestamp,
    entities: Vec<Entity>,
    omitted: Vec<Omission>,
    names: BTreeSet<String>,
    open: Option<String>,
    failed: bool,
    report: Report,
    part: Vec<u8>,
    /// Parts whose digest a writer thread computes, not yet filled in.
    later_digests: usize,
    scratch: Vec<u8>,
    /// The threads of [`ExportOptions::workers`], started at first need.
    workers: Option<batch::Workers<batch::Prepared>>,
}

impl<W: Write> std::fmt::Debug for ExportWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportWriter")
            .field("entities", &self.entities.len())
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ExportWriter<W> {
    /// Starts an export written to `out`, encrypted to `recipients`.
    ///
    /// # Errors
    /// [`Error::Key`] if the recipients cannot be used; [`Error::Io`] if the
    /// age header cannot be written.
    pub fn new(out: W, recipients: &Recipients, opts: ExportOptions) -> Result<ExportWriter<W>> {
        if opts.environment.is_empty() || opts.environment.len() > 64 {
            return Err(Error::Usage(
                "environment must be 1 to 64 characters".into(),
            ));
        }
        let age = recipients.encrypt(out)?;
        let zstd = crate::archive::frames::Compressor::new(age, opts.level, opts.threads)
            .map_err(|e| Error::io("starting zstd", e))?;
        let mut tar = tar::Builder::new(zstd);
        tar.mode(tar::HeaderMode::Deterministic);
        let generated_at = opts.generated_at.unwrap_or_else(Timestamp::now);
        // It is also every member's ustar mtime: 11 octal digits, from 1970.
        if !(0..=0o77777777777).contains(&generated_at.unix()) {
            return Err(Error::Usage(
                "generated_at must lie between 1970 and 2242".into(),
            ));
        }
        let part_capacity = opts.part_size.min(DEFAULT_PART_SIZE) as usize;
        Ok(ExportWriter {
            sink: Some(Sink::Inline(tar)),
            generated_at,
            entities: Vec::new(),
            omitted: Vec::new(),
            names: BTreeSet::new(),
            open: None,
            failed: false,
            report: Report::new(),
            part: Vec::with_capacity(part_capacity + 4096),
            later_digests: 0,
            scratch: Vec::with_capacity(4096),
            workers: None,
            opts,
        })
    }

    /// Opens entity `name` for writing. Only one entity can be open at a
    /// time; its parts are written as they fill.
    ///
    /// # Errors
    /// [`Error::Usage`] for an invalid or repeated name, or if an earlier
    /// entity was dropped without [`EntityWriter::finish`].
    pub fn entity(&mut self, name: &str) -> Result<EntityWriter<'_, W>> {
        self.open_entity(name, None)
    }

    /// Opens a typed entity: `T`'s JSON Schema is stored in the manifest,
    /// every record written is checked against it (after redaction, as
    /// stored), and `verify` checks every record again.
    ///
    /// # Errors
    /// As [`ExportWriter::entity`].
    pub fn typed_entity<T: schemars::JsonSchema>(
        &mut self,
        name: &str,
    ) -> Result<EntityWriter<'_, W>> {
        let schema = serde_json::to_value(schemars::schema_for!(T)).map_err(|e| {
            Error::Usage(format!(
                "entity {name}: schema: {}",
                crate::json_error_category(&e)
            ))
        })?;
        self.open_entity(name, Some(schema))
    }

    /// Opens an entity whose records must match the JSON Schema `schema`
    /// (draft 2020-12 unless it says otherwise; no remote `$ref`).
    ///
    /// # Errors
    /// As [`ExportWriter::entity`], or [`Error::Usage`] if the schema does
    /// not compile.
    pub fn entity_with_schema(
        &mut self,
        name: &str,
        schema: serde_json::Value,
    ) -> Result<EntityWriter<'_, W>> {
        self.open_entity(name, Some(schema))
    }

    fn open_entity(
        &mut self,
        name: &str,
        schema: Option<serde_json::Value>,
    ) -> Result<EntityWriter<'_, W>> {
        self.usable()?;
        let validator = match &schema {
            Some(s) => Some(
                crate::archive::deep::compile_schema(s)
                    .map_err(|why| Error::Usage(format!("entity {name}: {why}")))?,
            ),
            None => None,
        };
        if let Some(open) = &self.open {
            self.failed = true;
            return Err(Error::Usage(format!(
                "entity {open} was dropped without finish(); the export is incomplete"
            )));
        }
        format::validate_entity_name(name).map_err(Error::Usage)?;
        if !self.names.insert(name.to_string()) {
            return Err(Error::Usage(format!(
                "entity {name} is already in the export"
            )));
        }
        self.open = Some(name.to_string());
        self.part.clear();
        Ok(EntityWriter {
            export: self,
            name: name.to_string(),
            parts: Vec::new(),
            part_records: 0,
            record_no: 0,
            schema,
            validator,
        })
    }

    /// Declares an entity deliberately not exported, with the reason.
    pub fn omit(&mut self, name: &str, reason: &str) -> Result<()> {
        self.usable()?;
        format::validate_entity_name(name).map_err(Error::Usage)?;
        if reason.trim().is_empty() {
            return Err(Error::Usage(format!(
                "omitted entity {name} needs a reason"
            )));
        }
        if !self.names.insert(name.to_string()) {
            return Err(Error::Usage(format!(
                "entity {name} is already in the export"
            )));
        }
        self.omitted.push(Omission::new(name, reason));
        Ok(())
    }

    /// What redaction has changed so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Writes `SHA256SUMS` and the manifest, closes every layer and returns
    /// the manifest.
    ///
    /// # Errors
    /// Any error of the underlying writer, or [`Error::Usage`] if an entity
    /// was left open.
    pub fn finish(self) -> Result<Manifest> {
        self.finish_into_inner().map(|(m, _)| m)
    }

    /// As [`ExportWriter::finish`], also returning the underlying writer.
    pub fn finish_into_inner(mut self) -> Result<(Manifest, W)> {
        self.usable()?;
        if let Some(open) = &self.open {
            return Err(Error::Usage(format!(
                "entity {open} was not finished; the export is incomplete"
            )));
        }
        if self.entities.is_empty() {
            return Err(Error::Usage(
                "an export needs at least one entity (an empty one is fine)".into(),
            ));
        }
        self.fill_later_digests()?;
        let sums = format::render_sha256sums(
            self.entities
                .iter()
                .flat_map(|e| e.parts.iter().map(|p| (p.path.as_str(), &p.sha256))),
        );
        let redaction = self.opts.redactor.as_ref().map(|r| self.report.summary(r));
        let manifest = Manifest {
            format: format::FORMAT_NAME.into(),
            format_version: FormatVersion::CURRENT,
            generated_at: self.generated_at,
            environment: self.opts.environment.clone(),
            source_version: self.opts.source_version.clone(),
            producer: Producer::redarc(),
            entities: std::mem::take(&mut self.entities),
            omitted: std::mem::take(&mut self.omitted),
            sha256sums: Digest::of(&sums),
            redaction,
            relations: self.opts.relations.clone(),
            tenant: self.opts.tenant.clone(),
            custody: self.opts.custody.clone(),
        };
        manifest
            .validate()
            .map_err(|e| Error::Usage(format!("the export breaks a format rule: {e}")))?;
        let bytes = manifest.to_bytes();
        if sums.len() as u64 > format::MAX_SUMS_BYTES
            || bytes.len() as u64 > format::MAX_MANIFEST_BYTES
        {
            self.failed = true;
            return Err(Error::Usage(
                "the export has too many parts for one manifest; raise the part size".into(),
            ));
        }
        self.append(SUMS_MEMBER, sums)?;
        self.append(MANIFEST_MEMBER, bytes)?;
        let sink = self
            .sink
            .take()
            .ok_or_else(|| Error::Usage("the export writer already failed".into()))?;
        let out = sink.finish()?;
        Ok((manifest, out))
    }

    /// Puts the digests a writer thread computed into the parts. Entities
    /// are open one at a time and kept in the order they finished, so their
    /// parts, in order, are the members the thread hashed, in order.
    fn fill_later_digests(&mut self) -> Result<()> {
        let pending = self.later_digests;
        if pending == 0 {
            return Ok(());
        }
        let parts: usize = self.entities.iter().map(|e| e.parts.len()).sum();
        if parts != pending {
            self.failed = true;
            return Err(Error::Usage(
                "part digests and parts do not line up; the export is incomplete".into(),
            ));
        }
        let Some(sink) = self.sink.as_mut() else {
            return Err(Error::Usage("the export writer already failed".into()));
        };
        let digests = sink
            .later_digests(pending)
            .inspect_err(|_| self.failed = true)?;
        let slots = self.entities.iter_mut().flat_map(|e| e.parts.iter_mut());
        for (part, digest) in slots.zip(digests) {
            part.sha256 = digest;
        }
        self.later_digests = 0;
        Ok(())
    }

    fn usable(&self) -> Result<()> {
        if self.failed || self.sink.is_none() {
            return Err(Error::Usage(
                "the export writer failed earlier; start a new export".into(),
            ));
        }
        Ok(())
    }

    /// Appends a member and returns an empty buffer to reuse.
    fn append(&mut self, path: &str, data: Vec<u8>) -> Result<Vec<u8>> {
        self.append_member(path, data, false).map(|(buf, _)| buf)
    }

    /// Appends a member; with `hash`, also its SHA-256 when the sink knows
    /// it now (else the sink hands it out at the end).
    fn append_member(
        &mut self,
        path: &str,
        data: Vec<u8>,
        hash: bool,
    ) -> Result<(Vec<u8>, Option<Digest>)> {
        let mut header = tar::Header::new_ustar();
        header
            .set_path(path)
            .map_err(|e| Error::io(format!("naming member {path}"), e))?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(u64::try_from(self.generated_at.unix()).unwrap_or(0));
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let Some(sink) = self.sink.as_mut() else {
            return Err(Error::Usage("the export writer already failed".into()));
        };
        sink.append(header, data, hash)
            .inspect_err(|_| self.failed = true)
    }

    /// Closes the current part of `entity` (index `index`) and returns its
    /// description.
    fn flush_part(&mut self, entity: &str, index: u32, records: u64) -> Result<Part> {
        if index >= MAX_PARTS_PER_ENTITY {
            self.failed = true;
            return Err(Error::Usage(format!(
                "entity {entity} needs more than {MAX_PARTS_PER_ENTITY} parts; raise the part size"
            )));
        }
        let path = format::part_path(entity, index);
        let bytes = self.part.len() as u64;
        let part = std::mem::take(&mut self.part);
        let (mut next, digest) = self.append_member(&path, part, true)?;
        // A writer thread hashes the part; `finish` collects the digest.
        let digest = digest.unwrap_or_else(|| {
            self.later_digests += 1;
            Digest([0; 32])
        });
        if next.capacity() == 0 {
            next.reserve(self.opts.part_size.min(DEFAULT_PART_SIZE) as usize + 4096);
        }
        self.part = next;
        Ok(Part::new(path, records, bytes, digest))
    }
}

impl<W: Write + Send + 'static> ExportWriter<W> {
    /// As [`ExportWriter::new`], but tar, zstd and age run on a writer
    /// thread, overlapping with serialization, redaction and hashing on the
    /// calling thread. At most three parts are in memory at once.
    ///
    /// # Errors
    /// As [`ExportWriter::new`], or if the thread cannot start.
    pub fn new_pipelined(
        out: W,
        recipients: &Recipients,
        opts: ExportOptions,
    ) -> Result<ExportWriter<W>> {
        let mut writer = ExportWriter::new(out, recipients, opts)?;
        if let Some(Sink::Inline(stack)) = writer.sink.take() {
            writer.sink = Some(Sink::threaded(stack)?);
        }
        Ok(writer)
    }
}

/// Writes the records of one entity. Obtained from [`ExportWriter::entity`].
///
/// Call [`EntityWriter::finish`] when done: dropping it unfinished makes the
/// export fail at its next step.
pub struct EntityWriter<'a, W: Write> {
    export: &'a mut ExportWriter<W>,
    name: String,
    parts: Vec<Part>,
    part_records: u64,
    record_no: u64,
    schema: Option<serde_json::Value>,
    validator: Option<jsonschema::Validator>,
}

impl<W: Write> std::fmt::Debug for EntityWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityWriter")
            .field("name", &self.name)
            .field("records", &self.record_no)
            .finish_non_exhaustive()
    }
}

impl<W: Write> EntityWriter<'_, W> {
    /// Serializes `record` as one JSON line.
    ///
    /// # Errors
    /// [`Error::Record`] if it cannot be serialized or is too large.
    pub fn write<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.export.scratch);
        scratch.clear();
        let result = match serde_json::to_writer(&mut scratch, record) {
            Ok(()) => self.push_line(&scratch, true),
            Err(e) => Err(self.record_error(crate::json_error_category(&e))),
        };
        self.export.scratch = scratch;
        result
    }

    /// Writes one record given as JSON text (one JSONL line without its
    /// newline). The text must be exactly one JSON value.
    ///
    /// # Errors
    /// [`Error::Record`] if it is not one JSON value on one line, or is too
    /// large.
    pub fn write_json_line(&mut self, line: &[u8]) -> Result<()> {
        self.push_line(line, false)
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.record_no
    }

    fn record_error(&self, detail: String) -> Error {
        Error::Record {
            entity: self.name.clone(),
            record: self.record_no + 1,
            detail,
        }
    }

    fn push_line(&mut self, line: &[u8], trusted_json: bool) -> Result<()> {
        let export = &mut *self.export;
        let start = export.part.len();
        prepare_record(
            export.opts.redactor.as_ref(),
            &self.name,
            self.record_no + 1,
            line,
            trusted_json,
            &mut export.part,
            &mut export.report,
        )?;
        self.commit(start)
    }

    /// Takes the prepared record at `export.part[start..]` into the entity:
    /// checks it against the schema and the size limit, ends its line and
    /// closes the part before it if the part would overflow. On error the
    /// record is taken back out.
    fn commit(&mut self, start: usize) -> Result<()> {
        let export = &mut *self.export;
        if let Some(validator) = &self.validator {
            let problem = match serde_json::from_slice::<serde_json::Value>(&export.part[start..]) {
                Ok(value) => crate::archive::deep::schema_problem(validator, &value),
                Err(e) => Some(crate::json_error_category(&e)),
            };
            if let Some(detail) = problem {
                export.part.truncate(start);
                return Err(Error::Record {
                    entity: self.name.clone(),
                    record: self.record_no + 1,
                    detail,
                });
            }
        }
        export.part.push(b'\n');
        let len = (export.part.len() - start) as u64;
        if len - 1 > export.opts.max_record {
            export.part.truncate(start);
            return Err(self.record_error(format!(
                "record is larger than the limit of {} bytes",
                self.export.opts.max_record
            )));
        }
        // Close the part before this record if it would overflow the threshold.
        if start > 0 && export.part.len() as u64 > export.opts.part_size {
            let record = export.part[start..].to_vec();
            export.part.truncate(start);
            let index = self.parts.len() as u32;
            let part = export.flush_part(&self.name, index, self.part_records)?;
            self.parts.push(part);
            self.part_records = 0;
            self.export.part.extend_from_slice(&record);
        }
        self.part_records += 1;
        self.record_no += 1;
        Ok(())
    }

    /// Writes the records of JSONL `text`: one record per line, each line
    /// ended by `\n` (the last may lack it), a `\r` before the `\n` dropped,
    /// and lines of whitespace only skipped. A line must not be split
    /// across two calls.
    ///
    /// The same as [`EntityWriter::write_json_line`] for each record in
    /// turn, stopping at the first that fails (the records before it are
    /// written), except that with [`ExportOptions::workers`] above 1 the
    /// records are checked and redacted on that many threads at once.
    /// Hand over text in chunks of a few MiB for that to pay.
    ///
    /// ```
    /// # fn main() -> redarc::Result<()> {
    /// use redarc::{ExportOptions, ExportWriter, Identities, Policy, Recipients};
    /// let identity = Identities::generate_x25519();
    /// let recipients = Recipients::parse(&identity.recipients())?;
    /// let opts = ExportOptions::new("staging")
    ///     .redactor(Policy::default_policy().compile()?)
    ///     .workers(2);
    /// let mut export = ExportWriter::new(Vec::new(), &recipients, opts)?;
    /// let mut users = export.entity("users")?;
    /// users.write_jsonl(b"{\"id\":1,\"password\":\"hunter2\"}\r\n\n{\"id\":2}\n")?;
    /// assert_eq!(users.records(), 2);
    /// users.finish()?;
    /// let manifest = export.finish()?;
    /// assert_eq!(manifest.entity("users").unwrap().records, 2);
    /// assert_eq!(manifest.redaction.unwrap().total, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`EntityWriter::write_json_line`], naming the failed record by
    /// its number in the entity.
    pub fn write_jsonl(&mut self, text: &[u8]) -> Result<()> {
        let Some(mut workers) = self.workers_for(text.len()) else {
            return self.write_here(text);
        };
        let name = self.name.clone();
        let sent = workers.dispatch(&name, text);
        self.export.workers = Some(workers);
        sent.and_then(|()| self.commit_queued())
    }

    /// Writes the records of the JSONL that `reader` holds, to its end, as
    /// [`EntityWriter::write_jsonl`] would for the whole text at once.
    /// Returns the bytes read.
    ///
    /// The text is read in chunks of 2 MiB straight into buffers the
    /// worker threads share, so no copy of it is made. There are two such
    /// buffers: while the threads redact one chunk, this thread commits the
    /// chunk before it and reads the next. A line longer than a chunk is
    /// gathered whole, but never past the record size limit
    /// ([`ExportOptions::max_record`]): such a line fails as too large
    /// before it is read to its end. A failed record (bad, or too large) is
    /// named by its number, with every record before it written and none
    /// after it; after a read error, the records of the chunk being read
    /// are not written either.
    ///
    /// ```
    /// # fn main() -> redarc::Result<()> {
    /// use redarc::{ExportOptions, ExportWriter, Identities, Recipients};
    /// let identity = Identities::generate_x25519();
    /// let recipients = Recipients::parse(&identity.recipients())?;
    /// let mut export = ExportWriter::new(Vec::new(), &recipients, ExportOptions::new("dev"))?;
    /// let mut logs = export.entity("logs")?;
    /// let read = logs.write_jsonl_from(&b"{\"n\":1}\n{\"n\":2}"[..])?;
    /// assert_eq!((read, logs.records()), (15, 2));
    /// # logs.finish()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`EntityWriter::write_jsonl`]; [`Error::Io`] if reading fails.
    pub fn write_jsonl_from(&mut self, mut reader: impl std::io::Read) -> Result<u64> {
        let mut read = 0u64;
        let outcome = self.write_chunks(&mut reader, &mut read);
        if outcome.is_err() {
            // The pieces of a chunk after the failed record are dropped.
            if let Some(workers) = self.export.workers.as_mut() {
                workers.discard();
            }
        }
        outcome.map(|()| read)
    }

    /// Reads `reader` to its end in chunks of whole lines, alternating
    /// between two buffers: while the worker threads redact one chunk, the
    /// calling thread commits the chunk before it and reads the next, so
    /// the threads do not wait for it between chunks.
    fn write_chunks(&mut self, reader: &mut impl std::io::Read, read: &mut u64) -> Result<()> {
        let chunk = || {
            Arc::new(batch::Chunk {
                buf: vec![0; READ_CHUNK],
                len: 0,
            })
        };
        let mut chunks = [chunk(), chunk()];
        // The start of a line the last chunk ended in.
        let mut carry: Vec<u8> = Vec::new();
        // Whether the other buffer's chunk is with the workers, uncommitted.
        let mut queued = false;
        let mut cur = 0;
        loop {
            let max_record = self.export.opts.max_record;
            let c = Arc::get_mut(&mut chunks[cur]).ok_or_else(still_shared)?;
            let filled = fill_chunk(c, &mut carry, reader, read, max_record);
            let end_of_input = match filled {
                Ok(end_of_input) => end_of_input,
                Err(e) => {
                    // The records read before the failure are written, and
                    // an error names the record after them.
                    if queued {
                        self.commit_queued()?;
                    }
                    return Err(match e {
                        Fill::Read(e) => Error::io(READING_RECORDS, e),
                        Fill::TooLong => self.record_error(format!(
                            "record is larger than the limit of {} bytes",
                            self.export.opts.max_record
                        )),
                    });
                }
            };
            let now_queued = self.start_chunk(chunks[cur].clone(), queued)?;
            if queued && now_queued {
                self.commit_queued()?;
            }
            queued = now_queued;
            if end_of_input {
                if queued {
                    self.commit_queued()?;
                }
                return Ok(());
            }
            cur = 1 - cur;
        }
    }

    /// Hands the records of `text` to the worker threads, behind the chunk
    /// already `queued` there, and returns `true`; or, when the calling
    /// thread does the work (one worker, or too little text), commits the
    /// queued chunk first, writes the records and returns `false`.
    fn start_chunk(&mut self, text: batch::SharedText, queued: bool) -> Result<bool> {
        match self.workers_for((*text).as_ref().len()) {
            Some(mut workers) => {
                let name = self.name.clone();
                let sent = workers.dispatch_shared(&name, text);
                self.export.workers = Some(workers);
                sent.map(|()| true)
            }
            None => {
                if queued {
                    self.commit_queued()?;
                }
                self.write_here((*text).as_ref()).map(|()| false)
            }
        }
    }

    /// Commits the oldest chunk the worker threads hold, in order.
    fn commit_queued(&mut self) -> Result<()> {
        let Some(mut workers) = self.export.workers.take() else {
            return Err(Error::Usage("no worker threads hold a chunk".into()));
        };
        let outcome = workers.collect(|p| self.commit_piece(p));
        self.export.workers = Some(workers);
        outcome
    }

    /// Writes the records of `text` on the calling thread.
    fn write_here(&mut self, text: &[u8]) -> Result<()> {
        for line in batch::records(text) {
            self.push_line(line, false)?;
        }
        Ok(())
    }

    /// The export's worker threads, started at the first call, for `len`
    /// bytes of text; `None` when the calling thread should do the work:
    /// one worker asked for, too little text to share, or no thread could
    /// start.
    fn workers_for(&mut self, len: usize) -> Option<batch::Workers<batch::Prepared>> {
        let threads = self.export.opts.workers;
        if threads <= 1 || len < 2 * batch::PIECE_BYTES {
            return None;
        }
        if let Some(w) = self.export.workers.take() {
            return Some(w);
        }
        let redactor = self.export.opts.redactor.clone();
        let prepare: Arc<batch::Work<batch::Prepared>> =
            Arc::new(move |entity, piece, p: &mut batch::Prepared| {
                for (k, line) in (1..).zip(batch::records(piece)) {
                    let prepared = prepare_record(
                        redactor.as_ref(),
                        entity,
                        k,
                        line,
                        false,
                        &mut p.out,
                        &mut p.report,
                    );
                    if let Err(e) = prepared {
                        p.failed = Some(e);
                        break;
                    }
                    p.ends.push(p.out.len());
                }
                // Nothing after a failed record is committed.
                p.failed.is_some()
            });
        match batch::Workers::start(threads, prepare) {
            Ok(w) => Some(w),
            Err(_) => {
                // No thread could start: the calling thread does the work,
                // as with one worker.
                self.export.opts.workers = 1;
                None
            }
        }
    }

    /// Commits the records a worker prepared, in order, as
    /// [`EntityWriter::write_json_line`] would have.
    fn commit_piece(&mut self, p: &mut batch::Prepared) -> Result<()> {
        let mut from = 0;
        for &end in &p.ends {
            let start = self.export.part.len();
            self.export.part.extend_from_slice(&p.out[from..end]);
            self.commit(start)?;
            from = end;
        }
        self.export.report.merge(&p.report);
        match p.failed.take() {
            // Renumbered: the thread counted from the piece's start.
            Some(Error::Record { entity, detail, .. }) => Err(Error::Record {
                entity,
                record: self.record_no + 1,
                detail,
            }),
            Some(other) => Err(other),
            None => Ok(()),
        }
    }

    /// Closes the entity: writes its last part (an empty part for an entity
    /// with no records) and records it for the manifest.
    pub fn finish(mut self) -> Result<()> {
        if !self.export.part.is_empty() || self.parts.is_empty() {
            let index = self.parts.len() as u32;
            let part = self
                .export
                .flush_part(&self.name, index, self.part_records)?;
            self.parts.push(part);
        }
        let parts = std::mem::take(&mut self.parts);
        let mut entity = Entity::new(self.name.clone(), parts);
        entity.schema = self.schema.take();
        self.export.entities.push(entity);
        self.export.open = None;
        Ok(())
    }
}

/// Why [`fill_chunk`] stopped.
enum Fill {
    Read(std::io::Error),
    /// One line is longer than any record may be.
    TooLong,
}

/// Fills `c` with whole lines: first `carry` (the start of a line the
/// chunk before ended in), then what `reader` gives, until the buffer is
/// full or the input ends. Leaves in `carry` the start of the line the
/// chunk ends in, and `c.len` at the end of its last whole line (all of it
/// at the end of the input). Returns whether the input ended.
///
/// A line longer than the buffer grows it, but never past `max_record`
/// (and its line end); the buffer shrinks back after such a line.
fn fill_chunk(
    c: &mut batch::Chunk,
    carry: &mut Vec<u8>,
    reader: &mut impl std::io::Read,
    read: &mut u64,
    max_record: u64,
) -> std::result::Result<bool, Fill> {
    if c.buf.len() > READ_CHUNK && carry.len() <= READ_CHUNK {
        c.buf.truncate(READ_CHUNK);
        c.buf.shrink_to_fit();
    }
    if c.buf.len() < carry.len() {
        c.buf.resize(carry.len(), 0);
    }
    c.buf[..carry.len()].copy_from_slice(carry);
    c.len = carry.len();
    carry.clear();
    loop {
        let mut end_of_input = false;
        while c.len < c.buf.len() {
            match reader.read(&mut c.buf[c.len..]) {
                Ok(0) => {
                    end_of_input = true;
                    break;
                }
                Ok(n) => {
                    c.len += n;
                    *read += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Fill::Read(e)),
            }
        }
        // Whole lines only, but for the last.
        let end = if end_of_input {
            c.len
        } else if let Some(nl) = memchr::memrchr(b'\n', &c.buf[..c.len]) {
            nl + 1
        } else if c.len as u64 > max_record + 2 {
            // One line, longer than any record may be (with its line end).
            return Err(Fill::TooLong);
        } else {
            // One line longer than the buffer: read on into a larger one.
            let larger = c.buf.len().saturating_mul(2);
            c.buf.resize(larger, 0);
            continue;
        };
        carry.extend_from_slice(&c.buf[end..c.len]);
        c.len = end;
        return Ok(end_of_input);
    }
}

/// Checks one record and appends it, redacted when there is a redactor,
/// to `out`, counting what redaction changed in `report`. Errors name the
/// record as number `record` of `entity`; on error `out` is as it was.
fn prepare_record(
    redactor: Option<&Redactor>,
    entity: &str,
    record: u64,
    line: &[u8],
    trusted_json: bool,
    out: &mut Vec<u8>,
    report: &mut Report,
) -> Result<()> {
    let refuse = |detail: String| Error::Record {
        entity: entity.to_string(),
        record,
        detail,
    };
    // JSON allows a raw CR only as whitespace; the format forbids it so
    // that CRLF input never yields parts that differ by line ending.
    // One search for both bytes: this runs over every record.
    if let Some(at) = memchr::memchr2(b'\n', b'\r', line) {
        return Err(refuse(if line[at] == b'\n' {
            "a record must be on one line".into()
        } else {
            "a record must not contain a carriage return".into()
        }));
    }
    match redactor {
        // The redactor checks that the line is one JSON value as it parses.
        Some(redactor) => {
            let start = out.len();
            redactor
                .redact_record(entity, record, line, out, report)
                .inspect_err(|_| out.truncate(start))
        }
        None => {
            // One JSON value and nothing else: readers rely on it.
            if !trusted_json {
                crate::archive::reader::check_json_line(line).map_err(refuse)?;
            }
            out.extend_from_slice(line);
            Ok(())
        }
    }
}
