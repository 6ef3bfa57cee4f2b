//! Archives written by redarc open with the reference tools alone, and
//! identities made by the reference tools open redarc archives.

use crate::support::*;

#[test]
fn reference_tools_open_a_redarc_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    // An identity made by age-keygen, used by both sides.
    let out = sh(
        tmp.path(),
        "age-keygen -o ref.txt 2>/dev/null && age-keygen -y ref.txt",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recipient = text(&out.stdout).trim().to_string();
    let archive = tmp.path().join("a.tar.zst.age");
    pack(&dir, &archive, &recipient);

    let out = run(redarc()
        .arg("verify")
        .arg(&archive)
        .arg("-i")
        .arg(tmp.path().join("ref.txt")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    std::fs::create_dir(tmp.path().join("x")).unwrap();
    let out = sh(
        &tmp.path().join("x"),
        "age -d -i ../ref.txt ../a.tar.zst.age | zstd -d | tar -xf - && sha256sum -c --strict SHA256SUMS \
         && test \"sha256:$(sha256sum SHA256SUMS | cut -d' ' -f1)\" = \"$(grep -o '\"sha256sums\": \"[^\"]*' manifest.json | cut -d'\"' -f4)\" \
         && cat data/users.*.jsonl | wc -l",
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("data/users.00000.jsonl: OK"), "{stdout}");
    assert_eq!(
        stdout.lines().last().unwrap().trim(),
        "40",
        "record count of users"
    );

    // Record counts per entity match the input files.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("x/manifest.json")).unwrap())
            .unwrap();
    for e in manifest["entities"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let input = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).unwrap();
        assert_eq!(
            e["records"].as_u64().unwrap(),
            input.lines().count() as u64,
            "{name}"
        );
    }

    // The transport checksum sidecar is what sha256sum -c reads.
    let out = sh(tmp.path(), "sha256sum -c a.tar.zst.age.sha256");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn reference_age_archive_of_a_redarc_tar_is_read() {
    // Decrypt with redarc's key, re-encrypt the same zstd stream with the
    // reference age tool: redarc must read what age wrote.
    let tmp = tempfile::tempdir().unwrap();
    let Packed { key, recipient, .. } = packed_export(tmp.path());
    let script = format!("age -d -i key.txt a.tar.zst.age | age -r {recipient} -o b.tar.zst.age");
    let out = sh(tmp.path(), &script);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(redarc()
        .arg("verify")
        .arg(tmp.path().join("b.tar.zst.age"))
        .arg("-i")
        .arg(&key));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn ssh_keys_as_recipients_and_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    for (kind, extra) in [("ed25519", ""), ("rsa", "-b 2048")] {
        let out = sh(
            tmp.path(),
            &format!("ssh-keygen -q -t {kind} {extra} -N '' -f id_{kind}"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let public = std::fs::read_to_string(tmp.path().join(format!("id_{kind}.pub"))).unwrap();
        let archive = tmp.path().join(format!("{kind}.age"));
        pack(&dir, &archive, public.trim());
        let out = run(redarc()
            .arg("verify")
            .arg(&archive)
            .arg("-i")
            .arg(tmp.path().join(format!("id_{kind}"))));
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out.stderr));
        // And the reference age tool opens it with the same SSH key.
        let out = sh(
            tmp.path(),
            &format!("age -d -i id_{kind} {kind}.age | zstd -d | tar -tf - | tail -1"),
        );
        assert_eq!(
            text(&out.stdout).trim(),
            "manifest.json",
            "{kind}: {}",
            text(&out.stderr)
        );
    }
}
