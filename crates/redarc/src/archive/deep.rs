//! Checks that need the manifest before the records: declared JSON Schemas,
//! relations (foreign keys) and tenant scope.
//!
//! The manifest is the archive's last member, so these run as a second pass
//! over records whose parts already passed size and hash checks, and only
//! when the manifest declares something to check.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::Digest as _;

use crate::archive::reader::Check;
use crate::error::ArchiveProblem as P;
use crate::format::Manifest;
use crate::{Error, Result};

/// Most distinct referenced keys held for one relation check. Each takes 16
/// bytes, so this bounds the check at 64 MiB.
pub(crate) const MAX_RELATION_KEYS: usize = 4 << 20;

/// Something that can replay the verified records of an entity.
pub(crate) trait RecordSource {
    /// Calls `f` with each record of `entity`, in order.
    fn each_record(&mut self, entity: &str, f: &mut dyn FnMut(&Value) -> Result<()>) -> Result<()>;
}

/// Compiles a declared entity schema; refused if it is not a usable schema
/// or would need to fetch anything.
pub(crate) fn compile_schema(schema: &Value) -> std::result::Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema)
        .map_err(|e| format!("schema does not compile ({})", e.schema_path()))
}

/// `None` when `value` matches, else where in the schema it failed. Only the
/// schema location is reported: the data never is.
pub(crate) fn schema_problem(validator: &jsonschema::Validator, value: &Value) -> Option<String> {
    validator
        .validate(value)
        .err()
        .map(|e| format!("does not match its schema at {}", e.schema_path()))
}

/// Whether the manifest declares anything this module checks. An archive
/// that says it was redacted gets a residual-secret scan; a raw backup
/// (no redaction summary) holds secrets by design and does not.
pub(crate) fn needed(manifest: &Manifest) -> bool {
    manifest.entities.iter().any(|e| e.schema.is_some())
        || !manifest.relations.is_empty()
        || manifest.tenant.is_some()
        || manifest.redaction.is_some()
}

fn fingerprint(value: &Value) -> u128 {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let d = sha2::Sha256::digest(&bytes);
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    u128::from_le_bytes(out)
}

pub(crate) type Failures = Vec<(Option<String>, P)>;

/// Runs the schema, relation and tenant checks the manifest declares.
pub(crate) fn run(
    manifest: &Manifest,
    src: &mut dyn RecordSource,
) -> Result<Vec<(Check, Failures)>> {
    let mut out = Vec::new();
    if manifest.entities.iter().any(|e| e.schema.is_some()) {
        out.push(schemas(manifest, src)?);
    }
    if !manifest.relations.is_empty() {
        out.push(relations(manifest, src)?);
    }
    if manifest.tenant.is_some() {
        out.push(tenant(manifest, src)?);
    }
    if manifest.redaction.is_some() {
        out.push(residual(manifest, src)?);
    }
    Ok(out)
}

/// Scans every record of a redacted archive with the default policy: what
/// redaction should have removed must not be there. Findings are counted
/// per entity and named by rule and JSON path, never by value.
fn residual(manifest: &Manifest, src: &mut dyn RecordSource) -> Result<(Check, Failures)> {
    let mut check = Check::new("residual-secrets", 0);
    let mut failures = Vec::new();
    let scanner = crate::Policy::default_policy().compile()?;
    let mut line = Vec::new();
    for entity in &manifest.entities {
        let mut record = 0u64;
        let mut found = 0u64;
        let mut first: Option<String> = None;
        src.each_record(&entity.name, &mut |value| {
            record += 1;
            line.clear();
            serde_json::to_writer(&mut line, value)
                .map_err(|e| Error::Usage(crate::json_error_category(&e)))?;
            let findings = scanner.scan_line(&entity.name, record, &line)?;
            if let Some(f) = findings.first() {
                found += findings.len() as u64;
                first.get_or_insert_with(|| {
                    format!(
                        "entity {}, record {record}: rule {} at {}",
                        entity.name,
                        f.rule,
                        f.path.as_deref().unwrap_or("$")
                    )
                });
            }
            Ok(())
        })?;
        check.checked += record;
        if found > 0 {
            check.record_entity_failures(&entity.name, found, first.clone());
            failures.push((
                None,
                P::ResidualSecrets {
                    entity: entity.name.clone(),
                    count: found,
                },
            ));
        }
    }
    Ok((check, failures))
}

fn schemas(manifest: &Manifest, src: &mut dyn RecordSource) -> Result<(Check, Failures)> {
    let mut check = Check::new("schemas", 0);
    let mut failures = Vec::new();
    for entity in &manifest.entities {
        let Some(schema) = &entity.schema else {
            continue;
        };
        let validator = match compile_schema(schema) {
            Ok(v) => v,
            Err(why) => {
                check.fail(
                    &mut failures,
                    None,
                    P::ManifestInvalid(format!("entity {}: {why}", entity.name)),
                );
                continue;
            }
        };
        let mut record = 0u64;
        let mut bad = 0u64;
        src.each_record(&entity.name, &mut |value| {
            record += 1;
            if let Some(detail) = schema_problem(&validator, value) {
                bad += 1;
                if bad == 1 {
                    failures.push((
                        None,
                        P::SchemaMismatch {
                            entity: entity.name.clone(),
                            record,
                            detail,
                        },
                    ));
                }
            }
            Ok(())
        })?;
        check.checked += record;
        if bad > 0 {
            check.record_entity_failures(
                &entity.name,
                bad,
                failures.last().map(|f| f.1.to_string()),
            );
        }
    }
    Ok((check, failures))
}

fn relations(manifest: &Manifest, src: &mut dyn RecordSource) -> Result<(Check, Failures)> {
    let mut check = Check::new("relations", 0);
    let mut failures = Vec::new();
    for rel in &manifest.relations {
        let name = format!(
            "{}.{} -> {}.{}",
            rel.from_entity, rel.from_field, rel.to_entity, rel.to_field
        );
        let mut keys: Vec<u128> = Vec::new();
        let mut too_many = false;
        src.each_record(&rel.to_entity, &mut |value| {
            if let Some(v) = value.get(&rel.to_field) {
                if keys.len() >= MAX_RELATION_KEYS {
                    too_many = true;
                } else {
                    keys.push(fingerprint(v));
                }
            }
            Ok(())
        })?;
        if too_many {
            return Err(Error::Usage(format!(
                "relation {name}: more than {MAX_RELATION_KEYS} referenced keys; the check needs more memory than allowed"
            )));
        }
        keys.sort_unstable();
        keys.dedup();
        let mut dangling = 0u64;
        let mut checked = 0u64;
        src.each_record(&rel.from_entity, &mut |value| {
            match value.get(&rel.from_field) {
                None | Some(Value::Null) => {}
                Some(v) => {
                    checked += 1;
                    if keys.binary_search(&fingerprint(v)).is_err() {
                        dangling += 1;
                    }
                }
            }
            Ok(())
        })?;
        check.checked += checked;
        if dangling > 0 {
            let problem = P::DanglingReferences {
                relation: name,
                count: dangling,
            };
            check.record_entity_failures(&rel.from_entity, dangling, Some(problem.to_string()));
            failures.push((None, problem));
        }
    }
    Ok((check, failures))
}

fn tenant(manifest: &Manifest, src: &mut dyn RecordSource) -> Result<(Check, Failures)> {
    let mut check = Check::new("tenant", 0);
    let mut failures = Vec::new();
    let Some(scope) = &manifest.tenant else {
        return Ok((check, failures));
    };
    let mut foreign: BTreeMap<String, u64> = BTreeMap::new();
    for entity in &manifest.entities {
        let mut n = 0u64;
        src.each_record(&entity.name, &mut |value| {
            if let Some(v) = value.get(&scope.field) {
                check.checked += 1;
                if v != &scope.value {
                    n += 1;
                }
            }
            Ok(())
        })?;
        if n > 0 {
            foreign.insert(entity.name.clone(), n);
        }
    }
    for (entity, count) in foreign {
        let problem = P::ForeignTenant {
            entity: entity.clone(),
            count,
        };
        check.record_entity_failures(&entity, count, Some(problem.to_string()));
        failures.push((None, problem));
    }
    Ok((check, failures))
}
