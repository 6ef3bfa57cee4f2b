//! End-to-end tests: the `redarc` binary, and interoperability with the
//! reference `age`, `age-keygen`, `zstd`, GNU `tar`, `sha256sum` and
//! `ssh-keygen` tools, and offsite storage against `moto_server`.
//! `scripts/test.sh` installs them.

// In tests a panic is a failed test, not a crash on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench;
mod cli;
mod crash;
mod docs;
mod drill;
mod interop;
// The S3-compatible test server, shared with redarc-offsite's own tests.
#[path = "../../crates/redarc-offsite/tests/support/moto.rs"]
mod moto;
mod offsite;
mod output;
mod redact;
mod secrets;
mod support;
mod vectors;
