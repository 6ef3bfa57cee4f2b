//! purge, name and the custody-expiry warning.

use std::path::PathBuf;

use redarc::format::{Manifest, Timestamp};
use redarc::restore::{expiry_warning, object_name, purge, PurgeOptions, PurgeReport};
use redarc::{Error, Identities};
use serde::Serialize;

use crate::output::{print_json, OutputFormat};

/// Prints a warning on stderr when the archive is past its custody expiry.
pub(crate) fn warn_if_expired(manifest: &Manifest) {
    if let Some(w) = expiry_warning(manifest, Timestamp::now()) {
        eprintln!("redarc: warning: {w}");
    }
}

/// Arguments of `redarc purge`.
#[derive(Debug, clap::Args)]
pub(crate) struct PurgeArgs {
    /// Directory searched for archives (*.tar.zst.age) and unpacked exports (directories with manifest.json).
    pub(crate) dir: PathBuf,
    /// Identity to read archives' custody with (their manifest is inside the encryption). Repeatable.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub(crate) identities: Vec<PathBuf>,
    /// Custody log to append deletion records to [default: DIR/custody-log.jsonl].
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// List what would be deleted; delete and log nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Who runs the purge, for the log [default: $USER].
    #[arg(long, value_name = "NAME")]
    pub(crate) operator: Option<String>,
    /// Output format: lines, or one JSON document with every deletion (as
    /// logged), the number kept and what was left unjudged.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

/// `purge --format json`.
#[derive(Serialize)]
struct PurgeDoc<'a> {
    dir: String,
    dry_run: bool,
    #[serde(flatten)]
    report: &'a PurgeReport,
}

pub(crate) fn purge_cmd(args: &PurgeArgs) -> redarc::Result<i32> {
    let mut ids: Option<Identities> = None;
    for path in &args.identities {
        let loaded = Identities::from_file(path)?;
        match ids.as_mut() {
            Some(all) => all.merge(loaded),
            None => ids = Some(loaded),
        }
    }
    let operator = args
        .operator
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|o| !o.trim().is_empty())
        .unwrap_or_else(|| "unknown".into());
    let mut opts = PurgeOptions::new(operator).dry_run(args.dry_run);
    if let Some(log) = &args.log {
        opts = opts.log(log);
    }
    let report = purge(&args.dir, ids.as_ref(), &opts)?;
    // Something whose custody could not be read is a failed check: a person must look.
    let code = if report.skipped.is_empty() { 0 } else { 1 };
    if args.format == OutputFormat::Json {
        print_json(&PurgeDoc {
            dir: args.dir.display().to_string(),
            dry_run: args.dry_run,
            report: &report,
        })?;
        return Ok(code);
    }
    for d in &report.deleted {
        let verb = if args.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        outln!("{verb} {} ({})", d.path, d.reason)?;
        for extra in &d.also_deleted {
            outln!("{verb} {extra}")?;
        }
    }
    for s in &report.skipped {
        eprintln!("redarc: left {}: {}", s.path, s.reason);
    }
    eprintln!(
        "{} {}, {} kept, {} left unjudged",
        report.deleted.len(),
        if args.dry_run { "to delete" } else { "deleted" },
        report.kept,
        report.skipped.len()
    );
    Ok(code)
}

/// Arguments of `redarc name`.
#[derive(Debug, clap::Args)]
pub(crate) struct NameArgs {
    /// Source environment (a-z, 0-9, '-').
    #[arg(long, value_name = "ENV")]
    pub(crate) environment: String,
    /// Leading path segments (a-z, 0-9, '-', '_', '.', '/').
    #[arg(long, value_name = "P", default_value = "")]
    pub(crate) prefix: String,
    /// Output format: the name alone, or a JSON document with the name and what it was made from.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

pub(crate) fn name_cmd(args: &NameArgs) -> redarc::Result<i32> {
    let at = Timestamp::now();
    let name = object_name(&args.prefix, &args.environment, at)
        .map_err(|e| Error::Usage(e.to_string()))?;
    match args.format {
        OutputFormat::Json => print_json(&serde_json::json!({
            "name": name,
            "environment": args.environment,
            "prefix": args.prefix,
            "at": at.to_string(),
        }))?,
        OutputFormat::Text => outln!("{name}")?,
    }
    Ok(0)
}
