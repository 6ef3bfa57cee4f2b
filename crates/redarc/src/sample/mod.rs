//! Synthetic production-like data for demos, tests and benchmarks.
//!
//! The generator writes an export of the kind redarc is built for: one
//! `<entity>.jsonl` file per table of a multi-tenant AI-ops platform, an
//! agent tool-audit store and a JSON-lines application logger. Most records
//! are harmless; about one in ten carries one or more planted secrets, in
//! obvious columns (`password_hash`, `token_data`, `client_secret`) and
//! buried in free text (chat messages with pasted keys, raw tool output
//! with `DATABASE_URL=…` and `Authorization: Bearer …`, log lines whose
//! `data` field holds signed download URLs). Look-alikes that must survive
//! redaction (UUIDs, content hashes, git SHAs, public URLs, vault
//! references, public keys, age recipients, model names …) are planted too.
//!
//! Every planted value is random and synthetic: none is a real credential.
//! When asked, the generator records each one in a [`GroundTruth`] so that
//! tests can measure recall (secrets removed) and damage (look-alikes
//! altered). Output is deterministic for a seed, and fast: a 2 GB export
//! takes seconds, not minutes, on one core.
//!
//! Entities, in [`ENTITIES`] order: `users`, `user_tokens`,
//! `chat_sessions`, `incidents`, `incident_citations`,
//! `llm_usage_tracking`, `tool_audit_events`, `app_logs`, `artifacts`,
//! `grafana_alerts`. `docs/sample-data.md` lists the planted families.
//!
//! # Example
//! ```
//! use redarc::sample::{generate, SampleOptions};
//!
//! let opts = SampleOptions::new(42).target_bytes(300_000);
//! let mut lines = 0u64;
//! let truth = generate(&opts, |_entity, line| {
//!     assert!(line.starts_with(b"{"));
//!     lines += 1;
//!     Ok(())
//! })?;
//! assert_eq!(truth.total_records(), lines);
//! assert!(truth.bytes >= 300_000);
//! assert!(!truth.secrets.is_empty() && !truth.lookalikes.is_empty());
//! # Ok::<(), redarc::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

mod entities;
mod json;
mod rng;
mod secrets;

use entities::Gen;

/// The entities the generator writes, one `<entity>.jsonl` file each.
pub const ENTITIES: [&str; 10] = [
    "users",
    "user_tokens",
    "chat_sessions",
    "incidents",
    "incident_citations",
    "llm_usage_tracking",
    "tool_audit_events",
    "app_logs",
    "artifacts",
    "grafana_alerts",
];

const USERS: usize = 0;
const USER_TOKENS: usize = 1;
const CHAT_SESSIONS: usize = 2;
const INCIDENTS: usize = 3;
const CITATIONS: usize = 4;
const USAGE: usize = 5;
const AUDIT: usize = 6;
const APP_LOGS: usize = 7;
const ARTIFACTS: usize = 8;
const GRAFANA: usize = 9;

const PROVIDERS: &[&str] = &[
    "gcp",
    "aws",
    "azure",
    "github",
    "slack",
    "grafana",
    "datadog",
    "pagerduty",
];

/// What to generate.
///
/// ```
/// let opts = redarc::sample::SampleOptions::new(7)
///     .target_bytes(200 * 1000 * 1000)
///     .record_truth(false);
/// assert_eq!(opts.seed, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SampleOptions {
    /// Seed of the generator: the same seed and size give the same bytes.
    pub seed: u64,
    /// Approximate total size of the export in bytes. Generation stops at
    /// the first tenant boundary past it, so the export overshoots by at
    /// most one tenant's data (a few hundred kilobytes).
    pub target_bytes: u64,
    /// Whether to keep every planted value in the [`GroundTruth`]. Turn it
    /// off for large benchmark exports: counts are kept either way.
    pub record_truth: bool,
}

impl Default for SampleOptions {
    /// Seed 0, about 5 MB, ground truth recorded.
    fn default() -> SampleOptions {
        SampleOptions {
            seed: 0,
            target_bytes: 5_000_000,
            record_truth: true,
        }
    }
}

impl SampleOptions {
    /// Default options with the given seed.
    pub fn new(seed: u64) -> SampleOptions {
        SampleOptions {
            seed,
            ..SampleOptions::default()
        }
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> SampleOptions {
        self.seed = seed;
        self
    }

    /// Sets the approximate total size in bytes.
    pub fn target_bytes(mut self, bytes: u64) -> SampleOptions {
        self.target_bytes = bytes;
        self
    }

    /// Sets whether planted values are recorded.
    pub fn record_truth(mut self, yes: bool) -> SampleOptions {
        self.record_truth = yes;
        self
    }
}

/// One planted value.
///
/// The values are synthetic, so `Debug` shows them; they are exactly what
/// tests compare against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planted {
    /// Entity (file stem) of the record.
    pub entity: String,
    /// 0-based line index of the record in its entity file.
    pub record: u64,
    /// Family, e.g. `aws_secret_access_key`, `s3_presigned_signature`, `uuid`.
    pub family: String,
    /// The exact substring of the JSONL line that must not survive redaction
    /// (a secret: for partial redaction only its secret part, such as the
    /// password of a connection string or the signature of a URL; for a PEM
    /// block one of its body lines) or must survive verbatim (a look-alike).
    /// Never contains characters JSON escapes, so it occurs verbatim in the
    /// line however deeply it sits in strings that are themselves JSON.
    pub value: String,
}

/// What was generated, and, when recorded, every planted value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroundTruth {
    /// The seed used.
    pub seed: u64,
    /// Record count per entity.
    pub records: BTreeMap<String, u64>,
    /// Total bytes written (all entity files, newlines included).
    pub bytes: u64,
    /// Records holding at least one planted secret.
    pub records_with_secrets: u64,
    /// Number of secrets planted (counted even when not recorded).
    pub secrets_planted: u64,
    /// Number of look-alikes planted (counted even when not recorded).
    pub lookalikes_planted: u64,
    /// Planted secrets; empty unless [`SampleOptions::record_truth`].
    pub secrets: Vec<Planted>,
    /// Planted look-alikes; empty unless [`SampleOptions::record_truth`].
    pub lookalikes: Vec<Planted>,
}

impl GroundTruth {
    /// Total records over all entities.
    pub fn total_records(&self) -> u64 {
        self.records.values().sum()
    }

    /// Recorded secrets counted per family.
    pub fn secret_families(&self) -> BTreeMap<&str, u64> {
        count_families(&self.secrets)
    }

    /// Recorded look-alikes counted per family.
    pub fn lookalike_families(&self) -> BTreeMap<&str, u64> {
        count_families(&self.lookalikes)
    }
}

fn count_families(v: &[Planted]) -> BTreeMap<&str, u64> {
    let mut m = BTreeMap::new();
    for p in v {
        *m.entry(p.family.as_str()).or_insert(0) += 1;
    }
    m
}

/// Generates an export in memory, handing each record to `sink` as
/// `(entity, line)` with `line` one JSON object without its newline.
///
/// # Errors
/// Whatever `sink` returns; generation stops at the first error.
pub fn generate<F>(opts: &SampleOptions, mut sink: F) -> Result<GroundTruth>
where
    F: FnMut(&str, &[u8]) -> Result<()>,
{
    generate_indexed(opts, |e, line| sink(ENTITIES[e], line))
}

/// Writes an export into `dir` (created if missing): one `<entity>.jsonl`
/// per entry of [`ENTITIES`], one JSON object per `\n`-terminated line.
/// Existing files of those names are replaced; nothing else is touched.
///
/// # Errors
/// [`Error::Io`] when the directory or a file cannot be created or written.
pub fn generate_dir(dir: &Path, opts: &SampleOptions) -> Result<GroundTruth> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io_path("creating", dir, e))?;
    let mut files: Vec<(PathBuf, BufWriter<File>)> = Vec::with_capacity(ENTITIES.len());
    for name in ENTITIES {
        let path = dir.join(format!("{name}.jsonl"));
        let f = File::create(&path).map_err(|e| Error::io_path("creating", &path, e))?;
        files.push((path, BufWriter::with_capacity(1 << 20, f)));
    }
    let truth = generate_indexed(opts, |e, line| {
        // `e` indexes ENTITIES, and `files` has one entry per entity.
        let (path, w) = &mut files[e];
        w.write_all(line)
            .and_then(|()| w.write_all(b"\n"))
            .map_err(|err| Error::io_path("writing", path, err))
    })?;
    for (path, w) in files {
        let f = w
            .into_inner()
            .map_err(|e| Error::io_path("writing", &path, e.into_error()))?;
        f.sync_all()
            .map_err(|e| Error::io_path("syncing", &path, e))?;
    }
    Ok(truth)
}

struct Driver<F> {
    g: Gen,
    truth: GroundTruth,
    counts: [u64; ENTITIES.len()],
    sink: F,
}

impl<F: FnMut(usize, &[u8]) -> Result<()>> Driver<F> {
    /// Hands the record in `g.j` to the sink and files its planted values.
    fn emit(&mut self, e: usize) -> Result<()> {
        (self.sink)(e, self.g.j.s.as_bytes())?;
        self.truth.bytes += self.g.j.s.len() as u64 + 1;
        let record = self.counts[e];
        self.counts[e] += 1;
        if self.g.rec_secrets > 0 {
            self.truth.records_with_secrets += 1;
        }
        self.truth.secrets_planted += self.g.rec_secrets;
        self.truth.lookalikes_planted += self.g.rec_looks;
        self.g.rec_secrets = 0;
        self.g.rec_looks = 0;
        for m in self.g.marks.drain(..) {
            let p = Planted {
                entity: ENTITIES[e].to_string(),
                record,
                family: m.family.to_string(),
                value: m.value,
            };
            if m.secret {
                self.truth.secrets.push(p);
            } else {
                self.truth.lookalikes.push(p);
            }
        }
        Ok(())
    }

    /// One tenant: a user, their provider tokens, incidents with tool
    /// output and artifacts, chat sessions with usage records, and the
    /// audit events, logs and alerts around them.
    fn tenant(&mut self, uid: u64) -> Result<()> {
        let email = self.g.user(uid);
        self.emit(USERS)?;
        let mut any = false;
        for (k, p) in PROVIDERS.iter().enumerate() {
            let last = k + 1 == PROVIDERS.len();
            if self.g.r.chance(0.3) || (last && !any) {
                any = true;
                self.g.user_token(uid, p, &email);
                self.emit(USER_TOKENS)?;
            }
        }
        let mut incidents: Vec<String> = Vec::new();
        for _ in 0..self.g.r.range(1, 3) {
            let id = self.g.r.uuid();
            let merged = match incidents.first() {
                Some(first) if self.g.r.chance(0.15) => Some(first.clone()),
                _ => None,
            };
            self.g.incident(uid, &id, merged.as_deref());
            self.emit(INCIDENTS)?;
            for key in 1..=self.g.r.usize(2, 6) {
                self.g.citation(&id, key);
                self.emit(CITATIONS)?;
            }
            for _ in 0..self.g.r.range(1, 4) {
                self.g.artifact(uid, &id);
                self.emit(ARTIFACTS)?;
            }
            incidents.push(id);
        }
        for _ in 0..self.g.r.range(2, 6) {
            let incident = if self.g.r.chance(0.4) {
                let k = self.g.r.below(incidents.len() as u64) as usize;
                incidents.get(k).cloned()
            } else {
                None
            };
            let session = self.g.chat_session(uid, incident.as_deref());
            self.emit(CHAT_SESSIONS)?;
            for _ in 0..self.g.r.range(3, 8) {
                self.g.usage(uid, &session);
                self.emit(USAGE)?;
            }
        }
        let ws = format!("ws_{}", self.g.r.chars(rng::LOWER_ALNUM, 10));
        for _ in 0..self.g.r.range(40, 80) {
            self.g.audit(uid, &ws);
            self.emit(AUDIT)?;
        }
        for _ in 0..self.g.r.range(50, 110) {
            self.g.log();
            self.emit(APP_LOGS)?;
        }
        for _ in 0..self.g.r.range(0, 3) {
            self.g.grafana(uid);
            self.emit(GRAFANA)?;
        }
        Ok(())
    }
}

fn generate_indexed<F>(opts: &SampleOptions, sink: F) -> Result<GroundTruth>
where
    F: FnMut(usize, &[u8]) -> Result<()>,
{
    let mut d = Driver {
        g: Gen::new(opts.seed, opts.record_truth),
        truth: GroundTruth {
            seed: opts.seed,
            ..GroundTruth::default()
        },
        counts: [0; ENTITIES.len()],
        sink,
    };
    let mut uid = 1000;
    loop {
        uid += 1;
        d.tenant(uid)?;
        if d.truth.bytes >= opts.target_bytes {
            break;
        }
    }
    for (name, n) in ENTITIES.iter().zip(d.counts) {
        d.truth.records.insert((*name).to_string(), n);
    }
    Ok(d.truth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn in_memory(opts: &SampleOptions) -> (Vec<Vec<String>>, GroundTruth) {
        let mut lines = vec![Vec::new(); ENTITIES.len()];
        let truth = generate_indexed(opts, |e, l| {
            lines[e].push(String::from_utf8(l.to_vec()).unwrap());
            Ok(())
        })
        .unwrap();
        (lines, truth)
    }

    fn digest(opts: &SampleOptions) -> Vec<u8> {
        let mut h = Sha256::new();
        generate_indexed(opts, |e, l| {
            h.update([e as u8]);
            h.update(l);
            Ok(())
        })
        .unwrap();
        h.finalize().to_vec()
    }

    #[test]
    fn deterministic_for_a_seed_and_independent_of_truth_recording() {
        let a = SampleOptions::new(3).target_bytes(400_000);
        assert_eq!(digest(&a), digest(&a));
        assert_eq!(digest(&a), digest(&a.clone().record_truth(false)));
        assert_ne!(digest(&a), digest(&a.clone().seed(4)));
        let (_, t1) = in_memory(&a);
        let (_, t2) = in_memory(&a);
        assert_eq!(t1, t2);
    }

    #[test]
    fn every_line_is_a_json_object_and_every_planted_value_is_in_its_record() {
        let (lines, truth) = in_memory(&SampleOptions::new(5).target_bytes(2_000_000));
        for (e, ls) in lines.iter().enumerate() {
            assert!(!ls.is_empty(), "{} is empty", ENTITIES[e]);
            assert_eq!(truth.records[ENTITIES[e]], ls.len() as u64);
            for l in ls {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert!(v.is_object());
                assert!(!l.contains('\n'));
            }
        }
        assert_eq!(truth.secrets.len() as u64, truth.secrets_planted);
        assert_eq!(truth.lookalikes.len() as u64, truth.lookalikes_planted);
        for p in truth.secrets.iter().chain(&truth.lookalikes) {
            let e = ENTITIES.iter().position(|n| *n == p.entity).unwrap();
            let line = &lines[e][p.record as usize];
            assert!(
                line.contains(&p.value),
                "{} {} {}: {}",
                p.entity,
                p.record,
                p.family,
                p.value
            );
        }
    }

    #[test]
    fn secrets_and_lookalikes_never_overlap_within_a_record() {
        // A look-alike inside a planted secret (or the reverse) would make
        // recall and survival contradict each other.
        let (_, truth) = in_memory(&SampleOptions::new(9).target_bytes(1_000_000));
        for s in &truth.secrets {
            for l in truth
                .lookalikes
                .iter()
                .filter(|l| l.entity == s.entity && l.record == s.record)
            {
                assert!(
                    !s.value.contains(&l.value) && !l.value.contains(&s.value),
                    "{} / {}",
                    s.family,
                    l.family
                );
            }
        }
    }

    #[test]
    fn size_roughly_hits_the_target() {
        for target in [1_000_000u64, 3_000_000] {
            let (lines, truth) = in_memory(
                &SampleOptions::new(1)
                    .target_bytes(target)
                    .record_truth(false),
            );
            let actual: u64 = lines.iter().flatten().map(|l| l.len() as u64 + 1).sum();
            assert_eq!(actual, truth.bytes);
            assert!(
                truth.bytes >= target && truth.bytes < target + 500_000,
                "{target}: {}",
                truth.bytes
            );
            assert!(truth.secrets.is_empty() && truth.secrets_planted > 0);
        }
    }

    #[test]
    fn secrets_sit_in_a_realistic_fraction_of_records() {
        let (lines, truth) = in_memory(&SampleOptions::new(2).target_bytes(3_000_000));
        let frac = truth.records_with_secrets as f64 / truth.total_records() as f64;
        assert!((0.05..=0.15).contains(&frac), "{frac}");
        let sizes: Vec<usize> = lines.iter().flatten().map(String::len).collect();
        let typical = sizes.iter().filter(|n| (250..=3500).contains(*n)).count();
        assert!(typical as f64 / sizes.len() as f64 > 0.85);
        // Every family is exercised by a few megabytes.
        assert!(
            truth.secret_families().len() >= 45,
            "{:?}",
            truth.secret_families()
        );
    }

    #[test]
    fn generate_dir_writes_one_jsonl_file_per_entity() {
        let dir = tempfile::tempdir().unwrap();
        let truth = generate_dir(dir.path(), &SampleOptions::new(8).target_bytes(200_000)).unwrap();
        let mut total = 0;
        for name in ENTITIES {
            let text = std::fs::read_to_string(dir.path().join(format!("{name}.jsonl"))).unwrap();
            assert!(text.ends_with('\n'));
            assert_eq!(text.lines().count() as u64, truth.records[name]);
            total += text.len() as u64;
        }
        assert_eq!(total, truth.bytes);
    }
}
