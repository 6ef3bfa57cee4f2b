//! From a PostgreSQL database to a redacted, encrypted archive and back
//! into a second database: export, verify, dry run, an approval typed on
//! the terminal, the import, and the row counts compared.
//!
//! ```text
//! REDARC_PG_URL='host=/run/postgresql dbname=app user=app_owner' \
//! REDARC_PG_RESTORE_URL='host=/run/postgresql dbname=app_restore' \
//!     cargo run -p redarc-postgres --example pg_roundtrip [-- --load-sample]
//! ```
//!
//! - `REDARC_PG_URL`: the source. `--load-sample` first creates the
//!   application schema there and fills it with generated data.
//! - `REDARC_PG_RESTORE_URL`: the target, a fresh database; the schema is
//!   created there when it has no tables.
//! - `REDARC_PG_TENANT` (optional): export one tenant only; the source role
//!   must then be subject to row-level security.
//!
//! Connection strings are read from the environment and never printed;
//! only user, host and database are.

use std::fs::File;
use std::process::ExitCode;

use redarc::format::{Custody, Timestamp};
use redarc::restore::object_name;
use redarc::sample::SampleOptions;
use redarc::{
    dry_run, import, verify, Approval, ArchiveReader, Error, ExportOptions, Identities, Policy,
    ReadLimits, Recipients,
};
use redarc_postgres::{load_sample, Catalog, Database, PgExport, PgImporter, SCHEMA_SQL};

const TARGET_ENV: &str = "restore-test";

fn env(name: &str) -> redarc::Result<String> {
    std::env::var(name).map_err(|_| Error::Usage(format!("set {name} to a connection string")))
}

fn run() -> redarc::Result<bool> {
    let load = std::env::args().any(|a| a == "--load-sample");
    let tenant = std::env::var("REDARC_PG_TENANT").ok();
    let mut source = Database::connect(&env("REDARC_PG_URL")?)?;
    let mut target = Database::connect(&env("REDARC_PG_RESTORE_URL")?)?;
    eprintln!("source {}, target {}", source.target(), target.target());

    if load {
        source.execute_script(SCHEMA_SQL)?;
        let loaded = load_sample(&mut source, &SampleOptions::new(1).target_bytes(1_000_000))?;
        eprintln!(
            "loaded {} rows with {} planted secrets",
            loaded.rows.values().sum::<u64>(),
            loaded.truth.secrets.len()
        );
    }

    // Export: the default redaction policy, custody, a fresh key.
    let identity = Identities::generate_x25519();
    let recipients = Recipients::parse(&identity.recipients())?;
    let now = Timestamp::now();
    let name = object_name("exports", "production", now)?;
    let dir = tempfile::tempdir().map_err(|e| Error::io("creating a temporary directory", e))?;
    let path = dir
        .path()
        .join(name.rsplit('/').next().unwrap_or("export.tar.zst.age"));
    let mut plan = PgExport::new(Catalog::load(&mut source, "public")?);
    if let Some(t) = &tenant {
        plan = plan.tenant(t.clone());
    }
    let expires = Timestamp::from_unix(now.unix() + 7 * 24 * 3600)
        .ok_or_else(|| Error::Usage("expiry out of range".into()))?;
    let opts = ExportOptions::new("production")
        .generated_at(now)
        .redactor(Policy::default_policy().compile()?)
        .custody(
            Custody::new()
                .purpose("restore drill into a second database")
                .expires_at(expires),
        );
    let file = File::create(&path).map_err(|e| Error::io_path("creating", &path, e))?;
    let manifest = plan.export(&mut source, file, &recipients, opts)?;
    eprintln!(
        "exported {} rows of {} tables as {name}; {} values redacted",
        manifest.total_records(),
        manifest.entities.len(),
        manifest.redaction.as_ref().map_or(0, |r| r.total)
    );

    // Verify: complete, valid, relations resolve, tenant scope holds.
    let open = || File::open(&path).map_err(|e| Error::io_path("opening", &path, e));
    let report = verify(open()?, &identity, ReadLimits::default())?;
    for check in &report.checks {
        eprintln!(
            "  check {:<18} {} ({} checked)",
            check.name,
            if check.passed { "passed" } else { "FAILED" },
            check.checked
        );
    }
    if !report.valid {
        return Ok(false);
    }

    // Dry run, then the import a person approves on the terminal.
    if Catalog::load(&mut target, "public")?.tables().is_empty() {
        target.execute_script(SCHEMA_SQL)?;
    }
    let mut reader = ArchiveReader::open(open()?, &identity)?;
    let mut importer = PgImporter::new(&mut target, "public", TARGET_ENV)?;
    let planned = dry_run(&mut reader, &mut importer)?;
    eprintln!(
        "dry run: {} would be written, {} already there, {} invalid",
        planned.would_write(),
        planned.skipped(),
        planned.invalid()
    );
    let operator = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let approval = Approval::ask_on_terminal(&operator, "restore drill", TARGET_ENV, false)?;
    let done = import(&mut reader, &mut importer, &approval)?;
    importer.commit()?;
    eprintln!("imported {} rows", done.written());

    // Rows exported from the source snapshot against rows now in the target.
    let restored = target.row_counts("public")?;
    let mut same = true;
    println!("{:<20} {:>8} {:>8}", "table", "source", "restored");
    for entity in &manifest.entities {
        let got = restored.get(&entity.name).copied().unwrap_or(0);
        same &= got == entity.records;
        println!("{:<20} {:>8} {:>8}", entity.name, entity.records, got);
    }
    Ok(same)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("the restore does not match the export");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
