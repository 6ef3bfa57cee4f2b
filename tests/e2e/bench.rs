//! `scripts/bench.sh`, the benchmark docs/performance.md shows, run end to
//! end on a small export: every row timed, every figure written.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::text;

#[test]
fn bench_script_times_every_row_and_writes_its_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("bench.json");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The documented command with a small size and the freshly built binary;
    // the 200 MB and 2 GB runs take minutes on an idle machine.
    let out = Command::new("bash")
        .arg(root.join("scripts/bench.sh"))
        .args([
            "--size",
            "2MB",
            "--runs",
            "3",
            "--bin",
            env!("CARGO_BIN_EXE_redarc"),
        ])
        .arg("--json")
        .arg(&json)
        .arg("--tmpdir")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "bench.sh failed: {}\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.contains("| check | value | target | result |"),
        "{stdout}"
    );

    let figures: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(figures["runs"], 3);
    assert!(figures["export_bytes"].as_u64().unwrap() > 1_000_000);
    for row in [
        "pack", "pipe_t1", "pipe_t0", "unpack", "verify", "reverse", "redact",
    ] {
        let c = &figures["commands"][row];
        let runs = c["runs_s"]
            .as_array()
            .unwrap_or_else(|| panic!("{row}: {c}"));
        assert_eq!(runs.len(), 3, "{row}");
        assert!(c["median_s"].as_f64().unwrap() > 0.0, "{row}");
        assert!(c["peak_rss_kib"].as_u64().unwrap() > 0, "{row}");
    }
    assert!(!figures["checks"].as_array().unwrap().is_empty());
    // Nothing left behind but the figures.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("bench.json")], "{left:?}");
}
