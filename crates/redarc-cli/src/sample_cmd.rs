//! `redarc sample DIR`: writes a synthetic production-like export (one
//! `<entity>.jsonl` per entity) with planted secrets and look-alikes, for
//! demos, tests and benchmarks.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use redarc::sample::{generate_dir, SampleOptions, ENTITIES};
use redarc::Error;

use crate::output::{print_json, OutputFormat};

/// Arguments of `redarc sample`.
#[derive(Debug, clap::Args)]
pub(crate) struct SampleArgs {
    /// Directory to write the entity files into; created if missing, and
    /// refused unless empty.
    #[arg(value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Seed of the generator: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Approximate total size: bytes, or with a unit (5MB, 200MB, 2GB, 512KiB).
    #[arg(long, default_value = "5MB", value_parser = parse_size)]
    pub(crate) size: u64,
    /// Also write the ground truth (every planted secret and look-alike) as
    /// JSON to FILE. It holds the planted values: keep it beside the data.
    #[arg(long, value_name = "FILE")]
    pub(crate) truth: Option<PathBuf>,
    /// Output format: a summary line, or one JSON document with the counts
    /// per entity (never the planted values: those go only to --truth).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

/// Runs `redarc sample`; returns the exit code.
pub(crate) fn sample(args: &SampleArgs) -> redarc::Result<i32> {
    match std::fs::read_dir(&args.dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "{} is not empty; give a new or empty directory",
                    args.dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Io {
                context: format!("reading {}", args.dir.display()),
                source: e,
            })
        }
    }
    let started = Instant::now();
    let opts = SampleOptions::new(args.seed)
        .target_bytes(args.size)
        .record_truth(args.truth.is_some());
    let truth = generate_dir(&args.dir, &opts)?;
    if let Some(path) = &args.truth {
        let io = |source| Error::Io {
            context: format!("writing {}", path.display()),
            source,
        };
        let f = File::create(path).map_err(io)?;
        let mut w = BufWriter::new(f);
        serde_json::to_writer_pretty(&mut w, &truth).map_err(|e| io(e.into()))?;
        w.write_all(b"\n").and_then(|()| w.flush()).map_err(io)?;
    }
    let secs = started.elapsed().as_secs_f64();
    if args.format == OutputFormat::Json {
        // Built field by field: GroundTruth also holds the planted values.
        print_json(&serde_json::json!({
            "dir": args.dir.display().to_string(),
            "seed": truth.seed,
            "records": truth.total_records(),
            "bytes": truth.bytes,
            "entities": truth
                .records
                .iter()
                .map(|(name, records)| serde_json::json!({"name": name, "records": records}))
                .collect::<Vec<_>>(),
            "secrets_planted": truth.secrets_planted,
            "records_with_secrets": truth.records_with_secrets,
            "lookalikes_planted": truth.lookalikes_planted,
            "truth_file": args.truth.as_ref().map(|p| p.display().to_string()),
            "seconds": (secs * 1000.0).round() / 1000.0,
        }))?;
        return Ok(0);
    }
    println!(
        "sample: {} entities, {} records, {} bytes, {} secrets planted in {} records, {} look-alikes, seed {}, {:.1}s ({:.0} MB/s) -> {}",
        ENTITIES.len(),
        truth.total_records(),
        truth.bytes,
        truth.secrets_planted,
        truth.records_with_secrets,
        truth.lookalikes_planted,
        truth.seed,
        secs,
        truth.bytes as f64 / 1e6 / secs.max(1e-9),
        args.dir.display()
    );
    Ok(0)
}

/// Parses `5MB`, `200MB`, `2GB` (powers of 1000), `512KiB`, `1GiB`
/// (powers of 1024) or a plain number of bytes.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected e.g. 5MB, 200MB, 2GB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "invalid size unit in {s:?}: use B, KB, MB, GB, KiB, MiB or GiB"
            ))
        }
    };
    let bytes = n * mult;
    if !(1.0..=1e13).contains(&bytes) {
        return Err(format!("size {s:?} is out of range (1 byte to 10 TB)"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("200mb"), Ok(200_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("512KiB"), Ok(524_288));
        assert_eq!(parse_size("12345"), Ok(12_345));
        assert!(parse_size("5XB").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn writes_into_an_empty_dir_with_truth_and_refuses_a_non_empty_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export");
        let truth = tmp.path().join("truth.json");
        let args = SampleArgs {
            dir: dir.clone(),
            seed: 1,
            size: 200_000,
            truth: Some(truth.clone()),
            format: OutputFormat::Text,
        };
        assert_eq!(sample(&args).unwrap(), 0);
        for e in ENTITIES {
            assert!(dir.join(format!("{e}.jsonl")).is_file());
        }
        let t: redarc::sample::GroundTruth =
            serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
        assert!(!t.secrets.is_empty());
        let again = sample(&args).unwrap_err();
        assert!(matches!(again, Error::Usage(_)));
    }
}
