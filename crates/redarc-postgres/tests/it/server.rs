//! A throwaway PostgreSQL server from the Debian packages: `initdb` into a
//! temporary directory, `pg_ctl start` listening only on a unix socket in
//! it, stopped and deleted on drop.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use redarc_postgres::Database;

/// The superuser `initdb` creates; trust authentication on the socket.
pub(crate) const SUPERUSER: &str = "redarc";

pub(crate) struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// Who runs the server: PostgreSQL refuses to run as root.
    run_as: Option<(u32, u32)>,
    running: bool,
}

impl PgServer {
    /// Starts a fresh server. Fails the test when PostgreSQL is missing:
    /// CI installs it (scripts/test.sh), so a skip would hide a gap.
    pub(crate) fn start() -> PgServer {
        let bin = find_bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb. \
                 Run scripts/test.sh (it installs Debian's postgresql package) or \
                 apt-get install postgresql"
            )
        });
        let run_as = if is_root() {
            Some(unprivileged_user())
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("redarc-pg-")
            .tempdir()
            .unwrap();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut server = PgServer {
            bin,
            dir,
            run_as,
            running: false,
        };
        let data = server.data_dir();
        let sock = server.socket_dir();
        server.mkdir(&sock);
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "--no-sync".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        );
        let options = format!(
            "-c listen_addresses='' -k {} -c unix_socket_permissions=0700 -c fsync=off -p 5432",
            sock.display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
        server.running = true;
        server
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    fn mkdir(&self, path: &Path) {
        std::fs::create_dir(path).unwrap();
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            // std drops supplementary groups too when root changes uid.
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        let out = self.command(program).args(args).output().unwrap();
        if !out.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{program} failed: {}\n{}\n{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }

    /// A connection string for `dbname` as `user`.
    pub(crate) fn url(&self, dbname: &str, user: &str) -> String {
        format!(
            "host={} port=5432 user={user} dbname={dbname}",
            self.socket_dir().display()
        )
    }

    /// Connects to `dbname` as the superuser.
    pub(crate) fn connect(&self, dbname: &str) -> Database {
        Database::connect(&self.url(dbname, SUPERUSER)).unwrap()
    }

    /// Runs `sql` with psql as the superuser; unaligned, tuples only.
    pub(crate) fn psql(&self, dbname: &str, sql: &str) -> String {
        // psql is a client: it may run as root.
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(dbname, SUPERUSER))
            .arg("-c")
            .arg(sql)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Creates a database.
    pub(crate) fn create_database(&self, name: &str) {
        self.connect("postgres")
            .execute_script(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
        // The TempDir field then deletes the directory.
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// The `postgres` user the Debian package creates, else `nobody`.
fn unprivileged_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
    };
    match find("postgres").or_else(|| find("nobody")) {
        Some((Some(uid), Some(gid))) => (uid, gid),
        _ => panic!(
            "running as root and found neither a postgres nor a nobody user to run PostgreSQL as"
        ),
    }
}
