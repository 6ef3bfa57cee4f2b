//! `redarc demo`: the main job on a generated export, end to end —
//! generate, redact and pack with a fresh key, verify, and say what is where.

use std::path::PathBuf;

use redarc::format::Timestamp;
use redarc::sample::{generate_dir, SampleOptions};
use redarc::{Error, ReadLimits};

use crate::archive_cmd::{pack_dir, ArchiveSummary, PackArgs};
use crate::output::{print_json, OutputFormat};

/// Arguments of `redarc demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Directory for the demo's files; each run makes a new run-`<time>` directory inside.
    #[arg(long, default_value = "redarc-demo")]
    pub(crate) dir: PathBuf,
    /// Approximate size of the generated export, in bytes.
    #[arg(long, default_value_t = 2_000_000)]
    pub(crate) size: u64,
    /// Output format: the guided tour, or one JSON document saying what is where.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
}

pub(crate) fn demo(args: &DemoArgs) -> redarc::Result<i32> {
    let now = Timestamp::now();
    let run = args.dir.join(format!("run-{}", now.compact()));
    std::fs::create_dir_all(&run).map_err(|e| Error::io_path("creating", &run, e))?;
    let run = run
        .canonicalize()
        .map_err(|e| Error::io_path("resolving", &run, e))?;

    // 1. A realistic export with secrets planted where production data hides them.
    let export = run.join("export");
    let truth = generate_dir(
        &export,
        &SampleOptions::new(now.unix() as u64).target_bytes(args.size),
    )?;

    // 2. A fresh identity.
    let key = run.join("key.txt");
    let ids = redarc::Identities::generate_x25519();
    crate::keys::write_secret_file(&key, ids.to_identity_file(&now.to_string()).as_bytes())?;
    let recipient = ids.recipients().join("");

    // 3. Pack with the default redaction policy.
    let archive = run.join(format!("demo-{}.tar.zst.age", now.compact()));
    let pack = PackArgs::for_demo(export.clone(), archive.clone(), recipient);
    let packed = pack_dir(&pack)?;

    // 4. Verify it from scratch, as a restore would.
    let file = std::fs::File::open(&archive).map_err(|e| Error::io_path("opening", &archive, e))?;
    let report = redarc::verify(std::io::BufReader::new(file), &ids, ReadLimits::default())?;
    report.to_result()?;

    let m = &packed.manifest;
    if args.format == OutputFormat::Json {
        let mut doc = serde_json::json!({
            "run": run.display().to_string(),
            "export": export.display().to_string(),
            "identity_file": key.display().to_string(),
            "archive": archive.display().to_string(),
            "archive_bytes": packed.archive_bytes,
            "transport_sha256": format!("sha256:{}", packed.transport_sha256),
            "secrets_planted": truth.secrets_planted,
            "valid": report.valid,
            "checks_passed": report.checks.iter().filter(|c| c.passed).count(),
            "redaction": m.redaction.as_ref().map(|r| serde_json::json!({
                "policy": r.policy,
                "total": r.total,
            })),
        });
        // The manifest summary's fields, named as in pack's and verify's reports.
        if let (Some(doc), Ok(serde_json::Value::Object(summary))) = (
            doc.as_object_mut(),
            serde_json::to_value(ArchiveSummary::of(m)),
        ) {
            doc.extend(summary);
        }
        print_json(&doc)?;
        return Ok(if report.valid { 0 } else { 1 });
    }
    outln!("redarc demo: a generated export, redacted, packed, encrypted and verified\n")?;
    outln!(
        "  export      {}  ({} records, {} bytes, {} secrets planted)",
        crate::shown(&export).display(),
        truth.total_records(),
        truth.bytes,
        truth.secrets_planted
    )?;
    outln!("  identity    {}", crate::shown(&key).display())?;
    outln!(
        "  archive     {}  ({} bytes, zstd + age)",
        crate::shown(&archive).display(),
        packed.archive_bytes
    )?;
    outln!("  transport   sha256:{}", packed.transport_sha256)?;
    outln!(
        "  verified    {} ({} checks passed)\n",
        if report.valid { "valid" } else { "INVALID" },
        report.checks.iter().filter(|c| c.passed).count()
    )?;
    outln!(
        "  {:<22} {:>8} {:>12} {:>6}",
        "entity",
        "records",
        "bytes",
        "parts"
    )?;
    for e in &m.entities {
        outln!(
            "  {:<22} {:>8} {:>12} {:>6}",
            e.name,
            e.records,
            e.bytes,
            e.parts.len()
        )?;
    }
    if let Some(r) = &m.redaction {
        let mut by_rule = std::collections::BTreeMap::<&str, u64>::new();
        for c in &r.counts {
            *by_rule.entry(c.rule.as_str()).or_default() += c.count;
        }
        let mut top: Vec<_> = by_rule.into_iter().collect();
        top.sort_by_key(|b| std::cmp::Reverse(b.1));
        let shown: Vec<String> = top
            .iter()
            .take(8)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        outln!(
            "\n  redaction   policy {}: {} values changed{}{}",
            r.policy,
            r.total,
            if shown.is_empty() { "" } else { "; most: " },
            shown.join(", ")
        )?;
    }
    outln!("\nOpen it with redarc, or with the standard tools alone:")?;
    outln!(
        "  redarc verify {} -i {}",
        crate::shown(&archive).display(),
        crate::shown(&key).display()
    )?;
    outln!(
        "  age -d -i {} {} | zstd -d | tar -xf - && sha256sum -c SHA256SUMS",
        crate::shown(&key).display(),
        crate::shown(&archive).display()
    )?;
    Ok(if report.valid { 0 } else { 1 })
}
