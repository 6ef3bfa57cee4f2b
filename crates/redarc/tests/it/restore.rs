//! Dry runs, drills, approvals, imports and purges against real archives.

use std::cell::Cell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use redarc::format::{Custody, Relation, Timestamp};
use redarc::restore::{
    drill, drill_at, dry_run, import, purge, Approval, EmptyTarget, Importer, JsonlDirImporter,
    PurgeOptions, PRODUCTION_CONFIRMATION,
};
use redarc::{
    ArchiveReader, CheckLevel, ExportOptions, ExportWriter, Identities, ReadLimits, Recipients,
};
use serde_json::{json, Value};

/// A value planted in a record; it must never reach evidence.
const CANARY: &str = "canary-7f3a9c-do-not-leak";

/// An importer whose `write_batch` panics: any write is a test failure.
/// `exists` answers from a fixed set of ids; `check` refuses `bad: true`.
struct NeverWrite {
    env: String,
    present: HashSet<i64>,
    asked: Rc<Cell<u64>>,
    production: bool,
}

impl NeverWrite {
    fn new(env: &str) -> NeverWrite {
        NeverWrite {
            env: env.into(),
            present: HashSet::new(),
            asked: Rc::new(Cell::new(0)),
            production: false,
        }
    }
}

impl Importer for NeverWrite {
    fn target_environment(&self) -> &str {
        &self.env
    }
    fn is_production(&self) -> bool {
        self.production
    }
    fn exists(&mut self, _: &str, record: &Value) -> redarc::Result<bool> {
        self.asked.set(self.asked.get() + 1);
        Ok(record["id"]
            .as_i64()
            .is_some_and(|id| self.present.contains(&id)))
    }
    fn check(&mut self, _: &str, record: &Value) -> Result<(), String> {
        if record.get("bad") == Some(&json!(true)) {
            // A careless reason quoting the record: must not reach evidence.
            return Err(format!("refused {record}"));
        }
        Ok(())
    }
    fn write_batch(&mut self, entity: &str, _: &[Value]) -> redarc::Result<()> {
        panic!("write_batch called for {entity}: automated paths must never write");
    }
}

fn key() -> (Identities, Recipients) {
    let ids = Identities::generate_x25519();
    let r = Recipients::parse(&ids.recipients()).unwrap();
    (ids, r)
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// 30 users (one holding the canary, one marked bad), 12 tokens, an empty
/// entity; custody expiring at `expires`. Returns the archive path.
fn build(dir: &Path, name: &str, r: &Recipients, expires: Timestamp) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let opts = ExportOptions::new("production")
        .source_version("4f2c1e0")
        .generated_at(ts("2026-03-01T08:00:00Z"))
        .custody(
            Custody::new()
                .purpose("restore drill")
                .ticket("OPS-1234")
                .scope("users and tokens")
                .expires_at(expires),
        )
        .relation(Relation::new("user_tokens", "user_id", "users", "id"));
    let mut export = ExportWriter::new(file, r, opts).unwrap();
    let mut users = export.entity("users").unwrap();
    for i in 0..30 {
        let mut u = json!({"id": i, "name": format!("user {i}")});
        if i == 7 {
            u["note"] = json!(CANARY);
        }
        if i == 9 {
            u["bad"] = json!(true);
        }
        users.write(&u).unwrap();
    }
    users.finish().unwrap();
    let mut tokens = export.entity("user_tokens").unwrap();
    for i in 0..12 {
        tokens
            .write(&json!({"id": i, "user_id": i, "provider": "github"}))
            .unwrap();
    }
    tokens.finish().unwrap();
    export.entity("audit").unwrap().finish().unwrap();
    export.finish().unwrap();
    path
}

fn far() -> Timestamp {
    ts("2099-01-01T00:00:00Z")
}

#[test]
fn dry_run_counts_would_write_skipped_and_invalid_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let path = build(dir.path(), "a.tar.zst.age", &r, far());
    let mut reader = ArchiveReader::open(std::fs::File::open(&path).unwrap(), &ids).unwrap();
    let mut target = NeverWrite::new("restore-test");
    target.present = [0, 1, 2].into_iter().collect();
    let counts = dry_run(&mut reader, &mut target).unwrap();
    assert!(counts.dry_run);
    let users = counts.entity("users").unwrap();
    assert_eq!(
        (
            users.records,
            users.would_write,
            users.skipped,
            users.invalid
        ),
        (30, 26, 3, 1)
    );
    assert_eq!(users.first_invalid, Some(10));
    assert_eq!(users.written, 0);
    let tokens = counts.entity("user_tokens").unwrap();
    assert_eq!((tokens.would_write, tokens.skipped), (9, 3));
    assert_eq!(counts.entity("audit").unwrap().records, 0);
    assert_eq!(counts.records(), 42);
    assert_eq!(counts.written(), 0);
}

/// The acceptance point: with an importer that panics on any write, the
/// automated paths — export, verify, dry run, drill — all complete. (Export
/// and verify take no importer at all, so they cannot reach a store.)
#[test]
fn automated_paths_never_write() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let mut target = NeverWrite::new("restore-test");
    let asked = target.asked.clone();
    let path = build(dir.path(), "a.tar.zst.age", &r, far());
    let report = redarc::verify(
        std::fs::File::open(&path).unwrap(),
        &ids,
        ReadLimits::default(),
    )
    .unwrap();
    assert!(report.valid);
    let mut reader = ArchiveReader::open(std::fs::File::open(&path).unwrap(), &ids).unwrap();
    dry_run(&mut reader, &mut target).unwrap();
    let ev = drill(&path, &ids, "restore-test", &mut target);
    assert_eq!(ev.records_read(), 42);
    assert_eq!(
        asked.get(),
        2 * 41,
        "exists asked for every valid record, twice"
    );
}

#[test]
fn drill_on_a_good_archive_passes_with_every_item_of_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let path = build(dir.path(), "good.tar.zst.age", &r, far());
    let manifest = ArchiveReader::open(std::fs::File::open(&path).unwrap(), &ids)
        .unwrap()
        .manifest()
        .clone();
    let mut target = EmptyTarget::new("restore-test");
    let ev = drill(&path, &ids, "restore-test", &mut target);
    assert!(ev.passed, "{}", ev.to_markdown());
    assert_eq!(ev.failed_check, None);
    assert_eq!(ev.archive_name, "good.tar.zst.age");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        ev.transport_sha256,
        Some(redarc::format::Digest::of(&bytes))
    );
    assert_eq!(ev.archive_bytes, Some(bytes.len() as u64));
    assert_eq!(ev.producer.as_ref().unwrap().name, "redarc");
    assert_eq!(ev.source_version.as_deref(), Some("4f2c1e0"));
    assert_eq!(ev.generated_at, Some(ts("2026-03-01T08:00:00Z")));
    assert_eq!(ev.source_environment.as_deref(), Some("production"));
    assert_eq!(
        ev.custody.as_ref().unwrap().ticket.as_deref(),
        Some("OPS-1234")
    );
    assert_eq!(ev.checksums.len(), 3);
    for (c, e) in ev.checksums.iter().zip(&manifest.entities) {
        assert_eq!(c.entity, e.name);
        assert_eq!(c.records, e.records);
        assert_eq!(
            c.part_sha256,
            e.parts.iter().map(|p| p.sha256).collect::<Vec<_>>()
        );
    }
    assert!(ev.valid && ev.complete);
    let names: Vec<&str> = ev.validation.iter().map(|c| c.name.as_str()).collect();
    for expected in manifest_checks(&path, &ids) {
        assert!(names.contains(&expected.as_str()), "{expected} missing");
    }
    assert_eq!(ev.target_environment, "restore-test");
    assert_eq!(ev.would_write(), manifest.total_records());
    assert_eq!(
        ev.dry_run
            .iter()
            .map(|e| e.skipped + e.invalid)
            .sum::<u64>(),
        0
    );
    let smoke: Vec<&str> = ev.smoke_checks.iter().map(|c| c.name.as_str()).collect();
    for expected in [
        "target-environment",
        "target-not-production",
        "dry-run",
        "entities-readable",
        "counts-match-manifest",
        "records-are-objects",
        "target-accepts-records",
        "custody-not-expired",
    ] {
        assert!(
            smoke.contains(&expected),
            "{expected} missing from {smoke:?}"
        );
    }
    assert!(ev.smoke_checks.iter().all(|c| c.passed));
    // The JSON round-trips.
    let back: redarc::Evidence = serde_json::from_str(&ev.to_json()).unwrap();
    assert_eq!(back, ev);
}

/// Whatever checks verification reports, the drill reports them all.
fn manifest_checks(path: &Path, ids: &Identities) -> Vec<String> {
    redarc::verify(
        std::fs::File::open(path).unwrap(),
        ids,
        ReadLimits::default(),
    )
    .unwrap()
    .checks
    .iter()
    .map(|c| c.name.clone())
    .collect()
}

#[test]
fn evidence_holds_no_record_contents() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let path = build(dir.path(), "a.tar.zst.age", &r, far());
    // NeverWrite refuses user 9 with a reason that quotes the record.
    let ev = drill(
        &path,
        &ids,
        "restore-test",
        &mut NeverWrite::new("restore-test"),
    );
    assert!(!ev.passed, "an invalid record fails the drill");
    assert_eq!(ev.failed_check.as_deref(), Some("target-accepts-records"));
    let json = ev.to_json();
    let md = ev.to_markdown();
    for text in [&json, &md] {
        assert!(!text.contains(CANARY));
        assert!(!text.contains("user 7"));
        assert!(
            !text.contains("refused"),
            "the importer's reason is not kept"
        );
    }
    assert!(md.contains("entity users, record 10"));
}

#[test]
fn drill_on_a_tampered_archive_names_the_failed_check() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let path = build(dir.path(), "t.tar.zst.age", &r, far());
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();
    let ev = drill(
        &path,
        &ids,
        "restore-test",
        &mut NeverWrite::new("restore-test"),
    );
    assert!(!ev.passed);
    assert!(ev.failed_check.is_some());
    assert!(ev.transport_sha256.is_some());
    assert!(
        ev.dry_run.is_empty(),
        "nothing is imported from a damaged archive"
    );
    assert!(ev.to_markdown().contains("FAILED"));
}

#[test]
fn drill_with_the_wrong_key_says_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let (_, r) = key();
    let (other, _) = key();
    let path = build(dir.path(), "k.tar.zst.age", &r, far());
    let ev = drill(
        &path,
        &other,
        "restore-test",
        &mut EmptyTarget::new("restore-test"),
    );
    assert!(!ev.passed);
    assert_eq!(ev.failed_check.as_deref(), Some("decrypt"));
    assert!(ev.transport_sha256.is_some());
}

#[test]
fn drill_refuses_production_targets_wrong_environments_and_expired_archives() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let path = build(dir.path(), "a.tar.zst.age", &r, ts("2026-06-01T00:00:00Z"));

    let mut prod = NeverWrite::new("restore-test");
    prod.production = true;
    let asked = prod.asked.clone();
    let ev = drill_at(
        &path,
        &ids,
        "restore-test",
        &mut prod,
        ts("2026-04-01T00:00:00Z"),
    );
    assert_eq!(ev.failed_check.as_deref(), Some("target-not-production"));
    assert_eq!(asked.get(), 0, "a production target is not even asked");

    let mut t = EmptyTarget::new("staging");
    let ev = drill_at(
        &path,
        &ids,
        "restore-test",
        &mut t,
        ts("2026-04-01T00:00:00Z"),
    );
    assert_eq!(ev.failed_check.as_deref(), Some("target-environment"));

    let mut t = EmptyTarget::new("restore-test");
    let ev = drill_at(
        &path,
        &ids,
        "restore-test",
        &mut t,
        ts("2026-07-01T00:00:00Z"),
    );
    assert_eq!(ev.failed_checks, vec!["custody-not-expired".to_string()]);
}

#[test]
fn approved_import_writes_once_and_refuses_other_environments() {
    let dir = tempfile::tempdir().unwrap();
    let (ids, r) = key();
    let path = build(dir.path(), "a.tar.zst.age", &r, far());
    let target_dir = dir.path().join("restored");
    let open = || ArchiveReader::open(std::fs::File::open(&path).unwrap(), &ids).unwrap();

    let staging_ok =
        Approval::from_typed_confirmation("ada", "OPS-1234", "staging", false, "staging", None)
            .unwrap();
    let mut wrong = JsonlDirImporter::new(&target_dir, "restore-test").unwrap();
    let err = import(&mut open(), &mut wrong, &staging_ok).unwrap_err();
    assert!(err
        .to_string()
        .contains("approval is for environment staging"));
    assert!(!target_dir.exists(), "a refused import writes nothing");

    let mut prod = JsonlDirImporter::new(&target_dir, "staging")
        .unwrap()
        .production(true);
    assert!(import(&mut open(), &mut prod, &staging_ok).is_err());
    assert!(!target_dir.exists());

    let approval = Approval::from_typed_confirmation(
        "ada",
        "OPS-1234",
        "restore-test",
        false,
        "restore-test",
        None,
    )
    .unwrap();
    let mut target = JsonlDirImporter::new(&target_dir, "restore-test").unwrap();
    let counts = import(&mut open(), &mut target, &approval).unwrap();
    assert!(!counts.dry_run);
    assert_eq!(counts.written(), 42);
    let users = std::fs::read_to_string(target_dir.join("users.jsonl")).unwrap();
    assert_eq!(users.lines().count(), 30);
    assert!(users.contains(CANARY), "the restore restores the data");

    // Run again: everything is already there.
    let mut again = JsonlDirImporter::new(&target_dir, "restore-test").unwrap();
    let counts = import(&mut open(), &mut again, &approval).unwrap();
    assert_eq!((counts.written(), counts.skipped()), (0, 42));
    let mut reader = open();
    let dry = dry_run(&mut reader, &mut again).unwrap();
    assert_eq!(dry.would_write(), 0);

    // A drill against the populated directory reports the skips.
    let mut t = JsonlDirImporter::new(&target_dir, "restore-test").unwrap();
    let ev = drill(&path, &ids, "restore-test", &mut t);
    assert!(ev.passed, "{}", ev.to_markdown());
    assert_eq!(ev.dry_run.iter().map(|e| e.skipped).sum::<u64>(), 42);

    // Production needs the phrase.
    let prod_dir = dir.path().join("prod");
    let mut prod = JsonlDirImporter::new(&prod_dir, "production").unwrap();
    let no_phrase =
        Approval::from_typed_confirmation("ada", "OPS-1", "production", false, "production", None)
            .unwrap();
    assert!(import(&mut open(), &mut prod, &no_phrase).is_err());
    let with_phrase = Approval::from_typed_confirmation(
        "ada",
        "OPS-1",
        "production",
        true,
        "production",
        Some(PRODUCTION_CONFIRMATION),
    )
    .unwrap();
    assert_eq!(
        import(&mut open(), &mut prod, &with_phrase)
            .unwrap()
            .written(),
        42
    );
}

#[test]
fn purge_deletes_only_expired_items_and_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    std::fs::create_dir_all(root.join("2026/03")).unwrap();
    let (ids, r) = key();
    let old = build(
        &root.join("2026/03"),
        "old.tar.zst.age",
        &r,
        ts("2026-04-01T00:00:00Z"),
    );
    std::fs::write(format!("{}.sha256", old.display()), "x  old.tar.zst.age\n").unwrap();
    let fresh = build(&root, "fresh.tar.zst.age", &r, far());
    // An unpacked export: readable without a key.
    let unpacked = root.join("unpacked-old");
    let file = std::fs::File::open(&old).unwrap();
    redarc::unpack(
        file,
        &ids,
        &unpacked,
        ReadLimits::default(),
        CheckLevel::Integrity,
    )
    .unwrap();
    let unpacked_fresh = root.join("unpacked-fresh");
    redarc::unpack(
        std::fs::File::open(&fresh).unwrap(),
        &ids,
        &unpacked_fresh,
        ReadLimits::default(),
        CheckLevel::Integrity,
    )
    .unwrap();
    let now = ts("2026-05-01T00:00:00Z");

    // Without a key, archives are left alone and reported.
    let opts = PurgeOptions::new("ada").now(now).dry_run(true);
    let report = purge(&root, None, &opts).unwrap();
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(report.skipped.len(), 2);

    // Dry run: listed, nothing deleted, no log.
    let report = purge(&root, Some(&ids), &opts).unwrap();
    assert_eq!(report.deleted.len(), 2);
    assert!(report.deleted.iter().all(|d| d.action == "would-delete"));
    assert!(old.exists() && unpacked.exists());
    assert!(!root.join("custody-log.jsonl").exists());

    let opts = PurgeOptions::new("ada").now(now);
    let report = purge(&root, Some(&ids), &opts).unwrap();
    assert_eq!(report.deleted.len(), 2);
    assert_eq!(report.kept, 2);
    assert!(!old.exists());
    assert!(!Path::new(&format!("{}.sha256", old.display())).exists());
    assert!(!unpacked.exists());
    assert!(fresh.exists() && unpacked_fresh.exists());

    let log = std::fs::read_to_string(root.join("custody-log.jsonl")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["action"], "deleted");
        assert_eq!(line["operator"], "ada");
        assert_eq!(line["ticket"], "OPS-1234");
        assert_eq!(line["purpose"], "restore drill");
        assert_eq!(line["generated_at"], "2026-03-01T08:00:00Z");
        assert_eq!(line["reason"], "expired at 2026-04-01T00:00:00Z");
        assert!(line["deleted_at"].is_string());
    }
    assert!(!log.contains(CANARY));
    assert_eq!(lines[0]["archive_name"], "old.tar.zst.age");
    assert_eq!(lines[0]["also_deleted"].as_array().unwrap().len(), 1);
    assert_eq!(lines[1]["kind"], "unpacked");

    // A second purge finds nothing more and appends nothing.
    let report = purge(&root, Some(&ids), &opts).unwrap();
    assert!(report.deleted.is_empty());
    assert_eq!(
        std::fs::read_to_string(root.join("custody-log.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}
