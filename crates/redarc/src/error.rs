//! The one error type of the crate.
//!
//! Messages are lowercase, carry context (entity, member, offset, rule id)
//! and never carry payload: no record contents, no key material, no
//! passphrase, no matched secret. Errors from dependencies whose messages
//! may quote input (serde_json's "invalid type: string \"…\"") are
//! reduced to their category and position before they get here.

use std::io;

/// Result alias used throughout redarc.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in redarc.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with what redarc was doing.
    #[error("{context}: {source}")]
    Io {
        /// What redarc was doing, e.g. `writing /tmp/x.tar.zst.age`.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The archive could not be decrypted with the identities given.
    ///
    /// Deliberately coarse, as age's own errors are: it names the kind of
    /// failure, never key material.
    #[error("decryption failed: {0}")]
    Decrypt(DecryptFailure),
    /// A recipient, identity or passphrase could not be used.
    #[error("{0}")]
    Key(String),
    /// The archive is damaged, tampered with, or does not follow the format.
    #[error("invalid archive: {problem}{}", member_context(.member, .offset))]
    Archive {
        /// The tar member concerned, if any.
        member: Option<String>,
        /// Byte offset inside the member (or line number for records), if known.
        offset: Option<u64>,
        /// What is wrong.
        problem: ArchiveProblem,
    },
    /// A record could not be serialized, parsed or accepted.
    #[error("entity {entity}, record {record}: {detail}")]
    Record {
        /// Entity name.
        entity: String,
        /// 1-based record number within the entity.
        record: u64,
        /// What is wrong (never the record's contents).
        detail: String,
    },
    /// The caller asked for something the format does not allow.
    #[error("{0}")]
    Usage(String),
    /// A redaction policy could not be read or compiled.
    #[error("policy error: {0}")]
    Policy(String),
}

impl Error {
    /// Whether this error means "a check failed" (exit code 1) rather than
    /// a usage or I/O problem (exit code 2).
    pub fn is_check_failure(&self) -> bool {
        matches!(self, Error::Decrypt(_) | Error::Archive { .. })
    }

    /// An [`Error::Io`] with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An [`Error::Io`] for `what` (e.g. `reading`) on `path`.
    pub fn io_path(what: &str, path: &std::path::Path, source: io::Error) -> Error {
        Error::io(format!("{what} {}", path.display()), source)
    }

    #[allow(dead_code)] // used by the archive reader
    pub(crate) fn archive(problem: ArchiveProblem) -> Error {
        Error::Archive {
            member: None,
            offset: None,
            problem,
        }
    }

    pub(crate) fn member(member: &str, problem: ArchiveProblem) -> Error {
        Error::Archive {
            member: Some(printable(member)),
            offset: None,
            problem,
        }
    }

    /// The archive problem, if this is an [`Error::Archive`].
    pub fn archive_problem(&self) -> Option<&ArchiveProblem> {
        match self {
            Error::Archive { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

fn member_context(member: &Option<String>, offset: &Option<u64>) -> String {
    match (member, offset) {
        (Some(m), Some(o)) => format!(" (member {m}, offset {o})"),
        (Some(m), None) => format!(" (member {m})"),
        (None, Some(o)) => format!(" (offset {o})"),
        (None, None) => String::new(),
    }
}

/// Member names come from untrusted archives: keep them short and free of
/// control characters before they reach a terminal.
pub(crate) fn printable(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// Why decryption failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptFailure {
    /// None of the identities given matches a recipient of the archive.
    #[error("no identity matched any recipient of the archive")]
    NoMatchingKeys,
    /// The archive is passphrase-encrypted but no passphrase was given, or the reverse.
    #[error("the archive is passphrase-encrypted; give the passphrase instead of an identity")]
    PassphraseRequired,
    /// The passphrase-encrypted archive demands more scrypt work than allowed.
    #[error("the archive's scrypt work factor exceeds the allowed maximum")]
    ExcessiveWork,
    /// The age header is malformed or not an age file at all.
    #[error("not an age-encrypted file, or its header is damaged")]
    InvalidHeader,
    /// The header's MAC did not verify (tampered header or wrong key).
    #[error("the header failed authentication")]
    InvalidMac,
    /// The encrypted payload is damaged or truncated.
    #[error("the encrypted payload is damaged or truncated")]
    Payload,
    /// The file uses an age feature redarc does not support.
    #[error("unsupported age feature")]
    Unsupported,
}

/// What is wrong with an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveProblem {
    /// The compressed layer is damaged.
    #[error("zstd stream is damaged or truncated")]
    Compression,
    /// The tar layer is malformed.
    #[error("tar stream is malformed: {0}")]
    Tar(String),
    /// A member type other than a regular file.
    #[error("member is not a regular file")]
    NotRegularFile,
    /// A member name that is absolute, has `..`, or is otherwise unsafe.
    #[error("unsafe member name")]
    UnsafePath,
    /// A member appears twice.
    #[error("duplicate member")]
    DuplicateMember,
    /// A member the manifest does not list.
    #[error("member is not listed in the manifest")]
    UnlistedMember,
    /// A member the manifest lists is absent.
    #[error("member listed in the manifest is missing")]
    MissingMember,
    /// Members are not in the order the format requires.
    #[error("member out of order: {0}")]
    Order(String),
    /// A member or the archive exceeds a size limit.
    #[error("exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Too many members.
    #[error("more than {limit} members")]
    TooManyMembers {
        /// The limit.
        limit: u64,
    },
    /// Size differs from the manifest.
    #[error("size is {actual} bytes, manifest says {expected}")]
    SizeMismatch {
        /// Size recorded in the manifest.
        expected: u64,
        /// Size found.
        actual: u64,
    },
    /// SHA-256 differs from the manifest.
    #[error("sha256 does not match the manifest")]
    HashMismatch,
    /// Record count differs from the manifest.
    #[error("holds {actual} records, manifest says {expected}")]
    CountMismatch {
        /// Count recorded in the manifest.
        expected: u64,
        /// Count found.
        actual: u64,
    },
    /// A line that is not one JSON value.
    #[error("line {line} is not a JSON record ({detail})")]
    BadRecord {
        /// 1-based line number inside the member.
        line: u64,
        /// Category of the problem, never the contents.
        detail: String,
    },
    /// No manifest member.
    #[error("manifest.json is missing")]
    ManifestMissing,
    /// The manifest does not parse or breaks a rule of the format.
    #[error("manifest is invalid: {0}")]
    ManifestInvalid(String),
    /// A major version this reader does not know.
    #[error("format version {0} is not supported by this reader (major 1 only)")]
    UnsupportedVersion(String),
    /// The SHA256SUMS member disagrees with the manifest.
    #[error("SHA256SUMS disagrees with the manifest: {0}")]
    SumsMismatch(String),
    /// A record does not match its entity's declared JSON Schema.
    #[error("entity {entity}, record {record} {detail}")]
    SchemaMismatch {
        /// Entity name.
        entity: String,
        /// 1-based record number.
        record: u64,
        /// Where in the schema it failed (a schema location, never data).
        detail: String,
    },
    /// References that do not resolve.
    #[error("{count} references of {relation} do not resolve")]
    DanglingReferences {
        /// The relation, `from_entity.field -> to_entity.field`.
        relation: String,
        /// How many.
        count: u64,
    },
    /// Records of another tenant than the declared one.
    #[error("entity {entity} holds {count} records of another tenant")]
    ForeignTenant {
        /// Entity name.
        entity: String,
        /// How many.
        count: u64,
    },
    /// A redacted archive still holds what the default policy finds.
    #[error("entity {entity} still holds {count} values the residual scan flags")]
    ResidualSecrets {
        /// Entity name.
        entity: String,
        /// How many findings.
        count: u64,
    },
    /// Data after the end of the tar archive, or a truncated archive.
    #[error("{0}")]
    Trailing(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_with_context() {
        let e = Error::member(
            "data/users.00000.jsonl",
            ArchiveProblem::SizeMismatch {
                expected: 3,
                actual: 4,
            },
        );
        assert_eq!(
            e.to_string(),
            "invalid archive: size is 4 bytes, manifest says 3 (member data/users.00000.jsonl)"
        );
        assert!(e.is_check_failure());
        assert!(!Error::Usage("x".into()).is_check_failure());
    }

    #[test]
    fn member_names_are_sanitised() {
        let e = Error::member("a\u{1b}[31mb", ArchiveProblem::UnsafePath);
        assert!(!e.to_string().contains('\u{1b}'));
        let long = "x".repeat(500);
        assert!(
            Error::member(&long, ArchiveProblem::UnsafePath)
                .to_string()
                .len()
                < 300
        );
    }
}
