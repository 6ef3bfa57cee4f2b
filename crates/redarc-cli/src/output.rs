//! How reports reach the user: `--format text|json`, JSON documents on
//! standard output, and colour.
//!
//! Rules every command follows:
//! - With `--format json` a command that produced its report prints exactly
//!   one JSON document on standard output (also when the report describes a
//!   failed check, exit code 1). Field names are stable; values are names,
//!   counts, paths and digests, never a secret or a record's contents.
//! - Errors that stop a command before it has a report (usage or I/O, exit
//!   code 2; or a check failure in a command whose report is not about
//!   checks) are one `redarc: …` line on standard error in every format, so
//!   logs read the same whichever format a script asked for.
//! - Colour only on a terminal, and never when `NO_COLOR` is set to a
//!   non-empty value (<https://no-color.org>) or `TERM` is `dumb` or unset.

use std::io::{IsTerminal, Write};

use redarc::Error;
use serde::Serialize;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Human-readable lines.
    Text,
    /// One JSON document on standard output.
    Json,
}

/// Prints `value` as one pretty-printed JSON document on standard output.
///
/// A write error (a closed pipe, a full disk) is an I/O error: a script must
/// not mistake a cut document for a report.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> redarc::Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::io("serializing the report", e.into()))?;
    print_text(text)
}

/// Prints `value` as one JSON document on one line (for records kept in logs).
pub(crate) fn print_json_line<T: Serialize + ?Sized>(value: &T) -> redarc::Result<()> {
    let text =
        serde_json::to_string(value).map_err(|e| Error::io("serializing the report", e.into()))?;
    print_text(text)
}

fn print_text(mut text: String) -> redarc::Result<()> {
    text.push('\n');
    print_bytes(text.as_bytes())
}

/// What an [`Error::Io`] writing to standard output says it was doing;
/// `main` knows a closed pipe by it.
pub(crate) const WRITING_STDOUT: &str = "writing to standard output";

/// Writes `bytes` to standard output and flushes it. A closed pipe (`redarc
/// verify … | head -1`) is an error, not a panic as with `print!`.
pub(crate) fn print_bytes(bytes: &[u8]) -> redarc::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Writes one line (`args` and a newline) to standard output: what
/// [`outln!`](crate::outln) expands to.
pub(crate) fn line(args: std::fmt::Arguments<'_>) -> redarc::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(stdout_error)
}

/// The error of a failed write to standard output.
pub(crate) fn stdout_error(e: std::io::Error) -> Error {
    Error::io(WRITING_STDOUT, e)
}

/// Whether `e` is a write to standard output that found the reading end
/// of its pipe closed: the reader has what it wanted, which is no failure
/// to report.
pub(crate) fn is_closed_stdout(e: &Error) -> bool {
    matches!(e, Error::Io { context, source }
        if context == WRITING_STDOUT && source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Whether `NO_COLOR` asks for no colour: set and not empty.
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether the terminal may not understand escape sequences: `TERM` is
/// `dumb`, or (outside Windows, whose consoles do not set it) unset. The
/// same rule indicatif applies to progress bars, so colour and bars agree.
pub(crate) fn dumb_terminal() -> bool {
    match std::env::var_os("TERM") {
        Some(term) => term == "dumb",
        None => cfg!(not(windows)),
    }
}

/// Colours for one output stream, decided once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    /// Colour for standard output, if it is a terminal and colour is wanted.
    pub(crate) fn stdout() -> Paint {
        Paint::when(std::io::stdout().is_terminal())
    }

    /// Colour for standard error, if it is a terminal and colour is wanted.
    pub(crate) fn stderr() -> Paint {
        Paint::when(std::io::stderr().is_terminal())
    }

    fn when(terminal: bool) -> Paint {
        Paint {
            on: terminal && !no_color() && !dumb_terminal(),
        }
    }

    /// `text` in green: something passed.
    pub(crate) fn good(self, text: &str) -> String {
        self.sgr("32", text)
    }

    /// `text` in bold red: something failed.
    pub(crate) fn bad(self, text: &str) -> String {
        self.sgr("1;31", text)
    }

    /// `good` or `bad` by `passed`.
    pub(crate) fn verdict(self, passed: bool, text: &str) -> String {
        if passed {
            self.good(text)
        } else {
            self.bad(text)
        }
    }

    fn sgr(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_is_plain_when_off() {
        let off = Paint { on: false };
        assert_eq!(off.good("ok"), "ok");
        assert_eq!(off.verdict(false, "FAIL"), "FAIL");
        let on = Paint { on: true };
        assert_eq!(on.good("ok"), "\x1b[32mok\x1b[0m");
        assert_eq!(on.verdict(false, "FAIL"), "\x1b[1;31mFAIL\x1b[0m");
    }
}
