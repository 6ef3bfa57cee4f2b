//! Integration tests of the redarc library, as one test binary.

mod archive;
mod recall;
mod redact;
