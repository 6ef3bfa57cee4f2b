//! Crash safety: a `pack` or `unpack` killed with SIGKILL mid-write leaves
//! nothing at its final path.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// Waits until a file whose name starts with `prefix` appears in `dir` and
/// has grown past `min_len` bytes (or is a directory), so the kill lands mid-write.
fn wait_for_partial(dir: &Path, prefix: &str, min_len: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                let meta = e.metadata().unwrap();
                if meta.is_dir() || meta.len() > min_len {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn sample(root: &Path, size: &str) -> std::path::PathBuf {
    let dir = root.join("export");
    let out = run(redarc().arg("sample").arg(&dir).args(["--size", size]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

#[test]
fn killed_pack_leaves_no_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample(tmp.path(), "60MB");
    let (_, recipient) = keygen(tmp.path(), "key.txt");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let archive = out_dir.join("a.tar.zst.age");
    let mut child = redarc()
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&archive)
        .arg("-r")
        .arg(&recipient)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let caught = wait_for_partial(&out_dir, ".redarc-pack-", 64 * 1024);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        caught,
        "pack finished before it could be killed; grow the export"
    );
    assert!(
        !archive.exists(),
        "a killed pack must not leave the archive"
    );
    assert!(!out_dir.join("a.tar.zst.age.sha256").exists());
}

#[test]
fn killed_unpack_leaves_no_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample(tmp.path(), "60MB");
    let (key, recipient) = keygen(tmp.path(), "key.txt");
    let archive = tmp.path().join("a.tar.zst.age");
    pack(&dir, &archive, &recipient);
    let target = tmp.path().join("restored");
    let mut child = on_archive("unpack", &archive, &key)
        .arg("-o")
        .arg(&target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let caught = wait_for_partial(tmp.path(), ".restored.redarc-partial-", 0);
    // Let it write a little before the kill.
    std::thread::sleep(Duration::from_millis(50));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        caught,
        "unpack finished before it could be killed; grow the export"
    );
    assert!(
        !target.exists(),
        "a killed unpack must not leave the target directory"
    );
}
