//! Verification, typed reading and extraction of archives.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Digest as _;

use crate::archive::crypto::Identities;
use crate::archive::deep;
use crate::archive::stream::{Kind, MemberHeader, MemberStream, Plain, ReadLimits};
use crate::error::{ArchiveProblem as P, Error};
use crate::format::{Digest, Manifest, Part};
use crate::Result;

/// What one pass learned about a part, without keeping its data.
#[derive(Debug, Clone)]
struct PartSeen {
    name: String,
    size: u64,
    records: u64,
    digest: Digest,
    bad_line: Option<(u64, String)>,
}

pub(crate) struct Scanned {
    parts: Vec<PartSeen>,
    sums: Vec<u8>,
    manifest: Manifest,
}

/// Checks that `line` is UTF-8 holding exactly one JSON value whose strings
/// are Unicode text.
///
/// UTF-8 is checked first and explicitly: serde_json skips the contents of
/// strings it is told to ignore without validating them. For the same reason
/// `\u` escapes are checked afterwards: the JSON grammar lets a string spell
/// an unpaired UTF-16 surrogate (`"\udc00"`), which is no character, and
/// which serde_json, PostgreSQL and most importers refuse to decode.
pub(crate) fn check_json_line(line: &[u8]) -> std::result::Result<(), String> {
    match super::json_line::grammatical(line) {
        Some(true) => return check_surrogates(line),
        Some(false) => return Ok(()),
        None => {}
    }
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_string())?;
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| crate::json_error_category(&e))?;
    check_surrogates(line)
}

/// Refuses `\u` escapes that spell an unpaired UTF-16 surrogate.
///
/// `line` must already be grammatical JSON: then every backslash starts an
/// escape inside a string, and a `\u` is followed by four hex digits.
fn check_surrogates(line: &[u8]) -> std::result::Result<(), String> {
    let unit = |at: usize| -> Option<u32> {
        let hex = line.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', &line[at..]) {
        let escape = at + found;
        at = escape + 2;
        if line.get(escape + 1) != Some(&b'u') {
            continue;
        }
        let Some(first) = unit(escape + 2) else {
            return Err("syntax error: bad \\u escape".to_string());
        };
        at = escape + 6;
        match first {
            0xD800..=0xDBFF => {
                let low = (line.get(at..at + 2) == Some(b"\\u".as_slice()))
                    .then(|| unit(at + 2))
                    .flatten();
                if !matches!(low, Some(0xDC00..=0xDFFF)) {
                    return Err("unpaired UTF-16 surrogate in a string escape".to_string());
                }
                at += 6;
            }
            0xDC00..=0xDFFF => {
                return Err("unpaired UTF-16 surrogate in a string escape".to_string())
            }
            _ => {}
        }
    }
    Ok(())
}

/// Counts lines and checks each: not empty, no carriage return, UTF-8, and
/// with `check_json` exactly one JSON value.
pub(crate) fn inspect_records(data: &[u8], check_json: bool) -> (u64, Option<(u64, String)>) {
    let mut records = 0u64;
    let mut bad = None;
    let mut start = 0usize;
    // Without the JSON check, UTF-8 is checked over the whole part at once
    // ('\n' is ASCII, so a part is UTF-8 exactly when each line is).
    let utf8_ok = check_json || std::str::from_utf8(data).is_ok();
    // One search finds the line ends and the (rare) carriage returns.
    let mut carriage_return = false;
    for end in memchr::memchr2_iter(b'\n', b'\r', data) {
        if data.get(end) == Some(&b'\r') {
            carriage_return = true;
            continue;
        }
        records += 1;
        let has_carriage_return = std::mem::take(&mut carriage_return);
        if bad.is_none() {
            let line = &data[start..end];
            let problem = if line.is_empty() {
                Some("empty line".to_string())
            } else if has_carriage_return {
                Some("carriage return".to_string())
            } else if check_json {
                check_json_line(line).err()
            } else if !utf8_ok && std::str::from_utf8(line).is_err() {
                Some("not UTF-8".to_string())
            } else {
                None
            };
            bad = problem.map(|d| (records, d));
        }
        start = end + 1;
    }
    if start < data.len() && bad.is_none() {
        bad = Some((records + 1, "last record has no final newline".to_string()));
    }
    (records, bad)
}

/// Most threads `verify` parses and scans records on: each adds about
/// 2.5 MiB of memory, and four keep it well under 64 MiB.
const MAX_VERIFY_THREADS: usize = 4;

/// A member read off the stream, on its way to the checking thread.
type Member = (MemberHeader, Vec<u8>);

/// What the checking thread of a scan learns.
#[derive(Default)]
struct Collected {
    parts: Vec<PartSeen>,
    sums: Option<Vec<u8>>,
    manifest: Option<Vec<u8>>,
}

/// A member's data, shared by the threads that work on it. The last
/// holder to drop it hands the buffer back to the reading thread, for the
/// next member.
#[derive(Clone)]
pub(crate) struct MemberData {
    data: Option<std::sync::Arc<Vec<u8>>>,
    home: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl std::ops::Deref for MemberData {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl AsRef<[u8]> for MemberData {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Drop for MemberData {
    fn drop(&mut self) {
        if let Some(buf) = self.data.take().and_then(std::sync::Arc::into_inner) {
            // A full pool only means the buffer is freed.
            let _ = self.home.try_send(buf);
        }
    }
}

/// Most members in memory at once during a [`scan`]: one being read, one
/// queued, one being checked, and one more that `sink` may still hold
/// (`unpack` writes each member on a thread of its own). When all are in
/// use, reading waits for one to come back.
const MEMBER_BUFFERS: usize = 4;

/// One pass over every member: the calling thread decrypts and
/// decompresses, a second thread hands each member to `sink`, hashes it
/// and checks its lines, so the two overlap. At most [`MEMBER_BUFFERS`]
/// members are in memory at once, whatever `sink` keeps of the
/// [`MemberData`] it is given.
pub(crate) fn scan<S: Read>(
    mut stream: MemberStream<S>,
    check_json: bool,
    sink: impl FnMut(&MemberHeader, &MemberData) -> Result<()> + Send,
) -> Result<Scanned> {
    let collected = std::thread::scope(|scope| -> Result<Collected> {
        let (members, queue) = std::sync::mpsc::sync_channel::<Member>(1);
        // Room for every buffer, so that none handed back is lost.
        let (give_back, spent) = std::sync::mpsc::sync_channel::<Vec<u8>>(MEMBER_BUFFERS);
        let checker = Worker::start(scope, "check", move || {
            check_members(queue, give_back, check_json, sink)
        })?;
        let read = read_members(&mut stream, &members, &spent);
        drop(members);
        let checked = checker.join();
        // A checker that failed stopped taking members, which ended the
        // read early: its error is the cause.
        let collected = checked?;
        read?;
        Ok(collected)
    })?;
    let manifest_bytes = collected
        .manifest
        .ok_or_else(|| Error::archive(P::ManifestMissing))?;
    let manifest = Manifest::from_slice(&manifest_bytes)?;
    let sums = collected
        .sums
        .ok_or_else(|| Error::member(crate::format::SUMS_MEMBER, P::MissingMember))?;
    Ok(Scanned {
        parts: collected.parts,
        sums,
        manifest,
    })
}

/// A named thread of a scope whose work ends in a [`Result`].
pub(crate) struct Worker<'scope, T> {
    name: &'static str,
    handle: std::thread::ScopedJoinHandle<'scope, Result<T>>,
}

impl<'scope, T: Send + 'scope> Worker<'scope, T> {
    /// Starts `work` on a thread called `redarc-<name>`.
    pub(crate) fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        name: &'static str,
        work: impl FnOnce() -> Result<T> + Send + 'scope,
    ) -> Result<Self> {
        let handle = std::thread::Builder::new()
            .name(format!("redarc-{name}"))
            .spawn_scoped(scope, work)
            .map_err(|e| Error::io(format!("starting the {name} thread"), e))?;
        Ok(Worker { name, handle })
    }

    /// Waits for the work and returns its result; a panic becomes an error.
    pub(crate) fn join(self) -> Result<T> {
        let name = self.name;
        self.handle
            .join()
            .unwrap_or_else(|_| Err(Error::Usage(format!("the {name} thread panicked"))))
    }
}

/// Reads every member and queues it; stops early (with `Ok`) when the
/// checking thread has stopped.
fn read_members<S: Read>(
    stream: &mut MemberStream<S>,
    members: &std::sync::mpsc::SyncSender<Member>,
    spent: &std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<()> {
    let mut made = 0;
    while let Some(header) = stream.next_header()? {
        let mut buf = match spent.try_recv() {
            Ok(buf) => buf,
            Err(_) if made < MEMBER_BUFFERS => {
                made += 1;
                Vec::new()
            }
            // Every buffer is in use: wait for the first to come back. A
            // closed pool means the checking thread has stopped.
            Err(_) => match spent.recv() {
                Ok(buf) => buf,
                Err(_) => return Ok(()),
            },
        };
        stream.read_data(&header, &mut buf)?;
        if members.send((header, buf)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// The checking side of [`scan`]: sink, hash and line checks per member.
fn check_members(
    queue: std::sync::mpsc::Receiver<Member>,
    give_back: std::sync::mpsc::SyncSender<Vec<u8>>,
    check_json: bool,
    mut sink: impl FnMut(&MemberHeader, &MemberData) -> Result<()>,
) -> Result<Collected> {
    let mut collected = Collected::default();
    for (header, buf) in queue {
        let data = MemberData {
            data: Some(std::sync::Arc::new(buf)),
            home: give_back.clone(),
        };
        sink(&header, &data)?;
        match header.kind {
            Kind::Part { .. } => {
                let (records, bad_line) = inspect_records(&data, check_json);
                collected.parts.push(PartSeen {
                    size: data.len() as u64,
                    records,
                    digest: Digest(sha2::Sha256::digest(&*data).into()),
                    bad_line,
                    name: header.name,
                });
            }
            Kind::Sums => collected.sums = Some(data.to_vec()),
            Kind::Manifest => collected.manifest = Some(data.to_vec()),
        }
    }
    Ok(collected)
}

/// One check of a verification and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// Check name, e.g. `hashes`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// How many items were checked.
    pub checked: u64,
    /// How many failed.
    pub failed: u64,
    /// The first failure, if any (never record contents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Failures per entity, for checks that count them so.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_by_entity: BTreeMap<String, u64>,
}

/// How far the checks of an archive go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CheckLevel {
    /// The archive holds exactly the bytes its manifest describes: complete,
    /// every part's size, SHA-256 and record count right, each record one
    /// UTF-8 line without a carriage return, the checksum list right.
    /// Records are not parsed.
    Integrity,
    /// Integrity, plus each record one JSON value, the declared schemas,
    /// relations and tenant scope, and the residual-secret scan: what
    /// [`verify`] checks.
    Valid,
}

/// The outcome of verifying an archive: every check with its counts.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// How far the checks went.
    pub level: CheckLevel,
    /// The manifest read from the archive.
    pub manifest: Manifest,
    /// Members and manifest match one to one: nothing missing, nothing
    /// extra, no duplicates, in order.
    pub complete: bool,
    /// Every check of [`VerifyReport::level`] passed: at
    /// [`CheckLevel::Valid`], complete, and every size, hash, record count,
    /// record, declared schema, relation and tenant scope right, the
    /// checksum list right and no residual secret found.
    pub valid: bool,
    /// Each check in the order it ran.
    pub checks: Vec<Check>,
    #[serde(skip)]
    failures: Vec<(Option<String>, P)>,
}

impl VerifyReport {
    pub(crate) fn build(scanned: &Scanned, level: CheckLevel) -> VerifyReport {
        let manifest = &scanned.manifest;
        let mut failures: Vec<(Option<String>, P)> = Vec::new();
        let listed: Vec<&Part> = manifest
            .entities
            .iter()
            .flat_map(|e| e.parts.iter())
            .collect();
        let seen: HashMap<&str, &PartSeen> =
            scanned.parts.iter().map(|p| (p.name.as_str(), p)).collect();
        let listed_names: HashSet<&str> = listed.iter().map(|p| p.path.as_str()).collect();

        let mut complete = Check::new("complete", listed.len() as u64);
        for part in &listed {
            if !seen.contains_key(part.path.as_str()) {
                complete.fail(&mut failures, Some(&part.path), P::MissingMember);
            }
        }
        for part in &scanned.parts {
            if !listed_names.contains(part.name.as_str()) {
                complete.fail(&mut failures, Some(&part.name), P::UnlistedMember);
            }
        }
        if complete.failed == 0
            && !listed
                .iter()
                .map(|p| p.path.as_str())
                .eq(scanned.parts.iter().map(|p| p.name.as_str()))
        {
            complete.fail(
                &mut failures,
                None,
                P::Order("parts are not in manifest order".into()),
            );
        }

        let mut sizes = Check::new("sizes", 0);
        let mut hashes = Check::new("hashes", 0);
        let mut counts = Check::new("record-counts", 0);
        let mut records = Check::new(
            match level {
                CheckLevel::Integrity => "record-lines",
                CheckLevel::Valid => "records-json",
            },
            0,
        );
        for part in &listed {
            let Some(found) = seen.get(part.path.as_str()) else {
                continue;
            };
            sizes.checked += 1;
            if found.size != part.bytes {
                sizes.fail(
                    &mut failures,
                    Some(&part.path),
                    P::SizeMismatch {
                        expected: part.bytes,
                        actual: found.size,
                    },
                );
                continue;
            }
            hashes.checked += 1;
            if found.digest != part.sha256 {
                hashes.fail(&mut failures, Some(&part.path), P::HashMismatch);
                continue;
            }
            counts.checked += 1;
            if found.records != part.records {
                counts.fail(
                    &mut failures,
                    Some(&part.path),
                    P::CountMismatch {
                        expected: part.records,
                        actual: found.records,
                    },
                );
            }
            records.checked += found.records;
            if let Some((line, detail)) = &found.bad_line {
                records.fail(
                    &mut failures,
                    Some(&part.path),
                    P::BadRecord {
                        line: *line,
                        detail: detail.clone(),
                    },
                );
            }
        }

        let mut sums = Check::new("sha256sums", 1);
        if Digest::of(&scanned.sums) != manifest.sha256sums {
            sums.fail(
                &mut failures,
                Some(crate::format::SUMS_MEMBER),
                P::HashMismatch,
            );
        } else if scanned.sums != manifest.expected_sha256sums() {
            sums.fail(
                &mut failures,
                Some(crate::format::SUMS_MEMBER),
                P::SumsMismatch("its lines differ from the manifest's parts".into()),
            );
        }

        let is_complete = complete.passed;
        let checks = vec![complete, sizes, hashes, counts, records, sums];
        let valid = checks.iter().all(|c| c.passed);
        VerifyReport {
            level,
            manifest: manifest.clone(),
            complete: is_complete,
            valid,
            checks,
            failures,
        }
    }

    /// Adds the checks of the second pass.
    fn add_deep(&mut self, deep: Vec<(Check, deep::Failures)>) {
        for (check, failures) in deep {
            self.valid &= check.passed;
            self.checks.push(check);
            self.failures.extend(failures);
        }
    }

    /// `Ok(())` when valid, otherwise the first failure as an error.
    pub fn to_result(&self) -> Result<()> {
        match self.failures.first() {
            None => Ok(()),
            Some((member, problem)) => Err(Error::Archive {
                member: member.clone(),
                offset: None,
                problem: problem.clone(),
            }),
        }
    }
}

impl Check {
    pub(crate) fn new(name: &str, checked: u64) -> Check {
        Check {
            name: name.into(),
            passed: true,
            checked,
            failed: 0,
            detail: None,
            failed_by_entity: BTreeMap::new(),
        }
    }

    /// Counts `count` failures in `entity`.
    pub(crate) fn record_entity_failures(
        &mut self,
        entity: &str,
        count: u64,
        detail: Option<String>,
    ) {
        self.passed = false;
        self.failed += count;
        *self.failed_by_entity.entry(entity.to_string()).or_default() += count;
        if self.detail.is_none() {
            self.detail = detail;
        }
    }

    pub(crate) fn fail(
        &mut self,
        failures: &mut Vec<(Option<String>, P)>,
        member: Option<&str>,
        problem: P,
    ) {
        self.passed = false;
        self.failed += 1;
        if self.detail.is_none() {
            self.detail = Some(match member {
                Some(m) => format!("{m}: {problem}"),
                None => problem.to_string(),
            });
        }
        failures.push((member.map(crate::error::printable), problem));
    }
}

/// Verifies an archive in one streaming pass: decrypts, decompresses and
/// checks every member against the manifest.
///
/// # Errors
/// An error when the archive cannot be read at all (decryption, damaged
/// layers, a structural rule of the tar stream, an unreadable manifest);
/// otherwise `Ok` with a report whose `valid` says whether every check
/// passed. Never panics on any input.
///
/// When the manifest declares entity schemas, relations or a tenant scope,
/// a second pass checks the records against them; hence `Seek`.
pub fn verify<R: Read + Seek>(
    source: R,
    identities: &Identities,
    limits: ReadLimits,
) -> Result<VerifyReport> {
    verify_seekable(source, identities, limits).map(|(_, report)| report)
}

fn verify_seekable<R: Read + Seek>(
    mut source: R,
    identities: &Identities,
    limits: ReadLimits,
) -> Result<(R, VerifyReport)> {
    let start = source
        .stream_position()
        .map_err(|e| Error::io("seeking the archive", e))?;
    // Every record is parsed and scanned as its part streams by, on
    // worker threads, so that a redacted archive is read only once.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_VERIFY_THREADS);
    let mut lines = deep::PartScan::new(threads);
    let stream = MemberStream::open(&mut source, identities, limits)?;
    let mut scanned = scan(stream, false, |header, data| match header.kind {
        Kind::Part { .. } => lines.part(&header.name, data.clone()),
        Kind::Sums | Kind::Manifest => Ok(()),
    })?;
    lines.finish()?;
    for part in &mut scanned.parts {
        // The earlier of the two problems a line can have, if any.
        if let Some((line, detail)) = lines.bad_line(&part.name) {
            if part.bad_line.as_ref().is_none_or(|(l, _)| line < l) {
                part.bad_line = Some((*line, detail.clone()));
            }
        }
    }
    let mut report = VerifyReport::build(&scanned, CheckLevel::Valid);
    let residual = lines.residual(&report.manifest);
    drop(lines);
    if report.valid && deep::needed(&report.manifest) {
        let manifest = report.manifest.clone();
        let member_order: Vec<String> = scanned.parts.iter().map(|p| p.name.clone()).collect();
        let mut src = SeekSource {
            source: &mut source,
            identities,
            limits,
            start,
            manifest: &manifest,
            member_order,
        };
        report.add_deep(deep::run(&manifest, &mut src, residual)?);
    }
    source
        .seek(SeekFrom::Start(start))
        .map_err(|e| Error::io("seeking the archive", e))?;
    Ok((source, report))
}

/// Replays records from a seekable archive (each part re-checked).
struct SeekSource<'a, R> {
    source: &'a mut R,
    identities: &'a Identities,
    limits: ReadLimits,
    start: u64,
    manifest: &'a Manifest,
    /// Data member names in the order the first pass met them.
    member_order: Vec<String>,
}

impl<R: Read + Seek> deep::RecordSource for SeekSource<'_, R> {
    /// One pass over the archive: every entity's parts, in the order the
    /// first pass met them, each re-checked before its lines are used.
    fn each_line(
        &mut self,
        entities: &[String],
        f: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let position: std::collections::HashMap<&str, usize> = self
            .member_order
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut parts: Vec<(usize, String, Part)> = Vec::new();
        for name in entities {
            let Some(entity) = self.manifest.entity(name) else {
                continue;
            };
            for part in &entity.parts {
                // The first pass matched members to the manifest one to one;
                // a part it did not meet cannot be replayed in order.
                let Some(&at) = position.get(part.path.as_str()) else {
                    return Err(Error::member(&part.path, P::MissingMember));
                };
                parts.push((at, entity.name.clone(), part.clone()));
            }
        }
        parts.sort_by_key(|&(at, _, _)| at);
        let (owners, parts): (Vec<String>, Vec<Part>) =
            parts.into_iter().map(|(_, e, p)| (e, p)).unzip();
        let mut records: Records<'_, R, serde_json::Value> = Records::new(
            self.source,
            self.identities,
            self.limits,
            self.start,
            "",
            parts,
        )?;
        records.owners = owners;
        while let Some(line) = records.next_line() {
            let line = line?;
            f(records.current_entity(), &records.buf[line])?;
        }
        Ok(())
    }
}

/// Replays records from the files of a staged extraction.
struct DirSource<'a> {
    root: &'a Path,
    manifest: &'a Manifest,
}

impl deep::RecordSource for DirSource<'_> {
    fn each_line(
        &mut self,
        entities: &[String],
        f: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        for name in entities {
            let Some(e) = self.manifest.entity(name) else {
                continue;
            };
            for part in &e.parts {
                let path = self.root.join(&part.path);
                let data =
                    std::fs::read(&path).map_err(|err| Error::io_path("reading", &path, err))?;
                for line in crate::archive::batch::split_lines(&data).filter(|l| !l.is_empty()) {
                    f(name, line)?;
                }
            }
        }
        Ok(())
    }
}

/// An archive that passed verification, from which records can be read.
///
/// [`ArchiveReader::open`] reads the whole archive once and refuses it
/// unless every check passes; [`ArchiveReader::records`] then reads it
/// again, checking each part's size and hash once more before parsing it.
pub struct ArchiveReader<R: Read + Seek> {
    source: R,
    identities: Identities,
    limits: ReadLimits,
    report: VerifyReport,
    start: u64,
}

impl<R: Read + Seek> std::fmt::Debug for ArchiveReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader")
            .field("entities", &self.report.manifest.entities.len())
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> ArchiveReader<R> {
    /// Opens and fully verifies an archive.
    ///
    /// # Errors
    /// Any failed check, as [`Error::Archive`] or [`Error::Decrypt`].
    pub fn open(source: R, identities: &Identities) -> Result<ArchiveReader<R>> {
        ArchiveReader::open_with_limits(source, identities, ReadLimits::default())
    }

    /// As [`ArchiveReader::open`], with explicit limits.
    pub fn open_with_limits(
        mut source: R,
        identities: &Identities,
        limits: ReadLimits,
    ) -> Result<ArchiveReader<R>> {
        let start = source
            .stream_position()
            .map_err(|e| Error::io("seeking the archive", e))?;
        let (source, report) = verify_seekable(source, identities, limits)?;
        report.to_result()?;
        Ok(ArchiveReader {
            source,
            identities: identities.clone(),
            limits,
            report,
            start,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.report.manifest
    }

    /// The verification report.
    pub fn report(&self) -> &VerifyReport {
        &self.report
    }

    /// Iterates the records of `entity`, deserialized as `T`.
    ///
    /// # Errors
    /// [`Error::Usage`] if the archive has no such entity; the iterator
    /// yields [`Error::Record`] for a record that does not deserialize (by
    /// record number, never contents) and [`Error::Archive`] if the archive
    /// changed since it was verified.
    pub fn records<T: DeserializeOwned>(&mut self, entity: &str) -> Result<Records<'_, R, T>> {
        let parts = self
            .report
            .manifest
            .entity(entity)
            .ok_or_else(|| Error::Usage(format!("the archive has no entity {entity}")))?
            .parts
            .clone();
        Records::new(
            &mut self.source,
            &self.identities,
            self.limits,
            self.start,
            entity,
            parts,
        )
    }

    /// Returns the source, positioned where it was when opened.
    pub fn into_inner(self) -> R {
        self.source
    }
}

/// Iterator over the typed records of one entity; see
/// [`ArchiveReader::records`].
pub struct Records<'a, R: Read + Seek, T> {
    stream: Option<MemberStream<Plain<&'a mut R>>>,
    entity: String,
    /// The entity of each part, when the parts are several entities' (a
    /// one-pass replay); errors then name the part's entity.
    owners: Vec<String>,
    parts: Vec<Part>,
    next_part: usize,
    buf: Vec<u8>,
    pos: usize,
    record_no: u64,
    failed: bool,
    _t: PhantomData<fn() -> T>,
}

impl<R: Read + Seek, T> std::fmt::Debug for Records<'_, R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("entity", &self.entity)
            .field("record", &self.record_no)
            .finish_non_exhaustive()
    }
}

impl<'a, R: Read + Seek, T> Records<'a, R, T> {
    fn new(
        source: &'a mut R,
        identities: &Identities,
        limits: ReadLimits,
        start: u64,
        entity: &str,
        parts: Vec<Part>,
    ) -> Result<Records<'a, R, T>> {
        source
            .seek(SeekFrom::Start(start))
            .map_err(|e| Error::io("seeking the archive", e))?;
        let stream = MemberStream::open(source, identities, limits)?;
        Ok(Records {
            stream: Some(stream),
            entity: entity.to_string(),
            owners: Vec::new(),
            parts,
            next_part: 0,
            buf: Vec::new(),
            pos: 0,
            record_no: 0,
            failed: false,
            _t: PhantomData,
        })
    }
}

impl<R: Read + Seek, T: DeserializeOwned> Records<'_, R, T> {
    /// Loads the next part of the entity, checked against the manifest.
    /// `Ok(false)` when there is none.
    fn load_next_part(&mut self) -> Result<bool> {
        let Some(part) = self.parts.get(self.next_part) else {
            return Ok(false);
        };
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        loop {
            let header = stream
                .next_header()?
                .ok_or_else(|| Error::member(&part.path, P::MissingMember))?;
            stream.read_data(&header, &mut self.buf)?;
            if header.name != part.path {
                continue;
            }
            if self.buf.len() as u64 != part.bytes {
                return Err(Error::member(
                    &part.path,
                    P::SizeMismatch {
                        expected: part.bytes,
                        actual: self.buf.len() as u64,
                    },
                ));
            }
            if Digest(sha2::Sha256::digest(&self.buf).into()) != part.sha256 {
                return Err(Error::member(&part.path, P::HashMismatch));
            }
            self.pos = 0;
            // In a one-pass replay, record numbers count within each entity.
            if self.next_part > 0
                && self.owners.get(self.next_part) != self.owners.get(self.next_part - 1)
            {
                self.record_no = 0;
            }
            self.next_part += 1;
            return Ok(true);
        }
    }
}

impl<R: Read + Seek, T: DeserializeOwned> Records<'_, R, T> {
    /// The byte range in `buf` of the next record's line, unparsed.
    fn next_line(&mut self) -> Option<Result<std::ops::Range<usize>>> {
        if self.failed {
            return None;
        }
        while self.pos >= self.buf.len() {
            match self.load_next_part() {
                Ok(true) => {}
                Ok(false) => {
                    self.stream = None;
                    return None;
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let start = self.pos;
        let end = memchr::memchr(b'\n', &self.buf[start..]).map_or(self.buf.len(), |i| start + i);
        self.pos = end + 1;
        self.record_no += 1;
        Some(Ok(start..end))
    }

    /// The entity of the part the last line came from.
    fn current_entity(&self) -> &str {
        self.next_part
            .checked_sub(1)
            .and_then(|i| self.owners.get(i))
            .unwrap_or(&self.entity)
    }
}

impl<R: Read + Seek, T: DeserializeOwned> Iterator for Records<'_, R, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let line = match self.next_line()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(
            serde_json::from_slice(&self.buf[line]).map_err(|e| Error::Record {
                entity: self.current_entity().to_string(),
                record: self.record_no,
                detail: crate::json_error_category(&e),
            }),
        )
    }
}

/// Extracts an archive into `dir` (new, or an empty directory):
/// `manifest.json`, `SHA256SUMS` and `data/<entity>.<part>.jsonl`, after
/// checking it at `level`.
///
/// [`CheckLevel::Integrity`] checks every size, hash and record count as
/// the members stream by, at about the speed of `age -d | zstd -d | tar -x`;
/// [`CheckLevel::Valid`] also parses every record and runs the checks of
/// [`verify`] (schemas, relations, tenant scope, residual secrets) on the
/// extracted files.
///
/// Members are written to a staging directory beside `dir`, and moved into
/// place only after every check has passed and every file is on disk
/// (`fsync`); on any failure nothing is left behind. Only names the format
/// allows are written, so nothing can land outside `dir`.
///
/// # Errors
/// Any failed check, or an I/O error writing the files.
pub fn unpack<R: Read>(
    source: R,
    identities: &Identities,
    dir: &Path,
    limits: ReadLimits,
    level: CheckLevel,
) -> Result<VerifyReport> {
    let (parent, target_name) = split_target(dir)?;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io_path("reading", dir, e))?;
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "{} is not empty; unpack needs a new or empty directory",
                dir.display()
            )));
        }
    }
    let staging = Staging::create(&parent, &target_name)?;
    let data_dir = staging.path.join(crate::format::DATA_DIR);
    std::fs::create_dir(&data_dir).map_err(|e| Error::io_path("creating", &data_dir, e))?;
    let stream = MemberStream::open(source, identities, limits)?;
    let root = staging.path.clone();
    let scanned = std::thread::scope(|scope| -> Result<Scanned> {
        // Each member is written on a thread of its own while the checking
        // thread hashes it, and flushed to disk on a third, so the disk
        // works while the next members are decrypted and checked.
        let (to_sync, files) = std::sync::mpsc::sync_channel::<(PathBuf, File)>(16);
        let syncer = Worker::start(scope, "sync", move || sync_files(files))?;
        let (to_write, members) = std::sync::mpsc::sync_channel::<(PathBuf, MemberData)>(1);
        let writer = Worker::start(scope, "write", move || write_files(members, to_sync))?;
        let scanned = scan(stream, level == CheckLevel::Valid, |header, data| {
            // The name passed MemberStream's checks: one of three fixed shapes.
            let path = root.join(&header.name);
            to_write
                .send((path, data.clone()))
                .map_err(|_| Error::Usage("the file writing thread stopped".into()))
        });
        drop(to_write);
        let written = writer.join();
        let synced = syncer.join();
        // A thread that failed stopped taking files, which ended the ones
        // before it early: its error is the cause.
        synced?;
        written?;
        scanned
    })?;
    let mut report = VerifyReport::build(&scanned, level);
    if level == CheckLevel::Valid && report.valid && deep::needed(&report.manifest) {
        let manifest = report.manifest.clone();
        let mut src = DirSource {
            root: &staging.path,
            manifest: &manifest,
        };
        report.add_deep(deep::run(&manifest, &mut src, None)?);
    }
    report.to_result()?;
    sync_dir(&data_dir)?;
    sync_dir(&staging.path)?;
    staging.commit(dir)?;
    sync_dir(&parent)?;
    Ok(report)
}

/// Creates and writes each file, then hands it on to be flushed to disk;
/// the first failure ends it.
fn write_files(
    members: std::sync::mpsc::Receiver<(PathBuf, MemberData)>,
    to_sync: std::sync::mpsc::SyncSender<(PathBuf, File)>,
) -> Result<()> {
    for (path, data) in members {
        let file = write_new_file(&path, &data)?;
        drop(data);
        to_sync
            .send((path, file))
            .map_err(|_| Error::Usage("the file sync thread stopped".into()))?;
    }
    Ok(())
}

/// Flushes each file to disk; the first failure ends it.
fn sync_files(files: std::sync::mpsc::Receiver<(PathBuf, File)>) -> Result<()> {
    for (path, file) in files {
        file.sync_all()
            .map_err(|e| Error::io_path("syncing", &path, e))?;
    }
    Ok(())
}

/// Makes a directory's entries durable (on Linux a directory can be opened
/// and synced like a file).
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io_path("syncing", dir, e))
}

fn split_target(dir: &Path) -> Result<(PathBuf, String)> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Usage(format!("{} is not a usable directory name", dir.display())))?
        .to_string();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Bytes handed to the kernel in one `write` when unpacking a member.
///
/// On a VM that reports free memory to its host (virtio-balloon free page
/// reporting), large writes into the page cache are often slow: writing a
/// 200 MB file in writes of 32 KiB to 8 MiB took 0.05–0.43 s of system
/// time, depending on what memory had been freed before; in 16 KiB writes
/// it took 0.05–0.06 s every time (docs/performance.md). The likely reason:
/// Linux sizes a file's page-cache folios by the length of the write, and
/// large folios are split off large free blocks, which are the ones the
/// host has taken back, so every first touch of them faults on the host.
const WRITE_PIECE: usize = 16 << 10;

/// Creates `path` (it must not exist) holding `data`; not yet synced.
fn write_new_file(path: &Path, data: &[u8]) -> Result<File> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io_path("creating", path, e))?;
    for piece in data.chunks(WRITE_PIECE) {
        file.write_all(piece)
            .map_err(|e| Error::io_path("writing", path, e))?;
    }
    Ok(file)
}

/// A directory beside the target, removed on drop unless committed.
struct Staging {
    path: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(parent: &Path, name: &str) -> Result<Staging> {
        let path = parent.join(format!(
            ".{name}.redarc-partial-{:016x}",
            rand::random::<u64>()
        ));
        std::fs::create_dir(&path).map_err(|e| Error::io_path("creating", &path, e))?;
        Ok(Staging {
            path,
            committed: false,
        })
    }

    fn commit(mut self, target: &Path) -> Result<()> {
        // rename(2) replaces an empty directory, so an empty target is fine.
        std::fs::rename(&self.path, target)
            .map_err(|e| Error::io_path("moving the unpacked archive to", target, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the staging name marks it as partial if removal fails.
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_waits_for_buffers_a_slow_sink_still_holds() {
        use crate::archive::crypto::Recipients;
        use crate::{ExportOptions, ExportWriter};
        let ids = Identities::generate_x25519();
        let r = Recipients::parse(&ids.recipients()).unwrap();
        let mut out = Vec::new();
        let opts = ExportOptions::new("t").part_size(16 * 1024);
        let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
        let mut e = export.entity("e").unwrap();
        for n in 0..3000 {
            e.write(&serde_json::json!({"n": n, "pad": "x".repeat(100)}))
                .unwrap();
        }
        e.finish().unwrap();
        let manifest = export.finish().unwrap();
        let parts = manifest.entity("e").unwrap().parts.len();
        assert!(parts > 3 * MEMBER_BUFFERS, "{parts} parts");

        // A sink that hands every member to a slow thread, as unpack's
        // writer does: every buffer is in use again and again, and the
        // reader must wait for one to come back, never for ever.
        let stream = MemberStream::open(&out[..], &ids, ReadLimits::default()).unwrap();
        let (slow, held) = std::sync::mpsc::sync_channel::<MemberData>(1);
        let scanned = std::thread::scope(|scope| {
            let holder = scope.spawn(move || {
                let mut members = 0;
                for data in held {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    members += usize::from(!data.is_empty());
                }
                members
            });
            // `move`: the slow thread ends when the scan drops its sender.
            let scanned = scan(stream, true, move |_, data| {
                slow.send(data.clone())
                    .map_err(|_| Error::Usage("gone".into()))
            });
            (scanned, holder.join().unwrap())
        });
        let (scanned, held) = (scanned.0.unwrap(), scanned.1);
        // Every part, the sums and the manifest went through the sink.
        assert_eq!(held, parts + 2);
        assert_eq!(scanned.parts.len(), parts);
        assert!(scanned.parts.iter().all(|p| p.bad_line.is_none()));
        assert_eq!(scanned.parts.iter().map(|p| p.records).sum::<u64>(), 3000);
    }

    #[test]
    fn member_data_goes_home_when_its_last_holder_lets_go() {
        let (home, pool) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
        let data = MemberData {
            data: Some(std::sync::Arc::new(b"{}\n".to_vec())),
            home,
        };
        let copy = data.clone();
        let elsewhere = std::thread::spawn(move || copy.len());
        drop(data);
        assert_eq!(elsewhere.join().unwrap(), 3);
        assert_eq!(pool.try_recv().unwrap(), b"{}\n");
        // Handed back once, by whichever holder was last.
        assert!(pool.try_recv().is_err());
    }

    #[test]
    fn record_inspection() {
        assert_eq!(inspect_records(b"", true), (0, None));
        assert_eq!(inspect_records(b"{}\n[1]\n", true), (2, None));
        assert_eq!(inspect_records(b"{}\n{", true).1.unwrap().0, 2);
        assert_eq!(inspect_records(b"{}\n\n", true).1.unwrap().0, 2);
        assert_eq!(inspect_records(b"{}\r\n", true).1.unwrap().0, 1);
        assert_eq!(inspect_records(b"{}\n{\r}\n", true).1.unwrap().0, 2);
        assert_eq!(inspect_records(b"{} {}\n", true).1.unwrap().0, 1);
        assert!(inspect_records(b"{x}\n", false).1.is_none());
        let cr = inspect_records(b"{}\n[1]\n{\r}\n[2]\n", false);
        assert_eq!(cr, (4, Some((3, "carriage return".to_string()))));
        let last = inspect_records(b"{}\n{}\r", false);
        assert_eq!(last.0, 1);
        assert_eq!(last.1.unwrap().0, 2);
    }

    /// `inspect_records` as first written: one line at a time.
    fn inspect_line_by_line(data: &[u8], check_json: bool) -> (u64, Option<(u64, String)>) {
        let body = data.strip_suffix(b"\n");
        let lines: Vec<&[u8]> = match body {
            Some(b) => b.split(|&c| c == b'\n').collect(),
            None if data.is_empty() => Vec::new(),
            None => data.split(|&c| c == b'\n').collect(),
        };
        let mut bad = None;
        for (i, line) in lines.iter().enumerate() {
            let n = i as u64 + 1;
            if body.is_none() && i + 1 == lines.len() {
                bad = bad.or(Some((n, "last record has no final newline".to_string())));
                return (n - 1, bad);
            }
            let problem = if line.is_empty() {
                Some("empty line".to_string())
            } else if line.contains(&b'\r') {
                Some("carriage return".to_string())
            } else if check_json {
                check_json_line(line).err()
            } else if std::str::from_utf8(line).is_err() {
                Some("not UTF-8".to_string())
            } else {
                None
            };
            bad = bad.or(problem.map(|d| (n, d)));
        }
        (lines.len() as u64, bad)
    }

    proptest::proptest! {
        #[test]
        fn record_inspection_agrees_with_line_by_line(
            data in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b'\n'), proptest::strategy::Just(b'\r'),
                    proptest::strategy::Just(b'{'), proptest::strategy::Just(b'}'),
                    proptest::strategy::Just(b'1'), proptest::strategy::Just(0xff_u8),
                ],
                0..40,
            ),
            check_json in proptest::bool::ANY,
        ) {
            proptest::prop_assert_eq!(
                inspect_records(&data, check_json),
                inspect_line_by_line(&data, check_json)
            );
        }
    }

    /// Found by the jsonl fuzz target: `"c\xf3"` passed because serde_json
    /// does not validate the bytes of a string it ignores.
    #[test]
    fn invalid_utf8_inside_a_json_string_is_a_bad_record() {
        let (records, bad) = inspect_records(b"\"c\xf3\"\n", true);
        assert_eq!(records, 1);
        assert_eq!(bad, Some((1, "not UTF-8".to_string())));
    }

    /// Found by the jsonl fuzz target: `" \"ddD\udddddd\""` passed the
    /// grammar check, yet no JSON decoder can turn it into text.
    #[test]
    fn unpaired_surrogate_escapes_are_bad_records_and_pairs_are_not() {
        let cases: &[(&str, bool)] = &[
            (r#""ddD\udddddb""#, false),
            (r#""\ud800""#, false),
            (r#"{"k":"\ud83d x"}"#, false),
            (r#"["\ud83d\u0041"]"#, false),
            (r#"["\ud83d\ud83d"]"#, false),
            (r#""\ud83d\ude00""#, true),
            (r#""\uD83D\uDE00 and \u00e9""#, true),
            (r#""\\udc00""#, true),
            (r#""\\\ud83d\ude00\n""#, true),
            (r#"{"\ud800":1}"#, false),
        ];
        for (line, good) in cases {
            let line = format!("{line}\n");
            let (_, bad) = inspect_records(line.as_bytes(), true);
            assert_eq!(bad.is_none(), *good, "{line}");
            let decodes = serde_json::from_str::<serde_json::Value>(&line).is_ok();
            assert_eq!(decodes, *good, "serde_json disagrees on {line}");
        }
    }
}
