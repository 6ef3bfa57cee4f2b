//! redarc writes and reads **secrets-redacting, verifiable, age-encrypted
//! export archives** of production data.
//!
//! An archive is a `tar` stream of JSONL entity files, a `SHA256SUMS` file
//! and a manifest, compressed with `zstd` and encrypted with `age`. It can
//! be opened with those standard tools alone; `spec/FORMAT.md` is the
//! normative description.
//!
//! - [`format`](mod@format): the manifest and its rules (pure data).
//! - [`redact`]: policies, the compiled [`Redactor`] and its [`Report`].
//! - [`ExportWriter`] streams records into an archive; [`ArchiveReader`]
//!   verifies an archive and reads it back.
//! - [`Recipients`] and [`Identities`] are the keys; only the archive's
//!   crypto module touches `age`.
//!
//! # Example
//!
//! ```
//! use redarc::{ArchiveReader, ExportOptions, ExportWriter, Identities, Recipients};
//! # fn main() -> redarc::Result<()> {
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct User { id: u64, email: String }
//!
//! let identity = Identities::generate_x25519();
//! let recipients = Recipients::parse(&identity.recipients())?;
//!
//! let mut archive = Vec::new();
//! let mut export = ExportWriter::new(&mut archive, &recipients, ExportOptions::new("staging"))?;
//! let mut users = export.entity("users")?;
//! users.write(&User { id: 1, email: "ada@example.com".into() })?;
//! users.finish()?;
//! export.omit("sessions", "live sessions are never exported")?;
//! let manifest = export.finish()?;
//! assert_eq!(manifest.entity("users").unwrap().records, 1);
//!
//! let mut reader = ArchiveReader::open(std::io::Cursor::new(archive), &identity)?;
//! let users: Vec<User> = reader.records("users")?.collect::<redarc::Result<_>>()?;
//! assert_eq!(users[0].email, "ada@example.com");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod archive;
mod error;
pub mod format;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz;
pub mod redact;
pub mod restore;
pub mod sample;

pub use archive::{
    unpack, verify, ArchiveReader, Check, CheckLevel, EntityWriter, ExportOptions, ExportWriter,
    Identities, ReadLimits, Recipients, Records, VerifyReport, DEFAULT_LEVEL, DEFAULT_MAX_RECORD,
    DEFAULT_MAX_WORK_FACTOR, DEFAULT_PART_SIZE, READING_RECORDS,
};
pub use error::{ArchiveProblem, DecryptFailure, Error, Result};
pub use format::Manifest;
pub use redact::{Policy, Redactor, Report};
pub use restore::{
    drill, dry_run, import, object_name, Approval, Evidence, ImportCounts, Importer,
    JsonlDirImporter, ObjectName,
};

// The Rust examples in the README and the quickstart compile as doctests,
// so the documentation cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../../docs/quickstart.md")]
struct QuickstartDoctests;

/// The category and position of a serde_json error, without the text
/// serde_json sometimes quotes from the input.
pub(crate) fn json_error_category(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "i/o error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected type or value",
        Category::Eof => "unexpected end of input",
    };
    if e.line() == 0 {
        what.to_string()
    } else {
        format!("{what} at line {} column {}", e.line(), e.column())
    }
}
