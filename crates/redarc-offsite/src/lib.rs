//! Offsite storage for redarc archives in S3 or an S3-compatible server.
//!
//! Archives are stored under the object-name layout of
//! [`redarc::object_name`] —
//! `<prefix>/<environment>/<YYYY>/<MM>/<DD>/<environment>-<YYYYMMDDTHHMMSSZ>-<random>.tar.zst.age`
//! — with the SHA-256 sidecar `redarc pack` writes at the same key plus
//! `.sha256`. Keys carry environment and time, never private data.
//!
//! - [`OffsiteConfig`]: bucket, endpoint, region, prefix; no credentials.
//! - [`Offsite`]: the store, with credentials from the environment only.
//!   [`Offsite::upload`] streams an archive up (multipart when large),
//!   [`Offsite::list`] lists archives by environment and date
//!   ([`ListFilter`], [`Day`]), [`Offsite::fetch`] streams one down to a
//!   checked local file, and [`Offsite::retain`] deletes what a
//!   [`RetentionPolicy`] marks expired, never the newest of an environment.
//! - [`plan`]: the retention decision as a pure function.
//! - [`Error`] and [`ErrorKind`]: one error type, without credentials.
//!
//! The API is blocking; the async S3 client runs on a runtime private to
//! each [`Offsite`].
//!
//! # Example
//!
//! ```
//! use redarc_offsite::{plan, Day, ListFilter, OffsiteConfig, RetentionPolicy};
//!
//! // Configuration is checked without touching the network.
//! let config = OffsiteConfig::new("backups").prefix("exports").region("eu-west-1");
//! assert!(config.validate().is_ok());
//!
//! // Which archives to list, and which retention would delete.
//! let filter = ListFilter::new().environment("staging").on("2026-11-23".parse::<Day>()?);
//! let policy = RetentionPolicy::new(30, 3);
//! let (delete, keep) = plan(&[], &policy, redarc::format::Timestamp::now());
//! assert!(delete.is_empty() && keep.is_empty());
//! # Ok::<(), redarc_offsite::Error>(())
//! ```
//!
//! With credentials in `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`,
//! `Offsite::new(config)?` opens the store; see [`Offsite`].

#![forbid(unsafe_code)]

mod config;
mod error;
mod listing;
mod retention;
mod store;

pub use config::{OffsiteConfig, DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE};
pub use error::{Error, ErrorKind, Result};
pub use listing::{Day, ListFilter, Listing, RemoteArchive, SIDECAR_SUFFIX};
pub use retention::{plan, Decision, Reason, RetentionPolicy, RetentionReport};
pub use store::{Fetched, Offsite, SidecarSource, Uploaded};

// The Rust example in docs/offsite.md compiles as a doctest, so the guide
// cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/offsite.md")]
struct OffsiteGuideDoctests;
