//! Integration tests of the redarc library, as one test binary.

mod recall;
mod redact;
