//! The [`Offsite`] store: a blocking API over `object_store`'s S3 client.
//!
//! `object_store` is async. Rather than make every caller async, the store
//! owns a current-thread tokio runtime and blocks on it, so tokio stays
//! inside this crate. The price: these methods must not be called from
//! inside another runtime (they return [`ErrorKind::Runtime`] instead of
//! letting tokio panic).

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};
use redarc::format::Timestamp;
use redarc::ObjectName;
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use crate::config::OffsiteConfig;
use crate::error::{Error, ErrorKind, Result, Scrub};
use crate::listing::{parse_key, sort, ListFilter, Listing, RemoteArchive, SIDECAR_SUFFIX};
use crate::retention::{plan, RetentionPolicy, RetentionReport};

/// Largest sidecar accepted: one `sha256sum` line.
const MAX_SIDECAR: u64 = 4096;
/// Read buffer for uploads.
const READ_CHUNK: usize = 1 << 20;

/// An S3 bucket (or S3-compatible server) holding redarc archives under
/// the object-name layout of [`redarc::object_name`].
///
/// Credentials come from the environment only — `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`, or the web
/// identity and container variables the AWS tools read — through
/// [`AmazonS3Builder::from_env`]. They are never part of the
/// configuration, never in an object key, never in an error, and `Debug`
/// prints the configuration alone.
///
/// # Example
/// ```no_run
/// use redarc_offsite::{ListFilter, Offsite, OffsiteConfig, RetentionPolicy};
/// # fn main() -> redarc_offsite::Result<()> {
/// // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set in the environment.
/// let offsite = Offsite::new(OffsiteConfig::new("backups").prefix("exports"))?;
/// let up = offsite.upload("out/staging-20261123T100000Z-1a2b3c4d.tar.zst.age".as_ref())?;
/// for archive in offsite.list(&ListFilter::new().environment("staging"))?.archives {
///     println!("{} {}", archive.name.generated_at, archive.key);
/// }
/// let fetched = offsite.fetch(&up.key, "restore".as_ref())?;
/// let report = offsite.retain(&RetentionPolicy::new(30, 3), redarc::format::Timestamp::now(), true)?;
/// # Ok(()) }
/// ```
pub struct Offsite {
    config: OffsiteConfig,
    store: AmazonS3,
    /// Always `Some` until dropped; taken in `Drop` to shut it down without blocking.
    runtime: Option<Runtime>,
    scrub: Scrub,
}

impl Drop for Offsite {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio refuses (with a panic) inside
        // another runtime; shutting it down in the background never blocks.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for Offsite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the store: its builder held the credentials.
        f.debug_struct("Offsite")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Where the checksum uploaded beside an archive came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SidecarSource {
    /// The local `ARCHIVE.sha256` (written by `redarc pack`), checked against the bytes sent.
    Verified,
    /// There was no local sidecar; it was computed from the bytes sent.
    Computed,
}

/// What [`Offsite::upload`] stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Uploaded {
    /// The archive's object key.
    pub key: String,
    /// The sidecar's object key.
    pub sidecar_key: String,
    /// Bytes sent.
    pub bytes: u64,
    /// SHA-256 of the bytes sent, lowercase hex.
    pub sha256: String,
    /// Where the sidecar's checksum came from.
    pub sidecar: SidecarSource,
    /// Requests the bytes went in: 1 for a single PUT, else the multipart part count.
    pub parts: u64,
}

/// What [`Offsite::fetch`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Fetched {
    /// The object key.
    pub key: String,
    /// The local archive file.
    pub path: PathBuf,
    /// Bytes received (equal to the object's size).
    pub bytes: u64,
    /// SHA-256 of the bytes received, lowercase hex.
    pub sha256: String,
    /// Whether a remote sidecar existed and matched (then a local one is written beside `path`).
    pub verified: bool,
}

impl Offsite {
    /// Opens the store described by `config`, with credentials from the
    /// environment. Sends no request.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the configuration breaks a rule;
    /// [`ErrorKind::Credentials`] when the environment holds no credentials
    /// (the instance metadata service is never asked: a machine without
    /// credentials fails at once instead of probing the network);
    /// [`ErrorKind::Io`] when the runtime cannot start.
    pub fn new(config: OffsiteConfig) -> Result<Offsite> {
        config.validate()?;
        if !credentials_in_env() {
            return Err(Error::new(
                ErrorKind::Credentials,
                "opening the offsite store",
                "no credentials in the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        let scrub = Scrub::from_env();
        // Fail within a minute rather than the default three.
        let retry = RetryConfig {
            max_retries: 4,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            // Ours, not AWS_ALLOW_HTTP's: plain HTTP only as validated above.
            .with_allow_http(config.allow_http)
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        let store = builder.build().map_err(|e| {
            let mut err = scrub.store("opening the offsite store", &e);
            if err.kind() == ErrorKind::Store {
                err = Error::new(
                    ErrorKind::Config,
                    err.context(),
                    scrub.clean(&e.to_string()),
                );
            }
            err
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the offsite runtime", &e))?;
        Ok(Offsite {
            config,
            store,
            runtime: Some(runtime),
            scrub,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OffsiteConfig {
        &self.config
    }

    /// The object key an archive file would be stored under: its file
    /// name (which must be an object name, as `redarc pack --object-name`
    /// writes) under the configured prefix and the environment/date
    /// directories.
    ///
    /// # Errors
    /// [`ErrorKind::NotAnArchive`] when the file name is not an object name.
    pub fn key_for(&self, archive: &Path) -> Result<String> {
        let not_archive = || {
            Error::new(
                ErrorKind::NotAnArchive,
                format!("uploading {}", archive.display()),
                "the file name is not an archive object name (ENV-YYYYMMDDTHHMMSSZ-RANDOM.tar.zst.age); pack with --object-name",
            )
        };
        let file_name = archive
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(not_archive)?;
        let mut name = ObjectName::parse(file_name).map_err(|_| not_archive())?;
        name.prefix.clone_from(&self.config.prefix);
        Ok(name.to_string())
    }

    /// Uploads an archive file and its SHA-256 sidecar.
    ///
    /// The key is [`key_for`](Self::key_for) the file. The file is streamed:
    /// up to the part size in one PUT, larger files as a multipart upload
    /// holding at most `concurrency + 1` parts in memory. When
    /// `ARCHIVE.sha256` exists beside the file (as `redarc pack` writes it),
    /// the bytes sent must match it or the upload is aborted before it
    /// becomes visible; otherwise the sidecar is computed. Either way a
    /// sidecar is stored at `KEY.sha256`.
    ///
    /// # Errors
    /// [`ErrorKind::NotAnArchive`] for a file not named as an object;
    /// [`ErrorKind::AlreadyExists`] when the key is taken (nothing is
    /// overwritten); [`ErrorKind::Integrity`] when the bytes do not match
    /// the local sidecar or the file changes while read; [`ErrorKind::Io`],
    /// [`ErrorKind::Store`], [`ErrorKind::Credentials`] otherwise.
    pub fn upload(&self, archive: &Path) -> Result<Uploaded> {
        let runtime = self.runtime("uploading")?;
        let key = self.key_for(archive)?;
        let context = format!("uploading {key}");
        let file_name = archive
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let expected = read_local_sidecar(archive, &file_name)?;
        let mut file = File::open(archive)
            .map_err(|e| Error::io(format!("opening {}", archive.display()), &e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", archive.display()), &e))?
            .len();
        let location = Key::from(key.as_str());
        let sidecar_key = format!("{key}{SIDECAR_SUFFIX}");
        runtime.block_on(async {
            match self.store.head(&location).await {
                Ok(_) => {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        &context,
                        "the object exists; nothing is overwritten",
                    ))
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.scrub.store(&context, &e)),
            }
            let part_size = self.config.part_size as u64;
            let (sha256, parts) = if size <= part_size {
                let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                (&mut file)
                    .take(part_size + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io(format!("reading {}", archive.display()), &e))?;
                check_read(bytes.len() as u64, size, &context)?;
                let sha256 = hex::encode(Sha256::digest(&bytes));
                check_sidecar(expected.as_deref(), &sha256, &context)?;
                self.store
                    .put(&location, PutPayload::from(bytes))
                    .await
                    .map_err(|e| self.scrub.store(&context, &e))?;
                (sha256, 1)
            } else {
                let sha256 = self
                    .upload_parts(&mut file, &location, size, expected.as_deref(), &context)
                    .await?;
                (sha256, size.div_ceil(part_size))
            };
            let stored = self
                .store
                .head(&location)
                .await
                .map_err(|e| self.scrub.store(&context, &e))?;
            if stored.size != size {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    &context,
                    format!("the store holds {} bytes, {size} were sent", stored.size),
                ));
            }
            let line = format!("{sha256}  {file_name}\n");
            self.store
                .put(&Key::from(sidecar_key.as_str()), PutPayload::from(line))
                .await
                .map_err(|e| self.scrub.store(format!("uploading {sidecar_key}"), &e))?;
            Ok(Uploaded {
                key: key.clone(),
                sidecar_key: sidecar_key.clone(),
                bytes: size,
                sha256,
                sidecar: if expected.is_some() {
                    SidecarSource::Verified
                } else {
                    SidecarSource::Computed
                },
                parts,
            })
        })
    }

    /// Streams `file` as a multipart upload; aborts unless every byte was
    /// read and matches the sidecar. Returns the SHA-256.
    async fn upload_parts(
        &self,
        file: &mut File,
        location: &Key,
        size: u64,
        expected: Option<&str>,
        context: &str,
    ) -> Result<String> {
        let upload = self
            .store
            .put_multipart(location)
            .await
            .map_err(|e| self.scrub.store(context, &e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.config.part_size);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; READ_CHUNK];
        let mut sent = 0u64;
        let result: Result<()> = async {
            loop {
                writer
                    .wait_for_capacity(self.config.concurrency)
                    .await
                    .map_err(|e| self.scrub.store(context, &e))?;
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(format!("{context}: reading"), &e)),
                };
                let chunk = buf.get(..n).unwrap_or_default();
                hasher.update(chunk);
                writer.write(chunk);
                sent += n as u64;
            }
            check_read(sent, size, context)?;
            check_sidecar(expected, &hex::encode(hasher.clone().finalize()), context)
        }
        .await;
        match result {
            Ok(()) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| self.scrub.store(context, &e))?;
                Ok(hex::encode(hasher.finalize()))
            }
            Err(e) => {
                // Best effort: the original error is what matters.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Lists the archives that pass `filter`, oldest first per environment.
    ///
    /// Only keys that parse as object names under the configured prefix are
    /// archives; others are counted in [`Listing::foreign`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a bad filter; [`ErrorKind::Store`] or
    /// [`ErrorKind::Credentials`] when the listing fails.
    pub fn list(&self, filter: &ListFilter) -> Result<Listing> {
        let runtime = self.runtime("listing")?;
        filter.validate()?;
        let scan = filter.scan_prefix(&self.config.prefix);
        let context = if scan.is_empty() {
            format!("listing bucket {}", self.config.bucket)
        } else {
            format!("listing {scan}/ in bucket {}", self.config.bucket)
        };
        let metas = runtime.block_on(async {
            let prefix = (!scan.is_empty()).then(|| Key::from(scan.as_str()));
            self.store
                .list(prefix.as_ref())
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| self.scrub.store(&context, &e))
        })?;
        let mut sidecars = HashSet::new();
        let mut listing = Listing::default();
        for meta in metas {
            let key = meta.location.to_string();
            if let Some(archive_key) = key.strip_suffix(SIDECAR_SUFFIX) {
                if parse_key(archive_key, &self.config.prefix).is_some() {
                    sidecars.insert(archive_key.to_string());
                    continue;
                }
            }
            let Some(name) = parse_key(&key, &self.config.prefix) else {
                listing.foreign += 1;
                continue;
            };
            if filter.matches(&name) {
                listing.archives.push(RemoteArchive {
                    key,
                    name,
                    size: meta.size,
                    last_modified: Timestamp::from_unix(meta.last_modified.timestamp()),
                    sidecar: false,
                });
            }
        }
        for a in &mut listing.archives {
            a.sidecar = sidecars.contains(&a.key);
        }
        sort(&mut listing.archives);
        Ok(listing)
    }

    /// Downloads the archive at `key` into directory `dir`, named by its
    /// file name.
    ///
    /// The bytes stream into a temporary file in `dir`, which is synced and
    /// renamed into place only when its size equals the object's and, if
    /// the store holds a sidecar, its SHA-256 matches; then a local
    /// `.sha256` sidecar is written beside it so `sha256sum -c` can check it
    /// again. Nothing is overwritten.
    ///
    /// # Errors
    /// [`ErrorKind::NotAnArchive`] when `key` is not an archive key under the
    /// prefix; [`ErrorKind::NotFound`]; [`ErrorKind::AlreadyExists`] when the
    /// local file exists; [`ErrorKind::Integrity`] on a size or checksum
    /// mismatch (nothing is left behind); [`ErrorKind::Io`],
    /// [`ErrorKind::Store`] otherwise.
    pub fn fetch(&self, key: &str, dir: &Path) -> Result<Fetched> {
        let runtime = self.runtime("fetching")?;
        let context = format!("fetching {key}");
        let name = parse_key(key, &self.config.prefix).ok_or_else(|| {
            Error::new(
                ErrorKind::NotAnArchive,
                "fetching",
                format!(
                    "not an archive key under prefix '{}' (see `redarc offsite list`)",
                    self.config.prefix
                ),
            )
        })?;
        let file_name = name.file_name();
        let dest = dir.join(&file_name);
        let dest_sidecar = dir.join(format!("{file_name}{SIDECAR_SUFFIX}"));
        for path in [&dest, &dest_sidecar] {
            if path.symlink_metadata().is_ok() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    &context,
                    format!("{} exists; nothing is overwritten", path.display()),
                ));
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".redarc-fetch-")
            .tempfile_in(dir)
            .map_err(|e| {
                Error::io(
                    format!("creating a temporary file in {}", dir.display()),
                    &e,
                )
            })?;
        let (bytes, sha256, expected) = runtime.block_on(async {
            let expected = self.remote_sidecar(key, &file_name).await?;
            let got = self
                .store
                .get(&Key::from(key))
                .await
                .map_err(|e| self.scrub.store(&context, &e))?;
            let size = got.meta.size;
            let mut stream = got.into_stream();
            let mut hasher = Sha256::new();
            let mut received = 0u64;
            while let Some(chunk) = stream
                .try_next()
                .await
                .map_err(|e| self.scrub.store(&context, &e))?
            {
                received += chunk.len() as u64;
                if received > size {
                    break;
                }
                hasher.update(&chunk);
                tmp.write_all(&chunk)
                    .map_err(|e| Error::io(format!("{context}: writing"), &e))?;
            }
            if received != size {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    &context,
                    format!("received {received} bytes, the store said {size}"),
                ));
            }
            Ok((received, hex::encode(hasher.finalize()), expected))
        })?;
        if let Some(expected) = &expected {
            if *expected != sha256 {
                return Err(Error::new(
                    ErrorKind::Integrity,
                    &context,
                    "sha256 does not match the sidecar in the store",
                ));
            }
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(format!("{context}: syncing"), &e))?;
        tmp.persist_noclobber(&dest).map_err(|e| {
            Error::io(
                format!("{context}: moving it to {}", dest.display()),
                &e.error,
            )
        })?;
        if expected.is_some() {
            std::fs::write(&dest_sidecar, format!("{sha256}  {file_name}\n"))
                .map_err(|e| Error::io(format!("writing {}", dest_sidecar.display()), &e))?;
        }
        Ok(Fetched {
            key: key.to_string(),
            path: dest,
            bytes,
            sha256,
            verified: expected.is_some(),
        })
    }

    /// The SHA-256 in the sidecar of `key`, if the store holds one.
    async fn remote_sidecar(&self, key: &str, file_name: &str) -> Result<Option<String>> {
        let sidecar_key = format!("{key}{SIDECAR_SUFFIX}");
        let context = format!("fetching {sidecar_key}");
        let got = match self.store.get(&Key::from(sidecar_key.as_str())).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.scrub.store(&context, &e)),
        };
        if got.meta.size > MAX_SIDECAR {
            return Err(Error::new(
                ErrorKind::Integrity,
                &context,
                format!("a sidecar is one line, not {} bytes", got.meta.size),
            ));
        }
        let bytes = got
            .bytes()
            .await
            .map_err(|e| self.scrub.store(&context, &e))?;
        parse_sidecar(&bytes, file_name, &context).map(Some)
    }

    /// Deletes what `policy` marks as expired (with sidecars), or in a dry
    /// run only reports it. `now` is the time ages are measured from.
    ///
    /// Only archives under the configured prefix are considered, the newest
    /// `keep_newest` of each environment are always kept, and foreign keys
    /// are never touched.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a bad policy; a store error from listing or
    /// deleting, saying how many deletions had succeeded before it.
    pub fn retain(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<RetentionReport> {
        let runtime = self.runtime("applying retention")?;
        policy.validate()?;
        let mut filter = ListFilter::new();
        filter.environment.clone_from(&policy.environment);
        let listing = self.list(&filter)?;
        let (delete, keep) = plan(&listing.archives, policy, now);
        if !dry_run {
            runtime.block_on(async {
                for (done, d) in delete.iter().enumerate() {
                    // The archive first: a sidecar without an archive is harmless.
                    let mut keys = vec![d.archive.key.clone()];
                    if d.archive.sidecar {
                        keys.push(d.archive.sidecar_key());
                    }
                    for key in keys {
                        self.store
                            .delete(&Key::from(key.as_str()))
                            .await
                            .map_err(|e| {
                                self.scrub.store(
                                    format!(
                                        "deleting {key} ({done} of {} archives deleted before)",
                                        delete.len()
                                    ),
                                    &e,
                                )
                            })?;
                    }
                }
                Ok::<(), Error>(())
            })?;
        }
        Ok(RetentionReport {
            dry_run,
            cutoff: policy.cutoff(now),
            older_than_days: policy.older_than_days,
            keep_newest: policy.keep_newest,
            delete,
            keep,
            foreign: listing.foreign,
        })
    }

    /// The runtime to block on; refuses inside an async runtime, where
    /// tokio would panic.
    fn runtime(&self, what: &str) -> Result<&Runtime> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::new(
                ErrorKind::Runtime,
                what,
                "the blocking offsite API was called from inside an async runtime; call it from spawn_blocking",
            ));
        }
        self.runtime
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Runtime, what, "the store was shut down"))
    }
}

/// Whether the environment names credentials `from_env` can use without
/// asking the instance metadata service.
fn credentials_in_env() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    (set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY"))
        || (set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN"))
        || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
}

/// The checksum in `ARCHIVE.sha256`, if the file exists.
fn read_local_sidecar(archive: &Path, file_name: &str) -> Result<Option<String>> {
    let path = PathBuf::from(format!("{}{SIDECAR_SUFFIX}", archive.display()));
    let context = format!("reading {}", path.display());
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(context, &e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_SIDECAR + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&context, &e))?;
    if bytes.len() as u64 > MAX_SIDECAR {
        return Err(Error::new(
            ErrorKind::Integrity,
            context,
            "a sidecar is one sha256sum line",
        ));
    }
    parse_sidecar(&bytes, file_name, &context).map(Some)
}

/// The hex digest of a `sha256sum` line naming `file_name` (or no file).
fn parse_sidecar(bytes: &[u8], file_name: &str, context: &str) -> Result<String> {
    let bad = |why: &str| Error::new(ErrorKind::Integrity, context, why.to_string());
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the sidecar is not text"))?;
    let mut fields = text.split_whitespace();
    let digest = fields.next().unwrap_or_default();
    if digest.len() != 64
        || !digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad(
            "the sidecar does not start with a SHA-256 in lowercase hex",
        ));
    }
    if let Some(named) = fields.next() {
        if named.trim_start_matches('*') != file_name {
            return Err(bad("the sidecar names another file"));
        }
    }
    if fields.next().is_some() {
        return Err(bad("a sidecar is one sha256sum line"));
    }
    Ok(digest.to_string())
}

fn check_read(read: u64, size: u64, context: &str) -> Result<()> {
    if read != size {
        return Err(Error::new(
            ErrorKind::Integrity,
            context,
            format!("the file changed while it was read ({read} bytes read, {size} expected)"),
        ));
    }
    Ok(())
}

fn check_sidecar(expected: Option<&str>, actual: &str, context: &str) -> Result<()> {
    match expected {
        Some(e) if e != actual => Err(Error::new(
            ErrorKind::Integrity,
            context,
            "the file does not match its .sha256 sidecar; nothing was stored",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

    #[test]
    fn sidecars_parse_as_pack_writes_them_and_nothing_else() {
        let f = "staging-20261123T100000Z-0123abcd.tar.zst.age";
        let line = format!("{HEX}  {f}\n");
        assert_eq!(parse_sidecar(line.as_bytes(), f, "c").unwrap(), HEX);
        assert_eq!(
            parse_sidecar(format!("{HEX} *{f}").as_bytes(), f, "c").unwrap(),
            HEX
        );
        assert_eq!(parse_sidecar(HEX.as_bytes(), f, "c").unwrap(), HEX);
        for bad in [
            format!("{HEX}  other.tar.zst.age\n"),
            format!("{}  {f}\n", HEX.to_uppercase()),
            format!("{}  {f}\n", &HEX[..63]),
            format!("{HEX}  {f}\n{HEX}  {f}\n"),
            String::new(),
        ] {
            let e = parse_sidecar(bad.as_bytes(), f, "c").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity, "{bad:?}");
        }
    }

    #[test]
    fn sidecar_mismatch_and_short_reads_are_integrity_errors() {
        assert!(check_sidecar(None, HEX, "c").is_ok());
        assert!(check_sidecar(Some(HEX), HEX, "c").is_ok());
        let e = check_sidecar(Some(HEX), &"0".repeat(64), "uploading k").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(e.to_string().starts_with("uploading k: "));
        assert_eq!(
            check_read(3, 4, "c").unwrap_err().kind(),
            ErrorKind::Integrity
        );
    }
}
