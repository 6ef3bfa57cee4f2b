//! Manifest types and their validation.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{parse_part_path, part_path, validate_entity_name, FORMAT_NAME, MAX_PARTS_PER_ENTITY};

/// A SHA-256 digest, written `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest(sha2::Sha256::digest(bytes).into())
    }

    /// Lowercase hex without the `sha256:` prefix, as `sha256sum` prints it.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses `sha256:<hex>`.
    pub fn parse(text: &str) -> Result<Digest, String> {
        let hex_part = text
            .strip_prefix("sha256:")
            .ok_or_else(|| "digest must start with 'sha256:'".to_string())?;
        Digest::from_hex(hex_part)
    }

    /// Parses 64 lowercase hex digits.
    pub fn from_hex(hex_part: &str) -> Result<Digest, String> {
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err("digest must be 64 lowercase hex digits".into());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| "digest is not hex".to_string())?;
        Ok(Digest(out))
    }
}

/// An incremental SHA-256, for callers that hash a stream (e.g. the
/// transport checksum of a whole archive) without depending on a hash crate.
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    /// A fresh hasher.
    pub fn new() -> Sha256 {
        Sha256::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.0, bytes);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        Digest(sha2::Digest::finalize(self.0).into())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256")
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Digest {
    fn schema_name() -> Cow<'static, str> {
        "Sha256Digest".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^sha256:[0-9a-f]{64}$",
            "description": "SHA-256 of the exact bytes, as `sha256:` and 64 lowercase hex digits."
        })
    }
}

/// A UTC instant with second precision, written `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(time::OffsetDateTime);

impl Timestamp {
    /// Now, truncated to the second.
    pub fn now() -> Timestamp {
        Timestamp::from_unix(time::OffsetDateTime::now_utc().unix_timestamp())
            .unwrap_or(Timestamp(time::OffsetDateTime::UNIX_EPOCH))
    }

    /// From seconds since the Unix epoch, if representable.
    pub fn from_unix(secs: i64) -> Option<Timestamp> {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .map(Timestamp)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Parses RFC 3339 (any offset; converted to UTC, fractions dropped).
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|_| "timestamp must be RFC 3339, e.g. 2026-01-31T12:00:00Z".to_string())?;
        Timestamp::from_unix(t.unix_timestamp()).ok_or_else(|| "timestamp out of range".into())
    }

    /// `YYYYMMDDTHHMMSSZ`, for object names.
    pub fn compact(&self) -> String {
        let t = self.0;
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "UTC instant, `YYYY-MM-DDTHH:MM:SSZ` when written by redarc."
        })
    }
}

/// A format version, written `major.minor`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FormatVersion {
    /// Incompatible changes bump this; readers refuse a major they do not know.
    pub major: u16,
    /// Compatible additions bump this; readers accept any minor of a known major.
    pub minor: u16,
}

impl FormatVersion {
    /// The version this library writes.
    pub const CURRENT: FormatVersion = FormatVersion { major: 1, minor: 0 };

    /// Parses `major.minor`.
    pub fn parse(text: &str) -> Option<FormatVersion> {
        let (major, minor) = text.split_once('.')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(FormatVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl fmt::Debug for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for FormatVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        FormatVersion::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("format_version must be 'major.minor'"))
    }
}

impl JsonSchema for FormatVersion {
    fn schema_name() -> Cow<'static, str> {
        "FormatVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]{1,5}\\.[0-9]{1,5}$",
            "description": "`major.minor`. Readers refuse an unknown major and accept any minor of a known one."
        })
    }
}

/// Who wrote the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Producer {
    /// Producer name, `redarc` for this library.
    pub name: String,
    /// Producer version.
    pub version: String,
}

impl Producer {
    /// This library.
    pub fn redarc() -> Producer {
        Producer {
            name: "redarc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// One part of an entity: a JSONL member of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Part {
    /// Member path, `data/<entity>.<index, 5 digits>.jsonl`.
    pub path: String,
    /// Number of records (lines) in the part.
    pub records: u64,
    /// Exact size in bytes.
    pub bytes: u64,
    /// SHA-256 of the exact bytes.
    pub sha256: Digest,
}

impl Part {
    /// A part description.
    pub fn new(path: String, records: u64, bytes: u64, sha256: Digest) -> Part {
        Part {
            path,
            records,
            bytes,
            sha256,
        }
    }
}

/// An exported entity: one or more JSONL parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Entity {
    /// Entity name (`[A-Za-z0-9_-]`, 1–64 characters).
    pub name: String,
    /// Total records across parts.
    pub records: u64,
    /// Total bytes across parts.
    pub bytes: u64,
    /// The parts, in order; an empty entity has one empty part.
    pub parts: Vec<Part>,
    /// JSON Schema every record of the entity satisfies, if declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

impl Entity {
    /// An entity description from its parts; totals are computed.
    pub fn new(name: String, parts: Vec<Part>) -> Entity {
        Entity {
            name,
            records: parts.iter().map(|p| p.records).sum(),
            bytes: parts.iter().map(|p| p.bytes).sum(),
            parts,
            schema: None,
        }
    }
}

/// An entity deliberately not exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Omission {
    /// Entity name.
    pub name: String,
    /// Why it is not in the archive, e.g. `live sessions are never exported`.
    pub reason: String,
}

impl Omission {
    /// An omission.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Omission {
        Omission {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// One row of the redaction summary: how often a rule fired where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RedactionCount {
    /// Rule id, e.g. `aws-access-key-id`.
    pub rule: String,
    /// Entity name.
    pub entity: String,
    /// JSON path of the value, e.g. `$.token_data.access_token` (array indexes as `[*]`).
    pub path: String,
    /// How many values the rule changed there.
    pub count: u64,
}

impl RedactionCount {
    /// A summary row.
    pub fn new(rule: String, entity: String, path: String, count: u64) -> RedactionCount {
        RedactionCount {
            rule,
            entity,
            path,
            count,
        }
    }
}

/// What redaction did to the archive: counts only, never values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RedactionSummary {
    /// Policy name.
    pub policy: String,
    /// SHA-256 of the policy as compiled (canonical JSON), so two archives can be
    /// compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_sha256: Option<Digest>,
    /// Id of the pseudonym key, when pseudonyms were used (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym_key_id: Option<String>,
    /// Total values changed.
    pub total: u64,
    /// Counts per rule, entity and path, sorted.
    pub counts: Vec<RedactionCount>,
}

/// A declared foreign key: every `from_field` value of `from_entity` must
/// appear as a `to_field` value of `to_entity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Relation {
    /// Referencing entity.
    pub from_entity: String,
    /// Referencing top-level field.
    pub from_field: String,
    /// Referenced entity.
    pub to_entity: String,
    /// Referenced top-level field.
    pub to_field: String,
}

impl Relation {
    /// `from_entity.from_field` references `to_entity.to_field`.
    pub fn new(
        from_entity: impl Into<String>,
        from_field: impl Into<String>,
        to_entity: impl Into<String>,
        to_field: impl Into<String>,
    ) -> Relation {
        Relation {
            from_entity: from_entity.into(),
            from_field: from_field.into(),
            to_entity: to_entity.into(),
            to_field: to_field.into(),
        }
    }
}

/// The tenant an export is scoped to: every record's `field` equals `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TenantScope {
    /// Top-level field holding the tenant id.
    pub field: String,
    /// The tenant id.
    pub value: serde_json::Value,
}

impl TenantScope {
    /// Records carrying top-level `field` must have `value` there.
    pub fn new(field: impl Into<String>, value: serde_json::Value) -> TenantScope {
        TenantScope {
            field: field.into(),
            value,
        }
    }
}

/// Why a copy of production data exists and when it must be gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Custody {
    /// Why the copy was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Incident or ticket reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Scope and type of the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the copy must be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl Custody {
    /// Empty custody metadata; fill it with the setters.
    pub fn new() -> Custody {
        Custody::default()
    }

    /// Why the copy was made.
    pub fn purpose(mut self, purpose: impl Into<String>) -> Custody {
        self.purpose = Some(purpose.into());
        self
    }

    /// Incident or ticket reference.
    pub fn ticket(mut self, ticket: impl Into<String>) -> Custody {
        self.ticket = Some(ticket.into());
        self
    }

    /// Scope and type of the data.
    pub fn scope(mut self, scope: impl Into<String>) -> Custody {
        self.scope = Some(scope.into());
        self
    }

    /// When the copy must be deleted.
    pub fn expires_at(mut self, at: Timestamp) -> Custody {
        self.expires_at = Some(at);
        self
    }

    /// Whether `expires_at` is set and before `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t < now)
    }
}

/// The manifest: what the archive holds and how to check it.
///
/// Unknown fields are ignored when reading, so a 1.x reader reads any 1.y
/// manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Manifest {
    /// Always `redarc`.
    pub format: String,
    /// Format version, `1.0` for this library.
    pub format_version: FormatVersion,
    /// When the export was generated.
    pub generated_at: Timestamp,
    /// Source environment, e.g. `production`.
    pub environment: String,
    /// Version of the application the data comes from (e.g. a git SHA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// The program that wrote the archive.
    pub producer: Producer,
    /// Exported entities, in member order.
    pub entities: Vec<Entity>,
    /// Entities deliberately not exported, with reasons.
    #[serde(default)]
    pub omitted: Vec<Omission>,
    /// SHA-256 of the `SHA256SUMS` member.
    pub sha256sums: Digest,
    /// Redaction summary, when a redaction policy was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<RedactionSummary>,
    /// Declared foreign keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
    /// Tenant scope, when the export covers one tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantScope>,
    /// Custody metadata for data copied out of production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<Custody>,
}

impl Manifest {
    /// Parses and validates a manifest from untrusted bytes.
    ///
    /// Checks the format name and major version before the rest, so an
    /// archive from a future major gets a clear "unsupported version" rather
    /// than a parse error. Never panics.
    ///
    /// # Errors
    /// [`crate::ArchiveProblem::UnsupportedVersion`] for an unknown major;
    /// [`crate::ArchiveProblem::ManifestInvalid`] for anything else.
    pub fn from_slice(bytes: &[u8]) -> crate::Result<Manifest> {
        use crate::error::{ArchiveProblem as P, Error};
        let invalid = |m: String| Error::member(super::MANIFEST_MEMBER, P::ManifestInvalid(m));
        if bytes.len() as u64 > super::MAX_MANIFEST_BYTES {
            return Err(Error::member(
                super::MANIFEST_MEMBER,
                P::TooLarge {
                    limit: super::MAX_MANIFEST_BYTES,
                },
            ));
        }
        /// Just enough to decide whether the rest can be read.
        #[derive(Deserialize)]
        struct Probe {
            format: Option<String>,
            format_version: Option<String>,
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("not JSON ({})", crate::json_error_category(&e))))?;
        if probe.format.as_deref() != Some(FORMAT_NAME) {
            return Err(invalid("format is not \"redarc\"".into()));
        }
        let version = probe
            .format_version
            .ok_or_else(|| invalid("format_version is missing".into()))?;
        let version = version.as_str();
        let parsed = FormatVersion::parse(version)
            .ok_or_else(|| invalid("format_version must be 'major.minor'".into()))?;
        if parsed.major != FormatVersion::CURRENT.major {
            return Err(Error::member(
                super::MANIFEST_MEMBER,
                P::UnsupportedVersion(crate::error::printable(version)),
            ));
        }
        // Parsed from the bytes (not via a Value) so a repeated field is an
        // error rather than silently last-one-wins.
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| invalid(crate::json_error_category(&e)))?;
        manifest.validate().map_err(invalid)?;
        Ok(manifest)
    }

    /// Serializes the manifest as written into archives: pretty JSON with a
    /// final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain data with string keys cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Checks the rules of the format that the types alone cannot express:
    /// unique, valid entity names; part paths derived from the entity name
    /// and index; totals equal to the sum of parts; omissions distinct from
    /// entities; relations naming exported entities.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT_NAME {
            return Err("format is not \"redarc\"".into());
        }
        if self.entities.is_empty() {
            return Err("at least one entity must be exported".into());
        }
        if !(0..=0o77777777777).contains(&self.generated_at.unix()) {
            return Err("generated_at must lie between 1970 and 2242".into());
        }
        let mut names = BTreeSet::new();
        for entity in &self.entities {
            validate_entity_name(&entity.name)
                .map_err(|e| format!("{e}: entity #{}", names.len() + 1))?;
            if !names.insert(entity.name.as_str()) {
                return Err(format!("entity {} is listed twice", entity.name));
            }
            if entity.parts.is_empty() {
                return Err(format!("entity {} has no parts", entity.name));
            }
            if entity.parts.len() as u64 > u64::from(MAX_PARTS_PER_ENTITY) {
                return Err(format!("entity {} has too many parts", entity.name));
            }
            let (mut records, mut bytes) = (0u64, 0u64);
            for (i, part) in entity.parts.iter().enumerate() {
                let expected = part_path(&entity.name, i as u32);
                if part.path != expected {
                    return Err(format!(
                        "entity {} part {i} must be named {expected}",
                        entity.name
                    ));
                }
                if part.bytes > super::MAX_PART_BYTES {
                    return Err(format!("{} exceeds the part size limit", part.path));
                }
                if part.records > part.bytes {
                    return Err(format!("{} claims more records than bytes", part.path));
                }
                if part.bytes == 0 && entity.parts.len() > 1 {
                    return Err(format!(
                        "{} is empty but not its entity's only part",
                        part.path
                    ));
                }
                records = records.saturating_add(part.records);
                bytes = bytes.saturating_add(part.bytes);
            }
            if records != entity.records || bytes != entity.bytes {
                return Err(format!(
                    "entity {} totals differ from the sum of its parts",
                    entity.name
                ));
            }
            debug_assert!(parse_part_path(&entity.parts[0].path).is_some());
        }
        for omission in &self.omitted {
            validate_entity_name(&omission.name)?;
            if !names.insert(omission.name.as_str()) {
                return Err(format!(
                    "{} is listed twice among entities and omissions",
                    omission.name
                ));
            }
        }
        for rel in &self.relations {
            for entity in [&rel.from_entity, &rel.to_entity] {
                if !self.entities.iter().any(|e| &e.name == entity) {
                    return Err(format!(
                        "relation names entity {entity}, which is not exported"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Looks up an exported entity by name.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// Total records across entities.
    pub fn total_records(&self) -> u64 {
        self.entities.iter().map(|e| e.records).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT_NAME.into(),
            format_version: FormatVersion::CURRENT,
            generated_at: Timestamp::parse("2026-11-23T10:00:00Z").unwrap(),
            environment: "staging".into(),
            source_version: Some("abc123".into()),
            producer: Producer::redarc(),
            entities: vec![Entity::new(
                "users".into(),
                vec![Part::new(part_path("users", 0), 2, 10, Digest::of(b"x"))],
            )],
            omitted: vec![Omission::new(
                "sessions",
                "live sessions are never exported",
            )],
            sha256sums: Digest::of(b""),
            redaction: None,
            relations: vec![],
            tenant: None,
            custody: None,
        }
    }

    #[test]
    fn manifest_round_trips_and_ignores_unknown_fields() {
        let m = sample();
        let bytes = m.to_bytes();
        assert_eq!(Manifest::from_slice(&bytes).unwrap(), m);
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["format_version"] = "1.7".into();
        v["future_field"] = serde_json::json!({"x": 1});
        let m2 = Manifest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(m2.format_version.minor, 7);
    }

    #[test]
    fn unknown_major_is_refused_before_parsing() {
        let v = serde_json::json!({"format": "redarc", "format_version": "2.0", "totally": "different"});
        let err = Manifest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(matches!(
            err.archive_problem(),
            Some(crate::ArchiveProblem::UnsupportedVersion(_))
        ));
    }

    #[test]
    fn validation_catches_inconsistencies() {
        let mut m = sample();
        m.entities[0].records = 3;
        assert!(m.validate().is_err());
        let mut m = sample();
        m.entities[0].parts[0].path = "data/other.00000.jsonl".into();
        assert!(m.validate().is_err());
        let mut m = sample();
        m.omitted.push(Omission::new("users", "dup"));
        assert!(m.validate().is_err());
        let mut m = sample();
        m.entities.push(m.entities[0].clone());
        assert!(m.validate().is_err());
    }

    #[test]
    fn digests_and_timestamps_parse_strictly() {
        let d = Digest::of(b"abc");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert!(Digest::parse(&d.hex()).is_err());
        assert!(Digest::parse(&format!("sha256:{}", d.hex().to_uppercase())).is_err());
        let t = Timestamp::parse("2026-11-23T11:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T10:00:00Z");
        assert_eq!(t.compact(), "20261123T100000Z");
        assert!(Timestamp::parse("yesterday").is_err());
        assert_eq!(FormatVersion::parse("1.0"), Some(FormatVersion::CURRENT));
        for bad in ["1", "1.", ".1", "1.0.0", "a.b", "1.-1"] {
            assert_eq!(FormatVersion::parse(bad), None, "{bad}");
        }
    }
}
