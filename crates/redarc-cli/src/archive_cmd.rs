//! pack, verify, inspect and unpack.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use redarc::format::{Entity, Manifest};
use redarc::{CheckLevel, Error, ExportOptions, ExportWriter, Policy, ReadLimits, VerifyReport};
use serde::Serialize;
use sha2_shim::Sha256Writer;

use crate::keys::{IdentityArgs, RecipientArgs};
use crate::output::{print_json, OutputFormat, Paint};
use crate::progress::{Progress, Tracked};

/// Arguments of `redarc pack`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PackArgs {
    /// Directory of `<entity>.jsonl` files (one JSON record per line).
    pub(crate) export_dir: PathBuf,
    /// Archive to write (by convention *.tar.zst.age); never overwritten. With
    /// --object-name, the directory under which the named archive is written.
    #[arg(short, long, value_name = "ARCHIVE")]
    pub(crate) output: PathBuf,
    /// Name the archive `[PREFIX/]ENV/YYYY/MM/DD/ENV-YYYYMMDDTHHMMSSZ-RANDOM.tar.zst.age`
    /// under the -o directory: environment and UTC time only, never private data.
    #[arg(long, value_name = "PREFIX", num_args = 0..=1, default_missing_value = "")]
    pub(crate) object_name: Option<String>,
    #[command(flatten)]
    pub(crate) recipients: RecipientArgs,
    /// Source environment recorded in the manifest.
    #[arg(long, default_value = "production")]
    pub(crate) environment: String,
    /// Source application version (e.g. a git SHA) recorded in the manifest.
    #[arg(long, value_name = "V")]
    pub(crate) source_version: Option<String>,
    /// Redaction policy (TOML or JSON); the default policy applies otherwise.
    #[arg(long, value_name = "FILE", conflicts_with = "no_redaction")]
    pub(crate) policy: Option<PathBuf>,
    /// Fixed generation time (set by --object-name so name and manifest agree).
    #[arg(skip)]
    pub(crate) generated_at: Option<redarc::format::Timestamp>,
    /// Pack the records unchanged (a raw backup); the manifest then has no redaction summary.
    #[arg(long)]
    pub(crate) no_redaction: bool,
    /// Why this copy is made (custody metadata in the manifest).
    #[arg(long, value_name = "TEXT")]
    pub(crate) purpose: Option<String>,
    /// Incident or ticket reference (custody metadata).
    #[arg(long, value_name = "ID")]
    pub(crate) ticket: Option<String>,
    /// Scope and type of the data (custody metadata).
    #[arg(long, value_name = "TEXT")]
    pub(crate) scope: Option<String>,
    /// Delete-by date, e.g. 2027-01-31T00:00:00Z (custody metadata; `redarc purge` acts on it).
    #[arg(long, value_name = "TIME", value_parser = parse_time, conflicts_with = "expires_in_days")]
    pub(crate) expires_at: Option<redarc::format::Timestamp>,
    /// Delete-by date as a number of days from now.
    #[arg(long, value_name = "DAYS")]
    pub(crate) expires_in_days: Option<u32>,
    /// Part size threshold in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = redarc::DEFAULT_PART_SIZE)]
    pub(crate) part_size: u64,
    /// zstd level (1 is faster than 3 and, on JSONL exports, smaller too).
    #[arg(long, default_value_t = redarc::DEFAULT_LEVEL)]
    pub(crate) level: i32,
    /// Extra zstd worker threads (0: compression runs on the writer thread).
    #[arg(long, default_value_t = 0)]
    pub(crate) threads: u32,
    /// Threads that check and redact records (default: one per CPU, at most 4).
    #[arg(long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Summary format: text on standard error, or one JSON document on standard output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

impl PackArgs {
    /// The options `demo` packs with: defaults, one recipient.
    pub(crate) fn for_demo(export_dir: PathBuf, output: PathBuf, recipient: String) -> PackArgs {
        PackArgs {
            export_dir,
            output,
            recipients: RecipientArgs::one(recipient),
            environment: "demo".into(),
            source_version: Some(format!("redarc-{}", env!("CARGO_PKG_VERSION"))),
            policy: None,
            no_redaction: false,
            object_name: None,
            generated_at: None,
            purpose: Some("demo".into()),
            ticket: None,
            scope: Some("synthetic data".into()),
            expires_at: None,
            expires_in_days: Some(7),
            part_size: redarc::DEFAULT_PART_SIZE,
            level: redarc::DEFAULT_LEVEL,
            threads: 0,
            jobs: None,
            format: OutputFormat::Text,
        }
    }
}

pub(crate) fn pack(args: &PackArgs) -> redarc::Result<i32> {
    let mut named;
    let args = match &args.object_name {
        None => args,
        Some(prefix) => {
            let at = redarc::format::Timestamp::now();
            let name = redarc::restore::object_name(prefix, &args.environment, at)?;
            let path = args.output.join(&name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io_path("creating", parent, e))?;
            }
            named = args.clone();
            named.output = path;
            named.generated_at = Some(at);
            named.object_name = None;
            &named
        }
    };
    let packed = pack_dir(args)?;
    let m = &packed.manifest;
    if args.format == OutputFormat::Json {
        print_json(&PackDoc {
            archive: args.output.display().to_string(),
            archive_bytes: packed.archive_bytes,
            transport_sha256: format!("sha256:{}", packed.transport_sha256),
            checksum_file: packed.sidecar.display().to_string(),
            summary: ArchiveSummary::of(m),
            omitted: &m.omitted,
            redaction: m.redaction.as_ref().map(|r| RedactionTotal {
                policy: &r.policy,
                total: r.total,
            }),
        })?;
        return Ok(0);
    }
    eprintln!(
        "packed {} entities, {} records, {} bytes of JSONL into {} ({} bytes)",
        m.entities.len(),
        m.total_records(),
        m.entities.iter().map(|e| e.bytes).sum::<u64>(),
        crate::shown(&args.output).display(),
        packed.archive_bytes
    );
    if let Some(r) = &m.redaction {
        eprintln!("redaction: policy {}, {} values changed", r.policy, r.total);
    }
    eprintln!("transport sha256: {}", packed.transport_sha256);
    Ok(0)
}

/// What pack produced.
pub(crate) struct Packed {
    pub(crate) manifest: Manifest,
    pub(crate) archive_bytes: u64,
    pub(crate) transport_sha256: String,
    /// `ARCHIVE.sha256`, the transport checksum in `sha256sum` format.
    pub(crate) sidecar: PathBuf,
}

/// `pack --format json`.
#[derive(Serialize)]
struct PackDoc<'a> {
    archive: String,
    archive_bytes: u64,
    transport_sha256: String,
    checksum_file: String,
    #[serde(flatten)]
    summary: ArchiveSummary<'a>,
    omitted: &'a [redarc::format::Omission],
    redaction: Option<RedactionTotal<'a>>,
}

/// What the manifest says, in the fields every JSON report shares.
#[derive(Serialize)]
pub(crate) struct ArchiveSummary<'a> {
    pub(crate) format_version: String,
    pub(crate) generated_at: String,
    pub(crate) environment: &'a str,
    pub(crate) source_version: Option<&'a str>,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    pub(crate) entities: Vec<EntitySummary<'a>>,
}

impl<'a> ArchiveSummary<'a> {
    pub(crate) fn of(m: &'a Manifest) -> ArchiveSummary<'a> {
        ArchiveSummary {
            format_version: m.format_version.to_string(),
            generated_at: m.generated_at.to_string(),
            environment: &m.environment,
            source_version: m.source_version.as_deref(),
            records: m.total_records(),
            bytes: m.entities.iter().map(|e| e.bytes).sum(),
            entities: m.entities.iter().map(EntitySummary::of).collect(),
        }
    }
}

/// One entity: name and counts.
#[derive(Serialize)]
pub(crate) struct EntitySummary<'a> {
    pub(crate) name: &'a str,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    pub(crate) parts: usize,
}

impl<'a> EntitySummary<'a> {
    fn of(e: &'a Entity) -> EntitySummary<'a> {
        EntitySummary {
            name: &e.name,
            records: e.records,
            bytes: e.bytes,
            parts: e.parts.len(),
        }
    }
}

/// Policy name and number of values changed (the per-rule counts are in the manifest).
#[derive(Serialize)]
pub(crate) struct RedactionTotal<'a> {
    pub(crate) policy: &'a str,
    pub(crate) total: u64,
}

/// The entity files of an export directory: `<entity>.jsonl`, sorted by name.
fn entity_files(dir: &Path) -> redarc::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "jsonl") || !path.is_file() {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} is not a usable entity file name",
                    path.display()
                ))
            })?
            .to_string();
        redarc::format::validate_entity_name(&name)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        out.push((name, path));
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no <entity>.jsonl file",
            dir.display()
        )));
    }
    out.sort();
    Ok(out)
}

/// Most record threads `pack` starts unless told: each adds about 2.5 MiB
/// of memory (its regex caches and allocator arena), and four keep the
/// whole process under 64 MiB (docs/performance.md).
const DEFAULT_MAX_JOBS: usize = 4;

pub(crate) fn pack_dir(args: &PackArgs) -> redarc::Result<Packed> {
    let files = entity_files(&args.export_dir)?;
    let recipients = args.recipients.load()?;
    let mut opts = ExportOptions::new(&args.environment)
        .part_size(args.part_size)
        .compression_level(args.level)
        .compression_threads(args.threads)
        .workers(args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .min(DEFAULT_MAX_JOBS)
        }));
    if let Some(v) = &args.source_version {
        opts = opts.source_version(v);
    }
    if let Some(at) = args.generated_at {
        opts = opts.generated_at(at);
    }
    if let Some(custody) = custody(args) {
        opts = opts.custody(custody);
    }
    if !args.no_redaction {
        let policy = match &args.policy {
            Some(path) => Policy::from_path(path)?,
            None => Policy::default_policy(),
        };
        opts = opts.redactor(policy.compile()?);
    }
    let out_dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if args.output.exists() {
        return Err(Error::Usage(format!(
            "{} exists; pack never overwrites",
            args.output.display()
        )));
    }
    // Written beside the target and renamed into place only when complete,
    // so a crash never leaves something that looks like a finished archive.
    let tmp = tempfile::Builder::new()
        .prefix(".redarc-pack-")
        .tempfile_in(&out_dir)
        .map_err(|e| {
            Error::io(
                format!("creating a temporary file in {}", out_dir.display()),
                e,
            )
        })?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| Error::io("opening the temporary file", e))?;
    let file = write_behind::WriteBehind::new(file);
    let sink = Sha256Writer::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let mut export = ExportWriter::new_pipelined(sink, &recipients, opts)?;
    // Progress is the input consumed: redaction and compression keep pace with it.
    let input_bytes = files
        .iter()
        .filter_map(|(_, p)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let progress = Progress::bytes(input_bytes, "pack");
    for (name, path) in &files {
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let mut entity = export.entity(name)?;
        // The entity writer reads chunks of a few MiB straight into the
        // buffers its workers share.
        entity
            .write_jsonl_from(progress.track(file))
            .map_err(|e| match e {
                // Name the file that could not be read.
                Error::Io { context, source } if context == redarc::READING_RECORDS => {
                    Error::io_path("reading", path, source)
                }
                other => other,
            })?;
        entity.finish()?;
    }
    progress.label("finish");
    let (manifest, sink) = export.finish_into_inner()?;
    let (buffered, digest, bytes) = sink.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| Error::io("flushing the archive", e.into_error()))?
        .finish()
        .map_err(|e| Error::io("syncing the archive", e))?;
    file.sync_all()
        .map_err(|e| Error::io("syncing the archive", e))?;
    tmp.persist_noclobber(&args.output).map_err(|e| {
        Error::io(
            format!("moving the archive to {}", args.output.display()),
            e.error,
        )
    })?;
    let file_name = args
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sidecar = PathBuf::from(format!("{}.sha256", args.output.display()));
    std::fs::write(&sidecar, format!("{digest}  {file_name}\n"))
        .map_err(|e| Error::io(format!("writing {}", sidecar.display()), e))?;
    sync_dir(&out_dir);
    progress.finish();
    Ok(Packed {
        manifest,
        archive_bytes: bytes,
        transport_sha256: digest,
        sidecar,
    })
}

fn parse_time(text: &str) -> Result<redarc::format::Timestamp, String> {
    redarc::format::Timestamp::parse(text)
}

/// Custody metadata from the pack options, if any was given.
fn custody(args: &PackArgs) -> Option<redarc::format::Custody> {
    let expires = args.expires_at.or_else(|| {
        args.expires_in_days.and_then(|d| {
            redarc::format::Timestamp::from_unix(
                redarc::format::Timestamp::now().unix() + i64::from(d) * 86_400,
            )
        })
    });
    if args.purpose.is_none() && args.ticket.is_none() && args.scope.is_none() && expires.is_none()
    {
        return None;
    }
    let mut c = redarc::format::Custody::new();
    if let Some(p) = &args.purpose {
        c = c.purpose(p);
    }
    if let Some(t) = &args.ticket {
        c = c.ticket(t);
    }
    if let Some(s) = &args.scope {
        c = c.scope(s);
    }
    if let Some(at) = expires {
        c = c.expires_at(at);
    }
    Some(c)
}

fn sync_dir(dir: &Path) {
    // Best effort: makes the rename durable on filesystems that need it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Arguments of `redarc verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The archive.
    pub(crate) archive: PathBuf,
    #[command(flatten)]
    pub(crate) identity: IdentityArgs,
    /// Output format (json: one document, also when the archive fails a check).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

/// Opens an archive for reading with a progress bar over its encrypted bytes.
pub(crate) fn open(
    path: &Path,
    label: &'static str,
) -> redarc::Result<(Progress, BufReader<Tracked<File>>)> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes(len, label);
    let reader = BufReader::with_capacity(1 << 20, progress.track(file));
    Ok((progress, reader))
}

/// `verify --format json`. When the archive cannot be read at all (wrong
/// key, damaged layers) the manifest's fields are absent, `error` says why
/// and `checks` is empty; `failed_check` names the failure either way.
#[derive(Serialize)]
struct VerifyDoc<'a> {
    archive: String,
    complete: bool,
    valid: bool,
    /// The first check that failed, by name.
    failed_check: Option<&'a str>,
    failed_checks: Vec<&'a str>,
    /// Why the archive could not be read at all (then `checks` is empty).
    error: Option<String>,
    #[serde(flatten)]
    summary: Option<ArchiveSummary<'a>>,
    checks: &'a [redarc::Check],
}

/// The check name a verification error stands for; the same names
/// `redarc drill` records in its evidence.
fn failed_check_name(e: &Error) -> &'static str {
    match e {
        Error::Decrypt(_) | Error::Key(_) => "decrypt",
        Error::Archive { .. } => "archive-structure",
        _ => "verify",
    }
}

pub(crate) fn verify(args: &VerifyArgs) -> redarc::Result<i32> {
    let ids = args.identity.load()?;
    let (progress, source) = open(&args.archive, "verify")?;
    let result = redarc::verify(source, &ids, ReadLimits::default());
    progress.finish();
    let report = match result {
        Ok(r) => r,
        Err(e) if args.format == OutputFormat::Json && e.is_check_failure() => {
            let check = failed_check_name(&e);
            print_json(&VerifyDoc {
                archive: args.archive.display().to_string(),
                complete: false,
                valid: false,
                failed_check: Some(check),
                failed_checks: vec![check],
                error: Some(e.to_string()),
                summary: None,
                checks: &[],
            })?;
            return Ok(1);
        }
        Err(e) => return Err(e),
    };
    crate::custody_cmd::warn_if_expired(&report.manifest);
    match args.format {
        OutputFormat::Json => {
            let failed: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            print_json(&VerifyDoc {
                archive: args.archive.display().to_string(),
                complete: report.complete,
                valid: report.valid,
                failed_check: failed.first().copied(),
                failed_checks: failed,
                error: None,
                summary: Some(ArchiveSummary::of(&report.manifest)),
                checks: &report.checks,
            })?;
        }
        OutputFormat::Text => print_verify_text(&args.archive, &report)?,
    }
    Ok(if report.valid { 0 } else { 1 })
}

fn print_verify_text(archive: &Path, report: &VerifyReport) -> redarc::Result<()> {
    let paint = Paint::stdout();
    for c in &report.checks {
        let mark = paint.verdict(c.passed, if c.passed { "ok  " } else { "FAIL" });
        match &c.detail {
            Some(d) => outln!(
                "{mark} {:<14} {} checked, {} failed: {d}",
                c.name,
                c.checked,
                c.failed
            )?,
            None => outln!("{mark} {:<14} {} checked", c.name, c.checked)?,
        }
    }
    let m = &report.manifest;
    outln!(
        "{}: {} ({} entities, {} records, format {}, generated {} in {})",
        archive.display(),
        paint.verdict(report.valid, if report.valid { "valid" } else { "INVALID" }),
        m.entities.len(),
        m.total_records(),
        m.format_version,
        m.generated_at,
        m.environment
    )
}

/// Arguments of `redarc inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The archive.
    pub(crate) archive: PathBuf,
    #[command(flatten)]
    pub(crate) identity: IdentityArgs,
    /// Output format: json (the default) is the manifest exactly as stored; text a summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub(crate) format: OutputFormat,
}

pub(crate) fn inspect(args: &InspectArgs) -> redarc::Result<i32> {
    let ids = args.identity.load()?;
    let (progress, source) = open(&args.archive, "inspect")?;
    let report = redarc::verify(source, &ids, ReadLimits::default());
    progress.finish();
    let report = report?;
    report.to_result()?;
    let m = &report.manifest;
    match args.format {
        OutputFormat::Json => crate::output::print_bytes(&m.to_bytes())?,
        OutputFormat::Text => print_manifest_text(m)?,
    }
    Ok(0)
}

fn print_manifest_text(m: &Manifest) -> redarc::Result<()> {
    outln!(
        "{} format {}, generated {} in {} by {} {}",
        m.format,
        m.format_version,
        m.generated_at,
        m.environment,
        m.producer.name,
        m.producer.version
    )?;
    if let Some(v) = &m.source_version {
        outln!("source version  {v}")?;
    }
    outln!(
        "{:<24} {:>10} {:>14} {:>6}",
        "entity",
        "records",
        "bytes",
        "parts"
    )?;
    for e in &m.entities {
        outln!(
            "{:<24} {:>10} {:>14} {:>6}",
            e.name,
            e.records,
            e.bytes,
            e.parts.len()
        )?;
    }
    for o in &m.omitted {
        outln!("{:<24} omitted: {}", o.name, o.reason)?;
    }
    match &m.redaction {
        Some(r) => outln!(
            "redaction       policy {}, {} values changed",
            r.policy,
            r.total
        )?,
        None => outln!("redaction       none (a raw backup)")?,
    }
    if let Some(c) = &m.custody {
        if let Some(at) = &c.expires_at {
            outln!("expires at      {at}")?;
        }
    }
    Ok(())
}

/// Arguments of `redarc unpack`.
#[derive(Debug, clap::Args)]
pub(crate) struct UnpackArgs {
    /// The archive.
    pub(crate) archive: PathBuf,
    #[command(flatten)]
    pub(crate) identity: IdentityArgs,
    /// Directory to create (or an empty one): manifest.json, SHA256SUMS and data/.
    #[arg(short, long, value_name = "DIR")]
    pub(crate) output: PathBuf,
    /// Also run every check of `redarc verify` (each record parsed, schemas,
    /// relations, tenant scope, residual secrets) before moving the files
    /// into place. Without it: every size, hash and record count.
    #[arg(long)]
    pub(crate) verify: bool,
    /// Summary format: text on standard error, or one JSON document on standard output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

/// `unpack --format json`.
#[derive(Serialize)]
struct UnpackDoc<'a> {
    archive: String,
    output: String,
    level: CheckLevel,
    complete: bool,
    valid: bool,
    #[serde(flatten)]
    summary: ArchiveSummary<'a>,
}

pub(crate) fn unpack(args: &UnpackArgs) -> redarc::Result<i32> {
    let ids = args.identity.load()?;
    let (progress, source) = open(&args.archive, "unpack")?;
    let level = if args.verify {
        CheckLevel::Valid
    } else {
        CheckLevel::Integrity
    };
    let report = redarc::unpack(source, &ids, &args.output, ReadLimits::default(), level);
    progress.finish();
    let report = report?;
    match args.format {
        OutputFormat::Json => print_json(&UnpackDoc {
            archive: args.archive.display().to_string(),
            output: args.output.display().to_string(),
            level: report.level,
            complete: report.complete,
            valid: report.valid,
            summary: ArchiveSummary::of(&report.manifest),
        })?,
        OutputFormat::Text => eprintln!(
            "unpacked {} entities, {} records into {} ({})",
            report.manifest.entities.len(),
            report.manifest.total_records(),
            args.output.display(),
            match report.level {
                CheckLevel::Integrity =>
                    "sizes, hashes and counts checked; `redarc verify` checks the rest",
                _ => "every check of `redarc verify` passed",
            }
        ),
    }
    Ok(0)
}

/// Writing the archive file with its data on its way to disk as it grows.
mod write_behind {
    use std::fs::File;
    use std::io::{self, Write};
    use std::sync::mpsc::{sync_channel, SyncSender};
    use std::thread::JoinHandle;

    /// Bytes written between two requests to flush.
    const FLUSH_EVERY: u64 = 8 << 20;

    /// A file whose data a thread of its own flushes to disk (`fdatasync`
    /// on a second handle) every [`FLUSH_EVERY`] bytes, while writing goes
    /// on; the final `sync_all` then waits only for the last few MiB
    /// instead of the whole archive.
    pub(crate) struct WriteBehind {
        file: File,
        since: u64,
        flush: Option<SyncSender<()>>,
        flusher: Option<JoinHandle<io::Result<()>>>,
    }

    impl WriteBehind {
        /// Without a second handle or a thread, the file is only synced at
        /// the end, as before.
        pub(crate) fn new(file: File) -> WriteBehind {
            let mut w = WriteBehind {
                file,
                since: 0,
                flush: None,
                flusher: None,
            };
            let Ok(other) = w.file.try_clone() else {
                return w;
            };
            // One request waiting at most: requests made meanwhile are
            // covered by the flush that follows.
            let (flush, requests) = sync_channel::<()>(1);
            let started = std::thread::Builder::new()
                .name("redarc-flush".into())
                .spawn(move || {
                    for () in requests {
                        other.sync_data()?;
                    }
                    Ok(())
                });
            if let Ok(handle) = started {
                w.flush = Some(flush);
                w.flusher = Some(handle);
            }
            w
        }

        /// Stops the flushing thread and returns the file; the error of a
        /// flush that failed, if one did (the caller's own `sync_all` on
        /// the same open file might not see it again).
        pub(crate) fn finish(mut self) -> io::Result<File> {
            drop(self.flush.take());
            if let Some(handle) = self.flusher.take() {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the flushing thread panicked")))?;
            }
            Ok(self.file)
        }
    }

    impl Write for WriteBehind {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.file.write(buf)?;
            self.since += n as u64;
            if self.since >= FLUSH_EVERY {
                self.since = 0;
                if let Some(flush) = &self.flush {
                    // Full: a flush is already due. Gone: the thread met an
                    // error, which `finish` returns.
                    let _ = flush.try_send(());
                }
            }
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.file.flush()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::io::Read;

        #[test]
        fn everything_written_is_in_the_file_after_finish() {
            let tmp = tempfile::tempfile().unwrap();
            let mut w = WriteBehind::new(tmp);
            assert!(w.flusher.is_some());
            let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
            for _ in 0..20 {
                w.write_all(&block).unwrap();
            }
            let mut file = w.finish().unwrap();
            use std::io::Seek;
            file.rewind().unwrap();
            let mut back = Vec::new();
            file.read_to_end(&mut back).unwrap();
            assert_eq!(back.len(), 20 << 20);
            assert!(back.chunks(1 << 20).all(|c| c == &block[..]));
        }
    }
}

/// SHA-256 of everything written through, for the transport checksum.
mod sha2_shim {
    use std::io::{self, Write};

    use redarc::format::Digest;

    /// A writer that hashes what passes through it.
    pub(crate) struct Sha256Writer<W> {
        inner: W,
        hasher: redarc::format::Sha256,
        bytes: u64,
    }

    impl<W: Write> Sha256Writer<W> {
        pub(crate) fn new(inner: W) -> Self {
            Sha256Writer {
                inner,
                hasher: redarc::format::Sha256::new(),
                bytes: 0,
            }
        }

        /// The writer, the hex digest and the byte count.
        pub(crate) fn finish(self) -> (W, String, u64) {
            let d: Digest = self.hasher.finish();
            (self.inner, d.hex(), self.bytes)
        }
    }

    impl<W: Write> Write for Sha256Writer<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hasher.update(&buf[..n]);
            self.bytes += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }
}
