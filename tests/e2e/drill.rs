//! `redarc drill`, `import`, `purge` and `name`, run as a user would.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use redarc::format::{Custody, Timestamp};
use redarc::{ExportOptions, ExportWriter, Identities, Recipients};
use serde_json::Value;

use crate::support::{export_dir, keygen, on_archive, redarc, run, text};

/// Planted in a record; must never appear in evidence.
const CANARY: &str = "canary-e2e-51c0ffee";

/// Packs the support export plus one record holding the canary, unredacted
/// so the canary is certainly inside the archive.
fn packed(root: &Path) -> (PathBuf, PathBuf) {
    let dir = export_dir(root);
    let mut users = std::fs::read_to_string(dir.join("users.jsonl")).unwrap();
    users.push_str(&format!(
        "{{\"id\":40,\"email\":\"x@example.com\",\"note\":\"{CANARY}\"}}\n"
    ));
    std::fs::write(dir.join("users.jsonl"), users).unwrap();
    let (id, recipient) = keygen(root, "id.txt");
    let archive = root.join("staging.tar.zst.age");
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&archive)
        .args(["-r", &recipient, "--no-redaction"])
        .args(["--environment", "staging", "--source-version", "0123abc"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    (archive, id)
}

fn drill(archive: &Path, id: &Path, evidence: &Path) -> std::process::Output {
    run(on_archive("drill", archive, id)
        .arg("--evidence")
        .arg(evidence)
        .args(["--target-env", "restore-test"]))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn drill_on_a_good_archive_exits_0_with_complete_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, id) = packed(tmp.path());
    let evidence = tmp.path().join("evidence.json");
    let out = drill(&archive, &id, &evidence);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev = read_json(&evidence);
    let md = std::fs::read_to_string(tmp.path().join("evidence.md")).unwrap();

    // Every item of the drill's evidence list.
    assert_eq!(ev["archive_name"], "staging.tar.zst.age");
    let sidecar = std::fs::read_to_string(format!("{}.sha256", archive.display())).unwrap();
    let transport = format!("sha256:{}", sidecar.split_whitespace().next().unwrap());
    assert_eq!(ev["transport_sha256"], transport.as_str());
    assert_eq!(ev["producer"]["name"], "redarc");
    assert_eq!(ev["source_version"], "0123abc");
    assert!(ev["generated_at"].is_string());
    assert_eq!(ev["source_environment"], "staging");
    let checksums = ev["checksums"].as_array().unwrap();
    assert_eq!(checksums.len(), 3);
    assert!(checksums
        .iter()
        .all(|c| c["part_sha256"].as_array().unwrap().len() == 1));
    assert_eq!(ev["valid"], true);
    let validation = ev["validation"].as_array().unwrap();
    assert!(!validation.is_empty() && validation.iter().all(|c| c["passed"] == true));
    let would_write: u64 = ev["dry_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["skipped"].is_u64() && e["invalid"].is_u64());
            e["would_write"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(
        would_write,
        41 + 10,
        "every exported record would be written"
    );
    assert_eq!(ev["target_environment"], "restore-test");
    assert!(ev["drilled_at"].is_string());
    assert!(ev["smoke_checks"].as_array().unwrap().len() >= 5);
    assert_eq!(ev["passed"], true);
    assert!(ev["failed_check"].is_null());

    assert!(md.contains("PASSED") && md.contains(sidecar.split_whitespace().next().unwrap()));
    // The canary is in the archive, and in neither evidence file.
    let raw = std::fs::read_to_string(&evidence).unwrap();
    assert!(!raw.contains(CANARY) && !md.contains(CANARY));
    assert!(!raw.contains("example.com") && !md.contains("example.com"));
    let unpacked = tmp.path().join("unpacked");
    let out = run(on_archive("unpack", &archive, &id).arg("-o").arg(&unpacked));
    assert!(out.status.success());
    let data = std::fs::read_to_string(unpacked.join("data/users.00000.jsonl")).unwrap();
    assert!(data.contains(CANARY));
}

#[test]
fn drill_on_a_tampered_archive_exits_1_and_names_the_failed_check() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, id) = packed(tmp.path());
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&archive, &bytes).unwrap();
    let evidence = tmp.path().join("tampered.json");
    let out = drill(&archive, &id, &evidence);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("drill FAILED"));
    let ev = read_json(&evidence);
    assert_eq!(ev["passed"], false);
    let failed = ev["failed_check"].as_str().unwrap();
    assert!(!failed.is_empty());
    assert!(ev["transport_sha256"].is_string());
    let md = std::fs::read_to_string(tmp.path().join("tampered.md")).unwrap();
    assert!(md.contains("FAILED") && md.contains(failed));
}

#[test]
fn drill_with_the_wrong_key_exits_1_and_says_decrypt() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _) = packed(tmp.path());
    let (other, _) = keygen(tmp.path(), "other.txt");
    let evidence = tmp.path().join("wrong-key.json");
    let out = drill(&archive, &other, &evidence);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read_json(&evidence)["failed_check"], "decrypt");
}

#[test]
fn drill_usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, id) = packed(tmp.path());
    let out = run(on_archive("drill", &archive, &id)
        .arg("--evidence")
        .arg(tmp.path().join("e.json"))
        .args(["--target-env", "Tenant@Example"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(on_archive("drill", &archive, &id)
        .arg("--evidence")
        .arg(tmp.path().join("e.md")));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn import_refuses_without_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, id) = packed(tmp.path());
    let target = tmp.path().join("restored");
    let out = run(on_archive("import", &archive, &id)
        .arg("--target")
        .arg(&target)
        .args(["--target-env", "restore-test", "--operator", "ci"])
        .args(["--reason", "OPS-1"])
        .stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a terminal"),
        "{}",
        text(&out.stderr)
    );
    assert!(!target.exists(), "nothing written");
    // Piping the confirmation does not help either.
    let mut child = on_archive("import", &archive, &id)
        .arg("--target")
        .arg(&target)
        .args(["--target-env", "restore-test", "--operator", "ci"])
        .args(["--reason", "OPS-1"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"restore-test\n");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
}

#[test]
fn name_prints_a_fresh_safe_name() {
    let out = run(redarc().args(["name", "--environment", "staging", "--prefix", "exports"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let name = text(&out.stdout).trim().to_string();
    assert!(name.starts_with("exports/staging/"), "{name}");
    assert!(name.ends_with(".tar.zst.age"));
    assert!(redarc::ObjectName::parse(&name).is_ok());
    let out = run(redarc().args(["name", "--environment", "acme@example.com"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("example.com"));
}

/// An archive with custody, written with the library for the key in `id`.
fn archive_with_custody(path: &Path, id: &Path, expires: &str) {
    let ids = Identities::from_file(id).unwrap();
    let r = Recipients::parse(&ids.recipients()).unwrap();
    let opts = ExportOptions::new("production").custody(
        Custody::new()
            .purpose("incident investigation")
            .ticket("INC-42")
            .expires_at(Timestamp::parse(expires).unwrap()),
    );
    let mut w = ExportWriter::new(std::fs::File::create(path).unwrap(), &r, opts).unwrap();
    let mut e = w.entity("events").unwrap();
    e.write(&serde_json::json!({"id": 1, "msg": CANARY}))
        .unwrap();
    e.finish().unwrap();
    w.finish().unwrap();
}

#[test]
fn verify_warns_and_purge_deletes_only_expired_items_and_logs_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("copies");
    std::fs::create_dir(&root).unwrap();
    let (id, _) = keygen(tmp.path(), "id.txt");
    let old = root.join("old.tar.zst.age");
    archive_with_custody(&old, &id, "2020-01-01T00:00:00Z");
    std::fs::write(root.join("old.tar.zst.age.sha256"), "x  old.tar.zst.age\n").unwrap();
    let fresh = root.join("fresh.tar.zst.age");
    archive_with_custody(&fresh, &id, "2099-01-01T00:00:00Z");
    let unpacked = root.join("old-unpacked");
    let out = run(on_archive("unpack", &old, &id).arg("-o").arg(&unpacked));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(&mut on_archive("verify", &old, &id));
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("custody expired at 2020-01-01T00:00:00Z") && err.contains("INC-42"),
        "{err}"
    );
    let out = run(&mut on_archive("verify", &fresh, &id));
    assert!(!text(&out.stderr).contains("custody expired"));

    // Dry run: listed, nothing touched.
    let out = run(on_archive("purge", &root, &id).args(["--dry-run", "--operator", "ada"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("would delete"));
    assert!(old.exists() && unpacked.exists());
    assert!(!root.join("custody-log.jsonl").exists());

    // Without a key, the archives cannot be judged: exit 1, only the unpacked copy goes.
    let log = tmp.path().join("custody.jsonl");
    let out = run(redarc()
        .arg("purge")
        .arg(&root)
        .arg("--log")
        .arg(&log)
        .args(["--operator", "ada"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!unpacked.exists() && old.exists());

    let out = run(on_archive("purge", &root, &id)
        .arg("--log")
        .arg(&log)
        .args(["--operator", "ada"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!old.exists() && !root.join("old.tar.zst.age.sha256").exists());
    assert!(fresh.exists());
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["kind"], "unpacked");
    assert_eq!(lines[1]["kind"], "archive");
    for l in &lines {
        assert_eq!(l["operator"], "ada");
        assert_eq!(l["ticket"], "INC-42");
        assert_eq!(l["purpose"], "incident investigation");
        assert_eq!(l["reason"], "expired at 2020-01-01T00:00:00Z");
        assert!(l["deleted_at"].is_string() && l["generated_at"].is_string());
    }
    assert!(!std::fs::read_to_string(&log).unwrap().contains(CANARY));
}
