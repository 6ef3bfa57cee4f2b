//! Entry points for the fuzz targets in `fuzz/` (built with `--cfg fuzzing`).
//!
//! Each helper drives one reader of untrusted bytes and asserts the
//! properties that must hold for any input: no panic, and round trips where
//! the input was accepted. The targets themselves are one line each.

use std::io::Cursor;

use crate::archive::{reader, stream};
use crate::format::Manifest;
use crate::ReadLimits;

/// Limits small enough that a fuzz run cannot exhaust memory.
fn limits() -> ReadLimits {
    ReadLimits::default()
        .max_members(1_000)
        .max_total_bytes(64 << 20)
}

/// Manifest parsing: never panics; an accepted manifest survives
/// serialize → parse unchanged.
pub fn manifest(data: &[u8]) {
    if let Ok(m) = Manifest::from_slice(data) {
        let again = Manifest::from_slice(&m.to_bytes());
        assert!(
            matches!(again, Ok(ref m2) if *m2 == m),
            "manifest round trip changed it"
        );
    }
}

/// The tar layer over arbitrary plaintext bytes.
pub fn tar(data: &[u8]) {
    let stream = stream::MemberStream::plaintext(Cursor::new(data), limits());
    if let Ok(scanned) = reader::scan(stream, true, |_, _| Ok(())) {
        let report = reader::VerifyReport::build(&scanned, reader::CheckLevel::Valid);
        let _ = report.to_result();
    }
}

/// The zstd and tar layers over arbitrary bytes.
pub fn zstd_tar(data: &[u8]) {
    let Ok(mut decoder) = zstd::stream::read::Decoder::new(Cursor::new(data)) else {
        return;
    };
    if decoder.window_log_max(24).is_err() {
        return;
    }
    let stream = stream::MemberStream::plaintext(decoder, limits());
    if let Ok(scanned) = reader::scan(stream, true, |_, _| Ok(())) {
        let _ = reader::VerifyReport::build(&scanned, reader::CheckLevel::Valid).to_result();
    }
}

/// The JSONL record reader: line accounting agrees with a plain count, and
/// every line it accepts parses as JSON; the fast record check never
/// accepts a line serde_json refuses.
pub fn jsonl(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        if crate::archive::json_line::grammatical(line).is_some() {
            let text = std::str::from_utf8(line);
            assert!(text.is_ok_and(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()));
        }
    }
    let (records, bad) = reader::inspect_records(data, true);
    assert_eq!(records, data.iter().filter(|&&b| b == b'\n').count() as u64);
    if bad.is_none() {
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // The record check is a grammar check: a number beyond f64's
            // range (e.g. 3.3E33333333) is valid JSON that serde_json's
            // Value refuses. That is the only accepted divergence.
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(line) {
                assert!(e.to_string().starts_with("number out of range"), "{e}");
            }
        }
    }
}

/// The redactor over arbitrary bytes: never panics; valid JSON in gives
/// valid JSON out; a second pass changes nothing; text scanning never panics.
pub fn redact(data: &[u8]) {
    use std::sync::OnceLock;
    static REDACTOR: OnceLock<Option<crate::Redactor>> = OnceLock::new();
    let Some(redactor) = REDACTOR
        .get_or_init(|| crate::Policy::default_policy().compile().ok())
        .as_ref()
    else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = redactor.scan_text(text, 1);
    }
    let mut report = crate::Report::new();
    let mut once = Vec::new();
    if redactor
        .redact_line("fuzz", data, &mut once, &mut report)
        .is_err()
    {
        return;
    }
    assert!(
        serde_json::from_slice::<serde::de::IgnoredAny>(&once).is_ok(),
        "redacted output is not JSON"
    );
    let mut twice = Vec::new();
    let second = redactor.redact_line("fuzz", &once, &mut twice, &mut report);
    assert!(second.is_ok(), "redacted output does not redact again");
    assert!(once == twice, "redaction is not idempotent");
}
