//! Recall and damage of the default policy on the generated export.
//!
//! The generator records every planted secret and look-alike with the
//! record it sits in. A secret counts as caught when its value no longer
//! occurs in that record's redacted line; a look-alike survives when its
//! value still occurs verbatim. Every output line must be valid JSON and
//! every entity keep its record count.

// Helpers of a test: a panic there is a failed test, not a crash on input.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use redarc::sample::{generate_dir, GroundTruth, Planted, SampleOptions, ENTITIES};
use redarc::{Policy, Report};

/// What redacting a generated export did, measured against its truth.
#[derive(Debug, Default)]
struct Measured {
    /// family → (planted, caught)
    secrets: BTreeMap<String, (u64, u64)>,
    /// family → (planted, survived)
    lookalikes: BTreeMap<String, (u64, u64)>,
    records_in: u64,
    records_out: u64,
    /// Output lines that are not one JSON value, or whose redaction failed.
    invalid_lines: u64,
}

impl Measured {
    fn totals(m: &BTreeMap<String, (u64, u64)>) -> (u64, u64) {
        m.values().fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
    }

    fn recall(&self) -> f64 {
        let (n, k) = Self::totals(&self.secrets);
        k as f64 / n.max(1) as f64
    }

    fn survival(&self) -> f64 {
        let (n, k) = Self::totals(&self.lookalikes);
        k as f64 / n.max(1) as f64
    }

    fn print(&self) {
        let (sn, sk) = Self::totals(&self.secrets);
        let (ln, lk) = Self::totals(&self.lookalikes);
        println!(
            "records in {} out {}, invalid output lines {}",
            self.records_in, self.records_out, self.invalid_lines
        );
        println!(
            "recall   {:.4} ({sk}/{sn} planted secrets removed)",
            self.recall()
        );
        println!(
            "survival {:.4} ({lk}/{ln} look-alikes untouched)",
            self.survival()
        );
        println!(
            "{:<30} {:>8} {:>8} {:>8}",
            "secret family", "planted", "caught", "missed"
        );
        for (f, (n, k)) in &self.secrets {
            println!("{f:<30} {n:>8} {k:>8} {:>8}", n - k);
        }
        println!(
            "{:<30} {:>8} {:>8} {:>8}",
            "look-alike family", "planted", "intact", "damaged"
        );
        for (f, (n, k)) in &self.lookalikes {
            println!("{f:<30} {n:>8} {k:>8} {:>8}", n - k);
        }
    }
}

/// Runs `redact(entity, line, out)` over every line of the export in `dir`
/// and measures the result against `truth`.
fn measure<F>(dir: &Path, truth: &GroundTruth, mut redact: F) -> Measured
where
    F: FnMut(&str, &[u8], &mut Vec<u8>) -> redarc::Result<()>,
{
    let mut m = Measured::default();
    let mut outputs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for entity in ENTITIES {
        let data = std::fs::read(dir.join(format!("{entity}.jsonl"))).unwrap();
        let mut lines_out = Vec::new();
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            m.records_in += 1;
            let mut out = Vec::with_capacity(line.len());
            if redact(entity, line, &mut out).is_err()
                || serde_json::from_slice::<serde_json::Value>(&out).is_err()
            {
                m.invalid_lines += 1;
            }
            lines_out.push(String::from_utf8_lossy(&out).into_owned());
        }
        assert_eq!(
            lines_out.len() as u64,
            truth.records[entity],
            "{entity}: input record count"
        );
        m.records_out += lines_out.len() as u64;
        outputs.insert(entity, lines_out);
    }
    let present = |p: &Planted| {
        outputs
            .get(p.entity.as_str())
            .and_then(|ls| ls.get(p.record as usize))
            .is_some_and(|l| l.contains(&p.value))
    };
    for p in &truth.secrets {
        let e = m.secrets.entry(p.family.clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(!present(p));
    }
    for p in &truth.lookalikes {
        let e = m.lookalikes.entry(p.family.clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(present(p));
    }
    m
}

fn export(seed: u64, bytes: u64) -> (tempfile::TempDir, GroundTruth) {
    let dir = tempfile::tempdir().unwrap();
    let truth = generate_dir(dir.path(), &SampleOptions::new(seed).target_bytes(bytes)).unwrap();
    (dir, truth)
}

#[test]
fn default_policy_recall_and_damage_on_the_generated_export() {
    // REDARC_RECALL_SEED and REDARC_RECALL_BYTES measure other or larger
    // exports (scripts/recall.sh); the defaults keep the test quick.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (dir, truth) = export(
        env("REDARC_RECALL_SEED", 2024),
        env("REDARC_RECALL_BYTES", 4_000_000),
    );
    let redactor = Policy::default_policy().compile().unwrap();
    let mut report = Report::new();
    let m = measure(dir.path(), &truth, |entity, line, out| {
        redactor.redact_line(entity, line, out, &mut report)
    });
    m.print();
    assert_eq!(m.records_out, m.records_in);
    assert_eq!(m.invalid_lines, 0, "every output record must be valid JSON");
    assert!(
        m.survival() >= 0.99,
        "look-alike survival {:.4} < 0.99",
        m.survival()
    );
    assert!(m.recall() >= 0.995, "recall {:.4} < 0.995", m.recall());
}

#[test]
fn measurement_counts_everything_caught_when_everything_is_removed() {
    let (dir, truth) = export(1, 300_000);
    let m = measure(dir.path(), &truth, |_, _, out| {
        out.extend_from_slice(b"{}");
        Ok(())
    });
    assert_eq!(m.recall(), 1.0);
    assert_eq!(m.survival(), 0.0);
    assert_eq!(m.invalid_lines, 0);
    assert_eq!(m.records_out, truth.total_records());
    assert_eq!(Measured::totals(&m.secrets).0, truth.secrets.len() as u64);
}

#[test]
fn measurement_counts_nothing_caught_when_nothing_is_removed() {
    let (dir, truth) = export(1, 300_000);
    let m = measure(dir.path(), &truth, |_, line, out| {
        out.extend_from_slice(line);
        Ok(())
    });
    assert_eq!(m.recall(), 0.0);
    assert_eq!(m.survival(), 1.0);
    assert_eq!(m.invalid_lines, 0);
}

#[test]
fn measurement_flags_broken_output_and_partial_redaction() {
    let (dir, truth) = export(1, 300_000);
    // Break every line, and remove exactly the first planted secret.
    let first = truth.secrets[0].clone();
    let m = measure(dir.path(), &truth, |entity, line, out| {
        let text = String::from_utf8_lossy(line);
        if entity == first.entity && text.contains(&first.value) {
            out.extend_from_slice(text.replace(&first.value, "[REDACTED:x]").as_bytes());
        } else {
            out.extend_from_slice(&line[..line.len() - 1]);
        }
        Ok(())
    });
    assert!(m.invalid_lines > 0);
    assert!(m.recall() > 0.0 && m.recall() < 0.05);
}
