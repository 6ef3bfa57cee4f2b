//! Export PostgreSQL tables into redarc archives, and restore them.
//!
//! - [`Database`] is a blocking connection (tokio-postgres on a
//!   current-thread runtime of its own).
//! - [`Catalog`] reads a schema's tables, primary keys and foreign keys.
//! - [`PgExport`] streams every table into an entity of a redarc
//!   [`ExportWriter`](redarc::ExportWriter) from one `REPEATABLE READ`
//!   snapshot, a bounded number of rows at a time, optionally scoped to one
//!   tenant by row-level security; foreign keys become the archive's
//!   relations.
//! - [`PgImporter`] is a redarc [`Importer`](redarc::Importer): dry runs and
//!   approved imports into a fresh database, in one transaction.
//! - [`SCHEMA_SQL`] and [`load_sample`] make a demo database of a
//!   multi-tenant application with planted secrets.
//!
//! Errors are [`redarc::Error`]s. They carry the server's error code and
//! the names of tables, columns and constraints, never row values or the
//! connection string's password.
//!
//! # Example
//!
//! ```no_run
//! use redarc::{ArchiveReader, Approval, ExportOptions, Identities, Policy, Recipients};
//! use redarc_postgres::{Catalog, Database, PgExport, PgImporter};
//!
//! # fn main() -> redarc::Result<()> {
//! let identity = Identities::generate_x25519();
//! let recipients = Recipients::parse(&identity.recipients())?;
//!
//! // Export: every table of `public`, redacted, encrypted.
//! let mut source = Database::connect("host=/run/postgresql dbname=app user=app_owner")?;
//! let plan = PgExport::new(Catalog::load(&mut source, "public")?);
//! let opts = ExportOptions::new("production").redactor(Policy::default_policy().compile()?);
//! let mut archive = Vec::new();
//! let manifest = plan.export(&mut source, &mut archive, &recipients, opts)?;
//!
//! // Restore into a fresh database with the same schema.
//! let mut target = Database::connect("host=/run/postgresql dbname=app_restore")?;
//! let mut importer = PgImporter::new(&mut target, "public", "restore-test")?;
//! let mut reader = ArchiveReader::open(std::io::Cursor::new(archive), &identity)?;
//! let planned = redarc::dry_run(&mut reader, &mut importer)?;
//! let approval = Approval::ask_on_terminal("ada", "OPS-2041", "restore-test", false)?;
//! let done = redarc::import(&mut reader, &mut importer, &approval)?;
//! importer.commit()?;
//! assert_eq!(done.written(), planned.would_write());
//! assert_eq!(done.written(), manifest.total_records());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod catalog;
mod db;
mod export;
mod import;
mod sample;

pub use catalog::{Catalog, Column, ForeignKey, Table};
pub use db::Database;
pub use export::{PgExport, DEFAULT_FETCH_ROWS};
pub use import::PgImporter;
pub use sample::{load_sample, SampleLoad, SAMPLE_TABLES, SCHEMA_SQL};
