//! The `redarc` command-line tool: a thin layer over the library that
//! parses arguments, prints results and maps errors to exit codes
//! (0 success, 1 a check failed, 2 usage or I/O error; 141, quietly, when
//! the reader of standard output went away).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` that returns a `redarc::Result` instead of panicking when
/// standard output cannot be written (a closed pipe, a full disk).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

mod archive_cmd;
mod custody_cmd;
mod demo;
mod keys;
mod lines;
mod offsite_cmd;
mod output;
mod progress;
mod redact_cmd;
mod restore_cmd;
mod sample_cmd;

/// Secrets-redacting, verifiable, age-encrypted export archives.
#[derive(Debug, Parser)]
#[command(name = "redarc", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate an age X25519 identity (like age-keygen).
    Keygen(keys::KeygenArgs),
    /// Redact a `.jsonl` file or a directory of `<entity>.jsonl` files.
    Redact(redact_cmd::RedactArgs),
    /// Scan JSONL or text files for secrets: exit 1 when something is found; never prints a secret.
    Scan(redact_cmd::ScanArgs),
    /// Pack a directory of `<entity>.jsonl` files into an encrypted archive.
    Pack(archive_cmd::PackArgs),
    /// Verify an archive: exit 0 only when it is valid.
    Verify(archive_cmd::VerifyArgs),
    /// Print the manifest of a verified archive as JSON.
    Inspect(archive_cmd::InspectArgs),
    /// Extract a verified archive into a new or empty directory.
    Unpack(archive_cmd::UnpackArgs),
    /// Generate a realistic export with planted secrets and look-alikes (for demos, tests, benchmarks).
    Sample(sample_cmd::SampleArgs),
    /// Print a JSON Schema (manifest by default).
    Schema {
        /// Schema name: manifest.
        name: Option<String>,
    },
    /// Generate a small realistic export, pack it with a fresh key, verify it and say what is where.
    Demo(demo::DemoArgs),
    /// Restore drill: verify, dry-run import and smoke checks; write evidence JSON and Markdown.
    Drill(restore_cmd::DrillArgs),
    /// Import an archive into a JSONL directory after a person confirms it on the terminal.
    Import(restore_cmd::ImportArgs),
    /// Delete archives and unpacked exports past their custody expiry, logging each deletion.
    Purge(custody_cmd::PurgeArgs),
    /// Print a fresh object name for an archive: environment and time, no private data.
    Name(custody_cmd::NameArgs),
    /// Offsite S3-compatible storage: put, list, get and retain archives.
    Offsite(offsite_cmd::OffsiteArgs),
}

fn run(cli: Cli) -> redarc::Result<i32> {
    match cli.command {
        Command::Keygen(args) => keys::keygen(&args),
        Command::Redact(args) => redact_cmd::redact(&args),
        Command::Scan(args) => redact_cmd::scan(&args),
        Command::Pack(args) => archive_cmd::pack(&args),
        Command::Verify(args) => archive_cmd::verify(&args),
        Command::Inspect(args) => archive_cmd::inspect(&args),
        Command::Unpack(args) => archive_cmd::unpack(&args),
        Command::Sample(args) => sample_cmd::sample(&args),
        Command::Schema { name } => schema(name.as_deref()),
        Command::Demo(args) => demo::demo(&args),
        Command::Drill(args) => restore_cmd::drill_cmd(&args),
        Command::Import(args) => restore_cmd::import_cmd(&args),
        Command::Purge(args) => custody_cmd::purge_cmd(&args),
        Command::Name(args) => custody_cmd::name_cmd(&args),
        Command::Offsite(args) => offsite_cmd::offsite(&args),
    }
}

fn schema(name: Option<&str>) -> redarc::Result<i32> {
    let name = name.unwrap_or("manifest");
    match redarc::format::schema(name) {
        Some(text) => {
            output::print_bytes(text.as_bytes())?;
            Ok(0)
        }
        None => Err(redarc::Error::Usage(format!(
            "unknown schema {name}; known: {}",
            redarc::format::SCHEMA_NAMES.join(", ")
        ))),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
        // The reader of a pipe went away (`| head`): stop quietly, with
        // the status a shell gives a process that SIGPIPE ended.
        Err(e) if output::is_closed_stdout(&e) => ExitCode::from(141),
        Err(e) => {
            eprintln!("redarc: {e}");
            ExitCode::from(if e.is_check_failure() { 1 } else { 2 })
        }
    }
}

/// Makes a path relative to the current directory for display, if it is below it.
pub(crate) fn shown(path: &std::path::Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(PathBuf::from))
        .unwrap_or_else(|| path.to_path_buf())
}
