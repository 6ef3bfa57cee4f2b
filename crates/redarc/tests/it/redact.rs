//! Redactor property tests.
