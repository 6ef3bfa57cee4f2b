//! A real S3-compatible server for tests: `moto_server` (from PyPI,
//! `pip install 'moto[server]'`) on a free loopback port, with one bucket.
//!
//! Shared by this crate's tests and the CLI end-to-end tests (which
//! include this file by path). A missing server fails the test with a
//! message saying how to install it: skipping would let a machine without
//! it pass without testing anything. `scripts/test.sh` installs it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to start (Python imports are slow on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Stands in for a signature; moto does not check it.
const PLACEHOLDER_AUTH: &str = "AWS4-HMAC-SHA256 Credential=fixture/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// A running `moto_server`, killed when dropped.
pub(crate) struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    /// The bucket created at start.
    pub(crate) bucket: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts a server and creates `bucket` in it; panics with the server's
    /// log when it cannot.
    pub(crate) fn start(bucket: &str) -> Moto {
        // A port picked by the kernel can be taken again between our probe
        // and the server's bind; try a few.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("moto.log");
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap();
            let child = match Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
            {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "moto_server not found on PATH: the offsite tests need an S3-compatible \
                     server on loopback. Run scripts/test.sh (it installs it), or \
                     pip install 'moto[server]'"
                ),
                Err(e) => panic!("cannot start moto_server: {e}"),
            };
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
                bucket: bucket.to_string(),
                log,
                _dir: dir,
            };
            if moto.wait_for_port(port) {
                moto.create_bucket();
                return moto;
            }
            let log = moto.log_text();
            if !log.contains("in use") {
                panic!("moto_server exited during start:\n{log}");
            }
        }
        panic!("moto_server found no free port in 3 tries");
    }

    /// Whether the port accepts connections before the deadline; false if
    /// the server exited.
    fn wait_for_port(&mut self, port: u16) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            if start.elapsed() > START_TIMEOUT {
                panic!(
                    "moto_server did not listen on {addr} within {START_TIMEOUT:?}:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `PUT /BUCKET` by hand: the code under test should not be what sets
    /// up its own fixture.
    fn create_bucket(&self) {
        let status = self.raw("PUT", "", b"");
        assert_eq!(
            status,
            200,
            "creating bucket {} failed\n{}",
            self.bucket,
            self.log_text()
        );
    }

    /// One request for `key` in the bucket (`""`: the bucket itself),
    /// bypassing the code under test; returns the status code.
    ///
    /// moto's server checks no signatures unless told to, but treats a
    /// request without an `Authorization` header as anonymous, which private
    /// objects refuse: a placeholder header makes this an ordinary client.
    pub(crate) fn raw(&self, method: &str, key: &str, body: &[u8]) -> u16 {
        // A server that has just started can reset a connection it
        // accepted (seen once in CI, at the bucket's creation): try again
        // a few times before calling it a failure.
        let mut last = String::new();
        for _ in 0..5 {
            match self.try_raw(method, key, body) {
                Ok(status) => return status,
                Err(why) => last = why,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{method} of {key:?} got no HTTP status from moto_server: {last}\n{}",
            self.log_text()
        )
    }

    fn try_raw(&self, method: &str, key: &str, body: &[u8]) -> Result<u16, String> {
        let host = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let path = if key.is_empty() {
            format!("/{}", self.bucket)
        } else {
            format!("/{}/{key}", self.bucket)
        };
        // A server may answer before it has read the whole body, so a
        // failed write still leaves a response to read.
        let sent = write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {PLACEHOLDER_AUTH}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .and_then(|()| s.write_all(body));
        let mut response = Vec::new();
        let read = s.read_to_end(&mut response);
        let head = String::from_utf8_lossy(&response);
        head.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("{head:.200} (write: {sent:?}, read: {read:?})"))
    }

    /// The server's stderr so far (its request log).
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
