//! The conformance vectors of `spec/vectors/` through the binary: `redarc
//! verify` and `redarc unpack` exit as `vectors.json` says, never panic,
//! and a failed unpack leaves nothing behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

/// Every path below `root`, relative to it.
fn tree(root: &Path) -> BTreeSet<String> {
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

/// Adds the vector's key to a verify or unpack command.
fn with_key(cmd: &mut Command, vector: &serde_json::Value) {
    match vector["passphrase"].as_str() {
        Some(pass) => {
            cmd.arg("--passphrase").env("REDARC_PASSPHRASE", pass);
        }
        None => {
            let id = vector["identity"].as_str().unwrap();
            cmd.arg("-i").arg(vectors_dir().join(id));
        }
    }
}

#[test]
fn every_vector_exits_as_listed_and_leaves_nothing_behind() {
    let dir = vectors_dir();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("vectors.json")).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() > 40, "{} vectors", vectors.len());
    let mut failures = Vec::new();
    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let valid = v["outcome"] == "valid";
        let exit = v["exit"].as_i64().unwrap() as i32;
        assert!(
            valid == (exit == 0) && matches!(exit, 0..=2),
            "{file}: exit {exit}"
        );

        let mut verify = redarc();
        verify.arg("verify").arg(dir.join(file));
        with_key(&mut verify, v);
        let out = run(&mut verify);
        let stderr = text(&out.stderr);
        if out.status.code() != Some(exit) {
            failures.push(format!(
                "{file}: verify exited {:?}, expected {exit}: {stderr}",
                out.status.code()
            ));
        }
        if stderr.contains("panicked") {
            failures.push(format!("{file}: verify panicked: {stderr}"));
        }

        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("a/b");
        std::fs::create_dir_all(&parent).unwrap();
        let mut unpack = redarc();
        unpack
            .arg("unpack")
            .arg(dir.join(file))
            .arg("-o")
            .arg(parent.join("out"))
            .current_dir(&parent);
        with_key(&mut unpack, v);
        let out = run(&mut unpack);
        let stderr = text(&out.stderr);
        if out.status.code() != Some(exit) {
            failures.push(format!(
                "{file}: unpack exited {:?}, expected {exit}: {stderr}",
                out.status.code()
            ));
        }
        if stderr.contains("panicked") {
            failures.push(format!("{file}: unpack panicked: {stderr}"));
        }
        let found = tree(root.path());
        let mut nothing_new: BTreeSet<String> = BTreeSet::new();
        nothing_new.insert("a".into());
        nothing_new.insert("a/b".into());
        if valid {
            for name in ["out", "out/data", "out/SHA256SUMS", "out/manifest.json"] {
                if !found.contains(&format!("a/b/{name}")) {
                    failures.push(format!("{file}: unpack did not write {name}"));
                }
            }
            let stray: Vec<_> = found
                .iter()
                .filter(|p| !nothing_new.contains(*p) && !p.starts_with("a/b/out"))
                .collect();
            if !stray.is_empty() {
                failures.push(format!("{file}: unpack left {stray:?} beside the target"));
            }
        } else if found != nothing_new {
            failures.push(format!(
                "{file}: rejected, but unpack left {:?}",
                found.difference(&nothing_new).collect::<Vec<_>>()
            ));
        }
    }
    for path in ["/tmp/redarc-vector-absolute", "/tmp/redarc-pax"] {
        assert!(!Path::new(path).exists(), "{path} was written");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
