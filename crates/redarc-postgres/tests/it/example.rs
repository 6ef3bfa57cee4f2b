//! The example docs/postgres.md shows, run as shown: `pg_roundtrip
//! --load-sample` against a fresh source and target, on a pseudo-terminal
//! (util-linux `script`) where the operator types the target environment.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::server::{PgServer, SUPERUSER};

/// `target/<profile>/examples/pg_roundtrip`, which `cargo test` builds
/// beside this test binary (in `target/<profile>/deps`).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = profile_dir.join("examples").join("pg_roundtrip");
    assert!(
        bin.exists(),
        "{} is missing: cargo test builds the crate's examples before its tests",
        bin.display()
    );
    bin
}

/// Quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn the_documented_example_restores_every_row_after_a_typed_approval() {
    let server = PgServer::start();
    server.create_database("app");
    server.create_database("app_restore");
    let bin = example_binary();
    let command = format!("{} --load-sample", sh_quote(bin.to_str().unwrap()));
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("REDARC_PG_URL", server.url("app", SUPERUSER))
        .env(
            "REDARC_PG_RESTORE_URL",
            server.url("app_restore", SUPERUSER),
        )
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run script (util-linux, Debian package bsdutils): {e}"));
    {
        // What the operator types at the prompt; the terminal holds it
        // until the example asks.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"restore-test\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "example failed: {}\n{text}",
        out.status
    );

    // Independent of the example's own report: both databases, counted.
    for table in redarc_postgres::SAMPLE_TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        let source = server.psql("app", &sql);
        let restored = server.psql("app_restore", &sql);
        assert!(
            source.trim().parse::<u64>().unwrap() > 0,
            "{table} is empty"
        );
        assert_eq!(
            source, restored,
            "{table}: source and restore differ\n{text}"
        );
    }
}
