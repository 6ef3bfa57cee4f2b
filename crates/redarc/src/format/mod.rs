//! Format v1: the manifest, entity parts and checksums.
//!
//! Pure data and pure functions: no I/O policy, no cryptography. The
//! normative description is `spec/FORMAT.md`; this module is its
//! executable form.
//!
//! # Design note for maintainers
//!
//! The manifest is the *last* member of the tar stream. A writer therefore
//! streams entity data straight into the archive and only needs to hold one
//! part in memory (a tar header needs the size before the data); readers
//! hash members as they pass and decide only when the manifest arrives,
//! which they must do anyway because age authenticates truncation only at
//! the very end. Member names are derived from entity names and part
//! indexes, so a reader can reject an unexpected name before it reads the
//! manifest.

mod sums;
mod types;

pub use sums::{parse_sha256sums, render_sha256sums};
pub use types::{
    Custody, Digest, Entity, FormatVersion, Manifest, Omission, Part, Producer, RedactionCount,
    RedactionSummary, Relation, Sha256, TenantScope, Timestamp,
};

/// Name of the manifest member; always the last member.
pub const MANIFEST_MEMBER: &str = "manifest.json";
/// Name of the checksum-list member; always just before the manifest.
pub const SUMS_MEMBER: &str = "SHA256SUMS";
/// Directory holding entity parts inside the archive.
pub const DATA_DIR: &str = "data";
/// Value of the manifest's `format` field.
pub const FORMAT_NAME: &str = "redarc";

/// Largest manifest a reader accepts, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;
/// Largest `SHA256SUMS` a reader accepts, in bytes.
pub const MAX_SUMS_BYTES: u64 = 16 * 1024 * 1024;
/// Largest entity part a writer may produce and a reader accepts, in bytes.
pub const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// Largest number of parts one entity may have (part indexes are five digits).
pub const MAX_PARTS_PER_ENTITY: u32 = 100_000;
/// Longest entity name, in bytes.
pub const MAX_ENTITY_NAME: usize = 64;

/// Checks an entity name: 1–64 characters of `A-Z a-z 0-9 _ -`, not
/// starting with `-`.
///
/// Entity names become file names, so anything that could be a path
/// separator, a dot segment or a shell-hostile character is refused.
pub fn validate_entity_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_ENTITY_NAME {
        return Err(format!(
            "entity name must be 1 to {MAX_ENTITY_NAME} characters"
        ));
    }
    if name.starts_with('-') {
        return Err("entity name must not start with '-'".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("entity name may only hold A-Z, a-z, 0-9, '_' and '-'".into());
    }
    Ok(())
}

/// The member path of part `index` (0-based) of `entity`:
/// `data/<entity>.<index, 5 digits>.jsonl`.
pub fn part_path(entity: &str, index: u32) -> String {
    format!("{DATA_DIR}/{entity}.{index:05}.jsonl")
}

/// Splits a member path into entity name and part index, if it has the
/// shape of a part path.
pub fn parse_part_path(path: &str) -> Option<(&str, u32)> {
    let rest = path.strip_prefix(DATA_DIR)?.strip_prefix('/')?;
    let stem = rest.strip_suffix(".jsonl")?;
    let (entity, index) = stem.rsplit_once('.')?;
    if index.len() != 5 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    validate_entity_name(entity).ok()?;
    let index: u32 = index.parse().ok()?;
    Some((entity, index))
}

/// The JSON Schemas redarc publishes, by name, as pretty JSON text.
///
/// `spec/schema/<name>.schema.json` holds the committed copy of each.
pub fn schema(name: &str) -> Option<String> {
    let schema = match name {
        "manifest" => schemars::schema_for!(Manifest),
        "policy" => return Some(crate::redact::policy_schema()),
        _ => return None,
    };
    serde_json::to_string_pretty(&schema).ok().map(|mut s| {
        s.push('\n');
        s
    })
}

/// Names accepted by [`schema`].
pub const SCHEMA_NAMES: &[&str] = &["manifest", "policy"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_paths_round_trip() {
        assert_eq!(part_path("users", 0), "data/users.00000.jsonl");
        assert_eq!(
            parse_part_path("data/users.00012.jsonl"),
            Some(("users", 12))
        );
        assert_eq!(
            parse_part_path("data/user_tokens.99999.jsonl"),
            Some(("user_tokens", 99_999))
        );
        for bad in [
            "data/users.0001.jsonl",
            "data/users.jsonl",
            "data/../x.00000.jsonl",
            "users.00000.jsonl",
            "data/a/b.00000.jsonl",
            "data/.00000.jsonl",
            "data/users.00000.json",
            "/data/users.00000.jsonl",
        ] {
            assert_eq!(parse_part_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn entity_names() {
        for ok in ["users", "user_tokens", "A-1", "x"] {
            assert!(validate_entity_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", "a.b", "a/b", "..", "-x", "a b", "é", long.as_str()] {
            assert!(validate_entity_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn committed_schemas_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/schema");
        for name in SCHEMA_NAMES {
            let path = dir.join(format!("{name}.schema.json"));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            let current = schema(name).unwrap_or_default();
            assert!(
                committed == current,
                "{} is stale: run `cargo run -p redarc-cli -- schema {name} > {}`",
                path.display(),
                path.display()
            );
        }
    }
}
