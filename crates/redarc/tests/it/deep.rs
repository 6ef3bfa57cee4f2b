//! Declared schemas, relations and tenant scope, checked on write and verify.

use std::io::{Cursor, Write};

use redarc::format::{Digest, Relation, TenantScope};
use redarc::{
    ArchiveProblem, CheckLevel, Error, ExportOptions, ExportWriter, Identities, ReadLimits,
    Recipients,
};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
struct User {
    id: u64,
    email: String,
}

fn key() -> (Identities, Recipients) {
    let ids = Identities::generate_x25519();
    let r = Recipients::parse(&ids.recipients()).unwrap();
    (ids, r)
}

fn check<'a>(report: &'a redarc::VerifyReport, name: &str) -> &'a redarc::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

#[test]
fn typed_entities_store_and_enforce_their_schema() {
    let (ids, r) = key();
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, &r, ExportOptions::new("t")).unwrap();
    let mut users = export.typed_entity::<User>("users").unwrap();
    users
        .write(&User {
            id: 1,
            email: "a@example.com".into(),
        })
        .unwrap();
    // A record of another shape is refused, by schema location, not by value.
    let err = users
        .write_json_line(br#"{"id":"s3cr3t-not-a-number","email":"x"}"#)
        .unwrap_err();
    assert!(matches!(err, Error::Record { record: 2, .. }), "{err}");
    assert!(err.to_string().contains("schema"), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    users.finish().unwrap();
    let manifest = export.finish().unwrap();
    assert!(manifest.entity("users").unwrap().schema.is_some());

    let report = redarc::verify(Cursor::new(&out), &ids, ReadLimits::default()).unwrap();
    assert!(report.valid);
    assert_eq!(check(&report, "schemas").checked, 1);
}

#[test]
fn dangling_references_and_foreign_tenants_are_counted_per_entity() {
    let (ids, r) = key();
    let mut out = Vec::new();
    let opts = ExportOptions::new("t")
        .relation(Relation::new("user_tokens", "user_id", "users", "id"))
        .tenant(TenantScope::new("tenant_id", serde_json::json!("t-1")));
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    let mut users = export.entity("users").unwrap();
    for id in 1..=5 {
        users
            .write(&serde_json::json!({"id": id, "tenant_id": "t-1"}))
            .unwrap();
    }
    users.finish().unwrap();
    let mut tokens = export.entity("user_tokens").unwrap();
    for (i, user_id) in [
        1,
        2,
        99,
        3,
        98,
        serde_json::Value::Null.as_i64().unwrap_or(0),
    ]
    .iter()
    .enumerate()
    {
        let tenant = if i == 1 { "t-2" } else { "t-1" };
        tokens
            .write(&serde_json::json!({"id": i, "user_id": user_id, "tenant_id": tenant}))
            .unwrap();
    }
    tokens
        .write(&serde_json::json!({"id": 9, "user_id": null}))
        .unwrap();
    tokens.finish().unwrap();
    export.finish().unwrap();

    let report = redarc::verify(Cursor::new(&out), &ids, ReadLimits::default()).unwrap();
    assert!(report.complete);
    assert!(!report.valid);
    let rel = check(&report, "relations");
    assert!(!rel.passed);
    // user_id 99, 98 and 0 dangle; the null is not a reference.
    assert_eq!(rel.checked, 6);
    assert_eq!(rel.failed, 3);
    assert_eq!(rel.failed_by_entity.get("user_tokens"), Some(&3));
    let tenant = check(&report, "tenant");
    assert_eq!(tenant.failed, 1);
    assert_eq!(tenant.failed_by_entity.get("user_tokens"), Some(&1));
    assert_eq!(tenant.checked, 11);
    let err = report.to_result().unwrap_err();
    assert!(
        matches!(
            err.archive_problem(),
            Some(ArchiveProblem::DanglingReferences { count: 3, .. })
        ),
        "{err}"
    );

    // The same checks run before an unpack at the valid level is moved
    // into place.
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("out");
    let valid = redarc::unpack(
        Cursor::new(&out),
        &ids,
        &target,
        ReadLimits::default(),
        CheckLevel::Valid,
    );
    assert!(valid.is_err());
    assert!(!target.exists());
    // Integrity alone holds (every hash agrees with the manifest) and says
    // it checked no more than that.
    let report = redarc::unpack(
        Cursor::new(&out),
        &ids,
        &target,
        ReadLimits::default(),
        CheckLevel::Integrity,
    )
    .unwrap();
    assert_eq!(report.level, CheckLevel::Integrity);
    assert!(report.valid);
    assert!(report.checks.iter().all(|c| c.name != "relations"));
    assert!(target.join("manifest.json").is_file());
}

/// Builds an archive by hand whose manifest declares a schema its records
/// break, with every hash consistent: only the schema check can catch it.
fn archive_breaking_its_schema(r: &Recipients, ids: &Identities) -> Vec<u8> {
    // Start from a real archive to get a valid manifest, then rewrite it.
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, r, ExportOptions::new("t")).unwrap();
    let mut users = export.typed_entity::<User>("users").unwrap();
    users
        .write(&User {
            id: 1,
            email: "a@example.com".into(),
        })
        .unwrap();
    users.finish().unwrap();
    let manifest = export.finish().unwrap();

    let part = b"{\"id\":\"one\",\"email\":\"a@example.com\"}\n".to_vec();
    reseal(ids, manifest, part)
}

/// Puts `part` in place of the first entity's only part, makes the
/// manifest's size, hash and record count match it, and seals it all as
/// an archive for `ids`: every check that does not read the records passes.
fn reseal(ids: &Identities, mut manifest: redarc::format::Manifest, part: Vec<u8>) -> Vec<u8> {
    let e = &mut manifest.entities[0];
    e.parts[0].bytes = part.len() as u64;
    e.parts[0].records = part.iter().filter(|&&b| b == b'\n').count() as u64;
    e.parts[0].sha256 = Digest::of(&part);
    e.bytes = part.len() as u64;
    e.records = e.parts[0].records;
    let sums = manifest.expected_sha256sums();
    manifest.sha256sums = Digest::of(&sums);

    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [
        (manifest.entities[0].parts[0].path.clone(), part),
        ("SHA256SUMS".to_string(), sums),
        ("manifest.json".to_string(), manifest.to_bytes()),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_path(&name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append(&h, &data[..]).unwrap();
    }
    let plain = zstd::encode_all(&tar.into_inner().unwrap()[..], 3).unwrap();
    let text = ids.to_identity_file("x");
    let id: age::x25519::Identity = text
        .lines()
        .find(|l| l.starts_with("AGE-"))
        .unwrap()
        .parse()
        .unwrap();
    let enc =
        age::Encryptor::with_recipients(std::iter::once(&id.to_public() as &dyn age::Recipient))
            .unwrap();
    let mut sealed = Vec::new();
    let mut w = enc.wrap_output(&mut sealed).unwrap();
    w.write_all(&plain).unwrap();
    w.finish().unwrap();
    sealed
}

#[test]
fn verify_checks_records_against_the_declared_schema() {
    let (ids, r) = key();
    let archive = archive_breaking_its_schema(&r, &ids);
    let report = redarc::verify(Cursor::new(&archive), &ids, ReadLimits::default()).unwrap();
    assert!(report.complete);
    assert!(!report.valid);
    let schemas = check(&report, "schemas");
    assert_eq!((schemas.checked, schemas.failed), (1, 1));
    assert_eq!(schemas.failed_by_entity.get("users"), Some(&1));
    let detail = schemas.detail.clone().unwrap();
    assert!(
        detail.contains("record 1") && !detail.contains("\"one\""),
        "{detail}"
    );
    assert!(redarc::ArchiveReader::open(Cursor::new(archive), &ids).is_err());
}

fn export_with(policy: redarc::Policy, r: &Recipients, lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    let opts = ExportOptions::new("t").redactor(policy.compile().unwrap());
    let mut export = ExportWriter::new(&mut out, r, opts).unwrap();
    let mut e = export.entity("tool_outputs").unwrap();
    for l in lines {
        e.write_json_line(l.as_bytes()).unwrap();
    }
    e.finish().unwrap();
    export.finish().unwrap();
    out
}

#[test]
fn a_redacted_archive_is_scanned_for_residual_secrets() {
    let (ids, r) = key();
    let secret = "ghp_Zt8pQ2vX9mK4nL7rW1sY6uB3cD5eF0gH2jK4";
    let line = format!(r#"{{"cmd":"git clone","output":"export GITHUB_TOKEN={secret}"}}"#);
    let lines = [line.as_str(), r#"{"cmd":"ls","output":"README.md"}"#];

    // The default policy removes it, and the scan on verify agrees.
    let good = export_with(redarc::Policy::default_policy(), &r, &lines);
    let report = redarc::verify(Cursor::new(&good), &ids, ReadLimits::default()).unwrap();
    assert!(report.valid, "{:?}", report.checks);
    assert_eq!(check(&report, "residual-secrets").checked, 2);

    // A policy with no rules claims redaction but leaves the token: invalid.
    let mut none: redarc::Policy = toml::from_str("name = \"nothing\"\nbase = \"none\"").unwrap();
    none.name = "nothing".into();
    let bad = export_with(none, &r, &lines);
    let report = redarc::verify(Cursor::new(&bad), &ids, ReadLimits::default()).unwrap();
    assert!(!report.valid);
    let residual = check(&report, "residual-secrets");
    assert_eq!(residual.failed_by_entity.get("tool_outputs"), Some(&1));
    let text = serde_json::to_string(&report.checks).unwrap();
    assert!(!text.contains(secret) && !text.contains("Zt8pQ2"), "{text}");
}

/// Findings stop the single pass's scan and send verify to the replay:
/// counts, record numbers (counted on across an entity's parts) and the
/// first finding must come out as from one pass in order.
#[test]
fn residual_findings_keep_their_entities_and_record_numbers_across_batches() {
    let (ids, r) = key();
    let secret = "ghp_Zt8pQ2vX9mK4nL7rW1sY6uB3cD5eF0gH2jK4";
    let pad = "x".repeat(900);
    let line = |n: u32, planted: bool| {
        let output = if planted {
            format!("export GITHUB_TOKEN={secret}")
        } else {
            "README.md".to_string()
        };
        format!(r#"{{"n":{n},"pad":"{pad}","output":"{output}"}}"#)
    };
    let mut none: redarc::Policy = toml::from_str("name = \"nothing\"\nbase = \"none\"").unwrap();
    none.name = "nothing".into();
    let mut out = Vec::new();
    let opts = ExportOptions::new("t")
        .redactor(none.compile().unwrap())
        .part_size(256 * 1024);
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    // 3,000 records of about 1 KB: a dozen parts of several pieces each.
    let mut e = export.entity("big").unwrap();
    for n in 1..=3000 {
        e.write_json_line(line(n, n == 1700 || n == 2999).as_bytes())
            .unwrap();
    }
    e.finish().unwrap();
    let mut e = export.entity("small").unwrap();
    for n in 1..=10 {
        e.write_json_line(line(n, n == 7).as_bytes()).unwrap();
    }
    e.finish().unwrap();
    export.finish().unwrap();

    let report = redarc::verify(Cursor::new(&out), &ids, ReadLimits::default()).unwrap();
    assert!(report.manifest.entity("big").unwrap().parts.len() > 10);
    let residual = check(&report, "residual-secrets");
    assert_eq!(residual.checked, 3010);
    assert_eq!(residual.failed, 3);
    assert_eq!(residual.failed_by_entity.get("big"), Some(&2));
    assert_eq!(residual.failed_by_entity.get("small"), Some(&1));
    let first = residual.detail.as_deref().unwrap_or_default();
    assert!(first.contains("entity big, record 1700:"), "{first}");
}

/// A `Read + Seek` that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Verifies `archive`, counting the bytes verify reads from it.
fn verify_counting(archive: &[u8], ids: &Identities) -> (redarc::VerifyReport, u64) {
    let mut src = Counting {
        inner: Cursor::new(archive),
        read: 0,
    };
    let report = redarc::verify(&mut src, ids, ReadLimits::default()).unwrap();
    (report, src.read)
}

#[test]
fn deep_checks_replay_the_archive_once_whatever_they_check() {
    let (ids, r) = key();
    let mut out = Vec::new();
    let opts = ExportOptions::new("t")
        .redactor(redarc::Policy::default_policy().compile().unwrap())
        .relation(Relation::new("b", "a_id", "a", "id"))
        .tenant(TenantScope::new("tenant_id", serde_json::json!("t-1")));
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    // Several entities, one typed (schemas), with relations, tenant and
    // redaction declared: every deep check runs.
    let mut users = export.typed_entity::<User>("users").unwrap();
    for id in 0..200 {
        users
            .write(&User {
                id,
                email: format!("u{id}@example.com"),
            })
            .unwrap();
    }
    users.finish().unwrap();
    for name in ["a", "b", "c", "d", "e"] {
        let mut e = export.entity(name).unwrap();
        for id in 0..200 {
            e.write(
                &serde_json::json!({"id": id, "a_id": id, "tenant_id": "t-1",
                "note": format!("record {id} of {name} with some text to compress")}),
            )
            .unwrap();
        }
        e.finish().unwrap();
    }
    export.finish().unwrap();

    let (report, read) = verify_counting(&out, &ids);
    assert!(report.valid, "{:?}", report.to_result().err());
    for name in ["schemas", "relations", "tenant", "residual-secrets"] {
        assert!(check(&report, name).passed, "{name}");
    }
    assert_eq!(check(&report, "tenant").checked, 1000);
    // The first pass and one replay: not a replay per check or entity.
    let len = out.len() as u64;
    assert!(
        read <= 2 * len,
        "read {} bytes of a {len}-byte archive",
        read
    );
}

#[test]
fn a_redacted_archive_with_nothing_else_declared_is_read_once() {
    let (ids, r) = key();
    let mut out = Vec::new();
    let opts = ExportOptions::new("t")
        .redactor(redarc::Policy::default_policy().compile().unwrap())
        .part_size(64 * 1024);
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    for name in ["a", "b"] {
        let mut e = export.entity(name).unwrap();
        for id in 0..3000 {
            e.write(
                &serde_json::json!({"id": id, "password": format!("pw-{id}"),
                "note": format!("record {id} of {name}")}),
            )
            .unwrap();
        }
        e.finish().unwrap();
    }
    let manifest = export.finish().unwrap();
    assert!(manifest.entity("a").unwrap().parts.len() > 2);

    let (report, read) = verify_counting(&out, &ids);
    assert!(report.valid, "{:?}", report.to_result().err());
    assert_eq!(check(&report, "residual-secrets").checked, 6000);
    let len = out.len() as u64;
    assert!(read <= len, "read {} bytes of a {len}-byte archive", read);
}

/// An archive of entity `a` whose one part is `part`, every size, count
/// and hash consistent: only parsing the records can fault it.
fn archive_with_part(r: &Recipients, ids: &Identities, part: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, r, ExportOptions::new("t")).unwrap();
    let mut e = export.entity("a").unwrap();
    e.write_json_line(b"{}").unwrap();
    e.finish().unwrap();
    let manifest = export.finish().unwrap();
    reseal(ids, manifest, part)
}

/// Records are parsed in pieces on worker threads: a bad one far into a
/// part must still be named by its line in the part, and the earliest of
/// two problems must win whichever check finds it.
#[test]
fn a_record_that_is_not_json_is_named_by_its_line_in_the_part() {
    let (ids, r) = key();
    let good = |n: usize| format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "x".repeat(200));
    for (bad, more, line, what) in [
        // Not JSON: found by parsing.
        ("{\"n\":1} trailing\n", "", 3001, "not a JSON record"),
        ("{\"s\":\"\\udc00\"}\n", "", 3001, "surrogate"),
        // An empty line is found by the line check; a later bad record
        // found by parsing does not displace it.
        ("\n", "{oops}\n", 3001, "empty line"),
    ] {
        let mut part = String::new();
        for n in 0..3000 {
            part.push_str(&good(n));
        }
        part.push_str(bad);
        for n in 0..2000 {
            part.push_str(&good(n));
        }
        part.push_str(more);
        let archive = archive_with_part(&r, &ids, part.into_bytes());
        let report = redarc::verify(Cursor::new(&archive), &ids, ReadLimits::default()).unwrap();
        assert!(report.complete && !report.valid, "{bad:?}");
        let records = check(&report, "records-json");
        assert_eq!(records.failed, 1, "{bad:?}");
        let detail = records.detail.clone().unwrap_or_default();
        assert!(
            detail.contains(&format!("line {line} ")),
            "{bad:?}: {detail}"
        );
        assert!(detail.contains(what), "{bad:?}: {detail}");
    }
}

#[test]
fn a_raw_backup_full_of_secrets_is_read_once_and_not_scanned() {
    let (ids, r) = key();
    let mut out = Vec::new();
    let opts = ExportOptions::new("t").part_size(64 * 1024);
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    let mut e = export.entity("tokens").unwrap();
    for id in 0..3000 {
        e.write(&serde_json::json!({"id": id,
            "note": format!("export GITHUB_TOKEN=ghp_Zt8pQ2vX9mK4nL7rW1sY6uB3cD5e{id:08}")}))
            .unwrap();
    }
    e.finish().unwrap();
    let manifest = export.finish().unwrap();
    assert!(manifest.redaction.is_none());
    assert!(manifest.entity("tokens").unwrap().parts.len() > 2);

    let (report, read) = verify_counting(&out, &ids);
    // Secrets are what a raw backup is for: no residual check, valid.
    assert!(report.valid, "{:?}", report.to_result().err());
    assert!(report.checks.iter().all(|c| c.name != "residual-secrets"));
    let len = out.len() as u64;
    assert!(read <= len, "read {} bytes of a {len}-byte archive", read);
}
