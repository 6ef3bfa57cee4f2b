//! Restoring archives: dry runs, drills with evidence, human-approved
//! imports, custody and object names.
//!
//! - [`Importer`] is the trait a store implements; [`JsonlDirImporter`]
//!   is one for a directory of JSONL files and [`EmptyTarget`] one that
//!   holds nothing.
//! - [`dry_run`] counts what an import would write, skip and refuse, and
//!   never writes; [`import`] writes, and needs an [`Approval`] that only a
//!   person at a terminal can give.
//! - [`drill`] verifies an archive, dry-runs it and runs smoke checks,
//!   returning [`Evidence`] (JSON and Markdown) without record contents.
//! - [`purge`] deletes copies past their custody expiry and logs each
//!   deletion; [`expiry_warning`] is what `verify` prints.
//! - [`object_name`] names archives by environment and time only.
//!
//! # Example
//!
//! ```
//! use redarc::restore::{drill, EmptyTarget};
//! use redarc::{ExportOptions, ExportWriter, Identities, Recipients};
//! # fn main() -> redarc::Result<()> {
//! let identity = Identities::generate_x25519();
//! let recipients = Recipients::parse(&identity.recipients())?;
//! let dir = tempfile::tempdir().map_err(|e| redarc::Error::io("tempdir", e))?;
//! let path = dir.path().join("staging.tar.zst.age");
//! let file = std::fs::File::create(&path).map_err(|e| redarc::Error::io("create", e))?;
//! let mut export = ExportWriter::new(file, &recipients, ExportOptions::new("staging"))?;
//! let mut users = export.entity("users")?;
//! users.write(&serde_json::json!({"id": 1}))?;
//! users.finish()?;
//! export.finish()?;
//!
//! let evidence = drill(&path, &identity, "restore-test", &mut EmptyTarget::new("restore-test"));
//! assert!(evidence.passed, "{}", evidence.to_markdown());
//! assert_eq!(evidence.would_write(), 1);
//! # Ok(()) }
//! ```

mod custody;
mod drill;
mod import;
mod naming;

pub use custody::{
    expired_at, expiry_warning, purge, CustodyRecord, PurgeOptions, PurgeReport, PurgeSkip,
    CUSTODY_LOG,
};
pub use drill::{drill, drill_at, CheckResult, EntityChecksums, Evidence, EVIDENCE_VERSION};
pub use import::{
    dry_run, import, Approval, EmptyTarget, EntityCounts, ImportCounts, Importer, JsonlDirImporter,
    DEFAULT_BATCH, PRODUCTION_CONFIRMATION,
};
pub use naming::{object_name, validate_environment, validate_prefix, ObjectName, ARCHIVE_SUFFIX};
