//! Integration tests of the redarc library, as one test binary.

// In tests a panic is a failed test, not a crash on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod archive;
mod deep;
mod docs;
mod recall;
mod redact;
mod restore;
mod vectors;
