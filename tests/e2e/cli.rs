//! The CLI contract: commands, outputs and exit codes.

use crate::support::*;

#[test]
fn pack_verify_inspect_unpack() {
    let tmp = tempfile::tempdir().unwrap();
    let Packed { key, archive, .. } = packed_export(tmp.path());
    assert!(tmp.path().join("a.tar.zst.age.sha256").is_file());

    let out = run(&mut on_archive("verify", &archive, &key));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"));

    let out = run(on_archive("verify", &archive, &key).args(["--format", "json"]));
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert!(report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));

    let out = run(&mut on_archive("inspect", &archive, &key));
    assert_eq!(out.status.code(), Some(0));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["environment"], "staging");
    assert_eq!(manifest["source_version"], "0123abc");
    let names: Vec<&str> = manifest["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["sessions", "user_tokens", "users"],
        "entities are packed sorted by name"
    );

    let out_dir = tmp.path().join("unpacked");
    let out = run(on_archive("unpack", &archive, &key).arg("-o").arg(&out_dir));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let users = std::fs::read_to_string(out_dir.join("data/users.00000.jsonl")).unwrap();
    assert_eq!(users.lines().count(), 40);
    assert_eq!(
        std::fs::metadata(out_dir.join("data/sessions.00000.jsonl"))
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn damaged_archives_exit_1_and_usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let (other_key, _) = keygen(tmp.path(), "other.txt");
    let archive = tmp.path().join("a.tar.zst.age");
    pack(&dir, &archive, &recipient);
    let bytes = std::fs::read(&archive).unwrap();

    // A flipped byte at several places, and truncations.
    let bad = tmp.path().join("bad.age");
    for at in [
        0,
        40,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 17,
        bytes.len() - 1,
    ] {
        let mut b = bytes.clone();
        b[at] ^= 0x20;
        std::fs::write(&bad, &b).unwrap();
        let out = run(&mut on_archive("verify", &bad, &key));
        assert_eq!(
            out.status.code(),
            Some(1),
            "flip at {at}: {}",
            text(&out.stderr)
        );
    }
    for len in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..len]).unwrap();
        let out = run(&mut on_archive("verify", &bad, &key));
        assert_eq!(
            out.status.code(),
            Some(1),
            "truncated to {len}: {}",
            text(&out.stderr)
        );
    }

    let out = run(&mut on_archive("verify", &archive, &other_key));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no identity matched"),
        "{}",
        text(&out.stderr)
    );

    let out = run(redarc()
        .arg("verify")
        .arg(tmp.path().join("missing.age"))
        .arg("-i")
        .arg(&key));
    assert_eq!(out.status.code(), Some(2));
    let out = run(redarc().arg("verify").arg(&archive));
    assert_eq!(out.status.code(), Some(2), "missing -i is a usage error");
    let out = run(redarc().arg("frobnicate"));
    assert_eq!(out.status.code(), Some(2));

    // pack never overwrites; unpack refuses a non-empty directory.
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&archive)
        .arg("-r")
        .arg(&recipient));
    assert_eq!(out.status.code(), Some(2));
    let out = run(on_archive("unpack", &archive, &key).arg("-o").arg(&dir));
    assert_eq!(out.status.code(), Some(2));

    // A failed unpack leaves nothing behind.
    let mut b = bytes.clone();
    let n = b.len();
    b[n - 30] ^= 1;
    std::fs::write(&bad, &b).unwrap();
    let target = tmp.path().join("never");
    let out = run(on_archive("unpack", &bad, &key).arg("-o").arg(&target));
    assert_eq!(out.status.code(), Some(1));
    assert!(!target.exists());
    let stray = std::fs::read_dir(tmp.path()).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("redarc-partial")
    });
    assert_eq!(stray.count(), 0);
}

#[test]
fn bad_input_lines_are_reported_without_their_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("t.jsonl"),
        "{\"ok\":1}\n{\"password\":\"hunter2-s3cret\"\n",
    )
    .unwrap();
    let (_, recipient) = keygen(tmp.path(), "key.txt");
    let archive = tmp.path().join("a.age");
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&archive)
        .arg("-r")
        .arg(&recipient));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("entity t, record 2"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!archive.exists(), "a failed pack leaves no archive");
    let leftovers = std::fs::read_dir(tmp.path()).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".redarc-pack-")
    });
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn passphrase_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    let archive = tmp.path().join("p.age");
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&archive)
        .arg("--passphrase")
        .env("REDARC_PASSPHRASE", "a long test passphrase")
        .env("REDARC_SCRYPT_WORK_FACTOR", "10"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(redarc()
        .arg("verify")
        .arg(&archive)
        .arg("--passphrase")
        .env("REDARC_PASSPHRASE", "a long test passphrase"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(redarc()
        .arg("verify")
        .arg(&archive)
        .arg("--passphrase")
        .env("REDARC_PASSPHRASE", "wrong"));
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains("wrong"));
}

#[test]
fn keygen_and_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, recipient) = keygen(tmp.path(), "k.txt");
    assert!(recipient.starts_with("age1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = run(redarc().arg("keygen").arg("-o").arg(&key));
    assert_eq!(out.status.code(), Some(2), "keygen never overwrites");

    let out = run(redarc().arg("schema"));
    assert!(out.status.success());
    let committed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/schema/manifest.schema.json"
    ))
    .unwrap();
    assert_eq!(out.stdout, committed);
    let out = run(redarc().args(["schema", "nope"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn object_names_carry_environment_and_time_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let root = tmp.path().join("bucket");
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&root)
        .args(["--object-name", "exports", "--environment", "staging"])
        .arg("-r")
        .arg(&recipient));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let day = root.join("exports/staging");
    let mut found = Vec::new();
    let mut stack = vec![day];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                found.push(p)
            }
        }
    }
    let archive = found
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".tar.zst.age"))
        .unwrap();
    let rel = archive
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let parts: Vec<&str> = rel.split('/').collect();
    assert_eq!(parts.len(), 6, "{rel}");
    assert!(
        parts[5].starts_with("staging-") && parts[5].contains('T'),
        "{rel}"
    );
    // The name's time is the manifest's generated_at.
    let out = run(&mut on_archive("inspect", archive, &key));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = manifest["generated_at"]
        .as_str()
        .unwrap()
        .replace(['-', ':'], "");
    assert!(parts[5].contains(&at), "{rel} vs {at}");
    // Private data cannot get into a name.
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&root)
        .args(["--object-name", "x", "--environment", "ada@example.com"])
        .arg("-r")
        .arg(&recipient));
    assert_eq!(out.status.code(), Some(2));
}
