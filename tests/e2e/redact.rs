//! `redarc redact` and `redarc scan` on a generated export with planted secrets.

use crate::support::*;

#[test]
fn scan_finds_the_raw_export_and_passes_its_redacted_output() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("raw");
    let truth_file = tmp.path().join("truth.json");
    let out = run(redarc()
        .arg("sample")
        .arg(&raw)
        .args(["--size", "1MB", "--seed", "7"])
        .arg("--truth")
        .arg(&truth_file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&truth_file).unwrap()).unwrap();
    let secrets: Vec<String> = truth["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect();
    assert!(secrets.len() > 50);

    for format in ["text", "json"] {
        let out = run(redarc().arg("scan").arg(&raw).args(["--format", format]));
        assert_eq!(
            out.status.code(),
            Some(1),
            "raw export must be flagged: {}",
            text(&out.stderr)
        );
        let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            printed.lines().count() > 50,
            "{format}: one line per finding"
        );
        for s in &secrets {
            assert!(
                !printed.contains(s.as_str()),
                "scan printed a planted secret ({format})"
            );
        }
    }

    let clean = tmp.path().join("clean");
    let report = tmp.path().join("report.json");
    let out = run(redarc()
        .arg("redact")
        .arg(&raw)
        .arg("-o")
        .arg(&clean)
        .arg("--report")
        .arg(&report));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report_text = std::fs::read_to_string(&report).unwrap();
    for s in &secrets {
        assert!(
            !report_text.contains(s.as_str()),
            "the report holds a value"
        );
    }
    // Same files, same record counts, every record valid JSON.
    for entry in std::fs::read_dir(&raw).unwrap() {
        let name = entry.unwrap().file_name();
        let a = std::fs::read_to_string(raw.join(&name)).unwrap();
        let b = std::fs::read_to_string(clean.join(&name)).unwrap();
        assert_eq!(a.lines().count(), b.lines().count(), "{name:?}");
        for line in b.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
    let out = run(redarc().arg("scan").arg(&clean));
    assert_eq!(
        out.status.code(),
        Some(0),
        "redacted output must scan clean: {}",
        text(&out.stdout)
    );

    // pack redacts by default and verify's residual scan agrees.
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let archive = tmp.path().join("a.tar.zst.age");
    pack(&raw, &archive, &recipient);
    let out = run(on_archive("verify", &archive, &key).args(["--format", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"residual-secrets"), "{names:?}");
    let unpacked = tmp.path().join("unpacked");
    let out = run(on_archive("unpack", &archive, &key)
        .arg("-o")
        .arg(&unpacked));
    assert_eq!(out.status.code(), Some(0));
    let out = run(redarc().arg("scan").arg(unpacked.join("data")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}
