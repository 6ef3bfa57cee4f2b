//! Writes seed inputs for the fuzz targets in `fuzz/`: a valid archive's
//! plaintext tar, its zstd stream, its manifest and a few JSONL lines.
//!
//! `cargo run -p redarc --example fuzz_seeds -- fuzz/corpus`

// An example program: a panic here is a failed run, not a crash on input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::PathBuf;

use redarc::format::Timestamp;
use redarc::{ExportOptions, ExportWriter, Identities, Recipients};

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let ids = Identities::generate_x25519();
    let recipients = Recipients::parse(&ids.recipients()).unwrap();
    let mut archive = Vec::new();
    let opts = ExportOptions::new("fuzz")
        .generated_at(Timestamp::parse("2026-01-01T00:00:00Z").unwrap())
        .part_size(64);
    let mut export = ExportWriter::new(&mut archive, &recipients, opts).unwrap();
    let mut e = export.entity("users").unwrap();
    for i in 0..4 {
        e.write(&serde_json::json!({"id": i, "email": format!("u{i}@example.com")}))
            .unwrap();
    }
    e.finish().unwrap();
    export.entity("empty").unwrap().finish().unwrap();
    export.omit("sessions", "never exported").unwrap();
    let manifest = export.finish().unwrap();

    let secret = ids.to_identity_file("seed");
    let id: age::x25519::Identity = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let mut zst = Vec::new();
    age::Decryptor::new(&archive[..])
        .unwrap()
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut zst)
        .unwrap();
    let tar = zstd::decode_all(&zst[..]).unwrap();

    let seeds: [(&str, Vec<u8>); 5] = [
        ("manifest", manifest.to_bytes()),
        ("tar", tar),
        ("zstd_tar", zst),
        ("jsonl", b"{\"a\":1}\n[1,2]\n\"x\"\n".to_vec()),
        (
            "redact",
            br#"{"password":"hunter2","url":"https://x.example/a?X-Amz-Signature=abc","n":1}"#
                .to_vec(),
        ),
    ];
    for (target, bytes) in seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("seed-0"), bytes).unwrap();
    }
    println!("seeds written under {}", root.display());
}
