//! The conformance vectors of `spec/vectors/`: every golden archive
//! verifies, opens and unpacks; every hostile one is rejected by `verify`,
//! `ArchiveReader::open` and `unpack` with the class `vectors.json` lists,
//! never with a panic, and leaves nothing on disk.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use redarc::{ArchiveReader, CheckLevel, Error, Identities, ReadLimits};

// The generator is an example program; its builder is reused here to check
// that the committed vectors are what it makes.
#[allow(dead_code)]
#[path = "../../examples/make_vectors.rs"]
mod make_vectors;

use make_vectors::{Key, Repro};

pub(crate) fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

/// One entry of `vectors.json`.
pub(crate) struct Entry {
    pub(crate) file: String,
    /// `None` for a valid vector, else the expected error class.
    pub(crate) error: Option<String>,
    pub(crate) exit: i32,
    pub(crate) passphrase: Option<String>,
}

pub(crate) fn entries() -> Vec<Entry> {
    let text = std::fs::read_to_string(vectors_dir().join("vectors.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let valid = v["outcome"] == "valid";
            assert!(valid || v["outcome"] == "reject", "{v}");
            Entry {
                file: v["file"].as_str().unwrap().to_string(),
                error: (!valid).then(|| v["error"].as_str().unwrap().to_string()),
                exit: v["exit"].as_i64().unwrap() as i32,
                passphrase: v["passphrase"].as_str().map(String::from),
            }
        })
        .collect()
}

fn identities(entry: &Entry) -> Identities {
    match &entry.passphrase {
        Some(p) => Identities::passphrase(p.clone()),
        None => Identities::from_file(&vectors_dir().join(make_vectors::IDENTITY_FILE)).unwrap(),
    }
}

/// The error class as `vectors.json` writes it.
fn class(e: &Error) -> String {
    let variant = |debug: String| {
        debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap()
            .to_string()
    };
    match e {
        Error::Archive { problem, .. } => variant(format!("{problem:?}")),
        Error::Decrypt(d) => format!("Decrypt:{d:?}"),
        other => variant(format!("{other:?}")),
    }
}

/// "valid", or the class of the error.
fn outcome(r: Result<(), Error>) -> String {
    match r {
        Ok(()) => "valid".into(),
        Err(e) => class(&e),
    }
}

fn open(file: &str) -> BufReader<File> {
    BufReader::new(File::open(vectors_dir().join(file)).unwrap())
}

/// Every path below `root`, relative to it.
pub(crate) fn tree(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            out.insert(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    out
}

/// Paths hostile vectors name outside any target; none may ever exist.
pub(crate) const OUTSIDE: &[&str] = &["/tmp/redarc-vector-absolute", "/tmp/redarc-pax"];

/// Runs `verify`, `open` (and records) and `unpack` on one vector; returns
/// what went wrong, if anything.
fn check(entry: &Entry) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = entry.error.clone().unwrap_or_else(|| "valid".into());
    let ids = identities(entry);

    let verified = outcome(
        redarc::verify(open(&entry.file), &ids, ReadLimits::default()).and_then(|r| r.to_result()),
    );
    if verified != expected {
        problems.push(format!("verify: got {verified}, expected {expected}"));
    }

    let opened = ArchiveReader::open(open(&entry.file), &ids).and_then(|mut reader| {
        let manifest = reader.manifest().clone();
        for entity in &manifest.entities {
            let n = reader
                .records::<serde_json::Value>(&entity.name)?
                .collect::<Result<Vec<_>, _>>()?
                .len();
            assert_eq!(n as u64, entity.records, "{}", entity.name);
        }
        Ok(())
    });
    let opened = outcome(opened);
    if opened != expected {
        problems.push(format!("open: got {opened}, expected {expected}"));
    }

    // Both levels of unpack: integrity alone must already refuse every
    // hostile vector.
    for level in [CheckLevel::Integrity, CheckLevel::Valid] {
        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("a/b");
        std::fs::create_dir_all(&parent).unwrap();
        let target = parent.join("out");
        let unpacked = redarc::unpack(
            open(&entry.file),
            &ids,
            &target,
            ReadLimits::default(),
            level,
        );
        let manifest = unpacked.as_ref().ok().map(|r| r.manifest.clone());
        let unpacked = outcome(unpacked.and_then(|r| r.to_result()));
        if unpacked != expected {
            problems.push(format!(
                "unpack {level:?}: got {unpacked}, expected {expected}"
            ));
        }
        let mut want: BTreeSet<String> = ["a", "a/b"].iter().map(|s| s.to_string()).collect();
        if let Some(manifest) = manifest.filter(|_| entry.error.is_none()) {
            want.extend(
                ["out", "out/data", "out/SHA256SUMS", "out/manifest.json"]
                    .iter()
                    .map(|s| format!("a/b/{s}")),
            );
            for part in manifest.entities.iter().flat_map(|e| &e.parts) {
                want.insert(format!("a/b/out/{}", part.path));
            }
        }
        let found = tree(root.path());
        if found != want {
            problems.push(format!(
                "unpack {level:?} left {:?}, expected {want:?}",
                found.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    for path in OUTSIDE {
        if Path::new(path).exists() {
            problems.push(format!("{path} exists"));
        }
    }
    problems
}

#[test]
fn every_vector_has_its_expected_outcome() {
    let entries = entries();
    assert!(entries.len() > 40, "{} vectors", entries.len());
    let mut failures = Vec::new();
    for entry in &entries {
        match catch_unwind(AssertUnwindSafe(|| check(entry))) {
            Ok(problems) => {
                for p in problems {
                    failures.push(format!("{}: {p}", entry.file));
                }
            }
            Err(_) => failures.push(format!("{}: PANICKED", entry.file)),
        }
        assert!(
            entry.error.is_none() || matches!(entry.exit, 1 | 2),
            "{}: a rejection exits 1 or 2",
            entry.file
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every file in the directory is a listed vector, a key, or documentation.
#[test]
fn the_vector_list_is_complete() {
    let listed: BTreeSet<String> = entries().into_iter().map(|e| e.file).collect();
    for file in tree(&vectors_dir()) {
        let known = listed.contains(&file)
            || [
                "vectors.json",
                "README.md",
                make_vectors::IDENTITY_FILE,
                make_vectors::OTHER_IDENTITY_FILE,
            ]
            .contains(&file.as_str());
        assert!(known, "{file} is not listed in vectors.json");
    }
}

/// Regenerating reproduces the committed vectors: files without encryption
/// byte for byte, encrypted ones by their age plaintext (the zstd stream);
/// vectors damaged at the age layer cannot be compared and are skipped.
/// `vectors.json` and the README regenerate byte for byte.
#[test]
fn regenerating_reproduces_the_committed_vectors() {
    let dir = vectors_dir();
    let keys = make_vectors::load_or_create_keys(&dir);
    let vectors = make_vectors::build(&keys);
    let stale =
        "spec/vectors is stale: run `cargo run -p redarc --example make_vectors -- spec/vectors`";
    assert!(
        std::fs::read_to_string(dir.join("vectors.json")).unwrap()
            == make_vectors::vectors_json(&vectors),
        "vectors.json: {stale}"
    );
    assert!(
        std::fs::read_to_string(dir.join("README.md")).unwrap() == make_vectors::readme(&vectors),
        "README.md: {stale}"
    );
    for v in &vectors {
        let committed = std::fs::read(dir.join(&v.file)).unwrap();
        match &v.repro {
            Repro::Bytes => assert_eq!(committed, v.bytes, "{}: {stale}", v.file),
            Repro::Plaintext(plain) => {
                let got = make_vectors::decrypt(&keys, &committed, v.key).unwrap();
                assert!(&got == plain, "{}: {stale}", v.file);
            }
            Repro::No => {}
        }
        if v.key == Key::Passphrase {
            assert!(v.file.contains("passphrase") || v.file.contains("scrypt"));
        }
    }
}

/// An archive without SHA256SUMS was reported as "member out of order:
/// SHA256SUMS must precede manifest.json" (on manifest.json), because the
/// stream refused a manifest not preceded by SHA256SUMS before the end of
/// the stream could show that SHA256SUMS was simply absent. It must be
/// reported as SHA256SUMS missing.
#[test]
fn sha256sums_absent_is_reported_missing_not_out_of_order() {
    let ids = Identities::from_file(&vectors_dir().join(make_vectors::IDENTITY_FILE)).unwrap();
    let err = redarc::verify(
        open("hostile-sums-missing.tar.zst.age"),
        &ids,
        ReadLimits::default(),
    )
    .and_then(|r| r.to_result())
    .unwrap_err();
    assert!(
        matches!(&err, Error::Archive { member: Some(m), problem: redarc::ArchiveProblem::MissingMember, .. } if m == "SHA256SUMS"),
        "{err}"
    );
    // SHA256SUMS after the manifest is still an order error.
    let err = redarc::verify(
        open("hostile-sums-after-manifest.tar.zst.age"),
        &ids,
        ReadLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.archive_problem(),
            Some(redarc::ArchiveProblem::Order(_))
        ),
        "{err}"
    );
}
