//! `redarc offsite put|list|get|retain` against a real S3-compatible server
//! (`moto_server` on loopback), from `redarc sample` to a passing drill on
//! the fetched archive. docs/offsite.md shows these commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use redarc::ObjectName;
use serde_json::Value;

use crate::moto::Moto;
use crate::support::{on_archive, redarc, run, text};

const ACCESS_KEY_ID: &str = "AKIAREDARCE2ETEST01";
/// Distinctive, so that a leak anywhere is found by a plain search.
const SECRET_ACCESS_KEY: &str = "e2eSecretKey/Never+In+Output/9876543210zyx";

/// Every command a test ran and every output, searched for credentials at the end.
#[derive(Default)]
struct Transcript {
    outputs: Vec<String>,
    /// The `redarc` argument lists, to hold docs/offsite.md to them.
    commands: Vec<Vec<String>>,
}

impl Transcript {
    fn run(&mut self, cmd: &mut Command) -> Output {
        let out = run(cmd);
        self.outputs.push(text(&out.stdout));
        self.outputs.push(text(&out.stderr));
        if cmd.get_program() == redarc().get_program() {
            self.commands.push(
                cmd.get_args()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            );
        }
        out
    }

    fn ok(&mut self, cmd: &mut Command) -> String {
        let out = self.run(cmd);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{cmd:?}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn assert_no_credentials(&self) {
        for output in &self.outputs {
            assert!(
                !output.contains(SECRET_ACCESS_KEY),
                "secret key leaked:\n{output}"
            );
            assert!(
                !output.contains("e2eSecretKey"),
                "part of the secret leaked:\n{output}"
            );
            assert!(
                !output.contains(ACCESS_KEY_ID),
                "access key id printed:\n{output}"
            );
        }
    }
}

/// A command's shape: its subcommand(s) and the set of flags it uses, not
/// their values.
fn shape(args: &[String]) -> (String, std::collections::BTreeSet<String>) {
    let words = if args.first().is_some_and(|a| a == "offsite") {
        2
    } else {
        1
    };
    let name = args
        .iter()
        .take(words)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let flags = args
        .iter()
        .filter(|a| a.starts_with('-'))
        .cloned()
        .collect();
    (name, flags)
}

/// Every `redarc` command docs/offsite.md shows has the shape of one the
/// test ran.
fn assert_docs_commands_were_run(t: &Transcript) {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/offsite.md"
    ))
    .unwrap();
    let ran: Vec<_> = t.commands.iter().map(|c| shape(c)).collect();
    let mut shown = 0;
    for line in doc.lines() {
        let Some(rest) = line.trim().strip_prefix("redarc ") else {
            continue;
        };
        let args: Vec<String> = rest.split_whitespace().map(String::from).collect();
        let want = shape(&args);
        assert!(
            ran.contains(&want),
            "docs/offsite.md shows a command this test does not run: {line}\nran: {ran:?}"
        );
        shown += 1;
    }
    assert!(
        shown >= 10,
        "only {shown} commands found in docs/offsite.md"
    );
}

/// `redarc offsite` with the store in REDARC_S3_* and credentials in the
/// standard AWS variables, and nothing else from the caller's environment.
fn offsite(moto: &Moto) -> Command {
    let mut cmd = bare();
    cmd.env("REDARC_S3_BUCKET", &moto.bucket)
        .env("REDARC_S3_ENDPOINT", &moto.endpoint)
        .env("REDARC_S3_ALLOW_HTTP", "true")
        .env("REDARC_S3_PREFIX", "exports")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY);
    cmd
}

/// `redarc offsite` with an empty environment.
fn bare() -> Command {
    let mut cmd = redarc();
    cmd.env_clear().arg("offsite");
    cmd
}

/// The one archive `pack --object-name` wrote under `dir`.
fn packed_archive(dir: &Path) -> PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".tar.zst.age") {
                found.push(path);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn sample_pack_put_list_get_drill_retain() {
    let moto = Moto::start("redarc-e2e");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut t = Transcript::default();

    // A realistic export, packed under an object name.
    let identity = root.join("drill-identity.txt");
    let out = t.run(redarc().arg("keygen").arg("-o").arg(&identity));
    let recipient = text(&out.stderr)
        .trim()
        .strip_prefix("Public key: ")
        .unwrap()
        .to_string();
    t.ok(redarc()
        .arg("sample")
        .arg(root.join("export"))
        .args(["--size", "300KB", "--seed", "7"]));
    t.ok(redarc()
        .arg("pack")
        .arg(root.join("export"))
        .arg("-o")
        .arg(root.join("out"))
        .args(["-r", &recipient, "--environment", "staging"])
        .args(["--source-version", "4f2c1e9", "--object-name"]));
    let archive = packed_archive(&root.join("out"));
    let file_name = archive.file_name().unwrap().to_str().unwrap().to_string();
    let name = ObjectName::parse(&file_name).unwrap();

    // put: prints the key, under the prefix and the environment/date layout.
    let key = t
        .ok(offsite(&moto).arg("put").arg(&archive))
        .trim()
        .to_string();
    let parsed = ObjectName::parse(&key).unwrap();
    assert_eq!(
        (parsed.prefix.as_str(), parsed.environment.as_str()),
        ("exports", "staging")
    );
    assert!(key.ends_with(&format!("/{file_name}")), "{key}");
    assert_eq!(parsed.generated_at, name.generated_at);

    // list: a table, JSON, by environment and by date; flags work as well as the environment.
    let table = t.ok(offsite(&moto).args(["list", "--environment", "staging"]));
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("GENERATED_AT"), "{table}");
    let row = lines.next().unwrap();
    assert!(row.contains("staging") && row.ends_with(&key), "{table}");
    let day = &name.generated_at.to_string()[..10];
    let listed = json(&t.ok(offsite(&moto).args(["list", "--date", day, "--format", "json"])));
    let archives = listed["archives"].as_array().unwrap();
    assert_eq!(archives.len(), 1, "{listed}");
    assert_eq!(archives[0]["key"], key.as_str());
    assert_eq!(archives[0]["environment"], "staging");
    assert_eq!(archives[0]["sidecar"], true);
    assert_eq!(
        archives[0]["size"].as_u64().unwrap(),
        std::fs::metadata(&archive).unwrap().len()
    );
    let none =
        json(&t.ok(offsite(&moto).args(["list", "--date", "2000-01-01", "--format", "json"])));
    assert_eq!(none["archives"].as_array().unwrap().len(), 0);
    let by_flags = t.ok(bare()
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .args([
            "list",
            "--bucket",
            &moto.bucket,
            "--endpoint",
            &moto.endpoint,
        ])
        .args([
            "--allow-http",
            "--prefix",
            "exports",
            "--from",
            day,
            "--to",
            day,
        ]));
    assert!(by_flags.contains(&key), "{by_flags}");

    // get: the same bytes, with a sidecar sha256sum accepts.
    let fetched_dir = root.join("fetched");
    std::fs::create_dir(&fetched_dir).unwrap();
    let fetched = t.ok(offsite(&moto).args(["get", &key, "-o"]).arg(&fetched_dir));
    let fetched = PathBuf::from(fetched.trim());
    assert_eq!(fetched.file_name().unwrap().to_str().unwrap(), file_name);
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    let check = run(Command::new("sha256sum")
        .args(["-c", &format!("{file_name}.sha256")])
        .current_dir(&fetched_dir));
    assert!(check.status.success(), "{}", text(&check.stderr));

    // drill on the fetched archive: passing evidence.
    let evidence = root.join("evidence.json");
    t.ok(on_archive("drill", &fetched, &identity)
        .arg("--evidence")
        .arg(&evidence)
        .args(["--target-env", "restore-test"]));
    let ev = json(&std::fs::read_to_string(&evidence).unwrap());
    assert_eq!(ev["passed"], true, "{ev}");
    assert_eq!(ev["archive_name"], file_name.as_str());
    let sidecar = std::fs::read_to_string(format!("{}.sha256", archive.display())).unwrap();
    assert_eq!(
        ev["transport_sha256"],
        format!("sha256:{}", sidecar.split_whitespace().next().unwrap()).as_str()
    );

    // An older copy of the same environment, for retention to find.
    let old_name = "staging-20200101T000000Z-0000abcd.tar.zst.age";
    let old = root.join(old_name);
    std::fs::copy(&archive, &old).unwrap();
    let digest = sidecar.split_whitespace().next().unwrap();
    std::fs::write(
        root.join(format!("{old_name}.sha256")),
        format!("{digest}  {old_name}\n"),
    )
    .unwrap();
    let old_key = t.ok(offsite(&moto).arg("put").arg(&old)).trim().to_string();
    assert_eq!(old_key, format!("exports/staging/2020/01/01/{old_name}"));
    // And something that is not ours.
    assert_eq!(
        moto.raw("PUT", "exports/staging/notes.txt", b"keep me"),
        200
    );

    // retain: the dry run reports, the real run deletes the old one only.
    let dry = t.ok(offsite(&moto).args([
        "retain",
        "--older-than-days",
        "30",
        "--keep",
        "1",
        "--dry-run",
    ]));
    assert!(
        dry.lines()
            .any(|l| l.starts_with("would delete") && l.ends_with(&old_key)),
        "{dry}"
    );
    assert!(
        dry.lines()
            .any(|l| l.starts_with("keep") && l.ends_with(&key)),
        "{dry}"
    );
    assert_eq!(
        moto.raw("GET", &old_key, b""),
        200,
        "a dry run deletes nothing"
    );
    let report = json(&t.ok(offsite(&moto).args([
        "retain",
        "--older-than-days",
        "30",
        "--keep",
        "1",
        "--format",
        "json",
    ])));
    assert_eq!(report["dry_run"], false);
    let deleted: Vec<&str> = report["delete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, [old_key.as_str()]);
    assert_eq!(report["keep"][0]["key"], key.as_str());
    assert_eq!(report["keep"][0]["reason"], "newest");
    assert_eq!(report["foreign"], 1);
    assert_eq!(moto.raw("GET", &old_key, b""), 404);
    assert_eq!(moto.raw("GET", &format!("{old_key}.sha256"), b""), 404);
    assert_eq!(moto.raw("GET", &key, b""), 200);
    assert_eq!(moto.raw("GET", "exports/staging/notes.txt", b""), 200);

    // No credential in any output or key.
    let all = json(&t.ok(offsite(&moto).args(["list", "--format", "json"])));
    for a in all["archives"].as_array().unwrap() {
        let k = a["key"].as_str().unwrap();
        assert!(
            !k.contains(SECRET_ACCESS_KEY) && !k.contains(ACCESS_KEY_ID),
            "{k}"
        );
    }
    t.assert_no_credentials();
    assert_docs_commands_were_run(&t);
}

#[test]
fn offsite_failures_exit_nonzero_and_never_print_credentials() {
    let moto = Moto::start("redarc-e2e-fail");
    let tmp = tempfile::tempdir().unwrap();
    let mut t = Transcript::default();
    let code = |out: &Output| out.status.code();

    // No credentials in the environment: refused before any request.
    let out = t.run(
        bare()
            .env("REDARC_S3_BUCKET", &moto.bucket)
            .env("REDARC_S3_ENDPOINT", &moto.endpoint)
            .env("REDARC_S3_ALLOW_HTTP", "1")
            .arg("list"),
    );
    assert_eq!(code(&out), Some(2));
    assert!(
        text(&out.stderr).contains("no credentials"),
        "{}",
        text(&out.stderr)
    );

    // Credentials are never taken from a URL, and not echoed back.
    let out = t.run(offsite(&moto).args([
        "list",
        "--endpoint",
        &format!("http://{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}@127.0.0.1:1"),
    ]));
    assert_eq!(code(&out), Some(2));
    // Plain HTTP only to loopback.
    let out = t.run(offsite(&moto).args(["list", "--endpoint", "http://192.0.2.1:9000"]));
    assert_eq!(code(&out), Some(2));
    assert!(
        text(&out.stderr).contains("loopback"),
        "{}",
        text(&out.stderr)
    );

    // A bucket that does not exist: the store's error, scrubbed.
    let out = t.run(offsite(&moto).args(["list", "--bucket", "no-such-bucket"]));
    assert_eq!(code(&out), Some(2), "{}", text(&out.stderr));

    // A file not named as an archive object.
    let odd = tmp.path().join("customer-acme.tar.zst.age");
    std::fs::write(&odd, b"x").unwrap();
    let out = t.run(offsite(&moto).arg("put").arg(&odd));
    assert_eq!(code(&out), Some(2));

    // An object changed in the store: get is a failed check (exit 1) and leaves nothing.
    let name = "staging-20261123T100000Z-1a2b3c4d.tar.zst.age";
    let local = tmp.path().join(name);
    std::fs::write(&local, vec![7u8; 2048]).unwrap();
    let key = t
        .ok(offsite(&moto).arg("put").arg(&local))
        .trim()
        .to_string();
    assert_eq!(moto.raw("PUT", &key, &[8u8; 2048]), 200);
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let out = t.run(offsite(&moto).args(["get", &key, "-o"]).arg(&dest));
    assert_eq!(code(&out), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("sha256 does not match"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
    // A key that does not exist.
    let missing = key.replace("1a2b3c4d", "00000000");
    let out = t.run(offsite(&moto).args(["get", &missing, "-o"]).arg(&dest));
    assert_eq!(code(&out), Some(2));
    // Retention that could empty an environment is refused.
    let out = t.run(offsite(&moto).args(["retain", "--older-than-days", "0", "--keep", "0"]));
    assert_eq!(code(&out), Some(2));
    assert_eq!(moto.raw("GET", &key, b""), 200);

    t.assert_no_credentials();
}
