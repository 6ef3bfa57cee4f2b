//! redarc writes and reads **secrets-redacting, verifiable, age-encrypted
//! export archives** of production data.
//!
//! An archive is a `tar` stream of JSONL entity files, a `SHA256SUMS` file
//! and a manifest, compressed with `zstd` and encrypted with `age`. It can
//! be opened with those standard tools alone; `spec/FORMAT.md` is the
//! normative description.
//!
//! - [`format`]: the manifest and its rules (pure data).
//! - [`redact`]: policies, the compiled [`Redactor`] and its [`Report`].
//! - [`ExportWriter`] streams records into an archive; [`ArchiveReader`]
//!   verifies an archive and reads it back.
//! - [`Recipients`] and [`Identities`] are the keys; only the archive's
//!   crypto module touches `age`.
//!
#![forbid(unsafe_code)]

mod error;
pub mod format;
pub mod redact;
pub mod sample;

pub use error::{ArchiveProblem, DecryptFailure, Error, Result};
pub use format::Manifest;
pub use redact::{Policy, Redactor, Report};

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
