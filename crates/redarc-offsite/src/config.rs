//! Where the archives go: bucket, endpoint, region, key prefix.
//!
//! The configuration holds no credentials and has no way to take any: they
//! come from the environment when the store is opened. So deriving `Debug`
//! here is safe, and a configuration can be logged or put in an error.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::{Error, ErrorKind, Result};

/// Default multipart part size: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// Smallest part size S3 accepts for every part but the last.
pub const MIN_PART_SIZE: usize = 5 << 20;
/// Largest part size accepted here: parts are held in memory while sent.
pub const MAX_PART_SIZE: usize = 256 << 20;

/// Configuration of an [`Offsite`](crate::Offsite) store.
///
/// # Example
/// ```
/// use redarc_offsite::OffsiteConfig;
/// let config = OffsiteConfig::new("backups")
///     .endpoint("http://127.0.0.1:9000")
///     .allow_http(true)
///     .region("eu-west-1")
///     .prefix("exports");
/// assert!(config.validate().is_ok());
/// assert!(OffsiteConfig::new("backups").endpoint("http://backup.example:9000").allow_http(true).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OffsiteConfig {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint URL of an S3-compatible server; AWS itself when `None`.
    pub endpoint: Option<String>,
    /// Region; `AWS_DEFAULT_REGION` or `AWS_REGION`, else `us-east-1`, when `None`.
    pub region: Option<String>,
    /// Key prefix the archives live under (see [`redarc::restore::validate_prefix`]).
    pub prefix: String,
    /// Whether a plain-HTTP endpoint is allowed; only a loopback one ever is.
    pub allow_http: bool,
    /// Multipart part size in bytes; files up to this size go in one request.
    pub part_size: usize,
    /// Parts sent at once (memory use is about `part_size × (concurrency + 1)`).
    pub concurrency: usize,
}

impl OffsiteConfig {
    /// A configuration for `bucket` on AWS, no prefix, HTTPS only.
    pub fn new(bucket: impl Into<String>) -> OffsiteConfig {
        OffsiteConfig {
            bucket: bucket.into(),
            endpoint: None,
            region: None,
            prefix: String::new(),
            allow_http: false,
            part_size: DEFAULT_PART_SIZE,
            concurrency: 2,
        }
    }

    /// Use an S3-compatible server at `url` (`https://…`, or `http://` on loopback
    /// with [`allow_http`](Self::allow_http)).
    pub fn endpoint(mut self, url: impl Into<String>) -> OffsiteConfig {
        self.endpoint = Some(url.into());
        self
    }

    /// The region to sign requests for.
    pub fn region(mut self, region: impl Into<String>) -> OffsiteConfig {
        self.region = Some(region.into());
        self
    }

    /// Keep archives under this key prefix (no leading or trailing `/`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> OffsiteConfig {
        self.prefix = prefix.into().trim_end_matches('/').to_string();
        self
    }

    /// Allow a plain-HTTP endpoint. Refused by [`validate`](Self::validate)
    /// unless the endpoint is on loopback: signed requests and archive bytes
    /// must not cross a network in clear.
    pub fn allow_http(mut self, allow: bool) -> OffsiteConfig {
        self.allow_http = allow;
        self
    }

    /// Multipart part size in bytes (5 MiB to 256 MiB).
    pub fn part_size(mut self, bytes: usize) -> OffsiteConfig {
        self.part_size = bytes;
        self
    }

    /// Parts uploaded at once (1 to 16).
    pub fn concurrency(mut self, parts: usize) -> OffsiteConfig {
        self.concurrency = parts;
        self
    }

    /// Checks every rule; [`Offsite::new`](crate::Offsite::new) calls it.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] saying which rule is broken.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Error::new(ErrorKind::Config, "offsite configuration", why);
        validate_bucket(&self.bucket).map_err(bad)?;
        redarc::restore::validate_prefix(&self.prefix).map_err(|e| bad(format!("prefix: {e}")))?;
        if let Some(region) = &self.region {
            if region.is_empty()
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(bad("region may hold only a-z, 0-9 and '-'".into()));
            }
        }
        match &self.endpoint {
            Some(url) => {
                let endpoint = Endpoint::parse(url).map_err(bad)?;
                if endpoint.http && !(self.allow_http && endpoint.loopback) {
                    return Err(bad(if endpoint.loopback {
                        "a plain-HTTP endpoint needs allow-http".into()
                    } else {
                        "plain HTTP is allowed only to a loopback endpoint (127.0.0.0/8, ::1, localhost); use https".into()
                    }));
                }
            }
            None if self.allow_http => {
                return Err(bad("allow-http needs a loopback endpoint".into()));
            }
            None => {}
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(bad(format!(
                "part size must be {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes"
            )));
        }
        if !(1..=16).contains(&self.concurrency) {
            return Err(bad("concurrency must be 1 to 16".into()));
        }
        Ok(())
    }
}

/// S3 bucket naming rules, enough to catch typos and pasted URLs.
fn validate_bucket(bucket: &str) -> std::result::Result<(), String> {
    if !(3..=63).contains(&bucket.len()) {
        return Err("bucket name must be 3 to 63 characters".into());
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err("bucket name may hold only a-z, 0-9, '-' and '.'".into());
    }
    let ends_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ends_ok(bucket.bytes().next()) || !ends_ok(bucket.bytes().last()) {
        return Err("bucket name must start and end with a letter or digit".into());
    }
    Ok(())
}

/// What matters about an endpoint URL.
struct Endpoint {
    http: bool,
    loopback: bool,
}

impl Endpoint {
    fn parse(url: &str) -> std::result::Result<Endpoint, String> {
        let (http, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (false, rest)
        } else {
            return Err("endpoint must start with https:// (or http:// on loopback)".into());
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // Credentials come from the environment only, never from a URL that
        // ends up in shell history and process listings.
        if authority.contains('@') {
            return Err("endpoint must not hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into());
        }
        if rest.contains(['?', '#']) {
            return Err("endpoint must not hold a query or fragment".into());
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        if host.is_empty() {
            return Err("endpoint has no host".into());
        }
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() && ip != IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(Endpoint { http, loopback })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: OffsiteConfig) -> bool {
        c.validate().is_ok()
    }

    #[test]
    fn http_only_on_loopback_and_only_when_allowed() {
        let c = || OffsiteConfig::new("backups");
        assert!(ok(c()));
        assert!(ok(c().endpoint("https://s3.example.com")));
        assert!(ok(c().endpoint("http://127.0.0.1:9000").allow_http(true)));
        assert!(ok(c().endpoint("http://127.1.2.3:9000/").allow_http(true)));
        assert!(ok(c().endpoint("http://[::1]:9000").allow_http(true)));
        assert!(ok(c().endpoint("http://localhost:9000").allow_http(true)));
        assert!(!ok(c().endpoint("http://127.0.0.1:9000")));
        assert!(!ok(c().endpoint("http://10.0.0.5:9000").allow_http(true)));
        assert!(!ok(c().endpoint("http://s3.example.com").allow_http(true)));
        assert!(!ok(c()
            .endpoint("http://127.0.0.1.example.com")
            .allow_http(true)));
        assert!(!ok(c().allow_http(true)));
        assert!(!ok(c().endpoint("ftp://127.0.0.1")));
        assert!(!ok(c().endpoint("s3.example.com")));
    }

    #[test]
    fn credentials_in_an_endpoint_are_refused_without_echoing_them() {
        let e = OffsiteConfig::new("backups")
            .endpoint("https://AKIAEXAMPLE:hunter2secret@s3.example.com")
            .validate()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(!e.to_string().contains("hunter2secret"), "{e}");
    }

    #[test]
    fn bucket_prefix_region_and_sizes_are_checked() {
        let c = || OffsiteConfig::new("backups");
        for bucket in [
            "",
            "ab",
            "Backups",
            "-x-",
            "a_b",
            "s3://backups",
            &"x".repeat(64),
        ] {
            assert!(!ok(OffsiteConfig::new(bucket)), "{bucket:?}");
        }
        assert!(ok(c().prefix("exports/prod")));
        assert_eq!(c().prefix("exports/").prefix, "exports");
        assert!(!ok(c().prefix("Jane.Doe")));
        assert!(!ok(c().prefix("/abs")));
        assert!(!ok(c().region("EU WEST")));
        assert!(!ok(c().part_size(1 << 20)));
        assert!(!ok(c().concurrency(0)));
        assert!(ok(c().part_size(MIN_PART_SIZE).concurrency(4)));
    }
}
