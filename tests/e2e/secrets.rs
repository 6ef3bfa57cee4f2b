//! No secret ever reaches stderr or stdout on an error path: planted values
//! in records, identity files, recipient files, policies and passphrases.

use crate::support::*;

const SECRET: &str = "sk_live_51PlantedSecretValue0123456789abcdef";

fn assert_clean(what: &str, out: &std::process::Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(SECRET),
        "{what} printed the planted secret: {all}"
    );
    assert!(
        !all.contains("PlantedSecret"),
        "{what} printed part of the planted secret: {all}"
    );
    assert!(!all.contains("panicked"), "{what} panicked: {all}");
}

#[test]
fn error_paths_never_print_planted_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, recipient) = keygen(tmp.path(), "key.txt");

    // A record that is not JSON, one that is too large, one with a raw CR.
    for (i, body) in [
        format!("{{\"api_key\": \"{SECRET}\""),
        format!("{{\"api_key\": \"{SECRET}\"}} trailing"),
        format!("{{\"api_key\":\r\"{SECRET}\"}}"),
        format!("{{\"api_key\": \"{SECRET}\", \"s\": \"\\ud800\" \u{0} }}"),
    ]
    .iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("e{i}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("t.jsonl"), format!("{body}\n")).unwrap();
        let out = run(redarc()
            .arg("pack")
            .arg(&dir)
            .arg("-o")
            .arg(tmp.path().join(format!("a{i}.age")))
            .arg("-r")
            .arg(&recipient));
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert_clean("pack of a bad record", &out);
        let out = run(redarc()
            .arg("redact")
            .arg(dir.join("t.jsonl"))
            .arg("-o")
            .arg(tmp.path().join(format!("r{i}.jsonl"))));
        // A raw CR between JSON tokens is whitespace to `redact` (it writes
        // compact JSON); only the archive format refuses it.
        if i != 2 {
            assert_ne!(out.status.code(), Some(0), "record {i}");
        }
        assert_clean("redact of a bad record", &out);
    }

    // An identity file and a recipients file holding secret-looking junk.
    let bad_id = tmp.path().join("bad-id.txt");
    std::fs::write(
        &bad_id,
        format!("AGE-SECRET-KEY-1{}\n", SECRET.to_uppercase()),
    )
    .unwrap();
    let dir = export_dir(tmp.path());
    let archive = tmp.path().join("ok.age");
    pack(&dir, &archive, &recipient);
    let out = run(&mut on_archive("verify", &archive, &bad_id));
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.to_uppercase().contains(&SECRET.to_uppercase()),
        "{all}"
    );

    let bad_r = tmp.path().join("recipients.txt");
    std::fs::write(&bad_r, format!("# team\n{SECRET}\n")).unwrap();
    let out = run(redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(tmp.path().join("x.age"))
        .arg("-R")
        .arg(&bad_r));
    assert_eq!(out.status.code(), Some(2));
    assert_clean("pack with a bad recipients file", &out);
    assert!(
        text(&out.stderr).contains("line 2"),
        "{}",
        text(&out.stderr)
    );

    // A policy file that does not parse, with the secret on the bad line.
    let policy = tmp.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("name = \"p\"\nallow = \"{SECRET}\" = broken\n"),
    )
    .unwrap();
    let out = run(redarc()
        .arg("redact")
        .arg(dir.join("users.jsonl"))
        .arg("-o")
        .arg(tmp.path().join("u.jsonl"))
        .arg("--policy")
        .arg(&policy));
    assert_eq!(out.status.code(), Some(2));
    assert_clean("redact with a broken policy", &out);

    // A wrong passphrase is never echoed.
    let out = run(redarc()
        .arg("verify")
        .arg(&archive)
        .arg("--passphrase")
        .env("REDARC_PASSPHRASE", SECRET));
    assert_eq!(out.status.code(), Some(1));
    assert_clean("verify with a passphrase", &out);

    // Scan and verify of a raw (unredacted) pack print rules, never values.
    let raw = tmp.path().join("raw");
    std::fs::create_dir(&raw).unwrap();
    std::fs::write(
        raw.join("t.jsonl"),
        format!("{{\"note\": \"key={SECRET}\"}}\n"),
    )
    .unwrap();
    let out = run(redarc().arg("scan").arg(&raw));
    assert_eq!(out.status.code(), Some(1));
    assert_clean("scan", &out);
    let raw_archive = tmp.path().join("raw.age");
    let out = run(redarc()
        .arg("pack")
        .arg(&raw)
        .arg("-o")
        .arg(&raw_archive)
        .arg("-r")
        .arg(&recipient)
        .arg("--no-redaction"));
    assert!(out.status.success());
    let out = run(on_archive("verify", &raw_archive, &key).args(["--format", "json"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "a raw backup is not scanned: {}",
        text(&out.stdout)
    );
    assert_clean("verify of a raw backup", &out);
}
