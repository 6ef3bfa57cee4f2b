//! Every shell command shown in README.md and docs/*.md is exercised.
//!
//! The commands of a fenced `sh`, `bash`, `shell` or `console` block are
//! read in order (a trailing `\` continues a line; in `console` blocks only
//! lines starting with `$ ` are commands). Then:
//!
//! - the pages in [`RUN`] are run, block after block, by one `bash` in a
//!   fresh directory with the `redarc` under test first on `PATH`, after a
//!   short setup that stands in for what the page assumes already exists
//!   (an archive, a bucket). Each command must exit 0, or the code its
//!   trailing comment names: `# exit 1 …`. `redarc import` asks a person
//!   on a terminal, so it runs under `script` (a pseudo-terminal) and is
//!   typed its `--target-env`, as a person would;
//! - commands the pages show but this test does not run are listed in
//!   [`ELSEWHERE`] with the file that runs them (checked to contain the
//!   command) or, for long measurements, the reason.
//!
//! A command that is neither run nor listed fails the test, and so does a
//! listed command that no page shows any more.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::moto::Moto;
use crate::support::{run, text};

/// The repository root.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// One command shown in a page.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    page: String,
    /// 1-based line of its first line.
    line: usize,
    /// As shown, continuation lines joined.
    text: String,
    /// Without the trailing comment and with runs of blanks collapsed: what
    /// [`ELSEWHERE`] lists.
    command: String,
    /// From a trailing `# exit N` comment; 0 otherwise.
    exit: i32,
}

/// Pages run in full; what each one runs before its first command.
const RUN: &[(&str, Setup)] = &[
    ("README.md", Setup::Archive),
    ("docs/quickstart.md", Setup::None),
    ("docs/format.md", Setup::None),
    ("docs/sample-data.md", Setup::None),
    ("docs/restore-drill.md", Setup::Offsite),
];

#[derive(Debug, Clone, Copy)]
enum Setup {
    None,
    /// `key.txt` and `export.tar.zst.age` for it, as the README's library
    /// example writes them.
    Archive,
    /// A bucket `backups` on a local S3-compatible server holding
    /// `exports/staging/2026/11/23/staging-20261123T100000Z-1a2b3c4d.tar.zst.age`,
    /// encrypted to `drill-identity.txt`, `restore-identity.txt` and
    /// `purge-identity.txt`; and under `/srv/exports` (here `$DOCS_ROOT/srv`)
    /// an archive whose custody expired.
    Offsite,
}

/// How a command the test does not run is exercised.
enum How {
    /// A file of this repository runs it; the file must contain the text.
    By(&'static str, &'static str),
}

/// Commands shown but not run here: (page, command without its comment, how).
/// A command ending in ` …` stands for every command starting with the rest.
const ELSEWHERE: &[(&str, &str, How)] = &[
    // The binary under test is built by `cargo test` and put first on PATH.
    (
        "docs/quickstart.md",
        "cargo build --release -p redarc-cli",
        How::By("tests/e2e/docs.rs", "CARGO_BIN_EXE_redarc"),
    ),
    (
        "docs/quickstart.md",
        "alias redarc=target/release/redarc",
        How::By("tests/e2e/docs.rs", "CARGO_BIN_EXE_redarc"),
    ),
    // The command that runs this test.
    (
        "README.md",
        "scripts/test.sh",
        How::By(".ci/run", "scripts/test.sh"),
    ),
    (
        "docs/postgres.md",
        "cargo test -p redarc-postgres",
        How::By("scripts/test.sh", "cargo test --workspace"),
    ),
    // Needs PostgreSQL: redarc-postgres's test starts a server, runs this
    // example binary with the two connection strings on a pseudo-terminal,
    // types the approval, and compares row counts of both databases.
    (
        "docs/postgres.md",
        "REDARC_PG_URL='host=/tmp/pg/sock user=redarc dbname=app' REDARC_PG_RESTORE_URL='host=/tmp/pg/sock user=redarc dbname=app_restore' cargo run -p redarc-postgres --example pg_roundtrip -- --load-sample",
        How::By(
            "crates/redarc-postgres/tests/it/example.rs",
            "fn the_documented_example_restores_every_row_after_a_typed_approval",
        ),
    ),
    // offsite.rs runs every `redarc` command of docs/offsite.md against
    // moto_server and checks that it does; the variables are its setup.
    (
        "docs/offsite.md",
        "redarc …",
        How::By("tests/e2e/offsite.rs", "fn assert_docs_commands_were_run"),
    ),
    (
        "docs/offsite.md",
        "export …",
        How::By("tests/e2e/offsite.rs", ".env(\"REDARC_S3_PREFIX\", \"exports\")"),
    ),
    (
        "docs/offsite.md",
        "mkdir -p fetched",
        How::By("tests/e2e/offsite.rs", "std::fs::create_dir(&fetched_dir)"),
    ),
    (
        "docs/offsite.md",
        "(cd fetched && sha256sum -c …",
        How::By("tests/e2e/offsite.rs", ".args([\"-c\", &format!(\"{file_name}.sha256\")])"),
    ),
    // The CI's fuzz smoke run.
    (
        "docs/fuzzing.md",
        "cargo run -p redarc --example fuzz_seeds -- fuzz/corpus",
        How::By("scripts/fuzz-smoke.sh", "--example fuzz_seeds -- fuzz/corpus"),
    ),
    (
        "docs/fuzzing.md",
        "cd fuzz",
        How::By("scripts/fuzz-smoke.sh", "--fuzz-dir fuzz"),
    ),
    (
        "docs/fuzzing.md",
        "cargo +nightly fuzz run tar -O -j 2 -- -max_total_time=28800 -rss_limit_mb=2048",
        How::By("scripts/fuzz-smoke.sh", "fuzz run -O"),
    ),
    (
        "docs/fuzzing.md",
        "cargo +nightly fuzz cmin tar",
        How::By("scripts/fuzz-smoke.sh", "fuzz cmin -O --fuzz-dir fuzz tar"),
    ),
    (
        "docs/performance.md",
        "cargo build --release -p redarc-cli",
        How::By("scripts/bench.sh", "cargo build --release -p redarc-cli"),
    ),
    // bench.rs runs the script end to end with --size 2MB and the test
    // binary: the 200 MB and 2 GB runs take minutes on an idle machine.
    (
        "docs/performance.md",
        "scripts/bench.sh",
        How::By(
            "tests/e2e/bench.rs",
            "fn bench_script_times_every_row_and_writes_its_figures",
        ),
    ),
    (
        "docs/performance.md",
        "scripts/bench.sh --size 2GB --runs 3 --json bench-2g.json",
        How::By(
            "tests/e2e/bench.rs",
            "fn bench_script_times_every_row_and_writes_its_figures",
        ),
    ),
];

/// The pages whose commands are checked.
fn pages() -> Vec<String> {
    let mut pages = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn read_page(page: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(page)).unwrap_or_else(|e| panic!("{page}: {e}"))
}

/// The commands of the shell blocks of a Markdown page, in order.
fn shell_commands(page: &str, markdown: &str) -> Vec<Shown> {
    let mut found = Vec::new();
    let mut block: Option<String> = None; // the language of the open block
    let mut pending: Option<(usize, String)> = None; // a line ending in `\`
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&block, fence) {
            (None, Some(lang)) => {
                block = Some(lang.trim().to_string());
                continue;
            }
            (Some(_), Some(_)) => {
                assert!(
                    pending.is_none(),
                    "{page}:{}: `\\` at the end of a block",
                    i
                );
                block = None;
                continue;
            }
            (None, None) => continue,
            (Some(_), None) => {}
        }
        let lang = block.as_deref().unwrap_or_default();
        if !["sh", "bash", "shell", "console"].contains(&lang) {
            continue;
        }
        let mut line = line.to_string();
        if pending.is_none() && lang == "console" {
            match line.strip_prefix("$ ") {
                Some(rest) => line = rest.to_string(),
                None => continue, // output
            }
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(&line);
        let (command, comment) = split_comment(&joined);
        let command = command.split_whitespace().collect::<Vec<_>>().join(" ");
        if command.is_empty() {
            continue; // a blank line or a comment
        }
        let exit = comment
            .and_then(|c| c.trim().strip_prefix("exit "))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        found.push(Shown {
            page: page.to_string(),
            line: start,
            text: joined,
            command,
            exit,
        });
    }
    assert!(block.is_none(), "{page}: a code block is not closed");
    found
}

/// Splits a shell line at its comment: a `#` after a blank, outside quotes.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single && !double && prev.is_whitespace() => {
                return (&line[..i], Some(&line[i + 1..]));
            }
            _ => {}
        }
        prev = c;
    }
    (line, None)
}

/// The [`ELSEWHERE`] entry for a command, if any.
fn listed(shown: &Shown) -> Option<usize> {
    ELSEWHERE.iter().position(|(page, command, _)| {
        *page == shown.page
            && match command.strip_suffix(" …") {
                Some(prefix) => shown.command.starts_with(prefix),
                None => shown.command == *command,
            }
    })
}

fn all_shown() -> Vec<Shown> {
    pages()
        .iter()
        .flat_map(|p| shell_commands(p, &read_page(p)))
        .collect()
}

/// Every command is run or listed; every listing is used and true.
#[test]
fn every_command_shown_in_the_docs_is_run_or_listed() {
    let shown = all_shown();
    assert!(shown.len() >= 40, "only {} commands found", shown.len());
    let run_pages: BTreeSet<&str> = RUN.iter().map(|(p, _)| *p).collect();
    let mut used = BTreeSet::new();
    let mut unexercised = Vec::new();
    for s in &shown {
        match listed(s) {
            Some(i) => {
                used.insert(i);
            }
            None if run_pages.contains(s.page.as_str()) => {}
            None => unexercised.push(format!("{}:{}: {}", s.page, s.line, s.command)),
        }
    }
    assert!(
        unexercised.is_empty(),
        "commands shown in the docs that no test runs (run the page in tests/e2e/docs.rs, \
         or list the test that runs them in ELSEWHERE):\n{}",
        unexercised.join("\n")
    );
    for (i, (page, command, how)) in ELSEWHERE.iter().enumerate() {
        assert!(
            used.contains(&i),
            "ELSEWHERE lists `{command}` for {page}, which no longer shows it"
        );
        match how {
            How::By(file, evidence) => {
                let body = read_page(file);
                assert!(
                    body.contains(evidence),
                    "ELSEWHERE says {file} runs `{command}` ({page}), but it does not contain {evidence:?}"
                );
            }
        }
    }
}

/// The README's Documentation list links every page of docs/.
#[test]
fn every_page_is_linked_from_the_readme() {
    let readme = read_page("README.md");
    for page in pages().iter().filter(|p| p.starts_with("docs/")) {
        assert!(
            readme.contains(&format!("- [{page}]({page})")),
            "README.md's Documentation list does not link {page}"
        );
    }
}

/// The parser finds what a reader sees as commands.
#[test]
fn shell_blocks_are_read_as_a_reader_reads_them() {
    let md = "text\n```sh\nredarc keygen -o k.txt   # exit 0 prints a key\n\n# a comment\n\
              redarc drill a \\\n    -i k.txt   # exit 1 when it fails\necho '# not a comment'\n```\n\
              ```text\nredarc not-a-command\n```\n```console\n$ redarc scan x\nfound 3\n```\n";
    let found = shell_commands("p.md", md);
    let got: Vec<(usize, &str, i32)> = found
        .iter()
        .map(|s| (s.line, s.command.as_str(), s.exit))
        .collect();
    assert_eq!(
        got,
        [
            (3, "redarc keygen -o k.txt", 0),
            (6, "redarc drill a -i k.txt", 1),
            (8, "echo '# not a comment'", 0),
            (14, "redarc scan x", 0),
        ]
    );
}

/// A directory with a `redarc` that is the binary under test.
fn bin_dir(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_redarc"), bin.join("redarc")).unwrap();
    bin
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The shell text that runs `s` as the page shows it, with what the reader
/// fills in filled in, and checks its exit code.
fn script_line(s: &Shown) -> String {
    let mut command = s
        .text
        .replace("cargo run --release -p redarc-cli --", "redarc")
        // The recipient `redarc keygen` printed.
        .replace("age1…", "\"$(sed -n 's/^# public key: //p' key.txt)\"")
        .replace("/srv/", "\"$DOCS_ROOT\"/srv/");
    if s.command.starts_with("redarc import ") {
        let env = s
            .command
            .split_once("--target-env ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}:{}: import without --target-env", s.page, s.line));
        // A person at a terminal types the target environment.
        command = format!(
            "printf '%s\\n' {} | script -q -e -c {} /dev/null",
            sh_quote(env),
            sh_quote(&command)
        );
    }
    format!(
        "echo {marker} >&2\n{command}\ncheck $? {want} {where_}\n",
        marker = sh_quote(&format!("+ {}", s.command)),
        want = s.exit,
        where_ = sh_quote(&format!("{}:{}", s.page, s.line)),
    )
}

const PRELUDE: &str = r#"set -uo pipefail
check() {
  if [ "$1" != "$2" ]; then
    echo "docs command at $3 exited $1, expected $2" >&2
    exit 100
  fi
}
recipient() { sed -n 's/^# public key: //p' "$1"; }
"#;

fn setup_script(setup: Setup) -> &'static str {
    match setup {
        Setup::None => "",
        Setup::Archive => {
            r#"redarc keygen -o key.txt 2>/dev/null && redarc sample src --size 300KB >/dev/null \
  && redarc pack src -o export.tar.zst.age -r "$(recipient key.txt)" >/dev/null
check $? 0 setup
"#
        }
        Setup::Offsite => {
            r#"for who in drill restore purge; do redarc keygen -o $who-identity.txt 2>/dev/null; done \
  && redarc sample src --size 300KB --seed 7 >/dev/null && mkdir packed \
  && redarc pack src -o packed/staging-20261123T100000Z-1a2b3c4d.tar.zst.age --environment staging \
       -r "$(recipient drill-identity.txt)" -r "$(recipient restore-identity.txt)" \
       -r "$(recipient purge-identity.txt)" --expires-in-days 30 >/dev/null \
  && REDARC_S3_BUCKET=backups REDARC_S3_PREFIX=exports \
       redarc offsite put packed/staging-20261123T100000Z-1a2b3c4d.tar.zst.age >/dev/null \
  && mkdir -p srv/exports \
  && redarc pack src -o srv/exports/staging-20200101T000000Z-0000abcd.tar.zst.age --environment staging \
       -r "$(recipient purge-identity.txt)" --expires-at 2020-01-01T00:00:00Z >/dev/null
check $? 0 setup
"#
        }
    }
}

/// Runs one page's commands in a fresh directory; returns the directory.
fn run_page(page: &str, setup: Setup) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bin = bin_dir(root);
    let shown: Vec<Shown> = shell_commands(page, &read_page(page))
        .into_iter()
        .filter(|s| listed(s).is_none())
        .collect();
    assert!(!shown.is_empty(), "{page} runs no command");
    let mut script = format!("{PRELUDE}{}", setup_script(setup));
    for s in &shown {
        script.push_str(&script_line(s));
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .current_dir(root)
        .env("PATH", path)
        .env("DOCS_ROOT", root)
        .env("USER", "ops")
        .env("TERM", "dumb")
        .env_remove("NO_COLOR");
    let _moto = match setup {
        Setup::Offsite => {
            let moto = Moto::start("backups");
            cmd.env("REDARC_S3_ENDPOINT", &moto.endpoint)
                .env("REDARC_S3_ALLOW_HTTP", "true")
                .env("AWS_ACCESS_KEY_ID", "AKIAREDARCDOCSTEST01")
                .env("AWS_SECRET_ACCESS_KEY", "docs-test-secret-key")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_ENDPOINT_URL", &moto.endpoint);
            Some(moto)
        }
        _ => None,
    };
    let out = run(&mut cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{page}: a command did not work as shown\n--- stderr\n{}\n--- stdout\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    tmp
}

#[test]
fn readme_commands_work_as_shown() {
    let dir = run_page("README.md", Setup::Archive);
    // The demo wrote its run, and the reference tools restored the archive.
    assert!(dir.path().join("redarc-demo").is_dir());
    assert!(dir.path().join("manifest.json").is_file());
}

#[test]
fn quickstart_commands_work_as_shown() {
    let dir = run_page("docs/quickstart.md", Setup::None);
    assert!(dir.path().join("restored/manifest.json").is_file());
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ev.json")).unwrap()).unwrap();
    assert_eq!(ev["passed"], true, "{ev}");
}

#[test]
fn format_commands_work_as_shown() {
    let dir = run_page("docs/format.md", Setup::None);
    assert!(dir.path().join("unpacked/SHA256SUMS").is_file());
}

#[test]
fn sample_data_commands_work_as_shown() {
    let dir = run_page("docs/sample-data.md", Setup::None);
    assert!(dir.path().join("truth.json").is_file());
}

/// The runbook from the bucket to the purge: fetched, drilled, imported
/// with a typed approval, and the expired copy purged and logged.
#[test]
fn restore_drill_runbook_works_as_shown() {
    let dir = run_page("docs/restore-drill.md", Setup::Offsite);
    let root = dir.path();
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("evidence/2026-11-23.json")).unwrap())
            .unwrap();
    assert_eq!(ev["passed"], true, "{ev}");
    assert!(root.join("evidence/2026-11-23.md").is_file());
    let users = std::fs::read_to_string(root.join("srv/restore-test/data/users.jsonl")).unwrap();
    assert!(users.lines().count() > 0);
    assert!(!root
        .join("srv/exports/staging-20200101T000000Z-0000abcd.tar.zst.age")
        .exists());
    let log = std::fs::read_to_string(root.join("srv/exports/custody-log.jsonl")).unwrap();
    assert!(log.contains("\"operator\":\"ops\""), "{log}");
}
