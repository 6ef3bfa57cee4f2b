//! Keyed pseudonyms: HMAC-SHA256 of a value under the export's key.
//!
//! The same value maps to the same pseudonym in every entity, so joins
//! survive; without the key nobody can test guesses against a pseudonym.
//! The key itself never leaves this module: reports carry its id only.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Shortest key accepted, in bytes.
const MIN_KEY_LEN: usize = 16;

/// The environment variable the CLI reads a pseudonym key from.
pub const PSEUDONYM_KEY_ENV: &str = "REDARC_PSEUDONYM_KEY";

/// A pseudonym key. Zeroized on drop; its `Debug` shows the key id only.
#[derive(Clone)]
pub struct PseudonymKey {
    key: Zeroizing<Vec<u8>>,
    id: String,
}

impl PseudonymKey {
    /// A key from raw bytes (surrounding ASCII whitespace removed).
    ///
    /// # Errors
    /// [`Error::Policy`] when the key is shorter than 16 bytes.
    pub fn new(bytes: &[u8]) -> Result<PseudonymKey> {
        let trimmed = bytes.trim_ascii();
        if trimmed.len() < MIN_KEY_LEN {
            return Err(Error::Policy(format!(
                "pseudonym key must be at least {MIN_KEY_LEN} bytes"
            )));
        }
        let mut h = Sha256::new();
        // Domain-separated so the id reveals nothing usable about the key.
        h.update(b"redarc pseudonym key id\0");
        h.update(trimmed);
        let id = format!("hmac-sha256:{}", &hex::encode(h.finalize())[..16]);
        Ok(PseudonymKey {
            key: Zeroizing::new(trimmed.to_vec()),
            id,
        })
    }

    /// Reads a key from a file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Policy`] when the
    /// key is too short.
    pub fn from_file(path: &Path) -> Result<PseudonymKey> {
        let bytes = Zeroizing::new(
            std::fs::read(path).map_err(|e| Error::io_path("reading pseudonym key", path, e))?,
        );
        PseudonymKey::new(&bytes)
    }

    /// Reads a key from an environment variable; `None` when it is unset.
    ///
    /// # Errors
    /// [`Error::Policy`] when the key is too short.
    pub fn from_env(var: &str) -> Result<Option<PseudonymKey>> {
        match std::env::var_os(var) {
            None => Ok(None),
            Some(v) => {
                let v = Zeroizing::new(v.into_encoded_bytes());
                PseudonymKey::new(&v).map(Some)
            }
        }
    }

    /// The key id recorded in reports and manifests.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The pseudonym of `value`: `[PSEUDONYM:<16 hex>]`.
    pub(crate) fn pseudonym(&self, value: &[u8]) -> String {
        let mut tag = String::with_capacity(28);
        tag.push_str("[PSEUDONYM:");
        match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(value);
                let out = mac.finalize().into_bytes();
                tag.push_str(&hex::encode(&out[..8]));
            }
            // HMAC accepts keys of any length; this arm cannot run.
            Err(_) => tag.push_str("0000000000000000"),
        }
        tag.push(']');
        tag
    }
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_pseudonym_and_key_changes_it() {
        let a = PseudonymKey::new(b"0123456789abcdef-test-key").unwrap();
        let b = PseudonymKey::new(b"another-key-0123456789").unwrap();
        assert_eq!(
            a.pseudonym(b"alice@example.com"),
            a.pseudonym(b"alice@example.com")
        );
        assert_ne!(
            a.pseudonym(b"alice@example.com"),
            a.pseudonym(b"bob@example.com")
        );
        assert_ne!(
            a.pseudonym(b"alice@example.com"),
            b.pseudonym(b"alice@example.com")
        );
        assert_eq!(a.pseudonym(b"x").len(), 28);
    }

    #[test]
    fn debug_and_id_never_show_the_key() {
        let k = PseudonymKey::new(b"super-secret-key-material-42").unwrap();
        let shown = format!("{k:?} {}", k.id());
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(k.id().starts_with("hmac-sha256:"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(PseudonymKey::new(b"  short \n").is_err());
    }
}
