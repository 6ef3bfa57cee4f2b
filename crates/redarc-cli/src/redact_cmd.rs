//! `redarc redact` and `redarc scan`.
//!
//! INPUT is a `.jsonl` file or a directory of `<entity>.jsonl` files (the
//! entity is the file stem); the output mirrors it. Scan output names rule,
//! file, line and JSON path with an 8-hex fingerprint, never the secret.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use redarc::redact::{PseudonymKey, PSEUDONYM_KEY_ENV};
use redarc::{Error, Policy, Redactor, Report};
use serde::Serialize;

use crate::output::{print_json, OutputFormat};
use crate::progress::Progress;

/// Arguments of `redarc redact`.
#[derive(Debug, clap::Args)]
pub(crate) struct RedactArgs {
    /// A `.jsonl` file or a directory of `<entity>.jsonl` files.
    #[arg(value_name = "INPUT")]
    pub(crate) input: PathBuf,
    /// Output file or directory (mirrors INPUT).
    #[arg(short = 'o', long = "output", value_name = "OUTPUT")]
    pub(crate) output: PathBuf,
    /// Policy file (`.toml` or `.json`); the default policy when absent.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// Write the redaction report (JSON: counts per rule, entity and path) here.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// File holding the pseudonym key (also read from REDARC_PSEUDONYM_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) pseudonym_key_file: Option<PathBuf>,
    /// Summary format: a line on standard error, or one JSON document on
    /// standard output (counts and the redaction report, never values).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

/// How scan prints findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScanFormat {
    /// One line per finding.
    Text,
    /// One JSON document: every finding, then the totals.
    Json,
    /// One JSON object per finding, one per line, written as found.
    Jsonl,
}

/// Arguments of `redarc scan`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// Files or directories to scan (`.jsonl` as records, anything else as text).
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: ScanFormat,
    /// Policy file (`.toml` or `.json`); the default policy when absent.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
}

fn load_policy(path: Option<&Path>) -> redarc::Result<Policy> {
    match path {
        Some(p) => Policy::from_path(p),
        None => Ok(Policy::default_policy()),
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::io_path(what, path, e)
}

/// Runs `redarc redact`; returns the exit code.
pub(crate) fn redact(args: &RedactArgs) -> redarc::Result<i32> {
    let policy = load_policy(args.policy.as_deref())?;
    let key = match &args.pseudonym_key_file {
        Some(f) => Some(PseudonymKey::from_file(f)?),
        None => PseudonymKey::from_env(PSEUDONYM_KEY_ENV)?,
    };
    let redactor = policy.compile_with_key(key)?;
    let mut report = Report::new();
    let jobs: Vec<(String, PathBuf, PathBuf)> = if args.input.is_dir() {
        std::fs::create_dir_all(&args.output).map_err(|e| io("creating", &args.output, e))?;
        jsonl_files(&args.input)?
            .into_iter()
            .map(|(entity, path)| {
                let out = args.output.join(path.file_name().unwrap_or_default());
                (entity, path, out)
            })
            .collect()
    } else {
        vec![(stem(&args.input), args.input.clone(), args.output.clone())]
    };
    let progress = Progress::bytes(total_size(jobs.iter().map(|j| j.1.as_path())), "redact");
    let mut records = 0u64;
    for (entity, input, output) in &jobs {
        records += redact_file(&redactor, entity, input, output, &mut report, &progress)?;
    }
    progress.finish();
    let summary = report.summary(&redactor);
    if let Some(r) = &args.report {
        let mut text = serde_json::to_string_pretty(&summary)
            .map_err(|_| Error::Usage("report could not be serialized".into()))?;
        text.push('\n');
        std::fs::write(r, text).map_err(|e| io("writing", r, e))?;
    }
    match args.format {
        OutputFormat::Json => print_json(&RedactDoc {
            input: args.input.display().to_string(),
            output: args.output.display().to_string(),
            files: jobs.len(),
            records,
            report: &summary,
        })?,
        OutputFormat::Text => eprintln!(
            "redacted {records} records in {} file{}: policy {}, {} values changed",
            jobs.len(),
            if jobs.len() == 1 { "" } else { "s" },
            summary.policy,
            summary.total
        ),
    }
    Ok(0)
}

/// `redact --format json`.
#[derive(Serialize)]
struct RedactDoc<'a> {
    input: String,
    output: String,
    files: usize,
    records: u64,
    /// The same summary `--report` writes and `pack` stores in the manifest.
    report: &'a redarc::format::RedactionSummary,
}

/// Total size of `paths`, for a progress bar (unreadable ones count 0:
/// opening them reports the error).
fn total_size<'a>(paths: impl Iterator<Item = &'a Path>) -> u64 {
    paths
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Read and write buffer size of `redact`: large enough that system calls
/// cost nothing next to redaction.
const BUF: usize = 256 * 1024;

/// Longest line `redact` and `scan` read: the record size limit `pack`
/// applies by default. A longer line (a file that is not JSONL, or one
/// record run together with the rest) fails before it fills memory.
const MAX_LINE: usize = redarc::DEFAULT_MAX_RECORD as usize;

/// Calls `f(n, line)` with every line `reader` reads from `path`, numbered
/// from 1 with blank lines counted (as an editor numbers them), each at most
/// [`MAX_LINE`] bytes.
fn each_numbered_line(
    reader: &mut impl BufRead,
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> redarc::Result<()>,
) -> redarc::Result<()> {
    let mut n = 0u64;
    crate::lines::for_each_line(
        reader,
        MAX_LINE,
        |e| io("reading", path, e),
        |line| {
            n += 1;
            f(n, line)
        },
    )
}

fn redact_file(
    redactor: &Redactor,
    entity: &str,
    input: &Path,
    output: &Path,
    report: &mut Report,
    progress: &Progress,
) -> redarc::Result<u64> {
    let file = File::open(input).map_err(|e| io("opening", input, e))?;
    let mut reader = BufReader::with_capacity(BUF, progress.track(file));
    let created = File::create(output).map_err(|e| io("creating", output, e))?;
    let mut sink = Sink {
        redactor,
        entity,
        report,
        out: Vec::with_capacity(BUF + BUF / 4),
        file: created,
        path: output,
        records: 0,
    };
    each_numbered_line(&mut reader, input, |line_no, line| {
        sink.record(line_no, line)
    })?;
    sink.flush()?;
    Ok(sink.records)
}

/// Where `redact_file` sends records: redacted output collects in `out`
/// and goes to the file a buffer at a time, with no second copy.
struct Sink<'a> {
    redactor: &'a Redactor,
    entity: &'a str,
    report: &'a mut Report,
    out: Vec<u8>,
    file: File,
    path: &'a Path,
    records: u64,
}

impl Sink<'_> {
    /// Redacts one line (without its `\n`; a trailing `\r` is dropped,
    /// blank lines are skipped), numbered `line_no` in errors.
    fn record(&mut self, line_no: u64, line: &[u8]) -> redarc::Result<()> {
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        if text.is_empty() {
            return Ok(());
        }
        self.redactor
            .redact_record(self.entity, line_no, text, &mut self.out, self.report)?;
        self.out.push(b'\n');
        self.records += 1;
        if self.out.len() >= BUF {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> redarc::Result<()> {
        self.file
            .write_all(&self.out)
            .map_err(|e| io("writing", self.path, e))?;
        self.out.clear();
        Ok(())
    }
}

/// Runs `redarc scan`; exit code 1 when anything is found, 0 otherwise.
pub(crate) fn scan(args: &ScanArgs) -> redarc::Result<i32> {
    let redactor = load_policy(args.policy.as_deref())?.compile()?;
    let mut files = Vec::new();
    for root in &args.paths {
        if root.is_dir() {
            collect_files(root, &mut files)?;
        } else {
            files.push(root.clone());
        }
    }
    // Findings stream to stdout as they are found: a bar on the same
    // terminal would tear them, so it shows only when stdout goes elsewhere.
    let progress = if std::io::stdout().is_terminal() {
        Progress::hidden()
    } else {
        Progress::bytes(total_size(files.iter().map(PathBuf::as_path)), "scan")
    };
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let out_err = crate::output::stdout_error;
    if args.format == ScanFormat::Json {
        w.write_all(b"{\n  \"findings\": [").map_err(out_err)?;
    }
    let mut found = 0u64;
    let mut lines = 0u64;
    for file in &files {
        let is_jsonl = file.extension().is_some_and(|e| e == "jsonl");
        let entity = stem(file);
        let opened = File::open(file).map_err(|e| io("opening", file, e))?;
        let mut reader = BufReader::new(progress.track(opened));
        each_numbered_line(&mut reader, file, |n, line| {
            lines += 1;
            let findings = match (is_jsonl, redactor.scan_line(&entity, n, line)) {
                (true, Ok(f)) => f,
                // Not JSON (or not a .jsonl file): scan it as text.
                _ => redactor.scan_text(&String::from_utf8_lossy(line), n),
            };
            for f in findings {
                let doc = || {
                    serde_json::json!({
                        "rule": f.rule,
                        "file": file.display().to_string(),
                        "line": f.line,
                        "path": f.path,
                        "fingerprint": f.fingerprint,
                    })
                };
                match args.format {
                    ScanFormat::Text => writeln!(
                        w,
                        "{}:{}: {} at {} (fingerprint {})",
                        file.display(),
                        f.line,
                        f.rule,
                        f.path.as_deref().unwrap_or("-"),
                        f.fingerprint
                    ),
                    ScanFormat::Jsonl => writeln!(w, "{}", doc()),
                    ScanFormat::Json => {
                        write!(w, "{}\n    {}", if found == 0 { "" } else { "," }, doc())
                    }
                }
                .map_err(out_err)?;
                found += 1;
            }
            Ok(())
        })?;
    }
    progress.finish();
    if args.format == ScanFormat::Json {
        // Written by hand around the streamed findings, so memory stays
        // bounded however many there are; the result is one JSON document.
        write!(
            w,
            "{}],\n  \"files\": {},\n  \"lines\": {lines},\n  \"found\": {found},\n  \"clean\": {}\n}}\n",
            if found == 0 { "" } else { "\n  " },
            files.len(),
            found == 0
        )
        .map_err(out_err)?;
    }
    w.flush().map_err(out_err)?;
    Ok(i32::from(found > 0))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn jsonl_files(dir: &Path) -> redarc::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io("reading", dir, e))? {
        let p = e.map_err(|e| io("reading", dir, e))?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == "jsonl") {
            files.push((stem(&p), p));
        }
    }
    files.sort();
    Ok(files)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> redarc::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io("reading", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}
