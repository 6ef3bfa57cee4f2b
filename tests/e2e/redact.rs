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

/// Records longer than the read buffer, records that straddle two buffer
/// fills, CRLF endings, blank lines and a last line without a newline all
/// come out as the library redacts them, line for line; a bad record is
/// named by its line number wherever it falls.
#[test]
fn redact_reads_records_across_buffer_borders() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("events.jsonl");
    let secret = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ12345678";
    let mut lines: Vec<String> = Vec::new();
    for i in 0..4000 {
        // Lengths vary so that line ends fall at every offset of a buffer.
        let pad = "x".repeat(i % 257);
        lines.push(format!(r#"{{"id":{i},"note":"{pad}","token":"{secret}"}}"#));
        if i % 500 == 7 {
            lines.push(String::new());
        }
        if i == 1999 {
            // Longer than any read buffer, the secret at its very end.
            let long = "y".repeat(700 * 1024);
            lines.push(format!(
                r#"{{"id":"long","text":"{long} api_key={secret}"}}"#
            ));
        }
    }
    let mut body = String::new();
    for (n, l) in lines.iter().enumerate() {
        body.push_str(l);
        body.push_str(if n % 3 == 0 { "\r\n" } else { "\n" });
    }
    body.push_str(r#"{"id":"last","password":"hunter2-but-longer"}"#);
    std::fs::write(&input, &body).unwrap();

    let out_file = tmp.path().join("out.jsonl");
    let out = run(redarc().arg("redact").arg(&input).arg("-o").arg(&out_file));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = std::fs::read_to_string(&out_file).unwrap();
    assert!(!got.contains(secret), "a secret survived");
    assert!(
        !got.contains("hunter2"),
        "the unterminated last record was not redacted"
    );

    let redactor = redarc::Policy::default_policy().compile().unwrap();
    let mut report = redarc::Report::new();
    let mut want = Vec::new();
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        redactor
            .redact_line("events", line.as_bytes(), &mut want, &mut report)
            .unwrap();
        want.push(b'\n');
    }
    assert!(
        got.as_bytes() == want.as_slice(),
        "CLI output differs from the library's"
    );
    assert_eq!(got.lines().count(), 4002);

    // A bad record after the long one is reported by its line number.
    let bad_line = 3000;
    let mut damaged: Vec<&str> = body.split('\n').collect();
    damaged[bad_line - 1] = "{\"id\": oops}";
    std::fs::write(&input, damaged.join("\n")).unwrap();
    let out = run(redarc().arg("redact").arg(&input).arg("-o").arg(&out_file));
    // Bad input is an error (2), not a failed check (1).
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("record {bad_line}:")),
        "{}",
        text(&out.stderr)
    );
}
