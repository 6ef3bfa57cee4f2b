//! Archive round trips, determinism and rejection of damaged archives.

use std::io::{Cursor, Read};

use proptest::prelude::*;
use redarc::format::Timestamp;
use redarc::{
    ArchiveProblem, ArchiveReader, CheckLevel, Error, ExportOptions, ExportWriter, Identities,
    ReadLimits, Recipients,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    email: String,
    tags: Vec<String>,
}

fn key() -> (Identities, Recipients) {
    let ids = Identities::generate_x25519();
    let r = Recipients::parse(&ids.recipients()).unwrap();
    (ids, r)
}

fn fixed_time() -> Timestamp {
    Timestamp::parse("2026-11-23T10:00:00Z").unwrap()
}

/// Writes `entities` (name, JSON lines) with `part_size` and returns the archive bytes.
fn write(recipients: &Recipients, entities: &[(String, Vec<String>)], part_size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let opts = ExportOptions::new("test")
        .generated_at(fixed_time())
        .part_size(part_size);
    let mut export = ExportWriter::new(&mut out, recipients, opts).unwrap();
    for (name, lines) in entities {
        let mut e = export.entity(name).unwrap();
        for line in lines {
            e.write_json_line(line.as_bytes()).unwrap();
        }
        e.finish().unwrap();
    }
    export.finish().unwrap();
    out
}

/// The plaintext tar of an archive, decrypted and decompressed with the
/// age and zstd crates directly (not through redarc).
fn plaintext(archive: &[u8], ids: &Identities) -> Vec<u8> {
    let text = ids.to_identity_file("x");
    let id: age::x25519::Identity = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let dec = age::Decryptor::new(archive).unwrap();
    let mut r = dec
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap();
    let mut zst = Vec::new();
    r.read_to_end(&mut zst).unwrap();
    zstd::decode_all(&zst[..]).unwrap()
}

fn sample_entities() -> Vec<(String, Vec<String>)> {
    vec![
        (
            "users".to_string(),
            (0..50)
                .map(|i| format!(r#"{{"id":{i},"email":"u{i}@example.com","tags":["a","b"]}}"#))
                .collect(),
        ),
        ("empty".to_string(), vec![]),
        (
            "events".to_string(),
            (0..20)
                .map(|i| format!(r#"{{"n":{i},"text":"line {i}"}}"#))
                .collect(),
        ),
    ]
}

#[test]
fn typed_round_trip_with_parts_and_omissions() {
    let (ids, r) = key();
    let users: Vec<User> = (0..100)
        .map(|i| User {
            id: i,
            email: format!("user{i}@example.com"),
            tags: vec!["x".repeat(i as usize % 7)],
        })
        .collect();
    let mut out = Vec::new();
    let mut export = ExportWriter::new(
        &mut out,
        &r,
        ExportOptions::new("staging")
            .source_version("abc123")
            .part_size(500),
    )
    .unwrap();
    let mut e = export.entity("users").unwrap();
    for u in &users {
        e.write(u).unwrap();
    }
    e.finish().unwrap();
    export
        .omit("sessions", "live sessions are never exported")
        .unwrap();
    let manifest = export.finish().unwrap();
    let entity = manifest.entity("users").unwrap();
    assert_eq!(entity.records, 100);
    assert!(
        entity.parts.len() > 5,
        "500-byte parts must split 100 records"
    );
    assert!(entity.parts.iter().all(|p| p.bytes <= 500));
    assert_eq!(manifest.omitted[0].name, "sessions");
    assert_eq!(manifest.source_version.as_deref(), Some("abc123"));

    let mut reader = ArchiveReader::open(Cursor::new(out), &ids).unwrap();
    assert_eq!(reader.manifest(), &manifest);
    let back: Vec<User> = reader
        .records("users")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, users);
    // A second pass works too, and an unknown entity is a usage error.
    assert_eq!(reader.records::<User>("users").unwrap().count(), 100);
    assert!(matches!(
        reader.records::<User>("nope"),
        Err(Error::Usage(_))
    ));
}

#[test]
fn same_input_gives_identical_plaintext() {
    let (ids, r) = key();
    let a = write(&r, &sample_entities(), 300);
    let b = write(&r, &sample_entities(), 300);
    assert_ne!(a, b, "encryption must never be deterministic");
    let (pa, pb) = (plaintext(&a, &ids), plaintext(&b, &ids));
    assert_eq!(pa, pb);
    // Fixed metadata: every header has mtime = generated_at, mode 0644, uid/gid 0.
    let mut tar = tar::Archive::new(&pa[..]);
    let names: Vec<String> = tar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(h.mtime().unwrap(), fixed_time().unix() as u64);
            assert_eq!(h.mode().unwrap(), 0o644);
            assert_eq!(h.uid().unwrap(), 0);
            e.path().unwrap().display().to_string()
        })
        .collect();
    assert_eq!(names.last().map(String::as_str), Some("manifest.json"));
    assert_eq!(names[names.len() - 2], "SHA256SUMS");
}

#[test]
fn pipelined_writer_gives_the_same_plaintext() {
    // Small parts, and parts of a few MiB, which the writer thread hashes
    // on a thread beside it while it compresses them.
    let big: Vec<String> = (0..60_000)
        .map(|i| format!(r#"{{"id":{i},"text":"line {i} {}"}}"#, "y".repeat(i % 89)))
        .collect();
    let cases = [
        (sample_entities(), 300, "users"),
        (
            vec![
                ("small".to_string(), vec![r#"{"a":1}"#.to_string()]),
                ("big".to_string(), big),
            ],
            2 << 20,
            "big",
        ),
    ];
    for (entities, part_size, split) in cases {
        let (ids, r) = key();
        let inline = write(&r, &entities, part_size);
        let opts = ExportOptions::new("test")
            .generated_at(fixed_time())
            .part_size(part_size);
        let mut export = ExportWriter::new_pipelined(Vec::new(), &r, opts).unwrap();
        for (name, lines) in &entities {
            let mut e = export.entity(name).unwrap();
            for line in lines {
                e.write_json_line(line.as_bytes()).unwrap();
            }
            e.finish().unwrap();
        }
        let (manifest, piped) = export.finish_into_inner().unwrap();
        assert!(manifest.entity(split).unwrap().parts.len() > 1);
        // The manifest and SHA256SUMS hold every part's digest.
        assert_eq!(plaintext(&piped, &ids), plaintext(&inline, &ids));
        let reader = ArchiveReader::open(Cursor::new(piped), &ids).unwrap();
        assert!(reader.report().valid, "part_size {part_size}");
    }
}

/// A writer that fails after `budget` bytes, as a full disk would.
struct FullDisk {
    budget: usize,
}

impl std::io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left",
            ));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_disk_is_reported_not_swallowed() {
    let (_, r) = key();
    let lines: Vec<String> = (0..5000)
        .map(|i| format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(i % 97)))
        .collect();
    let full = {
        let mut out = Vec::new();
        let opts = ExportOptions::new("t")
            .part_size(4096)
            .generated_at(fixed_time());
        let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
        let mut e = export.entity("t").unwrap();
        for l in &lines {
            e.write_json_line(l.as_bytes()).unwrap();
        }
        e.finish().unwrap();
        export.finish().unwrap();
        out.len()
    };
    for pipelined in [false, true] {
        // age adds grease stanzas of random length to every header, so sizes
        // vary by a few hundred bytes between runs: stay clear of the end.
        for budget in [0, 100, full / 2, full - 1024] {
            let opts = ExportOptions::new("t")
                .part_size(4096)
                .generated_at(fixed_time());
            let disk = FullDisk { budget };
            let export = if pipelined {
                ExportWriter::new_pipelined(disk, &r, opts)
            } else {
                ExportWriter::new(disk, &r, opts)
            };
            let Ok(mut export) = export else { continue };
            let result = (|| {
                let mut e = export.entity("t")?;
                for l in &lines {
                    e.write_json_line(l.as_bytes())?;
                }
                e.finish()?;
                export.finish().map(|_| ())
            })();
            let err = result.expect_err(&format!("a full disk must fail the export (pipelined={pipelined} budget={budget} full={full})"));
            assert!(
                matches!(err, Error::Io { .. }),
                "pipelined={pipelined} budget={budget}: {err}"
            );
        }
    }
}

#[test]
fn every_flipped_bit_and_every_truncation_is_rejected() {
    let (ids, r) = key();
    let entities = vec![(
        "t".to_string(),
        vec![r#"{"a":1}"#.to_string(), r#"{"b":"two"}"#.to_string()],
    )];
    let archive = write(&r, &entities, 1 << 20);
    assert!(
        redarc::verify(Cursor::new(&archive[..]), &ids, ReadLimits::default())
            .unwrap()
            .valid
    );
    for i in 0..archive.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = archive.clone();
            bad[i] ^= bit;
            let ok = matches!(redarc::verify(Cursor::new(&bad[..]), &ids, ReadLimits::default()), Ok(rep) if rep.valid);
            assert!(!ok, "flip of bit {bit:#x} at byte {i} went unnoticed");
            assert!(ArchiveReader::open(Cursor::new(bad), &ids).is_err());
        }
    }
    for len in 0..archive.len() {
        let err = redarc::verify(Cursor::new(&archive[..len]), &ids, ReadLimits::default());
        assert!(
            !matches!(err, Ok(rep) if rep.valid),
            "truncation to {len} bytes went unnoticed"
        );
        assert!(
            ArchiveReader::open(Cursor::new(&archive[..len]), &ids).is_err(),
            "the reader opened a truncation to {len} bytes"
        );
    }
}

/// A sample of the damage above, through `unpack`: every failure leaves the
/// parent directory as it was (no target, no staging directory).
#[test]
fn unpack_of_flipped_or_truncated_archives_leaves_nothing() {
    let (ids, r) = key();
    let entities = vec![(
        "t".to_string(),
        vec![r#"{"a":1}"#.to_string(), r#"{"b":"two"}"#.to_string()],
    )];
    let archive = write(&r, &entities, 1 << 20);
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("out");
    let mut damaged: Vec<(String, Vec<u8>)> = (0..archive.len())
        .step_by(7)
        .map(|i| {
            let mut bad = archive.clone();
            bad[i] ^= 0x04;
            (format!("flip at byte {i}"), bad)
        })
        .collect();
    damaged.extend(
        (0..archive.len())
            .step_by(11)
            .map(|len| (format!("truncation to {len}"), archive[..len].to_vec())),
    );
    for (what, bad) in damaged {
        assert!(
            redarc::unpack(
                &bad[..],
                &ids,
                &target,
                ReadLimits::default(),
                CheckLevel::Integrity
            )
            .is_err(),
            "{what} unpacked"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "{what} left {left:?}");
    }
}

#[test]
fn wrong_key_and_passphrases() {
    let (_, r) = key();
    let (other, _) = key();
    let archive = write(&r, &sample_entities(), 1 << 20);
    let err = redarc::verify(Cursor::new(&archive[..]), &other, ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, Error::Decrypt(redarc::DecryptFailure::NoMatchingKeys)),
        "{err}"
    );
    assert!(err.is_check_failure());

    let pass = Recipients::passphrase("correct horse battery staple".into(), Some(4));
    let archive = write(&pass, &sample_entities(), 1 << 20);
    let good = Identities::passphrase("correct horse battery staple".into());
    assert!(
        redarc::verify(Cursor::new(&archive[..]), &good, ReadLimits::default())
            .unwrap()
            .valid
    );
    let bad = Identities::passphrase("wrong horse".into());
    let err = redarc::verify(Cursor::new(&archive[..]), &bad, ReadLimits::default()).unwrap_err();
    assert!(!err.to_string().contains("horse"));
    let err = redarc::verify(Cursor::new(&archive[..]), &other, ReadLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decrypt(redarc::DecryptFailure::PassphraseRequired)
        ),
        "{err}"
    );
    // A work factor above the reader's ceiling is refused before any work.
    let strict =
        Identities::passphrase("correct horse battery staple".into()).with_max_work_factor(3);
    let err =
        redarc::verify(Cursor::new(&archive[..]), &strict, ReadLimits::default()).unwrap_err();
    assert!(
        matches!(err, Error::Decrypt(redarc::DecryptFailure::ExcessiveWork)),
        "{err}"
    );
}

#[test]
fn several_recipients_each_open_the_archive() {
    let (a, ra) = key();
    let (b, rb) = key();
    let mut r = ra;
    r.extend(rb).unwrap();
    let archive = write(&r, &sample_entities(), 1 << 20);
    for ids in [&a, &b] {
        assert!(
            redarc::verify(Cursor::new(&archive[..]), ids, ReadLimits::default())
                .unwrap()
                .valid
        );
    }
}

/// A raw CR or LF is JSON whitespace but breaks the one-record-a-line
/// format: every way in refuses it with its own message, whether the
/// record is walked by the redactor, copied untouched by it, or written
/// without one; a tab, also JSON whitespace, is kept.
#[test]
fn raw_line_breaks_are_refused_on_every_path() {
    let (_, r) = key();
    let redactor = || redarc::Policy::default_policy().compile().unwrap();
    let cases: [(&[u8], Option<&str>); 6] = [
        (b"{\"x\":\r1}", Some("carriage return")),
        (b"{\"x\":\n1}", Some("on one line")),
        // Walked for its key name.
        (b"{\"password\":\r\"hunter2\"}", Some("carriage return")),
        (b"{\"password\":\n\"hunter2\"}", Some("on one line")),
        (b"{\"x\":\t1}", None),
        (b"{\"password\":\t\"hunter2\"}", None),
    ];
    for redacted in [false, true] {
        for (line, refused) in cases {
            let mut opts = ExportOptions::new("t");
            if redacted {
                opts = opts.redactor(redactor());
            }
            let mut export = ExportWriter::new(Vec::new(), &r, opts).unwrap();
            let mut e = export.entity("a").unwrap();
            let got = e.write_json_line(line);
            let what = format!("{:?} redacted={redacted}", String::from_utf8_lossy(line));
            match refused {
                Some(words) => match got {
                    Err(Error::Record { detail, .. }) => {
                        assert!(detail.contains(words), "{what}: {detail}")
                    }
                    other => panic!("{what}: {other:?}"),
                },
                None => got.unwrap(),
            }
        }
    }
    // Inside a chunk of JSONL, on the record threads: a CR before the LF
    // is the line end, one elsewhere is refused, naming its record.
    for workers in [1, 2] {
        let opts = ExportOptions::new("t")
            .redactor(redactor())
            .workers(workers);
        let mut export = ExportWriter::new(Vec::new(), &r, opts).unwrap();
        let mut e = export.entity("a").unwrap();
        let mut text = "{\"id\":1}\r\n".repeat(50_000).into_bytes();
        text.extend_from_slice(b"{\"id\":\r2}\n");
        match e.write_jsonl(&text) {
            Err(Error::Record { record, detail, .. }) => {
                assert_eq!(record, 50_001, "{workers} workers");
                assert!(detail.contains("carriage return"), "{detail}");
            }
            other => panic!("{workers} workers: {other:?}"),
        }
    }
}

#[test]
fn writer_refuses_misuse() {
    let (_, r) = key();
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, &r, ExportOptions::new("t")).unwrap();
    {
        let mut e = export.entity("a").unwrap();
        assert!(matches!(
            e.write_json_line(b"{\"x\":1} {}"),
            Err(Error::Record { record: 1, .. })
        ));
        assert!(e.write_json_line(b"{\"x\":\r1}").is_err());
        assert!(e.write_json_line(b"not json").is_err());
        // Invalid UTF-8 inside a string (serde_json alone would skip it unchecked).
        assert!(e.write_json_line(b"{\"s\":\"c\xf3\"}").is_err());
        e.write_json_line(b"{\"ok\":true}").unwrap();
        // dropped without finish()
    }
    assert!(matches!(export.entity("b"), Err(Error::Usage(_))));
    assert!(
        export.finish().is_err(),
        "an unfinished entity must fail the export"
    );

    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, &r, ExportOptions::new("t")).unwrap();
    assert!(export.entity("../x").is_err());
    export.entity("a").unwrap().finish().unwrap();
    assert!(export.entity("a").is_err(), "duplicate entity");
    assert!(export.omit("a", "dup").is_err());
    assert!(export.omit("b", " ").is_err(), "an omission needs a reason");
    export.finish().unwrap();

    let mut out = Vec::new();
    let export = ExportWriter::new(&mut out, &r, ExportOptions::new("t")).unwrap();
    assert!(export.finish().is_err(), "an export needs an entity");
}

/// JSONL text of `n` records, a planted secret in every seventh, with
/// blank lines and CRLF ends here and there.
fn jsonl(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        if i % 7 == 3 {
            text.push_str(&format!(
                r#"{{"id":{i},"note":"deploy with ghp_R8x2Kq9Lm3Np7Vt1Wy5Zb4Cd6Ef0Gh2J{i:04}","password":"pw{i}"}}"#
            ));
        } else {
            text.push_str(&format!(
                r#"{{"id":{i},"note":"{}"}}"#,
                "plain words ".repeat(i % 13)
            ));
        }
        text.push_str(if i % 11 == 0 { "\r\n" } else { "\n" });
        if i % 17 == 0 {
            text.push_str("  \n");
        }
    }
    text
}

/// A reader that hands out at most a few KiB per read.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(7919);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Writes `text` as entity `events` with `workers` threads, handed over in
/// chunks of about `chunk` bytes (whole lines), or read by
/// `write_jsonl_from` when `chunk` is 0; returns the archive, the manifest
/// and the first error.
fn write_jsonl_export(
    r: &Recipients,
    text: &str,
    workers: usize,
    chunk: usize,
) -> (Vec<u8>, redarc::format::Manifest, Option<Error>) {
    let opts = ExportOptions::new("test")
        .generated_at(fixed_time())
        .part_size(64 * 1024)
        .redactor(redarc::Policy::default_policy().compile().unwrap())
        .workers(workers);
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, r, opts).unwrap();
    let mut e = export.entity("events").unwrap();
    let mut failed = None;
    let mut rest = text.as_bytes();
    if chunk == 0 {
        match e.write_jsonl_from(Trickle(rest)) {
            Ok(read) => assert_eq!(read, rest.len() as u64),
            Err(err) => failed = Some(err),
        }
        rest = &[];
    }
    while !rest.is_empty() && failed.is_none() {
        let end = match rest.iter().skip(chunk).position(|&b| b == b'\n') {
            Some(at) => chunk + at + 1,
            None => rest.len(),
        };
        failed = e.write_jsonl(&rest[..end]).err();
        rest = &rest[end..];
    }
    e.finish().unwrap();
    let manifest = export.finish().unwrap();
    (out, manifest, failed)
}

#[test]
fn write_jsonl_on_several_threads_writes_the_same_archive() {
    let (ids, r) = key();
    let text = jsonl(6000);
    // The reference: one record at a time, as write_json_line documents.
    let mut out = Vec::new();
    let opts = ExportOptions::new("test")
        .generated_at(fixed_time())
        .part_size(64 * 1024)
        .redactor(redarc::Policy::default_policy().compile().unwrap());
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    let mut e = export.entity("events").unwrap();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.trim().is_empty() {
            e.write_json_line(line.as_bytes()).unwrap();
        }
    }
    e.finish().unwrap();
    let want_manifest = export.finish().unwrap();
    let want = plaintext(&out, &ids);
    let entity = want_manifest.entity("events").unwrap();
    assert_eq!(entity.records, 6000);
    assert!(entity.parts.len() > 4, "the text must span several parts");
    let summary = want_manifest.redaction.clone().unwrap();
    assert!(summary.total >= 2 * 6000 / 7, "{}", summary.total);
    for workers in [1, 2, 3] {
        for chunk in [0, 1, 100_000, 300_000, usize::MAX / 2] {
            let (archive, manifest, failed) = write_jsonl_export(&r, &text, workers, chunk);
            assert!(
                failed.is_none(),
                "workers {workers}, chunk {chunk}: {failed:?}"
            );
            assert_eq!(
                plaintext(&archive, &ids),
                want,
                "workers {workers}, chunk {chunk}"
            );
            assert_eq!(manifest.redaction, want_manifest.redaction);
            assert!(!String::from_utf8_lossy(&want).contains("ghp_R8x2"));
        }
    }
}

#[test]
fn write_jsonl_names_the_first_bad_record_on_every_thread_count() {
    let (_, r) = key();
    let secret = "sk_live_51Hx9ExampleSecretValue";
    for bad in [
        format!(r#"{{"k":"{secret}""#),
        format!("{{\"k\":\"{secret}\"\r}}"),
        format!(r#"{{"k":"{secret}"}} {{"k":1}}"#),
    ] {
        // Records 1..=4000 are good, 4001 is bad, and more follow.
        let mut text = jsonl(4000);
        text.push_str(&bad);
        text.push('\n');
        text.push_str(&jsonl(3000));
        for (workers, chunk) in [
            (1, usize::MAX / 2),
            (2, usize::MAX / 2),
            (3, usize::MAX / 2),
            (2, 0),
        ] {
            let (_, manifest, failed) = write_jsonl_export(&r, &text, workers, chunk);
            let err = failed.expect("the bad record must fail");
            match &err {
                Error::Record { entity, record, .. } => {
                    assert_eq!((entity.as_str(), *record), ("events", 4001), "{err}");
                }
                other => panic!("not a record error: {other}"),
            }
            assert!(!err.to_string().contains(secret), "{err}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
            // The records before it were written, none after it.
            assert_eq!(manifest.entity("events").unwrap().records, 4000);
        }
    }
}

#[test]
fn write_jsonl_from_names_a_bad_record_several_chunks_in() {
    let (_, r) = key();
    // The bad record lies past two 2 MiB read chunks, so that one chunk is
    // still with the threads when the next is read and fails.
    let mut text = jsonl(60_000);
    assert!(text.len() > 2 * (2 << 20), "{}", text.len());
    text.push_str("{\"k\":\n");
    text.push_str(&jsonl(30_000));
    for workers in [1, 2, 3] {
        let (_, manifest, failed) = write_jsonl_export(&r, &text, workers, 0);
        match failed {
            Some(Error::Record { record, .. }) => assert_eq!(record, 60_001, "workers {workers}"),
            other => panic!("workers {workers}: not a record error: {other:?}"),
        }
        assert_eq!(manifest.entity("events").unwrap().records, 60_000);
    }

    // A line that never ends, after as many records: they are written and
    // the error names the record after them.
    let records = jsonl(60_000);
    for workers in [1, 2] {
        let mut out = Vec::new();
        let opts = ExportOptions::new("t").max_record(1 << 20).workers(workers);
        let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
        let mut e = export.entity("a").unwrap();
        let endless = std::io::Read::chain(records.as_bytes(), std::io::repeat(b'x'));
        match e.write_jsonl_from(endless).unwrap_err() {
            Error::Record { record, .. } => assert_eq!(record, 60_001, "workers {workers}"),
            other => panic!("workers {workers}: not a record error: {other}"),
        }
        assert_eq!(e.records(), 60_000, "workers {workers}");
        // The entity and the export can still be finished.
        e.finish().unwrap();
        let manifest = export.finish().unwrap();
        assert_eq!(manifest.entity("a").unwrap().records, 60_000);
    }
}

/// The plaintext tar of entity `e` written by `write`, without redaction.
fn unredacted(
    r: &Recipients,
    ids: &Identities,
    workers: usize,
    write: impl FnOnce(&mut redarc::EntityWriter<'_, &mut Vec<u8>>) -> redarc::Result<()>,
) -> Vec<u8> {
    let opts = ExportOptions::new("test")
        .generated_at(fixed_time())
        .workers(workers);
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, r, opts).unwrap();
    let mut e = export.entity("e").unwrap();
    write(&mut e).unwrap();
    e.finish().unwrap();
    export.finish().unwrap();
    plaintext(&out, ids)
}

#[test]
fn write_jsonl_from_reads_across_chunks_and_long_lines() {
    let (ids, r) = key();
    // Several read chunks (2 MiB each), a 3 MiB line among them, and a
    // last line without its newline.
    let mut text = Vec::new();
    for i in 0..100_000 {
        text.extend_from_slice(format!("{{\"i\":{i},\"s\":\"some words here\"}}\n").as_bytes());
        if i == 30_000 {
            let long = "y".repeat(3 << 20);
            text.extend_from_slice(format!("{{\"long\":\"{long}\"}}\r\n").as_bytes());
        }
    }
    text.extend_from_slice(b"{\"last\":true}");
    assert!(text.len() > 3 * (2 << 20));
    let want = unredacted(&r, &ids, 1, |e| e.write_jsonl(&text));
    for workers in [1, 2] {
        let got = unredacted(&r, &ids, workers, |e| {
            let read = e.write_jsonl_from(Trickle(&text))?;
            assert_eq!(read, text.len() as u64);
            assert_eq!(e.records(), 100_002);
            Ok(())
        });
        assert!(got == want, "workers {workers}");
    }
}

#[test]
fn write_jsonl_from_stops_at_a_line_past_the_limit_and_names_read_errors() {
    let (_, r) = key();
    let mut out = Vec::new();
    let opts = ExportOptions::new("t").max_record(1 << 20);
    let mut export = ExportWriter::new(&mut out, &r, opts).unwrap();
    let mut e = export.entity("a").unwrap();
    // An endless line after two records: refused, not gathered for ever.
    let endless = std::io::Read::chain(&b"{}\n{}\n"[..], std::io::repeat(b'x'));
    let err = e.write_jsonl_from(endless).unwrap_err();
    match &err {
        Error::Record {
            entity,
            record,
            detail,
        } => {
            assert_eq!((entity.as_str(), *record), ("a", 3), "{err}");
            assert!(detail.contains("larger than the limit"), "{detail}");
        }
        other => panic!("not a record error: {other}"),
    }
    assert_eq!(e.records(), 2);

    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'\n');
            self.0 -= n;
            Ok(n)
        }
    }
    let err = e.write_jsonl_from(Failing(100)).unwrap_err();
    match &err {
        Error::Io { context, .. } => assert_eq!(context, redarc::READING_RECORDS),
        other => panic!("not an I/O error: {other}"),
    }
}

#[test]
fn record_errors_never_quote_the_record() {
    let (_, r) = key();
    let mut out = Vec::new();
    let mut export =
        ExportWriter::new(&mut out, &r, ExportOptions::new("t").max_record(20)).unwrap();
    let mut e = export.entity("a").unwrap();
    let secret = "sk_live_51Hx9ExampleSecretValue";
    for line in [
        format!(r#"{{"k":"{secret}"}} trailing"#),
        format!(r#"{{"k":"{secret}", "pad": "{}"}}"#, "x".repeat(40)),
        format!(r#"{{"k":"{secret}"#),
    ] {
        let err = e.write_json_line(line.as_bytes()).unwrap_err();
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }
}

#[test]
fn typed_errors_never_quote_the_value() {
    let (ids, r) = key();
    let mut out = Vec::new();
    let mut export = ExportWriter::new(&mut out, &r, ExportOptions::new("t")).unwrap();
    let mut e = export.entity("users").unwrap();
    e.write_json_line(br#"{"id":"ghp_notanumberbutasecret000000000000000","email":"x","tags":[]}"#)
        .unwrap();
    e.finish().unwrap();
    export.finish().unwrap();
    let mut reader = ArchiveReader::open(Cursor::new(out), &ids).unwrap();
    let err = reader
        .records::<User>("users")
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Record { record: 1, .. }));
    assert!(!err.to_string().contains("ghp_"), "{err}");
}

#[test]
fn unpack_stages_and_leaves_nothing_on_failure() {
    let (ids, r) = key();
    let archive = write(&r, &sample_entities(), 200);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let report = redarc::unpack(
        &archive[..],
        &ids,
        &dir,
        ReadLimits::default(),
        CheckLevel::Integrity,
    )
    .unwrap();
    assert!(report.valid);
    let users = std::fs::read_dir(dir.join("data")).unwrap().count();
    assert!(users > 3);
    assert!(dir.join("manifest.json").is_file() && dir.join("SHA256SUMS").is_file());
    // Non-empty target: refused.
    assert!(redarc::unpack(
        &archive[..],
        &ids,
        &dir,
        ReadLimits::default(),
        CheckLevel::Integrity
    )
    .is_err());

    let mut bad = archive.clone();
    let n = bad.len();
    bad[n - 20] ^= 1;
    let dir2 = tmp.path().join("out2");
    assert!(redarc::unpack(
        &bad[..],
        &ids,
        &dir2,
        ReadLimits::default(),
        CheckLevel::Integrity
    )
    .is_err());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["out".to_string()],
        "staging must be removed on failure"
    );
}

#[test]
fn limits_are_enforced() {
    let (ids, r) = key();
    let archive = write(&r, &sample_entities(), 100);
    let err = redarc::verify(
        Cursor::new(&archive[..]),
        &ids,
        ReadLimits::default().max_members(3),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.archive_problem(),
            Some(ArchiveProblem::TooManyMembers { .. })
        ),
        "{err}"
    );
    let err = redarc::verify(
        Cursor::new(&archive[..]),
        &ids,
        ReadLimits::default().max_total_bytes(1000),
    )
    .unwrap_err();
    assert!(
        matches!(err.archive_problem(), Some(ArchiveProblem::TooLarge { .. })),
        "{err}"
    );
}

fn json_line() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        ".{0,40}".prop_map(|s| serde_json::json!(s)),
        any::<bool>().prop_map(|b| serde_json::json!(b)),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    value.prop_map(|v| serde_json::to_string(&v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random entities and records survive write → read unchanged, with the
    /// manifest's counts and checksums matching, across part boundaries.
    #[test]
    fn round_trip(
        entities in prop::collection::btree_map("[a-z][a-z0-9_-]{0,10}", prop::collection::vec(json_line(), 0..30), 1..5),
        part_size in 1u64..400,
    ) {
        let (ids, r) = key();
        let entities: Vec<(String, Vec<String>)> = entities.into_iter().collect();
        let archive = write(&r, &entities, part_size);
        let mut reader = ArchiveReader::open(Cursor::new(archive), &ids).unwrap();
        let manifest = reader.manifest().clone();
        for (name, lines) in &entities {
            let e = manifest.entity(name).unwrap();
            prop_assert_eq!(e.records, lines.len() as u64);
            let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
            prop_assert_eq!(e.bytes, bytes);
            // A part holding more than one record never exceeds the threshold.
            for p in &e.parts {
                prop_assert!(p.records <= 1 || p.bytes <= part_size, "{} bytes in {} records", p.bytes, p.records);
            }
            prop_assert_eq!(e.parts.iter().map(|p| p.records).sum::<u64>(), e.records);
            let back: Vec<serde_json::Value> = reader.records(name).unwrap().collect::<Result<_, _>>().unwrap();
            let expected: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
            prop_assert_eq!(back, expected);
        }
    }
}
