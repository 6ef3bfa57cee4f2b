//! Lines of JSONL text worked on by several threads at once, a piece of
//! text per task, with the results taken back in the order of the text.
//!
//! [`crate::EntityWriter::write_jsonl`] checks and redacts records this way
//! and commits them one at a time as if they had been written one by one:
//! the parts, the report and the archive bytes do not depend on the thread
//! count. `verify` checks and scans the records of each part this way.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::Error;
use crate::redact::Report;
use crate::Result;

/// Bytes of text per piece of work: large enough that taking a piece and
/// waking the committing thread for it cost nothing next to redacting it,
/// small enough that the threads finish a call at nearly the same time.
/// With two calls out at once, 128 KiB pieces made pack 1-2 % faster than
/// 64 KiB ones (docs/performance.md).
pub(crate) const PIECE_BYTES: usize = 128 * 1024;

/// Most piece results kept for reuse, and the largest shared text buffer
/// kept between calls: a caller that hands over one huge text must not
/// leave the pool holding memory of that size for the rest of the export.
const MAX_SPARE: usize = 64;
const MAX_KEPT_TEXT: usize = 8 << 20;

/// Calls whose pieces may be out at once: the one being committed and the
/// next, so that the threads go on from one call's pieces to the next's
/// without waiting for the caller to commit the first and read the second.
const MAX_CALLS: usize = 2;

/// The lines of JSONL `text` that carry a record, in order, each without
/// its line end: `\n` ends a line, a `\r` before it is dropped, the last
/// line needs no end, and a line of ASCII whitespace only carries nothing.
pub(crate) fn records(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    split_lines(text)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

/// `text.split(|&b| b == b'\n')`, found with `memchr`: the slice method
/// tests one byte at a time, which cost as much as parsing the line.
pub(crate) fn split_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut ends = memchr::memchr_iter(b'\n', text);
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        match ends.next() {
            Some(end) => {
                start = Some(end + 1);
                Some(&text[from..end])
            }
            None => {
                start = None;
                Some(&text[from..])
            }
        }
    })
}

/// Splits `text` after a line end into pieces of at least `size` bytes
/// (the last may be shorter), as ranges of `text`.
pub(crate) fn pieces(text: &[u8], size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    let mut out = Vec::with_capacity(text.len() / size + 1);
    let mut at = 0;
    while text.len() - at > size {
        let end = match memchr::memchr(b'\n', &text[at + size..]) {
            Some(nl) => at + size + nl + 1,
            None => text.len(),
        };
        out.push(at..end);
        at = end;
    }
    if at < text.len() {
        out.push(at..text.len());
    }
    out
}

/// The records of one piece, prepared: their bytes back to back in `out`,
/// the end of each in `ends`, what redaction changed in `report`, and the
/// error of the record that stopped the piece, if one did. That record is
/// the one after the last in `ends`; its number in the error is its
/// 1-based position in the piece until the writer renumbers it.
#[derive(Default)]
pub(crate) struct Prepared {
    pub(crate) out: Vec<u8>,
    pub(crate) ends: Vec<usize>,
    pub(crate) report: Report,
    pub(crate) failed: Option<Error>,
}

/// What a task fills in; emptied, keeping its buffers, for the next task.
pub(crate) trait Piece: Default + Send + 'static {
    /// Empties it for reuse.
    fn clear(&mut self);
}

impl Piece for Prepared {
    fn clear(&mut self) {
        // A piece holding a huge record does not keep its buffer.
        if self.out.capacity() > 4 * PIECE_BYTES {
            self.out = Vec::new();
        }
        self.out.clear();
        self.ends.clear();
        self.report = Report::new();
        self.failed = None;
    }
}

/// Works on the lines of a piece of `entity`, filling in a cleared piece
/// result; `true` when the pieces after it need not be done.
pub(crate) type Work<T> = dyn Fn(&str, &[u8], &mut T) -> bool + Send + Sync;

/// Text the threads read, shared with them for one call.
pub(crate) type SharedText = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Text read from a stream into a buffer of its own: `buf[..len]`. The
/// buffer keeps its length between reads, so refilling it writes no zeros.
pub(crate) struct Chunk {
    pub(crate) buf: Vec<u8>,
    pub(crate) len: usize,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// A piece of work: `text[range]`, numbered `seq` across all calls.
struct Task<T> {
    seq: usize,
    text: SharedText,
    range: Range<usize>,
    entity: Arc<str>,
    into: T,
}

/// What became of a task.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Done,
    /// Not worked on: an earlier piece said to stop.
    Skipped,
    /// The work panicked (a bug); the piece is incomplete.
    Panicked,
}

/// A task handed back.
struct Done<T> {
    seq: usize,
    fate: Fate,
    prepared: T,
}

/// Threads that prepare pieces of records while the thread that owns
/// them gathers the results and commits them in order. They live as long
/// as the export, so that each keeps its buffers and the regex caches warm.
///
/// Up to [`MAX_CALLS`] calls may be out at once: the caller hands over the
/// next text before committing the last, and collects the calls in the
/// order it made them.
pub(crate) struct Workers<T: Piece> {
    tasks: Option<Sender<Task<T>>>,
    done: Receiver<Done<T>>,
    threads: Vec<JoinHandle<()>>,
    /// Pieces after this one (in the numbering across calls) need not be
    /// done: an earlier piece failed.
    skip_after: Arc<AtomicUsize>,
    /// Buffers of committed pieces, for the next tasks.
    spare: Vec<T>,
    /// The copy of the text [`Workers::dispatch`] shares with the threads.
    text: Arc<Vec<u8>>,
    entity: Arc<str>,
    /// The pieces of each call handed out and not yet collected, oldest first.
    calls: VecDeque<Range<usize>>,
    /// The number of the next piece handed out.
    next_seq: usize,
    /// Pieces done before their turn to be committed came.
    early: HashMap<usize, Done<T>>,
}

impl<T: Piece> Workers<T> {
    /// Starts `count` threads (at least one) running `prepare`.
    ///
    /// # Errors
    /// [`Error::Io`] if not even one thread can be started.
    pub(crate) fn start(count: usize, prepare: Arc<Work<T>>) -> Result<Workers<T>> {
        let (tasks, queue) = channel::<Task<T>>();
        let (finished, done) = channel::<Done<T>>();
        let queue = Arc::new(Mutex::new(queue));
        let skip_after = Arc::new(AtomicUsize::new(usize::MAX));
        let mut threads = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let (queue, finished) = (Arc::clone(&queue), finished.clone());
            let (skip_after, prepare) = (Arc::clone(&skip_after), Arc::clone(&prepare));
            let started = std::thread::Builder::new()
                .name("redarc-records".into())
                .spawn(move || work(&queue, &finished, &skip_after, &*prepare));
            match started {
                Ok(handle) => threads.push(handle),
                // Fewer threads only means less parallelism.
                Err(_) if !threads.is_empty() => break,
                Err(e) => return Err(Error::io("starting the record threads", e)),
            }
        }
        Ok(Workers {
            tasks: Some(tasks),
            done,
            threads,
            skip_after,
            spare: Vec::new(),
            text: Arc::new(Vec::new()),
            entity: Arc::from(""),
            calls: VecDeque::new(),
            next_seq: 0,
            early: HashMap::new(),
        })
    }

    /// Hands the pieces of `text` (whole lines of `entity`) to the threads
    /// to prepare, and returns at once, so that the caller can work
    /// meanwhile. [`Workers::collect`] commits them.
    ///
    /// # Errors
    /// [`Error::Usage`] if [`MAX_CALLS`] earlier calls are still out, or
    /// the threads stopped.
    pub(crate) fn dispatch(&mut self, entity: &str, text: &[u8]) -> Result<()> {
        self.uncollected()?;
        let pieces = pieces(text, PIECE_BYTES);
        // The threads read the text from a buffer they share; once a call
        // is over none holds it, and the next call reuses it.
        let mut shared = std::mem::take(&mut self.text);
        match Arc::get_mut(&mut shared) {
            Some(buf) => {
                buf.clear();
                buf.extend_from_slice(text);
            }
            None => shared = Arc::new(text.to_vec()),
        }
        self.text = shared;
        let text: SharedText = self.text.clone();
        self.hand_out(entity, &pieces, &text)
    }

    /// As [`Workers::dispatch`], for text the caller already holds in a
    /// shared buffer: the threads read it there, without a copy. The pool
    /// lets go of it once the pieces are collected.
    ///
    /// # Errors
    /// As [`Workers::dispatch`].
    pub(crate) fn dispatch_shared(&mut self, entity: &str, text: SharedText) -> Result<()> {
        self.uncollected()?;
        let pieces = pieces((*text).as_ref(), PIECE_BYTES);
        self.hand_out(entity, &pieces, &text)
    }

    /// Refuses a call while [`MAX_CALLS`] earlier ones are out.
    fn uncollected(&self) -> Result<()> {
        if self.calls.len() >= MAX_CALLS {
            return Err(Error::Usage(
                "the pieces of earlier calls were not collected".into(),
            ));
        }
        Ok(())
    }

    /// Queues one task per piece of `text`.
    fn hand_out(&mut self, entity: &str, pieces: &[Range<usize>], text: &SharedText) -> Result<()> {
        if *self.entity != *entity {
            self.entity = Arc::from(entity);
        }
        // A call with no pieces is still one to collect, so that calls and
        // collections pair up.
        self.calls.push_back(self.next_seq..self.next_seq);
        for range in pieces {
            let seq = self.next_seq;
            let task = Task {
                seq,
                text: Arc::clone(text),
                range: range.clone(),
                entity: Arc::clone(&self.entity),
                into: self.spare.pop().unwrap_or_default(),
            };
            let sent = self.tasks.as_ref().is_some_and(|tx| tx.send(task).is_ok());
            if !sent {
                return Err(stopped());
            }
            self.next_seq += 1;
            if let Some(call) = self.calls.back_mut() {
                call.end = self.next_seq;
            }
        }
        Ok(())
    }

    /// Waits for the pieces of the oldest call not yet collected (made by
    /// [`Workers::dispatch`] or [`Workers::dispatch_shared`]) and hands
    /// each to `commit`, in order, as soon as it and the ones before it
    /// are done. The first error, from a piece or from `commit`, ends the
    /// committing, makes the threads skip every later piece (of this call
    /// and the next), and is returned once every piece of the call is
    /// back. With no call out, returns at once.
    pub(crate) fn collect(&mut self, mut commit: impl FnMut(&mut T) -> Result<()>) -> Result<()> {
        let Some(call) = self.calls.pop_front() else {
            return Ok(());
        };
        let mut outcome = Ok(());
        for seq in call {
            let done = match self.early.remove(&seq) {
                Some(done) => done,
                None => loop {
                    let done = self.done.recv().map_err(|_| stopped())?;
                    if done.seq == seq {
                        break done;
                    }
                    self.early.insert(done.seq, done);
                },
            };
            let mut prepared = done.prepared;
            if outcome.is_ok() {
                outcome = match done.fate {
                    Fate::Done => commit(&mut prepared),
                    // Only pieces after one that stopped are skipped, and
                    // that one has ended the committing.
                    Fate::Skipped => Err(stopped()),
                    Fate::Panicked => Err(Error::Usage("a worker thread panicked".into())),
                };
                if outcome.is_err() {
                    self.skip_after.fetch_min(seq, Ordering::Relaxed);
                }
            }
            prepared.clear();
            self.spare.push(prepared);
        }
        if self.calls.is_empty() {
            self.spare.truncate(MAX_SPARE);
            if self.text.capacity() > MAX_KEPT_TEXT {
                self.text = Arc::new(Vec::new());
            }
            self.skip_after.store(usize::MAX, Ordering::Relaxed);
        }
        outcome
    }

    /// Takes back every call still out without committing any of its
    /// pieces: after a failure, so that the pool is ready for the next.
    pub(crate) fn discard(&mut self) {
        if self.calls.is_empty() {
            return;
        }
        // The threads need not prepare what is still queued; the last
        // collect below lets them work again.
        self.skip_after.store(0, Ordering::Relaxed);
        while !self.calls.is_empty() {
            // The pieces are dropped whatever became of them.
            let _ = self.collect(|_| Ok(()));
        }
    }
}

impl<T: Piece> Drop for Workers<T> {
    fn drop(&mut self) {
        // Pieces still queued are skipped, and closing the queue ends
        // every thread once its piece is done.
        self.skip_after.store(0, Ordering::Relaxed);
        drop(self.tasks.take());
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

fn stopped() -> Error {
    Error::Usage("the worker threads stopped".into())
}

/// The loop of a worker thread: takes tasks until the queue closes.
fn work<T: Piece>(
    queue: &Mutex<Receiver<Task<T>>>,
    finished: &Sender<Done<T>>,
    skip_after: &AtomicUsize,
    prepare: &Work<T>,
) {
    loop {
        let task = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(Task {
            seq,
            text,
            range,
            entity,
            mut into,
        }) = task
        else {
            return;
        };
        into.clear();
        let fate = if seq > skip_after.load(Ordering::Relaxed) {
            Fate::Skipped
        } else {
            let piece = (*text).as_ref().get(range).unwrap_or_default();
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                prepare(&entity, piece, &mut into)
            }));
            let (stop, fate) = match run {
                Ok(stop) => (stop, Fate::Done),
                Err(_) => (true, Fate::Panicked),
            };
            if stop {
                skip_after.fetch_min(seq, Ordering::Relaxed);
            }
            fate
        };
        // Let go of the text before reporting, so the owner can reuse it.
        drop(text);
        let done = Done {
            seq,
            fate,
            prepared: into,
        };
        if finished.send(done).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_skip_blank_lines_and_drop_carriage_returns() {
        let text = b"{\"a\":1}\r\n\n  \t\n{\"b\":2}\n{\"c\":3}";
        let got: Vec<&[u8]> = records(text).collect();
        assert_eq!(got, vec![&b"{\"a\":1}"[..], b"{\"b\":2}", b"{\"c\":3}"]);
        assert_eq!(records(b"").count(), 0);
        assert_eq!(records(b"\n\n").count(), 0);
        // A carriage return inside a line stays, for the writer to refuse.
        let inner: Vec<&[u8]> = records(b"{\"a\":\r1}\n").collect();
        assert_eq!(inner, vec![&b"{\"a\":\r1}"[..]]);
    }

    #[test]
    fn split_lines_is_split_at_newlines() {
        for text in [
            &b""[..],
            b"\n",
            b"\n\n",
            b"a",
            b"a\n",
            b"\na",
            b"ab\ncd\n\nef",
            b"{\"a\":1}\r\n{}\n",
        ] {
            let want: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            assert_eq!(split_lines(text).collect::<Vec<_>>(), want, "{text:?}");
        }
        let long: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("{}\n", "y".repeat((i % 97) as usize)).into_bytes())
            .collect();
        let want: Vec<&[u8]> = long.split(|&b| b == b'\n').collect();
        assert_eq!(split_lines(&long).collect::<Vec<_>>(), want);
    }

    #[test]
    fn pieces_end_at_line_ends_and_cover_the_text() {
        let text: Vec<u8> = (0..500)
            .flat_map(|i| format!("{{\"n\":{}}}\n", "x".repeat(i % 37)).into_bytes())
            .collect();
        for size in [0, 1, 7, 64, 1000, text.len(), text.len() + 1] {
            let pieces = pieces(&text, size);
            let joined: Vec<u8> = pieces
                .iter()
                .flat_map(|r| text[r.clone()].to_vec())
                .collect();
            assert_eq!(joined, text, "size {size}");
            let (last, rest) = pieces.split_last().unwrap();
            assert!(!last.is_empty());
            for r in rest {
                assert!(r.len() >= size, "size {size}");
                assert_eq!(text[r.end - 1], b'\n');
            }
        }
        assert!(pieces(b"", 8).is_empty());
        assert_eq!(pieces(b"no line end at all", 4), vec![0..18]);
    }

    /// A stand-in for redaction: copies each record, fails at `"300"` and
    /// panics at `"666"`.
    fn copy_records() -> Arc<Work<Prepared>> {
        Arc::new(|_entity: &str, piece: &[u8], p: &mut Prepared| {
            for line in records(piece) {
                if line == b"300" {
                    p.failed = Some(Error::Usage("stop".into()));
                    break;
                }
                assert_ne!(line, b"666", "a bug in a record thread");
                p.out.extend_from_slice(line);
                p.ends.push(p.out.len());
            }
            p.failed.is_some()
        })
    }

    fn numbers(range: std::ops::Range<u32>) -> Vec<u8> {
        range.flat_map(|i| format!("{i}\n").into_bytes()).collect()
    }

    /// Runs `text` through `workers` and returns the committed records.
    fn committed(workers: &mut Workers<Prepared>, text: &[u8]) -> (Vec<String>, Result<()>) {
        match workers.dispatch("e", text) {
            Ok(()) => collect_one(workers),
            Err(e) => (Vec::new(), Err(e)),
        }
    }

    #[test]
    fn pieces_are_committed_in_order_up_to_the_first_failure() {
        // Far more than one piece, so that the threads race.
        let long: Vec<u8> = (0..40_000u32)
            .filter(|&i| i != 300 && i != 666)
            .flat_map(|i| format!("{i:>8}\n").into_bytes())
            .collect();
        for threads in [1, 2, 3, 8] {
            let mut workers = Workers::start(threads, copy_records()).unwrap();
            let (seen, outcome) = committed(&mut workers, &long);
            outcome.unwrap();
            let want: Vec<String> = records(&long)
                .map(|l| String::from_utf8(l.to_vec()).unwrap())
                .collect();
            assert_eq!(seen, want, "threads {threads}");

            let mut text = numbers(0..300);
            text.extend_from_slice(&long);
            text.extend_from_slice(&numbers(300..400));
            let (seen, outcome) = committed(&mut workers, &text);
            assert!(outcome.is_err(), "threads {threads}");
            let mut want: Vec<String> = (0..300).map(|i| i.to_string()).collect();
            want.extend(records(&long).map(|l| String::from_utf8(l.to_vec()).unwrap()));
            assert_eq!(seen, want, "threads {threads}");

            // The workers are fine after a failed call.
            let (seen, outcome) = committed(&mut workers, &numbers(1000..1010));
            outcome.unwrap();
            assert_eq!(seen.len(), 10);
        }
    }

    #[test]
    fn dispatched_pieces_must_be_collected_before_the_next() {
        let mut workers = Workers::start(2, copy_records()).unwrap();
        let first = numbers(1000..51_000);
        workers.dispatch("e", &first).unwrap();
        // The caller works meanwhile and may hand over one more call; a
        // third before the first is collected is refused.
        workers.dispatch("e", &numbers(60_000..60_020)).unwrap();
        assert!(workers.dispatch("e", &numbers(0..10)).is_err());
        let mut seen = 0;
        workers
            .collect(|p| {
                seen += p.ends.len();
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, 50_000);
        let mut second = Vec::new();
        workers
            .collect(|p| {
                second.push(p.ends.len());
                Ok(())
            })
            .unwrap();
        assert_eq!(second, vec![20]);
        // With nothing out, a collect commits nothing.
        workers.collect(|_| panic!("nothing to commit")).unwrap();
        let (seen, outcome) = committed(&mut workers, &numbers(0..10));
        outcome.unwrap();
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn shared_text_is_read_in_place_and_let_go_after_the_call() {
        let mut workers = Workers::start(3, copy_records()).unwrap();
        let shared: Arc<Vec<u8>> = Arc::new(numbers(1000..41_000));
        workers.dispatch_shared("e", shared.clone()).unwrap();
        workers.dispatch_shared("e", shared.clone()).unwrap();
        // A third call before the first is collected is refused.
        assert!(workers.dispatch_shared("e", shared.clone()).is_err());
        let mut seen = Vec::new();
        for _ in 0..2 {
            workers
                .collect(|p| {
                    let mut start = 0;
                    for &end in &p.ends {
                        seen.push(String::from_utf8(p.out[start..end].to_vec()).unwrap());
                        start = end;
                    }
                    Ok(())
                })
                .unwrap();
        }
        // No thread and not the pool holds the caller's buffer any more,
        // and the pool did not copy it into its own.
        assert_eq!(Arc::strong_count(&shared), 1);
        assert_eq!(workers.text.capacity(), 0);
        let (mut by_copy, outcome) = committed(&mut workers, &shared);
        outcome.unwrap();
        by_copy.extend_from_within(..);
        assert_eq!(seen, by_copy);
        assert_eq!(seen.len(), 80_000);
    }

    /// Collects the oldest call out, returning its records and outcome.
    fn collect_one(workers: &mut Workers<Prepared>) -> (Vec<String>, Result<()>) {
        let mut seen = Vec::new();
        let outcome = workers.collect(|p| {
            let mut start = 0;
            for &end in &p.ends {
                seen.push(String::from_utf8(p.out[start..end].to_vec()).unwrap());
                start = end;
            }
            match p.failed.take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        });
        (seen, outcome)
    }

    #[test]
    fn two_calls_out_at_once_commit_in_the_order_they_were_made() {
        for threads in [1, 2, 3, 8] {
            let mut workers = Workers::start(threads, copy_records()).unwrap();
            // Calls of many pieces and of none, overlapping pairwise.
            let calls = [
                numbers(1000..30_000),
                Vec::new(),
                numbers(40_000..40_005),
                numbers(50_000..90_000),
                b"\n\n".to_vec(),
                numbers(100_000..100_001),
            ];
            let mut seen = Vec::new();
            workers.dispatch("e", &calls[0]).unwrap();
            for text in &calls[1..] {
                workers.dispatch("e", text).unwrap();
                let (got, outcome) = collect_one(&mut workers);
                outcome.unwrap();
                seen.extend(got);
            }
            let (got, outcome) = collect_one(&mut workers);
            outcome.unwrap();
            seen.extend(got);
            let want: Vec<String> = calls
                .iter()
                .flat_map(|t| records(t).map(|l| String::from_utf8(l.to_vec()).unwrap()))
                .collect();
            assert_eq!(seen, want, "threads {threads}");
            assert!(workers.early.is_empty(), "threads {threads}");
        }
    }

    #[test]
    fn a_failure_in_the_first_call_skips_the_second_and_discard_frees_the_pool() {
        for threads in [1, 2, 3] {
            let mut workers = Workers::start(threads, copy_records()).unwrap();
            // The first call stops at "300", far into its pieces.
            workers.dispatch("e", &numbers(0..40_000)).unwrap();
            workers.dispatch("e", &numbers(0..40_000)).unwrap();
            let (seen, outcome) = collect_one(&mut workers);
            assert!(outcome.is_err(), "threads {threads}");
            assert_eq!(seen.len(), 300, "threads {threads}");
            // The second call's pieces are not committed: it comes back
            // as a failure, or is dropped by discard.
            let mut committed_any = false;
            let outcome = workers.collect(|_| {
                committed_any = true;
                Ok(())
            });
            assert!(outcome.is_err(), "threads {threads}");
            assert!(!committed_any, "threads {threads}");

            // Discard after a failure with a call still out.
            workers.dispatch("e", &numbers(0..40_000)).unwrap();
            workers.dispatch("e", &numbers(0..40_000)).unwrap();
            assert!(collect_one(&mut workers).1.is_err());
            workers.discard();
            assert!(workers.calls.is_empty());
            workers.discard();

            // The pool is ready for the next calls, two at a time again.
            workers.dispatch("e", &numbers(1000..1010)).unwrap();
            workers.dispatch("e", &numbers(2000..2003)).unwrap();
            let (first, outcome) = collect_one(&mut workers);
            outcome.unwrap();
            let (second, outcome) = collect_one(&mut workers);
            outcome.unwrap();
            assert_eq!((first.len(), second.len()), (10, 3), "threads {threads}");
        }
    }

    #[test]
    fn a_huge_call_does_not_leave_its_memory_behind() {
        let mut workers = Workers::start(2, copy_records()).unwrap();
        // About 12 MiB of lines: some 90 pieces, more than MAX_SPARE.
        let huge: Vec<u8> = (0..1_200_000u32)
            .flat_map(|i| format!("{i:>9}\n").into_bytes())
            .collect();
        let (seen, outcome) = committed(&mut workers, &huge);
        outcome.unwrap();
        assert_eq!(seen.len(), 1_200_000);
        assert!(workers.spare.len() <= MAX_SPARE, "{}", workers.spare.len());
        assert!(workers.text.capacity() <= MAX_KEPT_TEXT);
        // A small call after it keeps its buffer for the next.
        let (_, outcome) = committed(&mut workers, &numbers(1000..2000));
        outcome.unwrap();
        assert!(workers.text.capacity() >= 4000);
    }

    #[test]
    fn a_panic_in_a_record_thread_is_an_error() {
        let mut workers = Workers::start(2, copy_records()).unwrap();
        // One piece: it panics part way, and none of it is committed.
        let (seen, outcome) = committed(&mut workers, &numbers(400..700));
        assert!(seen.is_empty());
        let err = outcome.unwrap_err().to_string();
        assert!(err.contains("panicked"), "{err}");
        let (seen, outcome) = committed(&mut workers, &numbers(700..710));
        outcome.unwrap();
        assert_eq!(seen.len(), 10);
    }
}
