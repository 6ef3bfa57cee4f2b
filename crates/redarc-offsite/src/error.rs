//! The one error type of the crate.
//!
//! Messages are lowercase, say what was being done (the object key, the
//! local path) and never carry credentials: errors from the store are
//! turned into text at the boundary, the credential values the process
//! holds are scrubbed out of that text, and it is cut short, since an S3
//! error body may echo request details.

use std::fmt;

use zeroize::Zeroizing;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is, for callers that branch on it
/// (the CLI maps [`ErrorKind::Integrity`] to "a check failed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is unusable (bucket, endpoint, prefix, sizes).
    Config,
    /// No usable credentials in the environment, or the store refused them.
    Credentials,
    /// The object or local file is not an archive under the configured layout.
    NotAnArchive,
    /// The object does not exist.
    NotFound,
    /// The object or local file exists already; nothing is overwritten.
    AlreadyExists,
    /// Bytes do not match their size or SHA-256 sidecar.
    Integrity,
    /// Local I/O failed.
    Io,
    /// The store failed or answered unexpectedly.
    Store,
    /// The blocking API was called from inside an async runtime.
    Runtime,
}

/// An offsite storage error: a kind, what was being done, and why.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {detail}")]
pub struct Error {
    kind: ErrorKind,
    context: String,
    detail: String,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        context: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            context: context.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, e: &std::io::Error) -> Self {
        Error::new(ErrorKind::Io, context, e.to_string())
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What was being done, e.g. `uploading exports/staging/…`.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// What went wrong, without the context.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Longest store message kept, in characters: enough for the S3 error code
/// and message, not for a whole echoed request.
const MAX_DETAIL: usize = 300;

/// The credential values of this process, kept only to scrub them out of
/// store messages. Its `Debug` prints how many it holds, never what.
#[derive(Default, Clone)]
pub(crate) struct Scrub {
    values: Vec<Zeroizing<String>>,
}

impl fmt::Debug for Scrub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrub({} values)", self.values.len())
    }
}

/// Environment variables whose values must never appear in a message.
const CREDENTIAL_VARS: [&str; 3] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
];

impl Scrub {
    pub(crate) fn from_env() -> Scrub {
        Scrub {
            values: CREDENTIAL_VARS
                .iter()
                .filter_map(|v| std::env::var(v).ok())
                // Very short values would scrub ordinary words; real keys are long.
                .filter(|v| v.len() >= 8)
                .map(Zeroizing::new)
                .collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn of(values: &[&str]) -> Scrub {
        Scrub {
            values: values
                .iter()
                .map(|v| Zeroizing::new(v.to_string()))
                .collect(),
        }
    }

    /// `text` without credential values or control characters, cut to
    /// [`MAX_DETAIL`] characters.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut text = text.to_string();
        for value in &self.values {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), "[REDACTED]");
            }
        }
        let mut out: String = text
            .chars()
            .take(MAX_DETAIL)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.chars().count() > MAX_DETAIL {
            out.push('…');
        }
        out
    }

    /// An [`Error`] from a store error, classified and scrubbed.
    pub(crate) fn store(&self, context: impl Into<String>, e: &object_store::Error) -> Error {
        use object_store::Error as E;
        let kind = match e {
            E::NotFound { .. } => ErrorKind::NotFound,
            E::AlreadyExists { .. } | E::Precondition { .. } => ErrorKind::AlreadyExists,
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => ErrorKind::Credentials,
            E::UnknownConfigurationKey { .. } => ErrorKind::Config,
            _ => ErrorKind::Store,
        };
        let text = e.to_string();
        let detail = match (kind, s3_error(&text)) {
            // The store's text for these repeats the path, which the context has.
            (ErrorKind::NotFound, _) => "no such object".to_string(),
            (_, Some((code, message))) => {
                self.clean(&format!("the store answered {code}: {message}"))
            }
            (_, None) => self.clean(&text),
        };
        Error::new(kind, context, detail)
    }
}

/// The `<Code>` and `<Message>` of an S3 error body quoted in `text`: what
/// a person needs, without the echoed request around it.
fn s3_error(text: &str) -> Option<(&str, &str)> {
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let len = text.get(start..)?.find(&format!("</{name}>"))?;
        text.get(start..start + len)
    };
    Some((element("Code")?, element("Message").unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_credentials_and_control_characters_and_cuts() {
        let s = Scrub::of(&["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]);
        let cleaned = s.clean("denied: key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\u{1b}[31m end");
        assert!(!cleaned.contains("EXAMPLEKEY"), "{cleaned}");
        assert!(cleaned.contains("[REDACTED]") && !cleaned.contains('\u{1b}'));
        let long = s.clean(&"x".repeat(1000));
        assert!(long.chars().count() <= MAX_DETAIL + 1);
        assert_eq!(format!("{s:?}"), "Scrub(1 values)");
    }

    #[test]
    fn s3_error_bodies_are_reduced_to_code_and_message() {
        let text = "Error performing GET http://127.0.0.1:1/b?list-type=2 - 404 Not Found: \
            <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code>\
            <Message>The specified bucket does not exist</Message><BucketName>b</BucketName></Error>";
        assert_eq!(
            s3_error(text),
            Some(("NoSuchBucket", "The specified bucket does not exist"))
        );
        assert_eq!(s3_error("connection refused"), None);
        assert_eq!(s3_error("<Code>Broken"), None);
    }

    #[test]
    fn messages_carry_context_and_kind() {
        let e = Error::new(
            ErrorKind::Integrity,
            "fetching a/b",
            "sha256 does not match",
        );
        assert_eq!(e.to_string(), "fetching a/b: sha256 does not match");
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert_eq!(e.context(), "fetching a/b");
    }
}
