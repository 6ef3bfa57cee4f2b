//! drill (automated, never writes) and import (human-approved).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use redarc::restore::{
    drill, dry_run, import, validate_environment, Approval, EmptyTarget, Evidence, ImportCounts,
    Importer, JsonlDirImporter,
};
use redarc::{ArchiveReader, Error};
use serde::Serialize;

use crate::keys::IdentityArgs;
use crate::output::{print_json, print_json_line, OutputFormat, Paint};
use crate::progress::Progress;

/// Arguments of `redarc drill`.
#[derive(Debug, clap::Args)]
pub(crate) struct DrillArgs {
    /// The archive.
    pub(crate) archive: PathBuf,
    #[command(flatten)]
    pub(crate) identity: IdentityArgs,
    /// Write the evidence JSON to FILE and a Markdown summary beside it (FILE with extension .md).
    #[arg(long, value_name = "FILE")]
    pub(crate) evidence: PathBuf,
    /// Environment the drill restores into (a dry run; must not be production).
    #[arg(long, value_name = "ENV", default_value = "drill")]
    pub(crate) target_env: String,
    /// Dry-run against this JSONL directory (records already there count as skipped); nothing is written to it.
    #[arg(long, value_name = "DIR")]
    pub(crate) target: Option<PathBuf>,
    /// Field identifying a record in the --target directory.
    #[arg(long, value_name = "FIELD", default_value = "id")]
    pub(crate) key_field: String,
    /// Output format: a summary on standard error, or the evidence JSON
    /// (the document written to --evidence) on standard output.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

/// `FILE` with extension `.md`, refusing to let the two collide.
fn markdown_path(evidence: &Path) -> redarc::Result<PathBuf> {
    let md = evidence.with_extension("md");
    if md == evidence {
        return Err(Error::Usage(
            "--evidence names the JSON file; the Markdown summary goes beside it as .md".into(),
        ));
    }
    Ok(md)
}

fn write_file(path: &Path, text: &str) -> redarc::Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

pub(crate) fn drill_cmd(args: &DrillArgs) -> redarc::Result<i32> {
    validate_environment(&args.target_env)
        .map_err(|e| Error::Usage(format!("--target-env: {e}")))?;
    let md_path = markdown_path(&args.evidence)?;
    let ids = args.identity.load()?;
    let mut empty;
    let mut dir;
    let target: &mut dyn Importer = match &args.target {
        Some(path) => {
            dir = JsonlDirImporter::new(path, &args.target_env)?.key_field(&args.key_field);
            &mut dir
        }
        None => {
            empty = EmptyTarget::new(&args.target_env);
            &mut empty
        }
    };
    // The drill opens the archive itself, several times: a spinner, not a bar.
    let progress = Progress::spinner("restore drill");
    let evidence = drill(&args.archive, &ids, &args.target_env, target);
    progress.finish();
    write_file(&args.evidence, &evidence.to_json())?;
    write_file(&md_path, &evidence.to_markdown())?;
    match args.format {
        OutputFormat::Json => print_json(&evidence)?,
        OutputFormat::Text => report(&evidence, &args.evidence, &md_path),
    }
    Ok(if evidence.passed { 0 } else { 1 })
}

fn report(ev: &Evidence, json: &Path, md: &Path) {
    let paint = Paint::stderr();
    match &ev.failed_check {
        None => eprintln!(
            "drill {}: {} records read, {} would be written into {}",
            paint.good("passed"),
            ev.records_read(),
            ev.would_write(),
            ev.target_environment
        ),
        Some(check) => {
            let detail = ev
                .validation
                .iter()
                .chain(&ev.smoke_checks)
                .find(|c| &c.name == check)
                .and_then(|c| c.detail.as_deref())
                .unwrap_or("");
            eprintln!("drill {}: check {check}: {detail}", paint.bad("FAILED"));
        }
    }
    eprintln!(
        "evidence: {} and {}",
        crate::shown(json).display(),
        crate::shown(md).display()
    );
}

/// Arguments of `redarc import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The archive.
    pub(crate) archive: PathBuf,
    #[command(flatten)]
    pub(crate) identity: IdentityArgs,
    /// Directory of `<entity>.jsonl` files to import into (created if missing; records are appended).
    #[arg(long, value_name = "DIR")]
    pub(crate) target: PathBuf,
    /// Environment the target belongs to; you will be asked to type it.
    #[arg(long, value_name = "ENV")]
    pub(crate) target_env: String,
    /// Who runs the import.
    #[arg(long, value_name = "NAME")]
    pub(crate) operator: String,
    /// Why: a reason or ticket reference.
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: String,
    /// The target is production: you will also be asked to type a confirmation phrase.
    #[arg(long)]
    pub(crate) production: bool,
    /// Field identifying a record (records whose value is already in the target are skipped).
    #[arg(long, value_name = "FIELD", default_value = "id")]
    pub(crate) key_field: String,
    /// Result on standard output: json (the default) is one line with the
    /// approval and the counts, for the change record; text a summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub(crate) format: OutputFormat,
}

/// What `import` prints with `--format json`: one line, to keep with the change record.
#[derive(Serialize)]
struct ImportRecord<'a> {
    archive: String,
    target: String,
    approval: &'a Approval,
    /// The dry run the operator saw before approving.
    dry_run: &'a ImportCounts,
    counts: &'a ImportCounts,
}

pub(crate) fn import_cmd(args: &ImportArgs) -> redarc::Result<i32> {
    // Checked first, before any work: automation gets a plain refusal.
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "refusing to import: standard input is not a terminal; a real import must be run and confirmed by a person (automation can run `redarc drill`)"
                .into(),
        ));
    }
    let mut target = JsonlDirImporter::new(&args.target, &args.target_env)?
        .production(args.production)
        .key_field(&args.key_field);
    let ids = args.identity.load()?;
    let (progress, source) = crate::archive_cmd::open(&args.archive, "verify")?;
    let mut reader = ArchiveReader::open(source, &ids)?;
    progress.label("dry run");
    let planned = dry_run(&mut reader, &mut target)?;
    let approval = progress.suspend(|| {
        crate::custody_cmd::warn_if_expired(reader.manifest());
        let m = reader.manifest();
        eprintln!(
            "archive {} verified: {} entities, {} records from {} generated {}",
            crate::shown(&args.archive).display(),
            m.entities.len(),
            m.total_records(),
            m.environment,
            m.generated_at
        );
        eprintln!(
            "dry run against {} ({}):",
            crate::shown(&args.target).display(),
            args.target_env
        );
        print_counts(&planned);
        Approval::ask_on_terminal(
            &args.operator,
            &args.reason,
            &args.target_env,
            target.is_production(),
        )
    })?;
    progress.label("import");
    let done = import(&mut reader, &mut target, &approval);
    progress.finish();
    let done = done?;
    eprintln!("imported:");
    print_counts(&done);
    match args.format {
        OutputFormat::Json => {
            let record = ImportRecord {
                archive: args.archive.display().to_string(),
                target: args.target.display().to_string(),
                approval: &approval,
                dry_run: &planned,
                counts: &done,
            };
            print_json_line(&record)?;
        }
        OutputFormat::Text => println!(
            "imported {} records into {} ({}): {} skipped, {} invalid",
            done.written(),
            args.target.display(),
            args.target_env,
            done.entities.iter().map(|e| e.skipped).sum::<u64>(),
            done.entities.iter().map(|e| e.invalid).sum::<u64>()
        ),
    }
    Ok(0)
}

fn print_counts(c: &ImportCounts) {
    let verb = if c.dry_run { "would write" } else { "written" };
    for e in &c.entities {
        let n = if c.dry_run { e.would_write } else { e.written };
        eprintln!(
            "  {:<24} {n:>9} {verb}, {:>9} skipped, {:>9} invalid",
            e.entity, e.skipped, e.invalid
        );
    }
}
