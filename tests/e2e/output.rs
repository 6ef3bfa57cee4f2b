//! What the commands print: `--format json` documents checked against the
//! real input, no escape codes or progress when output is captured, and
//! progress and colour on a real pseudo-terminal (`script` from util-linux).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::*;

/// Parses standard output as exactly one JSON document.
fn json(what: &str, out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not one JSON document ({e}):\n{}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Asserts the exit code, showing both streams when it differs.
fn exits(what: &str, out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Captured output has no escape sequence at all and no progress redraws.
fn assert_plain(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.windows(2).any(|w| w == b"\x1b["),
            "{what}: escape sequence on {stream}: {:?}",
            text(bytes)
        );
        assert!(
            !bytes.contains(&b'\r'),
            "{what}: carriage return (a redrawn line) on {stream}: {:?}",
            text(bytes)
        );
    }
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("eta "),
        "{what}: progress on captured stderr: {stderr:?}"
    );
}

/// Record count per entity of an export directory, from the files themselves.
fn line_counts(dir: &Path) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "jsonl") {
            let body = std::fs::read_to_string(&path).unwrap();
            let n = body.lines().filter(|l| !l.trim().is_empty()).count() as u64;
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            counts.insert(name, n);
        }
    }
    counts
}

/// `[{name, records, …}]` of a JSON report, as a map.
fn entity_records(doc: &Value) -> BTreeMap<String, u64> {
    doc["entities"]
        .as_array()
        .unwrap_or_else(|| panic!("no entities array in {doc}"))
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["records"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A generated export with its ground truth: (export dir, planted secret values).
fn sample(root: &Path) -> (PathBuf, Vec<String>, Value) {
    let dir = root.join("raw");
    let truth = root.join("truth.json");
    let out = run(redarc()
        .arg("sample")
        .arg(&dir)
        .args(["--size", "400KB", "--seed", "11", "--format", "json"])
        .arg("--truth")
        .arg(&truth));
    exits("sample", &out, 0);
    let doc = json("sample", &out);
    let truth: Value = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    let secrets = truth["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap().to_string())
        .collect();
    (dir, secrets, doc)
}

fn assert_no_secret(what: &str, out: &Output, secrets: &[String]) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for s in secrets {
        assert!(!all.contains(s.as_str()), "{what} printed a planted secret");
    }
}

#[test]
fn json_reports_agree_with_the_real_input() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, secrets, sample_doc) = sample(tmp.path());
    let counts = line_counts(&raw);
    let total: u64 = counts.values().sum();
    assert_eq!(counts.len(), 10, "{counts:?}");
    assert!(total > 100);

    // sample: its counts are the files' line counts.
    assert_eq!(entity_records(&sample_doc), counts);
    assert_eq!(sample_doc["records"].as_u64(), Some(total));
    assert_eq!(sample_doc["seed"].as_u64(), Some(11));
    assert!(sample_doc["secrets_planted"].as_u64().unwrap() as usize >= secrets.len());
    let bytes: u64 = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(sample_doc["bytes"].as_u64(), Some(bytes));

    // keygen: the public recipient, never the secret key.
    let key = tmp.path().join("key.txt");
    let out = run(redarc()
        .arg("keygen")
        .arg("-o")
        .arg(&key)
        .args(["--format", "json"]));
    exits("keygen", &out, 0);
    let k = json("keygen", &out);
    let recipient = k["recipient"].as_str().unwrap().to_string();
    let key_file = std::fs::read_to_string(&key).unwrap();
    assert!(
        key_file.contains(&format!("# public key: {recipient}")),
        "{key_file}"
    );
    assert!(!text(&out.stdout).contains("AGE-SECRET-KEY"));
    assert_eq!(k["identity_file"].as_str(), Some(key.to_str().unwrap()));
    let out = run(redarc().args(["keygen", "--format", "json"]));
    exits("keygen --format json without -o", &out, 2);
    assert!(!text(&out.stdout).contains("AGE-SECRET-KEY"));

    // pack
    let archive = tmp.path().join("a.tar.zst.age");
    let out = run(redarc()
        .arg("pack")
        .arg(&raw)
        .arg("-o")
        .arg(&archive)
        .arg("-r")
        .arg(&recipient)
        .args(["--environment", "staging", "--source-version", "abc123"])
        .args(["--format", "json"]));
    exits("pack", &out, 0);
    assert_no_secret("pack", &out, &secrets);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let p = json("pack", &out);
    assert_eq!(entity_records(&p), counts);
    assert_eq!(p["records"].as_u64(), Some(total));
    assert_eq!(p["environment"], "staging");
    assert_eq!(p["source_version"], "abc123");
    assert_eq!(
        p["archive_bytes"].as_u64(),
        Some(std::fs::metadata(&archive).unwrap().len())
    );
    let sidecar = std::fs::read_to_string(p["checksum_file"].as_str().unwrap()).unwrap();
    assert_eq!(
        p["transport_sha256"].as_str().unwrap(),
        format!("sha256:{}", sidecar.split_whitespace().next().unwrap())
    );
    assert_eq!(p["redaction"]["policy"], "default");
    let changed = p["redaction"]["total"].as_u64().unwrap();
    assert!(changed > 0);

    // verify
    let out = run(on_archive("verify", &archive, &key).args(["--format", "json"]));
    exits("verify", &out, 0);
    let v = json("verify", &out);
    assert_eq!(v["valid"], true);
    assert_eq!(v["complete"], true);
    assert_eq!(v["failed_check"], Value::Null);
    assert_eq!(v["failed_checks"], serde_json::json!([]));
    assert_eq!(entity_records(&v), counts);
    assert_eq!(v["records"].as_u64(), Some(total));
    let records_json = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "records-json")
        .unwrap();
    assert_eq!(records_json["checked"].as_u64(), Some(total));

    // inspect: JSON by default (the manifest as stored), text on request.
    let out = run(&mut on_archive("inspect", &archive, &key));
    exits("inspect", &out, 0);
    let manifest = json("inspect", &out);
    assert_eq!(entity_records(&manifest), counts);
    assert_eq!(manifest["redaction"]["total"].as_u64(), Some(changed));
    let explicit = run(on_archive("inspect", &archive, &key).args(["--format", "json"]));
    assert_eq!(json("inspect --format json", &explicit), manifest);
    let out = run(on_archive("inspect", &archive, &key).args(["--format", "text"]));
    exits("inspect --format text", &out, 0);
    let shown = text(&out.stdout);
    assert!(serde_json::from_str::<Value>(&shown).is_err());
    for (name, n) in &counts {
        assert!(
            shown
                .lines()
                .any(|l| l.starts_with(name.as_str()) && l.contains(&format!(" {n} "))),
            "{name} {n} not in:\n{shown}"
        );
    }

    // unpack
    let restored = tmp.path().join("restored");
    let out = run(on_archive("unpack", &archive, &key)
        .arg("-o")
        .arg(&restored)
        .args(["--format", "json"]));
    exits("unpack", &out, 0);
    let u = json("unpack", &out);
    assert_eq!(entity_records(&u), counts);
    assert_eq!(u["valid"], true);
    assert_eq!(u["level"], "integrity");
    // --verify: every check of verify before the files move into place.
    let verified = tmp.path().join("verified");
    let out = run(on_archive("unpack", &archive, &key)
        .arg("-o")
        .arg(&verified)
        .args(["--verify", "--format", "json"]));
    exits("unpack --verify", &out, 0);
    let v = json("unpack --verify", &out);
    assert_eq!(
        (v["level"].as_str(), v["valid"].as_bool()),
        (Some("valid"), Some(true))
    );
    let unpacked_lines: u64 = line_counts(&restored.join("data")).values().sum();
    assert_eq!(unpacked_lines, total);
    // Sizes are of the (redacted) JSONL in the archive, as unpacked.
    let unpacked_bytes: u64 = std::fs::read_dir(restored.join("data"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(p["bytes"].as_u64(), Some(unpacked_bytes));
    assert_eq!(u["bytes"].as_u64(), Some(unpacked_bytes));

    // drill: stdout is the evidence file's document.
    let evidence = tmp.path().join("evidence.json");
    let out = run(on_archive("drill", &archive, &key)
        .arg("--evidence")
        .arg(&evidence)
        .args(["--format", "json"]));
    exits("drill", &out, 0);
    let d = json("drill", &out);
    let file: Value = serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(d, file);
    assert_eq!(d["passed"], true);
    let dry: BTreeMap<String, u64> = d["dry_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity"].as_str().unwrap().to_string(),
                e["would_write"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(dry, counts);
}

#[test]
fn redact_and_scan_json_count_what_is_there() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, secrets, _) = sample(tmp.path());
    let counts = line_counts(&raw);
    let total: u64 = counts.values().sum();

    let clean = tmp.path().join("clean");
    let report = tmp.path().join("report.json");
    let out = run(redarc()
        .arg("redact")
        .arg(&raw)
        .arg("-o")
        .arg(&clean)
        .arg("--report")
        .arg(&report)
        .args(["--format", "json"]));
    exits("redact", &out, 0);
    assert_no_secret("redact", &out, &secrets);
    let r = json("redact", &out);
    assert_eq!(r["records"].as_u64(), Some(total));
    assert_eq!(r["files"].as_u64(), Some(counts.len() as u64));
    let file: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["report"], file, "the same summary as --report");
    let by_rule: u64 = r["report"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(r["report"]["total"].as_u64(), Some(by_rule));
    assert!(by_rule > 0);
    assert_eq!(line_counts(&clean), counts);

    // scan of the raw export: one document, exit 1, every finding listed.
    let out = run(redarc().arg("scan").arg(&raw).args(["--format", "json"]));
    exits("scan raw", &out, 1);
    assert_no_secret("scan", &out, &secrets);
    let s = json("scan raw", &out);
    let findings = s["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert_eq!(s["found"].as_u64(), Some(findings.len() as u64));
    assert_eq!(s["clean"], false);
    assert_eq!(s["files"].as_u64(), Some(counts.len() as u64));
    assert_eq!(s["lines"].as_u64(), Some(total));
    for f in findings {
        assert!(
            f["rule"].is_string() && f["line"].as_u64().unwrap() >= 1,
            "{f}"
        );
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 8, "{f}");
    }
    // The line-per-finding form lists the same findings.
    let out = run(redarc().arg("scan").arg(&raw).args(["--format", "jsonl"]));
    exits("scan jsonl", &out, 1);
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, findings);

    let out = run(redarc().arg("scan").arg(&clean).args(["--format", "json"]));
    exits("scan clean", &out, 0);
    let s = json("scan clean", &out);
    assert_eq!(s["found"].as_u64(), Some(0));
    assert_eq!(s["clean"], true);
    assert_eq!(s["findings"], serde_json::json!([]));
    assert_eq!(s["lines"].as_u64(), Some(total));
}

#[test]
fn failing_checks_exit_1_with_json_naming_the_check() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors");
    let id = vectors.join("identity.txt");
    let verify = |file: &str| {
        run(redarc()
            .arg("verify")
            .arg(vectors.join(file))
            .arg("-i")
            .arg(&id)
            .args(["--format", "json"]))
    };
    // Decryptable but tampered: the report lists the checks and says which failed.
    for (file, check) in [
        ("hostile-tampered-record.tar.zst.age", "hashes"),
        ("hostile-wrong-count.tar.zst.age", "record-counts"),
        ("hostile-sums-disagree.tar.zst.age", "sha256sums"),
        ("hostile-unlisted-member.tar.zst.age", "complete"),
    ] {
        let out = verify(file);
        exits(file, &out, 1);
        let v = json(file, &out);
        assert_eq!(v["valid"], false, "{file}");
        assert_eq!(v["failed_check"], check, "{file}: {v}");
        let failed: Vec<&str> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(failed.first().copied(), Some(check), "{file}");
        assert_eq!(v["failed_checks"], serde_json::json!(failed), "{file}");
        assert_eq!(v["error"], Value::Null);
    }
    // Unreadable: no checks ran; the failure is named and explained.
    for (file, check) in [
        ("hostile-wrong-key.tar.zst.age", "decrypt"),
        ("hostile-payload-bit-flip.tar.zst.age", "decrypt"),
        ("hostile-path-dotdot.tar.zst.age", "archive-structure"),
    ] {
        let out = verify(file);
        exits(file, &out, 1);
        let v = json(file, &out);
        assert_eq!(v["valid"], false);
        assert_eq!(v["failed_check"], check, "{file}: {v}");
        assert_eq!(v["failed_checks"], serde_json::json!([check]));
        assert!(!v["error"].as_str().unwrap().is_empty());
        assert_eq!(v["checks"], serde_json::json!([]));
    }

    // A byte flipped in an archive of ours: verify and drill agree on the check.
    let tmp = tempfile::tempdir().unwrap();
    let Packed { key, archive, .. } = packed_export(tmp.path());
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let bad = tmp.path().join("bad.tar.zst.age");
    std::fs::write(&bad, &bytes).unwrap();
    let out = run(on_archive("verify", &bad, &key).args(["--format", "json"]));
    exits("verify tampered", &out, 1);
    let v = json("verify tampered", &out);
    assert_eq!(v["valid"], false);
    let evidence = tmp.path().join("ev.json");
    let out = run(on_archive("drill", &bad, &key)
        .arg("--evidence")
        .arg(&evidence)
        .args(["--format", "json"]));
    exits("drill tampered", &out, 1);
    let d = json("drill tampered", &out);
    assert_eq!(d["passed"], false);
    assert_eq!(d["failed_check"], v["failed_check"]);

    // Usage and I/O errors: exit 2, nothing on stdout, one line on stderr.
    let out = run(redarc()
        .arg("verify")
        .arg(tmp.path().join("missing.age"))
        .arg("-i")
        .arg(&key)
        .args(["--format", "json"]));
    exits("verify missing", &out, 2);
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).starts_with("redarc: "));
}

#[test]
fn purge_and_name_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let copies = tmp.path().join("copies");
    std::fs::create_dir(&copies).unwrap();
    for (name, expiry) in [
        ("old.tar.zst.age", "--expires-at=2020-01-01T00:00:00Z"),
        ("new.tar.zst.age", "--expires-in-days=30"),
    ] {
        let out = run(redarc()
            .arg("pack")
            .arg(&dir)
            .arg("-o")
            .arg(copies.join(name))
            .arg("-r")
            .arg(&recipient)
            .arg(expiry));
        exits("pack", &out, 0);
    }
    let out = run(on_archive("purge", &copies, &key).args(["--dry-run", "--format", "json"]));
    exits("purge", &out, 0);
    let p = json("purge", &out);
    assert_eq!(p["dry_run"], true);
    assert_eq!(p["kept"].as_u64(), Some(1));
    let deleted = p["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 1, "{p}");
    assert_eq!(deleted[0]["archive_name"], "old.tar.zst.age");
    assert_eq!(deleted[0]["action"], "would-delete");
    assert_eq!(deleted[0]["expires_at"], "2020-01-01T00:00:00Z");
    assert!(
        copies.join("old.tar.zst.age").exists(),
        "a dry run deletes nothing"
    );

    let out = run(redarc().args(["name", "--environment", "staging", "--prefix", "exports"]));
    exits("name", &out, 0);
    let out = run(redarc().args([
        "name",
        "--environment",
        "staging",
        "--prefix",
        "exports",
        "--format",
        "json",
    ]));
    exits("name --format json", &out, 0);
    let n = json("name", &out);
    let name = n["name"].as_str().unwrap();
    assert!(name.starts_with("exports/staging/"), "{name}");
    assert_eq!(n["environment"], "staging");
    let at = n["at"].as_str().unwrap();
    let compact: String = at.chars().filter(|c| *c != '-' && *c != ':').collect();
    assert!(name.contains(&compact), "{name} made at {at}");
}

#[test]
fn demo_json_says_what_is_where() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(redarc()
        .arg("demo")
        .arg("--dir")
        .arg(tmp.path())
        .args(["--size", "200000", "--format", "json"]));
    exits("demo", &out, 0);
    let d = json("demo", &out);
    assert_eq!(d["valid"], true);
    let export = PathBuf::from(d["export"].as_str().unwrap());
    let counts = line_counts(&export);
    assert_eq!(entity_records(&d), counts);
    assert_eq!(
        d["archive_bytes"].as_u64(),
        Some(
            std::fs::metadata(d["archive"].as_str().unwrap())
                .unwrap()
                .len()
        )
    );
    assert!(!text(&out.stdout).contains("AGE-SECRET-KEY"));
}

/// Every command that reports, in text and in JSON, with output captured:
/// no escape sequence and no progress, even when the environment would
/// otherwise force colour.
#[test]
fn captured_output_has_no_escape_codes_or_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_dir(tmp.path());
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let archive = tmp.path().join("a.tar.zst.age");
    let mut bad = None;
    for (env, value) in [
        ("TERM", "xterm-256color"),
        ("NO_COLOR", "1"),
        ("CLICOLOR_FORCE", "1"),
    ] {
        let tag = format!("{env}={value}");
        let with_env = |mut cmd: Command| {
            cmd.env("TERM", "xterm-256color").env(env, value);
            cmd
        };
        let mut pack = with_env(redarc());
        let target = tmp.path().join(format!("{env}.tar.zst.age"));
        pack.arg("pack")
            .arg(&dir)
            .arg("-o")
            .arg(&target)
            .arg("-r")
            .arg(&recipient);
        let out = run(&mut pack);
        exits(&tag, &out, 0);
        assert_plain(&format!("pack, {tag}"), &out);
        if !archive.exists() {
            std::fs::copy(&target, &archive).unwrap();
            let mut b = std::fs::read(&archive).unwrap();
            let at = b.len() / 2;
            b[at] ^= 0x40;
            let path = tmp.path().join("bad.tar.zst.age");
            std::fs::write(&path, b).unwrap();
            bad = Some(path);
        }
        let bad = bad.as_ref().unwrap();
        for format in ["text", "json"] {
            let cases: Vec<(&str, Vec<std::ffi::OsString>, i32)> = vec![
                (
                    "verify",
                    vec![archive.clone().into(), "-i".into(), key.clone().into()],
                    0,
                ),
                (
                    "verify",
                    vec![bad.clone().into(), "-i".into(), key.clone().into()],
                    1,
                ),
                (
                    "inspect",
                    vec![archive.clone().into(), "-i".into(), key.clone().into()],
                    0,
                ),
                (
                    "unpack",
                    vec![
                        archive.clone().into(),
                        "-i".into(),
                        key.clone().into(),
                        "-o".into(),
                        tmp.path().join(format!("u-{env}-{format}")).into(),
                    ],
                    0,
                ),
                (
                    "drill",
                    vec![
                        archive.clone().into(),
                        "-i".into(),
                        key.clone().into(),
                        "--evidence".into(),
                        tmp.path().join(format!("ev-{env}-{format}.json")).into(),
                    ],
                    0,
                ),
                (
                    "drill",
                    vec![
                        bad.clone().into(),
                        "-i".into(),
                        key.clone().into(),
                        "--evidence".into(),
                        tmp.path()
                            .join(format!("bad-ev-{env}-{format}.json"))
                            .into(),
                    ],
                    1,
                ),
                ("scan", vec![dir.clone().into()], 0),
                (
                    "redact",
                    vec![
                        dir.clone().into(),
                        "-o".into(),
                        tmp.path().join(format!("r-{env}-{format}")).into(),
                    ],
                    0,
                ),
                (
                    "purge",
                    vec![tmp.path().join("copies").into(), "--dry-run".into()],
                    0,
                ),
            ];
            std::fs::create_dir_all(tmp.path().join("copies")).unwrap();
            for (command, args, code) in cases {
                let mut cmd = with_env(redarc());
                cmd.arg(command).args(&args).args(["--format", format]);
                let out = run(&mut cmd);
                let what = format!("{command} --format {format}, {tag}");
                exits(&what, &out, code);
                assert_plain(&what, &out);
                if format == "json" {
                    json(&what, &out);
                }
            }
        }
    }
}

/// Runs `command` (a shell command line) on a pseudo-terminal with `script`
/// from util-linux; returns the exit code and everything the terminal showed.
fn on_terminal(dir: &Path, command: &str, envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", command, "/dev/null"])
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run script (util-linux, Debian package bsdutils): {e}"));
    (out.status.code(), text(&out.stdout))
}

/// An SGR (colour) escape sequence: ESC [ digits and semicolons, then `m`.
fn has_colour(screen: &str) -> bool {
    screen.match_indices("\x1b[").any(|(i, _)| {
        screen[i + 2..]
            .chars()
            .find(|c| !(c.is_ascii_digit() || *c == ';'))
            == Some('m')
    })
}

fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// On a terminal: progress bars are drawn and cleared, verdicts are
/// coloured, exit codes are those of the command. With NO_COLOR the bars
/// stay (NO_COLOR is about colour) and no colour is printed.
#[test]
fn on_a_terminal_progress_shows_and_no_color_removes_colour() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, _, _) = sample(tmp.path());
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let bin = env!("CARGO_BIN_EXE_redarc");
    let archive = tmp.path().join("a.tar.zst.age");

    let (code, screen) = on_terminal(
        tmp.path(),
        &format!(
            "{bin} pack {} -o {} -r {recipient}",
            sh_quote(&raw),
            sh_quote(&archive)
        ),
        &[],
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("pack ["),
        "no pack progress bar:\n{screen:?}"
    );
    assert!(screen.contains("packed 10 entities"), "{screen:?}");
    assert!(!has_colour(&screen), "the bar has no colour: {screen:?}");

    let verify = format!("{bin} verify {} -i {}", sh_quote(&archive), sh_quote(&key));
    let (code, screen) = on_terminal(tmp.path(), &verify, &[]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("verify ["),
        "no verify progress bar:\n{screen:?}"
    );
    assert!(screen.contains("\x1b[32mok  \x1b[0m"), "{screen:?}");
    assert!(screen.contains("\x1b[32mvalid\x1b[0m"), "{screen:?}");

    let (code, screen) = on_terminal(tmp.path(), &verify, &[("NO_COLOR", "1")]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("verify ["),
        "NO_COLOR keeps progress: {screen:?}"
    );
    assert!(!has_colour(&screen), "colour despite NO_COLOR: {screen:?}");
    assert!(screen.contains("ok   complete"), "{screen:?}");

    // An empty NO_COLOR does not count (no-color.org).
    let (_, screen) = on_terminal(tmp.path(), &verify, &[("NO_COLOR", "")]);
    assert!(has_colour(&screen), "{screen:?}");

    // TERM=dumb: neither bars nor colour.
    let (code, screen) = on_terminal(tmp.path(), &verify, &[("TERM", "dumb")]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("verify ["), "{screen:?}");
    assert!(!has_colour(&screen), "{screen:?}");

    // A tampered archive: exit 1 on the terminal too, the failure in red.
    let mut b = std::fs::read(&archive).unwrap();
    let at = b.len() / 2;
    b[at] ^= 0x01;
    let bad = tmp.path().join("bad.tar.zst.age");
    std::fs::write(&bad, b).unwrap();
    let evidence = tmp.path().join("ev.json");
    let (code, screen) = on_terminal(
        tmp.path(),
        &format!(
            "{bin} drill {} -i {} --evidence {}",
            sh_quote(&bad),
            sh_quote(&key),
            sh_quote(&evidence)
        ),
        &[],
    );
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("\x1b[1;31mFAILED\x1b[0m"), "{screen:?}");

    // JSON on stdout while progress goes to the terminal: the document is clean.
    let json_file = tmp.path().join("unpack.json");
    let restored = tmp.path().join("restored");
    let (code, screen) = on_terminal(
        tmp.path(),
        &format!(
            "{bin} unpack {} -i {} -o {} --format json > {}",
            sh_quote(&archive),
            sh_quote(&key),
            sh_quote(&restored),
            sh_quote(&json_file)
        ),
        &[],
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("unpack ["), "{screen:?}");
    let body = std::fs::read(&json_file).unwrap();
    assert!(!body.windows(2).any(|w| w == b"\x1b["));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(entity_records(&doc), line_counts(&raw));
}

/// `import` needs a person at a terminal: typed on a pseudo-terminal, the
/// approval goes through and the one-line JSON record carries the dry run
/// the operator saw and the counts written.
#[test]
fn import_on_a_terminal_prints_its_json_record() {
    let tmp = tempfile::tempdir().unwrap();
    let Packed { key, archive, .. } = packed_export(tmp.path());
    let target = tmp.path().join("target");
    std::fs::create_dir(&target).unwrap();
    // Two users are already there: they are skipped.
    std::fs::write(
        target.join("users.jsonl"),
        "{\"id\":0,\"email\":\"a\"}\n{\"id\":1,\"email\":\"b\"}\n",
    )
    .unwrap();
    let record = tmp.path().join("record.json");
    let command = format!(
        "{} import {} -i {} --target {} --target-env restore-test --operator ops --reason OPS-7 > {}",
        env!("CARGO_BIN_EXE_redarc"),
        sh_quote(&archive),
        sh_quote(&key),
        sh_quote(&target),
        sh_quote(&record)
    );
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("script (util-linux) runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"restore-test\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let screen = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    let body = std::fs::read_to_string(&record).unwrap();
    assert_eq!(body.lines().count(), 1, "one line: {body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["approval"]["operator"], "ops");
    assert_eq!(r["approval"]["target_environment"], "restore-test");
    let users = |counts: &Value| -> Value {
        counts["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["entity"] == "users")
            .unwrap()
            .clone()
    };
    assert_eq!(r["dry_run"]["dry_run"], true);
    assert_eq!(users(&r["dry_run"])["would_write"].as_u64(), Some(38));
    assert_eq!(users(&r["counts"])["written"].as_u64(), Some(38));
    assert_eq!(users(&r["counts"])["skipped"].as_u64(), Some(2));
    let lines = std::fs::read_to_string(target.join("users.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 40);
}

/// Runs `cmd` with standard output a pipe whose reading end is already
/// closed, as `redarc … | head -0` would leave it.
fn into_closed_pipe(cmd: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(std::process::Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_on_stdout_ends_a_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let Packed { key, archive, .. } = packed_export(tmp.path());
    let mut commands: Vec<(&str, Command)> = vec![
        ("verify", on_archive("verify", &archive, &key)),
        ("verify json", on_archive("verify", &archive, &key)),
        ("inspect", on_archive("inspect", &archive, &key)),
        ("inspect text", on_archive("inspect", &archive, &key)),
        ("schema", redarc()),
        ("keygen", redarc()),
        ("scan", redarc()),
    ];
    commands[1].1.args(["--format", "json"]);
    commands[3].1.args(["--format", "text"]);
    commands[4].1.arg("schema");
    commands[5].1.arg("keygen");
    let leaky = tmp.path().join("leaky.jsonl");
    std::fs::write(&leaky, "{\"password\":\"hunter2-secret\"}\n").unwrap();
    commands[6]
        .1
        .arg("scan")
        .arg(&leaky)
        .args(["--format", "jsonl"]);
    for (what, mut cmd) in commands {
        let out = into_closed_pipe(&mut cmd);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(!stderr.contains("redarc:"), "{what}: {stderr}");
        exits(what, &out, 141);
    }
    // Other write errors on standard output are still reported.
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = run(on_archive("verify", &archive, &key).stdout(full));
        exits("verify > /dev/full", &out, 2);
        assert!(
            text(&out.stderr).contains("writing to standard output"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn redact_and_scan_refuse_a_line_over_the_record_limit() {
    let tmp = tempfile::tempdir().unwrap();
    // One record, then 17 MiB with no line end: more than the 16 MiB limit.
    let path = tmp.path().join("runaway.jsonl");
    let mut data = b"{\"id\":1}\n{\"blob\":\"".to_vec();
    data.resize(data.len() + (17 << 20), b'a');
    std::fs::write(&path, &data).unwrap();
    for args in [
        vec!["redact".into(), path.clone(), tmp.path().join("out.jsonl")],
        vec!["scan".into(), path.clone()],
    ] {
        let mut cmd = redarc();
        cmd.arg(&args[0]).arg(&args[1]);
        if let Some(out) = args.get(2) {
            cmd.arg("-o").arg(out);
        }
        let out = run(&mut cmd);
        let what = format!("{args:?}");
        exits(&what, &out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("a line is longer than the limit of 16777216 bytes"),
            "{what}: {stderr}"
        );
    }
}
