//! Redaction throughput on one core.
//!
//! `cargo run --release -p redarc --example redact_throughput -- FILE_OR_DIR [POLICY]`
//!
//! Reads every `.jsonl` file given (or in the directory) into memory, then
//! times the default policy (or POLICY) over all records, several rounds,
//! and prints MB/s of input (per entity too when `REDACT_BY_ENTITY` is set).
//! No timing assertions: this is a measuring tool.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let input = PathBuf::from(
        args.next()
            .ok_or("usage: redact_throughput FILE_OR_DIR [POLICY]")?,
    );
    let policy = match args.next() {
        Some(p) => redarc::Policy::from_path(Path::new(&p))?,
        None => redarc::Policy::default_policy(),
    };
    let redactor = policy.compile()?;

    let mut files = Vec::new();
    if input.is_dir() {
        for e in std::fs::read_dir(&input)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "jsonl") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(input);
    }
    let mut data = Vec::new();
    for f in &files {
        let entity = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        data.push((entity, std::fs::read(f)?));
    }
    let bytes: usize = data.iter().map(|(_, d)| d.len()).sum();

    let mut out = Vec::with_capacity(bytes + bytes / 8);
    let mut best = f64::MAX;
    let mut rounds = Vec::new();
    // Best time per entity over the rounds, to show where time goes.
    let mut best_entity = vec![f64::MAX; data.len()];
    let mut report = redarc::Report::new();
    for _round in 0..5 {
        report = redarc::Report::new();
        let start = Instant::now();
        for (i, (entity, d)) in data.iter().enumerate() {
            let entity_start = Instant::now();
            out.clear();
            // Lines are found with memchr, as the CLI's buffered reader does,
            // so that splitting costs what it costs in `pack`.
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', d).chain(std::iter::once(d.len())) {
                let line = &d[start..end];
                start = end + 1;
                if line.is_empty() {
                    continue;
                }
                redactor.redact_line(entity, line, &mut out, &mut report)?;
                out.push(b'\n');
            }
            best_entity[i] = best_entity[i].min(entity_start.elapsed().as_secs_f64());
        }
        let took = start.elapsed().as_secs_f64();
        best = best.min(took);
        rounds.push(took);
    }
    if std::env::var_os("REDACT_BY_ENTITY").is_some() {
        for ((entity, d), t) in data.iter().zip(&best_entity) {
            let mb = d.len() as f64 / 1e6;
            eprintln!("{entity:>24} {mb:>8.1} MB {t:>7.3} s {:>6.0} MB/s", mb / t);
        }
    }
    let mb = bytes as f64 / 1e6;
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    println!(
        "{} files, {:.1} MB, {} values redacted; 5 rounds: median {:.3} s = {:.0} MB/s, best {:.3} s = {:.0} MB/s (one core)",
        data.len(),
        mb,
        report.total(),
        median,
        mb / median,
        best,
        mb / best
    );
    Ok(())
}
