//! Where finished members go: straight into the tar → zstd → age stack on
//! the calling thread, or to a writer thread that owns the stack so that
//! compression and encryption overlap with record processing. Parts are
//! hashed where they are written: with a writer thread, on a thread beside
//! it while it compresses, so that the calling thread only reads and
//! redacts.

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::Digest as _;

use crate::error::Error;
use crate::format::Digest;
use crate::Result;

pub(crate) type Stack<W> =
    tar::Builder<crate::archive::frames::Compressor<age::stream::StreamWriter<W>>>;

/// A member ready to be appended: its header and data, and whether its
/// SHA-256 is wanted.
pub(crate) struct Job {
    header: tar::Header,
    data: Vec<u8>,
    hash: bool,
}

pub(crate) enum Sink<W: Write> {
    Inline(Stack<W>),
    Threaded {
        jobs: Option<SyncSender<Job>>,
        spent: Receiver<Vec<u8>>,
        /// The SHA-256 of every member sent with `hash`, in order.
        digests: Receiver<Digest>,
        handle: Option<JoinHandle<Result<W>>>,
    },
}

fn sha256(data: &[u8]) -> Digest {
    Digest(sha2::Sha256::digest(data).into())
}

/// Appends one member: its header, `data`, and the zeros up to the next
/// 512-byte block, as `tar::Builder::append` does, but handing `data` to
/// the compressor in one write instead of through an 8 KiB copy buffer.
fn append<W: Write>(stack: &mut Stack<W>, header: &tar::Header, data: &[u8]) -> Result<()> {
    let out = stack.get_mut();
    let pad = (512 - data.len() % 512) % 512;
    out.write_all(header.as_bytes())
        .and_then(|()| out.write_all(data))
        .and_then(|()| out.write_all(&[0u8; 512][..pad]))
        .map_err(|e| Error::io("writing the archive", e))
}

impl<W: Write> Sink<W> {
    /// Appends a member; returns an empty buffer to reuse for the next part
    /// and, when `hash` is set, the member's SHA-256 if it is known now.
    /// When it is not (a writer thread computes it), it comes later, in
    /// order, from [`Sink::later_digests`].
    pub(crate) fn append(
        &mut self,
        header: tar::Header,
        data: Vec<u8>,
        hash: bool,
    ) -> Result<(Vec<u8>, Option<Digest>)> {
        match self {
            Sink::Inline(stack) => {
                let digest = hash.then(|| sha256(&data));
                append(stack, &header, &data)?;
                let mut data = data;
                data.clear();
                Ok((data, digest))
            }
            Sink::Threaded {
                jobs,
                spent,
                handle,
                ..
            } => {
                let sent = jobs
                    .as_ref()
                    .map(|tx| tx.send(Job { header, data, hash }).is_ok())
                    .unwrap_or(false);
                if !sent {
                    // The writer thread stopped: its result says why.
                    *jobs = None;
                    return Err(join(handle).err().unwrap_or_else(|| {
                        Error::Usage("the archive writer thread stopped".into())
                    }));
                }
                Ok((spent.try_recv().unwrap_or_default(), None))
            }
        }
    }

    /// The next `n` digests that [`Sink::append`] did not return, in the
    /// order their members were appended; waits for the writer thread.
    pub(crate) fn later_digests(&mut self, n: usize) -> Result<Vec<Digest>> {
        match self {
            Sink::Inline(_) if n == 0 => Ok(Vec::new()),
            Sink::Inline(_) => Err(Error::Usage(
                "no part digests are pending on an inline writer".into(),
            )),
            Sink::Threaded {
                jobs,
                digests,
                handle,
                ..
            } => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    match digests.recv() {
                        Ok(d) => out.push(d),
                        Err(_) => {
                            // The writer thread stopped early: its result says why.
                            *jobs = None;
                            return Err(join(handle).err().unwrap_or_else(|| {
                                Error::Usage("the archive writer thread stopped".into())
                            }));
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// Closes every layer and returns the underlying writer.
    pub(crate) fn finish(self) -> Result<W> {
        match self {
            Sink::Inline(stack) => close(stack),
            Sink::Threaded {
                jobs, mut handle, ..
            } => {
                drop(jobs);
                join(&mut handle)
            }
        }
    }
}

impl<W: Write + Send + 'static> Sink<W> {
    /// Moves `stack` to a writer thread fed through a channel of one job, so
    /// at most three parts exist at once: one filling, one queued, one being
    /// written.
    pub(crate) fn threaded(stack: Stack<W>) -> Result<Sink<W>> {
        let (jobs, rx) = sync_channel::<Job>(1);
        let (back, spent) = sync_channel::<Vec<u8>>(2);
        // Unbounded, but one digest per part: the parts themselves bound it.
        let (done, digests) = std::sync::mpsc::channel::<Digest>();
        let handle = std::thread::Builder::new()
            .name("redarc-writer".into())
            .spawn(move || {
                let mut stack = stack;
                for Job {
                    header,
                    mut data,
                    hash,
                } in rx
                {
                    if hash {
                        let digest = hash_beside(&data, || append(&mut stack, &header, &data))?;
                        // The receiver only goes away with the writer.
                        let _ = done.send(digest);
                    } else {
                        append(&mut stack, &header, &data)?;
                    }
                    data.clear();
                    let _ = back.try_send(data);
                }
                close(stack)
            })
            .map_err(|e| Error::io("starting the archive writer thread", e))?;
        Ok(Sink::Threaded {
            jobs: Some(jobs),
            spent,
            digests,
            handle: Some(handle),
        })
    }
}

/// Smallest part hashed on a thread of its own. Starting and joining a
/// thread costs some tens of microseconds, as long as hashing a few tens
/// of KiB takes, so an export of many small entities would lose by it.
const HASH_BESIDE_MIN: usize = 1 << 20;

/// Runs `write` while a thread of its own hashes `data`, and returns the
/// digest once both are done.
///
/// Compression and hashing are the writer's two large costs (about 0.32 s
/// and 0.19 s of CPU for a 200 MB export). Done one after the other on one
/// thread, they made that thread the slowest stage at the end of an
/// export, when redaction was done and the other core sat idle; side by
/// side they finish together. A part under [`HASH_BESIDE_MIN`] bytes, or
/// one whose thread does not start, is hashed on the calling thread.
fn hash_beside(data: &[u8], write: impl FnOnce() -> Result<()>) -> Result<Digest> {
    if data.len() < HASH_BESIDE_MIN {
        let digest = sha256(data);
        return write().map(|()| digest);
    }
    std::thread::scope(|scope| {
        let hasher = std::thread::Builder::new()
            .name("redarc-hash".into())
            .spawn_scoped(scope, || sha256(data));
        let written = write();
        let digest = match hasher {
            Ok(h) => h
                .join()
                .map_err(|_| Error::Usage("the part hashing thread panicked".into()))?,
            Err(_) => sha256(data),
        };
        written.map(|()| digest)
    })
}

fn join<W>(handle: &mut Option<JoinHandle<Result<W>>>) -> Result<W> {
    match handle.take() {
        Some(h) => h
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("the archive writer thread panicked".into()))),
        None => Err(Error::Usage(
            "the archive writer thread already stopped".into(),
        )),
    }
}

fn close<W: Write>(stack: Stack<W>) -> Result<W> {
    let zstd = stack
        .into_inner()
        .map_err(|e| Error::io("finishing the tar stream", e))?;
    let age = zstd
        .finish()
        .map_err(|e| Error::io("finishing the zstd stream", e))?;
    let mut out = age
        .finish()
        .map_err(|e| Error::io("finishing the age stream", e))?;
    out.flush()
        .map_err(|e| Error::io("flushing the archive", e))?;
    Ok(out)
}
