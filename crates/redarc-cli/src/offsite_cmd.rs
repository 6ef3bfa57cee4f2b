//! offsite put, list, get and retain: archives in S3 or an S3-compatible server.
//!
//! Credentials are deliberately not options: they come from
//! `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (or the other standard
//! AWS variables) only, so they stay out of shell history, process
//! listings and this program's output.

use std::path::PathBuf;

use redarc::format::Timestamp;
use redarc::Error;
use redarc_offsite::{
    Day, ErrorKind, ListFilter, Offsite, OffsiteConfig, RetentionPolicy, RetentionReport,
    DEFAULT_PART_SIZE,
};

use crate::output::{print_json, OutputFormat};

/// Arguments of `redarc offsite`.
#[derive(Debug, clap::Args)]
pub(crate) struct OffsiteArgs {
    #[command(subcommand)]
    command: OffsiteCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OffsiteCommand {
    /// Upload an archive named by `pack --object-name`, and its .sha256 sidecar; print its key.
    Put(PutArgs),
    /// List archives, by environment and generation date.
    List(ListArgs),
    /// Download an archive into a directory, checked against its size and sidecar; print its path.
    Get(GetArgs),
    /// Delete archives older than N days, never the newest K of an environment.
    Retain(RetainArgs),
}

/// Where the archives are. Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// Bucket.
    #[arg(long, env = "REDARC_S3_BUCKET", value_name = "NAME")]
    bucket: String,
    /// Endpoint of an S3-compatible server [default: AWS].
    #[arg(long, env = "REDARC_S3_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,
    /// Region [default: AWS_DEFAULT_REGION or AWS_REGION, else us-east-1].
    #[arg(long, env = "REDARC_S3_REGION")]
    region: Option<String>,
    /// Key prefix the archives live under.
    #[arg(long, env = "REDARC_S3_PREFIX", value_name = "P", default_value = "")]
    prefix: String,
    /// Allow a plain-HTTP endpoint; only a loopback one is accepted.
    #[arg(long, env = "REDARC_S3_ALLOW_HTTP", value_parser = clap::builder::BoolishValueParser::new())]
    allow_http: bool,
}

impl StoreArgs {
    fn open(&self, part_size: Option<usize>) -> redarc::Result<Offsite> {
        let mut config = OffsiteConfig::new(&self.bucket)
            .prefix(&self.prefix)
            .allow_http(self.allow_http);
        if let Some(endpoint) = &self.endpoint {
            config = config.endpoint(endpoint);
        }
        if let Some(region) = &self.region {
            config = config.region(region);
        }
        if let Some(bytes) = part_size {
            config = config.part_size(bytes);
        }
        Offsite::new(config).map_err(cli_error)
    }
}

#[derive(Debug, clap::Args)]
struct PutArgs {
    /// The archive file; its name must be an object name (ENV-YYYYMMDDTHHMMSSZ-RANDOM.tar.zst.age).
    archive: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// Multipart part size in bytes (5 MiB to 256 MiB); smaller files go in one request.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_PART_SIZE)]
    part_size: usize,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    environment: Option<String>,
    /// Only archives generated on this UTC day.
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["from", "to"])]
    date: Option<Day>,
    /// Only archives generated on or after this UTC day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<Day>,
    /// Only archives generated on or before this UTC day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<Day>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// The archive's object key, as `offsite list` or `offsite put` prints it.
    key: String,
    /// Directory to write the archive and its .sha256 sidecar into (never overwritten).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, clap::Args)]
struct RetainArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Archives generated more than this many days ago may be deleted.
    #[arg(long, value_name = "N")]
    older_than_days: u32,
    /// Never delete the newest K archives of an environment (at least 1).
    #[arg(long, value_name = "K")]
    keep: usize,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    environment: Option<String>,
    /// Report what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

/// Runs `redarc offsite …`; returns the exit code.
pub(crate) fn offsite(args: &OffsiteArgs) -> redarc::Result<i32> {
    let result = match &args.command {
        OffsiteCommand::Put(a) => put(a),
        OffsiteCommand::List(a) => list(a),
        OffsiteCommand::Get(a) => get(a),
        OffsiteCommand::Retain(a) => retain(a),
    };
    match result {
        // Bytes that do not match their size or checksum: a failed check.
        Err(Failure::Check(e)) => {
            eprintln!("redarc: {e}");
            Ok(1)
        }
        Err(Failure::Other(e)) => Err(e),
        Ok(code) => Ok(code),
    }
}

enum Failure {
    Check(redarc_offsite::Error),
    Other(Error),
}

impl From<redarc_offsite::Error> for Failure {
    fn from(e: redarc_offsite::Error) -> Failure {
        if e.kind() == ErrorKind::Integrity {
            Failure::Check(e)
        } else {
            Failure::Other(cli_error(e))
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Other(e)
    }
}

/// Usage problems stay usage problems; the rest are I/O (exit 2 either way).
fn cli_error(e: redarc_offsite::Error) -> Error {
    match e.kind() {
        ErrorKind::Config
        | ErrorKind::Credentials
        | ErrorKind::NotAnArchive
        | ErrorKind::AlreadyExists
        | ErrorKind::Runtime => Error::Usage(e.to_string()),
        _ => Error::io(e.context(), std::io::Error::other(e.detail().to_string())),
    }
}

fn put(args: &PutArgs) -> Result<i32, Failure> {
    let offsite = args.store.open(Some(args.part_size))?;
    let up = offsite.upload(&args.archive)?;
    eprintln!(
        "uploaded {} bytes in {} {} to s3://{}/{}",
        up.bytes,
        up.parts,
        if up.parts == 1 { "request" } else { "parts" },
        args.store.bucket,
        up.key
    );
    eprintln!(
        "sha256 {} ({}), sidecar {}",
        up.sha256,
        match up.sidecar {
            redarc_offsite::SidecarSource::Verified => "matches the local .sha256",
            _ => "computed: there was no local .sha256",
        },
        up.sidecar_key
    );
    outln!("{}", up.key)?;
    Ok(0)
}

fn list(args: &ListArgs) -> Result<i32, Failure> {
    let mut filter = ListFilter::new();
    filter.environment.clone_from(&args.environment);
    match &args.date {
        Some(day) => filter = filter.on(day.clone()),
        None => {
            filter.from.clone_from(&args.from);
            filter.to.clone_from(&args.to);
        }
    }
    let offsite = args.store.open(None)?;
    let listing = offsite.list(&filter)?;
    match args.format {
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "bucket": args.store.bucket,
                "prefix": offsite.config().prefix,
                "archives": listing.archives,
                "foreign": listing.foreign,
            });
            print_json(&doc)?;
        }
        OutputFormat::Text => {
            let rows: Vec<[String; 5]> = listing
                .archives
                .iter()
                .map(|a| {
                    [
                        a.name.generated_at.to_string(),
                        a.name.environment.clone(),
                        a.size.to_string(),
                        if a.sidecar { "yes" } else { "no" }.to_string(),
                        a.key.clone(),
                    ]
                })
                .collect();
            print_table(
                &["GENERATED_AT", "ENVIRONMENT", "BYTES", "SIDECAR", "KEY"],
                &rows,
            )?;
        }
    }
    eprintln!(
        "{}{}",
        archives(listing.archives.len()),
        foreign_note(listing.foreign)
    );
    Ok(0)
}

fn get(args: &GetArgs) -> Result<i32, Failure> {
    let offsite = args.store.open(None)?;
    let got = offsite.fetch(&args.key, &args.output)?;
    if got.verified {
        eprintln!(
            "fetched {} bytes, sha256 {} matches the sidecar",
            got.bytes, got.sha256
        );
    } else {
        eprintln!(
            "redarc: warning: no sidecar in the store; fetched {} bytes (size checked), sha256 {}",
            got.bytes, got.sha256
        );
    }
    outln!("{}", crate::shown(&got.path).display())?;
    Ok(0)
}

fn retain(args: &RetainArgs) -> Result<i32, Failure> {
    let mut policy = RetentionPolicy::new(args.older_than_days, args.keep);
    policy.environment.clone_from(&args.environment);
    let offsite = args.store.open(None)?;
    let report = offsite.retain(&policy, Timestamp::now(), args.dry_run)?;
    match args.format {
        OutputFormat::Json => {
            print_json(&report)?;
        }
        OutputFormat::Text => print_retention(&report)?,
    }
    eprintln!(
        "{} {} (with sidecars), {} kept; cutoff {}{}",
        archives(report.delete.len()),
        if report.dry_run {
            "to delete"
        } else {
            "deleted"
        },
        report.keep.len(),
        report.cutoff,
        foreign_note(report.foreign)
    );
    Ok(0)
}

fn print_retention(report: &RetentionReport) -> redarc::Result<()> {
    let delete = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let rows: Vec<[String; 5]> = report
        .delete
        .iter()
        .map(|d| (delete, d))
        .chain(report.keep.iter().map(|d| ("keep", d)))
        .map(|(action, d)| {
            [
                action.to_string(),
                d.archive.name.generated_at.to_string(),
                d.archive.name.environment.clone(),
                d.reason.as_str().to_string(),
                d.archive.key.clone(),
            ]
        })
        .collect();
    print_table(
        &["ACTION", "GENERATED_AT", "ENVIRONMENT", "REASON", "KEY"],
        &rows,
    )
}

fn archives(n: usize) -> String {
    match n {
        1 => "1 archive".into(),
        n => format!("{n} archives"),
    }
}

fn foreign_note(foreign: u64) -> String {
    match foreign {
        0 => String::new(),
        1 => "; 1 other key under the prefix left alone".into(),
        n => format!("; {n} other keys under the prefix left alone"),
    }
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> redarc::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        outln!("{}", out.trim_end())
    };
    line(header.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}
