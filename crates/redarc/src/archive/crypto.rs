//! The one module that touches `age`: recipients, identities, and the
//! encrypting and decrypting streams.
//!
//! Errors from here are coarse on purpose (as age's own are): they say what
//! kind of key or step failed, never key material or a passphrase.

use std::fmt;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};

use crate::error::{DecryptFailure, Error};
use crate::Result;

/// Default ceiling on the scrypt work factor (log2 N) accepted when reading a
/// passphrase-encrypted archive. 22 is a few seconds of work; an archive that
/// demands more is refused rather than allowed to pin a CPU for minutes.
pub const DEFAULT_MAX_WORK_FACTOR: u8 = 22;

/// Who an archive is encrypted to.
///
/// Either one or more public keys (`age1…` X25519 recipients, `ssh-ed25519`
/// or `ssh-rsa` keys), or exactly one passphrase.
pub struct Recipients {
    keys: Vec<Box<dyn age::Recipient + Send + Sync>>,
    passphrase: Option<(SecretString, Option<u8>)>,
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipients")
            .field("keys", &self.keys.len())
            .field("passphrase", &self.passphrase.is_some())
            .finish()
    }
}

impl Recipients {
    /// Parses public keys: `age1…` or `ssh-ed25519 …` / `ssh-rsa …` lines.
    ///
    /// # Errors
    /// [`Error::Key`] naming the position of a key that does not parse.
    pub fn parse<S: AsRef<str>>(keys: &[S]) -> Result<Recipients> {
        let mut out = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            out.push(
                parse_recipient(key.as_ref())
                    .map_err(|why| Error::Key(format!("recipient {}: {why}", i + 1)))?,
            );
        }
        if out.is_empty() {
            return Err(Error::Key("no recipient given".into()));
        }
        Ok(Recipients {
            keys: out,
            passphrase: None,
        })
    }

    /// Reads a recipients file: one public key per line; blank lines and
    /// lines starting with `#` are ignored (the format `age -R` reads).
    pub fn from_file(path: &Path) -> Result<Recipients> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io_path("reading recipients file", path, e))?;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(
                parse_recipient(line).map_err(|why| {
                    Error::Key(format!("{} line {}: {why}", path.display(), n + 1))
                })?,
            );
        }
        if keys.is_empty() {
            return Err(Error::Key(format!("{} holds no recipient", path.display())));
        }
        Ok(Recipients {
            keys,
            passphrase: None,
        })
    }

    /// Adds the keys of `other` (public keys only).
    ///
    /// # Errors
    /// [`Error::Key`] if either side is a passphrase: age allows a passphrase
    /// only as the sole recipient.
    pub fn extend(&mut self, other: Recipients) -> Result<()> {
        if self.passphrase.is_some() || other.passphrase.is_some() {
            return Err(Error::Key(
                "a passphrase must be the only recipient of an archive".into(),
            ));
        }
        self.keys.extend(other.keys);
        Ok(())
    }

    /// Encrypts to a passphrase (scrypt). `work_factor` (log2 N) defaults to
    /// age's calibrated value (about one second); tests may lower it. It is
    /// capped at [`DEFAULT_MAX_WORK_FACTOR`] so default readers can open
    /// what this writes.
    pub fn passphrase(passphrase: String, work_factor: Option<u8>) -> Recipients {
        Recipients {
            keys: Vec::new(),
            passphrase: Some((
                SecretString::from(passphrase),
                work_factor.map(|f| f.clamp(1, DEFAULT_MAX_WORK_FACTOR)),
            )),
        }
    }

    /// Number of public-key recipients (0 for a passphrase).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no public-key recipient (true for a passphrase).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn encrypt<W: Write>(&self, out: W) -> Result<age::stream::StreamWriter<W>> {
        let encryptor = if let Some((pass, factor)) = &self.passphrase {
            let mut r = age::scrypt::Recipient::new(pass.clone());
            if let Some(f) = factor {
                r.set_work_factor(*f);
            }
            age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        } else {
            age::Encryptor::with_recipients(self.keys.iter().map(|k| k.as_ref() as _))
        }
        .map_err(|_| Error::Key("the recipients cannot be combined".into()))?;
        encryptor
            .wrap_output(out)
            .map_err(|e| Error::io("writing the age header", e))
    }
}

fn parse_recipient(
    text: &str,
) -> std::result::Result<Box<dyn age::Recipient + Send + Sync>, String> {
    let text = text.trim();
    if text.starts_with("age1") {
        age::x25519::Recipient::from_str(text)
            .map(|r| Box::new(r) as _)
            .map_err(|_| "not a valid age1… X25519 recipient".to_string())
    } else if text.starts_with("ssh-") {
        age::ssh::Recipient::from_str(text)
            .map(|r| Box::new(r) as _)
            .map_err(|_| "not a supported SSH public key (ssh-ed25519 or ssh-rsa)".to_string())
    } else {
        Err("expected an age1… recipient or an ssh-ed25519/ssh-rsa public key".into())
    }
}

/// Keys that can open an archive: age X25519 identities, unencrypted SSH
/// private keys, or a passphrase.
///
/// Secret material is zeroized on drop (by age's key types) and never
/// printed: `Debug` shows only counts.
#[derive(Clone)]
pub struct Identities {
    x25519: Vec<age::x25519::Identity>,
    ssh: Vec<age::ssh::Identity>,
    passphrase: Option<SecretString>,
    max_work_factor: u8,
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identities")
            .field("x25519", &self.x25519.len())
            .field("ssh", &self.ssh.len())
            .field("passphrase", &self.passphrase.is_some())
            .finish()
    }
}

impl Identities {
    fn empty() -> Identities {
        Identities {
            x25519: Vec::new(),
            ssh: Vec::new(),
            passphrase: None,
            max_work_factor: DEFAULT_MAX_WORK_FACTOR,
        }
    }

    /// A fresh X25519 identity.
    pub fn generate_x25519() -> Identities {
        let mut ids = Identities::empty();
        ids.x25519.push(age::x25519::Identity::generate());
        ids
    }

    /// A passphrase, for archives encrypted with one.
    pub fn passphrase(passphrase: String) -> Identities {
        let mut ids = Identities::empty();
        ids.passphrase = Some(SecretString::from(passphrase));
        ids
    }

    /// Adds the keys of `other`; a passphrase in `other` replaces this one.
    pub fn merge(&mut self, other: Identities) {
        self.x25519.extend(other.x25519);
        self.ssh.extend(other.ssh);
        if other.passphrase.is_some() {
            self.passphrase = other.passphrase;
        }
    }

    /// Sets the highest scrypt work factor (log2 N) accepted when opening a
    /// passphrase-encrypted archive.
    pub fn with_max_work_factor(mut self, log_n: u8) -> Identities {
        self.max_work_factor = log_n;
        self
    }

    /// Reads an identity file: the format `age-keygen` writes (lines of
    /// `AGE-SECRET-KEY-1…`, `#` comments), or an unencrypted OpenSSH/PEM
    /// private key (ed25519 or RSA).
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; [`Error::Key`] naming the file
    /// and line (never its contents) if it holds no usable key.
    pub fn from_file(path: &Path) -> Result<Identities> {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::io_path("opening identity file", path, e))?;
        // An identity file larger than this is not an identity file.
        let mut text = String::new();
        file.take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| Error::io_path("reading identity file", path, e))?;
        let ids =
            Identities::parse(&text).map_err(|e| Error::Key(format!("{}: {e}", path.display())));
        zeroize::Zeroize::zeroize(&mut text);
        ids
    }

    /// Parses identity text (see [`Identities::from_file`]).
    pub fn parse(text: &str) -> Result<Identities> {
        let mut ids = Identities::empty();
        if text.trim_start().starts_with("-----BEGIN") {
            let id = age::ssh::Identity::from_buffer(BufReader::new(text.as_bytes()), None)
                .map_err(|_| Error::Key("not a readable SSH private key".into()))?;
            match id {
                age::ssh::Identity::Unencrypted(_) => ids.ssh.push(id),
                age::ssh::Identity::Encrypted(_) => {
                    return Err(Error::Key(
                        "passphrase-protected SSH keys are not supported; use an age identity or an unencrypted copy of the key".into(),
                    ))
                }
                age::ssh::Identity::Unsupported(_) => {
                    return Err(Error::Key("unsupported SSH key type".into()))
                }
            }
            return Ok(ids);
        }
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with("AGE-PLUGIN-") {
                return Err(Error::Key(format!(
                    "line {}: plugin identities are not supported",
                    n + 1
                )));
            }
            let id = age::x25519::Identity::from_str(line)
                .map_err(|_| Error::Key(format!("line {} is not an age identity", n + 1)))?;
            ids.x25519.push(id);
        }
        if ids.x25519.is_empty() {
            return Err(Error::Key("no identity found".into()));
        }
        Ok(ids)
    }

    /// The public recipients (`age1…`) of the X25519 identities.
    pub fn recipients(&self) -> Vec<String> {
        self.x25519
            .iter()
            .map(|i| i.to_public().to_string())
            .collect()
    }

    /// The identity file text `age-keygen` would write for the X25519
    /// identities (created time, public key comment, secret key). The
    /// returned string is zeroized when dropped.
    pub fn to_identity_file(&self, created: &str) -> zeroize::Zeroizing<String> {
        let mut out = zeroize::Zeroizing::new(String::new());
        for id in &self.x25519 {
            out.push_str(&format!(
                "# created: {created}\n# public key: {}\n",
                id.to_public()
            ));
            out.push_str(id.to_string().expose_secret());
            out.push('\n');
        }
        out
    }

    /// Opens the age layer of `source`, returning the plaintext stream.
    pub(crate) fn decrypt<R: Read>(
        &self,
        source: R,
    ) -> Result<age::stream::StreamReader<BufReader<R>>> {
        let decryptor =
            age::Decryptor::new_buffered(BufReader::new(source)).map_err(map_decrypt)?;
        if decryptor.is_scrypt() {
            let pass = self
                .passphrase
                .as_ref()
                .ok_or(Error::Decrypt(DecryptFailure::PassphraseRequired))?;
            let mut id = age::scrypt::Identity::new(pass.clone());
            id.set_max_work_factor(self.max_work_factor);
            decryptor
                .decrypt(std::iter::once(&id as &dyn age::Identity))
                .map_err(map_decrypt)
        } else {
            let keys = self
                .x25519
                .iter()
                .map(|i| i as &dyn age::Identity)
                .chain(self.ssh.iter().map(|i| i as &dyn age::Identity));
            decryptor.decrypt(keys).map_err(map_decrypt)
        }
    }
}

fn map_decrypt(e: age::DecryptError) -> Error {
    use age::DecryptError as D;
    Error::Decrypt(match e {
        D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys => {
            DecryptFailure::NoMatchingKeys
        }
        D::ExcessiveWork { .. } => DecryptFailure::ExcessiveWork,
        D::InvalidMac => DecryptFailure::InvalidMac,
        D::UnknownFormat => DecryptFailure::Unsupported,
        D::InvalidHeader | D::Io(_) => DecryptFailure::InvalidHeader,
        #[allow(unreachable_patterns)] // plugin variants exist only with that feature
        _ => DecryptFailure::Unsupported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_keys() {
        let ids = Identities::generate_x25519();
        let text = ids.to_identity_file("now");
        let secret_line = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap();
        assert!(!format!("{ids:?}").contains(secret_line));
        let pass = Identities::passphrase("hunter2-correct-horse".into());
        assert!(!format!("{pass:?}").contains("hunter2"));
        let r = Recipients::passphrase("hunter2-correct-horse".into(), Some(2));
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn identity_file_round_trip_and_errors_are_secret_free() {
        let ids = Identities::generate_x25519();
        let text = ids.to_identity_file("2026-01-01T00:00:00Z");
        let back = Identities::parse(&text).unwrap();
        assert_eq!(back.recipients(), ids.recipients());
        let bad = "AGE-SECRET-KEY-1NOTAREALKEYATALLXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
        let err = Identities::parse(bad).unwrap_err().to_string();
        assert!(!err.contains("NOTAREALKEY"), "{err}");
        assert!(Identities::parse("# only a comment\n").is_err());
    }

    #[test]
    fn recipients_parse() {
        let ids = Identities::generate_x25519();
        assert_eq!(Recipients::parse(&ids.recipients()).unwrap().len(), 1);
        let err = Recipients::parse(&["nonsense"]).unwrap_err().to_string();
        assert!(err.contains("recipient 1"), "{err}");
        let mut pass = Recipients::passphrase("p".into(), Some(1));
        assert!(pass
            .extend(Recipients::parse(&ids.recipients()).unwrap())
            .is_err());
    }
}
