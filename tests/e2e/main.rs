//! End-to-end tests: the `redarc` binary, and interoperability with the
//! reference `age`, `age-keygen`, `zstd`, GNU `tar`, `sha256sum` and
//! `ssh-keygen` tools. `scripts/test.sh` installs them.

mod cli;
mod interop;
mod support;
