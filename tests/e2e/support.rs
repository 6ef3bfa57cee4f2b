//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `redarc` binary under test.
pub(crate) fn redarc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redarc"))
}

/// Runs a command, returning its output; panics with the command line if it cannot start.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} (scripts/test.sh installs the reference tools)")
    })
}

/// Runs a shell pipeline in `dir`.
pub(crate) fn sh(dir: &Path, script: &str) -> Output {
    run(Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .current_dir(dir))
}

pub(crate) fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// A small export directory: users, tokens (with planted secrets) and an empty entity.
pub(crate) fn export_dir(root: &Path) -> PathBuf {
    let dir = root.join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let users: String = (0..40)
        .map(|i| {
            format!("{{\"id\":{i},\"email\":\"user{i}@example.com\",\"name\":\"User {i}\"}}\n")
        })
        .collect();
    std::fs::write(dir.join("users.jsonl"), users).unwrap();
    let tokens: String = (0..10)
        .map(|i| format!("{{\"id\":{i},\"user_id\":{i},\"provider\":\"github\",\"note\":\"rotated weekly\"}}\n"))
        .collect();
    std::fs::write(dir.join("user_tokens.jsonl"), tokens).unwrap();
    std::fs::write(dir.join("sessions.jsonl"), "").unwrap();
    dir
}

/// Generates an identity with `redarc keygen`; returns (identity file, recipient).
pub(crate) fn keygen(root: &Path, name: &str) -> (PathBuf, String) {
    let path = root.join(name);
    let out = run(redarc().arg("keygen").arg("-o").arg(&path));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recipient = text(&out.stderr)
        .trim()
        .strip_prefix("Public key: ")
        .unwrap()
        .to_string();
    (path, recipient)
}

/// Packs `dir` to `archive` for `recipient`, asserting success.
pub(crate) fn pack(dir: &Path, archive: &Path, recipient: &str) {
    let out = run(redarc()
        .arg("pack")
        .arg(dir)
        .arg("-o")
        .arg(archive)
        .arg("-r")
        .arg(recipient)
        .args(["--environment", "staging", "--source-version", "0123abc"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The export of [`export_dir`] (at `root/export`), packed under `root` for a
/// fresh identity.
pub(crate) struct Packed {
    /// The identity file, `root/key.txt`.
    pub(crate) key: PathBuf,
    /// Its recipient.
    pub(crate) recipient: String,
    /// The archive, `root/a.tar.zst.age`.
    pub(crate) archive: PathBuf,
}

/// Writes the small export, makes an identity and packs the export for it.
pub(crate) fn packed_export(root: &Path) -> Packed {
    let dir = export_dir(root);
    let (key, recipient) = keygen(root, "key.txt");
    let archive = root.join("a.tar.zst.age");
    pack(&dir, &archive, &recipient);
    Packed {
        key,
        recipient,
        archive,
    }
}

/// `redarc SUBCOMMAND ARCHIVE -i IDENTITY`: the start of every command that
/// reads an archive.
pub(crate) fn on_archive(subcommand: &str, archive: &Path, identity: &Path) -> Command {
    let mut cmd = redarc();
    cmd.arg(subcommand).arg(archive).arg("-i").arg(identity);
    cmd
}
