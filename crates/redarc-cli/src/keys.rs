//! Keys on the command line: keygen, identity and recipient options.

use std::io::Write;
use std::path::{Path, PathBuf};

use redarc::{Error, Identities, Recipients};

use crate::output::{print_json, OutputFormat};

/// Arguments of `redarc keygen`.
#[derive(Debug, clap::Args)]
pub(crate) struct KeygenArgs {
    /// Write the identity to FILE (created with mode 0600; never overwritten).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// json: print the public recipient and the file as one JSON document
    /// (needs -o: a JSON report never holds the secret key).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, requires_ifs = [("json", "output")])]
    format: OutputFormat,
}

pub(crate) fn keygen(args: &KeygenArgs) -> redarc::Result<i32> {
    let ids = Identities::generate_x25519();
    let created = redarc::format::Timestamp::now().to_string();
    let text = ids.to_identity_file(&created);
    let public = ids.recipients().join("\n");
    match &args.output {
        Some(path) => {
            write_secret_file(path, text.as_bytes())?;
            match args.format {
                OutputFormat::Json => print_json(&serde_json::json!({
                    "identity_file": path.display().to_string(),
                    "recipient": public,
                    "created": created,
                }))?,
                OutputFormat::Text => eprintln!("Public key: {public}"),
            }
        }
        None => {
            crate::output::print_bytes(text.as_bytes())?;
        }
    }
    Ok(0)
}

/// Creates `path` with mode 0600, refusing to overwrite.
pub(crate) fn write_secret_file(path: &Path, data: &[u8]) -> redarc::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.write_all(data)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Identity options shared by verify, inspect and unpack.
#[derive(Debug, clap::Args)]
pub(crate) struct IdentityArgs {
    /// Identity file (age-keygen format, or an unencrypted SSH private key). Repeatable.
    #[arg(
        short = 'i',
        long = "identity",
        value_name = "IDENTITY",
        required_unless_present = "passphrase"
    )]
    identities: Vec<PathBuf>,
    /// The archive is passphrase-encrypted: read the passphrase from $REDARC_PASSPHRASE or the terminal.
    #[arg(long)]
    passphrase: bool,
    /// Highest scrypt work factor (log2 N) accepted for passphrase archives.
    #[arg(long, value_name = "N", default_value_t = redarc::DEFAULT_MAX_WORK_FACTOR)]
    max_work_factor: u8,
}

impl IdentityArgs {
    pub(crate) fn load(&self) -> redarc::Result<Identities> {
        let mut all: Option<Identities> = None;
        for path in &self.identities {
            let ids = Identities::from_file(path)?;
            match all.as_mut() {
                Some(a) => a.merge(ids),
                None => all = Some(ids),
            }
        }
        if self.passphrase {
            let pass = Identities::passphrase(read_passphrase(false)?);
            match all.as_mut() {
                Some(a) => a.merge(pass),
                None => all = Some(pass),
            }
        }
        all.map(|a| a.with_max_work_factor(self.max_work_factor))
            .ok_or_else(|| Error::Usage("give -i IDENTITY or --passphrase".into()))
    }
}

/// Recipient options of pack.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RecipientArgs {
    /// Encrypt to RECIPIENT (age1… or an SSH public key). Repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    recipients: Vec<String>,
    /// Encrypt to the recipients listed in FILE (one per line). Repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    recipient_files: Vec<PathBuf>,
    /// Encrypt with a passphrase from $REDARC_PASSPHRASE or the terminal (must be the only recipient).
    #[arg(long, conflicts_with_all = ["recipients", "recipient_files"])]
    passphrase: bool,
}

impl RecipientArgs {
    /// A single public-key recipient.
    pub(crate) fn one(recipient: String) -> RecipientArgs {
        RecipientArgs {
            recipients: vec![recipient],
            recipient_files: Vec::new(),
            passphrase: false,
        }
    }

    pub(crate) fn load(&self) -> redarc::Result<Recipients> {
        if self.passphrase {
            return Ok(Recipients::passphrase(
                read_passphrase(true)?,
                work_factor_override(),
            ));
        }
        let mut all: Option<Recipients> = None;
        if !self.recipients.is_empty() {
            all = Some(Recipients::parse(&self.recipients)?);
        }
        for path in &self.recipient_files {
            let r = Recipients::from_file(path)?;
            match all.as_mut() {
                Some(a) => a.extend(r)?,
                None => all = Some(r),
            }
        }
        all.ok_or_else(|| {
            Error::Usage("give at least one -r RECIPIENT, -R FILE or --passphrase".into())
        })
    }
}

/// `REDARC_SCRYPT_WORK_FACTOR` lowers the scrypt cost, for tests only.
fn work_factor_override() -> Option<u8> {
    std::env::var("REDARC_SCRYPT_WORK_FACTOR")
        .ok()
        .and_then(|v| v.parse().ok())
}

fn read_passphrase(confirm: bool) -> redarc::Result<String> {
    if let Ok(p) = std::env::var("REDARC_PASSPHRASE") {
        if p.is_empty() {
            return Err(Error::Usage("REDARC_PASSPHRASE is empty".into()));
        }
        return Ok(p);
    }
    let p = rpassword::prompt_password("Passphrase: ").map_err(|e| {
        Error::io(
            "reading the passphrase (set REDARC_PASSPHRASE when there is no terminal)",
            e,
        )
    })?;
    if p.is_empty() {
        return Err(Error::Usage("the passphrase is empty".into()));
    }
    if confirm {
        let again = rpassword::prompt_password("Confirm passphrase: ")
            .map_err(|e| Error::io("reading the passphrase", e))?;
        if again != p {
            return Err(Error::Usage("the passphrases differ".into()));
        }
    }
    Ok(p)
}
