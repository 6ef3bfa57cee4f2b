//! Progress bars on standard error, only when it is a terminal.
//!
//! The library has no progress hooks and needs none: the CLI measures what
//! it hands the library. `pack` and `redact` count the input bytes read;
//! `verify`, `inspect`, `unpack` and `import` follow the position in the
//! encrypted file; the library reads an archive more than once when it
//! checks records against declared schemas or reads entities one by one, so
//! each new pass starts the bar again and says which pass it is.
//! `drill` opens the archive itself several times, so it gets a spinner with
//! the elapsed time.
//!
//! When standard error is not a terminal (a pipe, a file, CI) or `TERM` is
//! `dumb` or unset, nothing at all is drawn. The templates use no colour, so the bars
//! print no colour codes whatever `NO_COLOR` says; `NO_COLOR` does not hide
//! them (it is about colour, not progress).

use std::borrow::Cow;
use std::io::{self, IsTerminal, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

/// A progress bar, or nothing when standard error is not a terminal.
/// Cleared from the screen when finished or dropped (also on errors), so
/// the command's own lines follow a clean terminal.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    /// Passes over the tracked file since the last label.
    pass: Arc<AtomicU64>,
}

const BYTES_TEMPLATE: &str =
    "{msg:>8}{prefix} [{wide_bar}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} eta {eta}";
const SPINNER_TEMPLATE: &str = "{spinner} {msg} {elapsed}";

/// Whether progress is drawn: standard error is a terminal that is not dumb.
pub(crate) fn enabled() -> bool {
    io::stderr().is_terminal() && !crate::output::dumb_terminal()
}

impl Progress {
    /// A bar over `total` bytes, labelled `label` (e.g. `pack`).
    pub(crate) fn bytes(total: u64, label: impl Into<Cow<'static, str>>) -> Progress {
        let bar = if enabled() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        // The template is a constant; if it ever failed to parse, the
        // default style is a fine fallback.
        if let Ok(style) = ProgressStyle::with_template(BYTES_TEMPLATE) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress::finish_setup(bar, label)
    }

    /// A bar that is never drawn.
    pub(crate) fn hidden() -> Progress {
        Progress::finish_setup(ProgressBar::hidden(), "")
    }

    /// A spinner with the elapsed time, for work whose size is unknown.
    pub(crate) fn spinner(label: impl Into<Cow<'static, str>>) -> Progress {
        let bar = if enabled() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(SPINNER_TEMPLATE) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress::finish_setup(bar, label)
    }

    fn finish_setup(bar: ProgressBar, label: impl Into<Cow<'static, str>>) -> Progress {
        let bar = bar.with_finish(ProgressFinish::AndClear);
        bar.set_message(label);
        Progress {
            bar,
            pass: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Replaces the label with the step now running; passes count from 1 again.
    pub(crate) fn label(&self, label: impl Into<Cow<'static, str>>) {
        self.pass.store(1, Ordering::Relaxed);
        self.bar.set_prefix("");
        self.bar.set_message(label);
    }

    /// `inner`, counting what is read from it (and following seeks) on this bar.
    pub(crate) fn track<R>(&self, inner: R) -> Tracked<R> {
        Tracked {
            inner,
            bar: self.bar.clone(),
            pass: Arc::clone(&self.pass),
        }
    }

    /// Runs `f` (which may print or prompt) with the bar off the screen,
    /// then draws it again.
    pub(crate) fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        self.bar.suspend(f)
    }

    /// Removes the bar from the screen for good: reads through readers it
    /// tracks no longer draw anything.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
        self.bar.set_draw_target(ProgressDrawTarget::hidden());
    }
}

/// A reader that moves a progress bar by the bytes read through it; as a
/// seekable reader, the bar follows the position.
#[derive(Debug)]
pub(crate) struct Tracked<R> {
    inner: R,
    bar: ProgressBar,
    pass: Arc<AtomicU64>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Tracked<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(pos)?;
        if at < self.bar.position() {
            // Reading the archive again: a new pass, a new ETA.
            let pass = self.pass.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_prefix(format!(" (pass {pass})"));
            self.bar.reset_eta();
        }
        self.bar.set_position(at);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_reads_and_seeks_move_the_bar() -> io::Result<()> {
        // Hidden bars still count, so the arithmetic is testable anywhere.
        let progress = Progress::hidden();
        progress.bar.set_length(10);
        let mut r = progress.track(io::Cursor::new(vec![7u8; 10]));
        let mut buf = [0u8; 4];
        r.read_exact(&mut buf)?;
        assert_eq!(progress.bar.position(), 4);
        r.seek(SeekFrom::Start(1))?;
        assert_eq!(progress.bar.position(), 1);
        assert_eq!(progress.bar.prefix(), " (pass 2)");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest)?;
        assert_eq!(rest.len(), 9);
        assert_eq!(progress.bar.position(), 10);
        progress.label("next");
        assert_eq!(progress.bar.prefix(), "");
        r.seek(SeekFrom::Start(0))?;
        assert_eq!(progress.bar.prefix(), " (pass 2)");
        Ok(())
    }
}
