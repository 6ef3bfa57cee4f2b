//! Where finished members go: straight into the tar → zstd → age stack on
//! the calling thread, or to a writer thread that owns the stack so that
//! compression and encryption overlap with record processing.

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::error::Error;
use crate::Result;

pub(crate) type Stack<W> =
    tar::Builder<zstd::stream::write::Encoder<'static, age::stream::StreamWriter<W>>>;

/// A member ready to be appended: its header and data.
pub(crate) struct Job {
    header: tar::Header,
    data: Vec<u8>,
}

pub(crate) enum Sink<W: Write> {
    Inline(Stack<W>),
    Threaded {
        jobs: Option<SyncSender<Job>>,
        spent: Receiver<Vec<u8>>,
        handle: Option<JoinHandle<Result<W>>>,
    },
}

impl<W: Write> Sink<W> {
    /// Appends a member; returns an empty buffer to reuse for the next part.
    pub(crate) fn append(&mut self, header: tar::Header, data: Vec<u8>) -> Result<Vec<u8>> {
        match self {
            Sink::Inline(stack) => {
                stack
                    .append(&header, &data[..])
                    .map_err(|e| Error::io("writing the archive", e))?;
                let mut data = data;
                data.clear();
                Ok(data)
            }
            Sink::Threaded {
                jobs,
                spent,
                handle,
            } => {
                let sent = jobs
                    .as_ref()
                    .map(|tx| tx.send(Job { header, data }).is_ok())
                    .unwrap_or(false);
                if !sent {
                    // The writer thread stopped: its result says why.
                    *jobs = None;
                    return Err(join(handle).err().unwrap_or_else(|| {
                        Error::Usage("the archive writer thread stopped".into())
                    }));
                }
                Ok(spent.try_recv().unwrap_or_default())
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
        let handle = std::thread::Builder::new()
            .name("redarc-writer".into())
            .spawn(move || {
                let mut stack = stack;
                for Job { header, mut data } in rx {
                    stack
                        .append(&header, &data[..])
                        .map_err(|e| Error::io("writing the archive", e))?;
                    data.clear();
                    let _ = back.try_send(data);
                }
                close(stack)
            })
            .map_err(|e| Error::io("starting the archive writer thread", e))?;
        Ok(Sink::Threaded {
            jobs: Some(jobs),
            spent,
            handle: Some(handle),
        })
    }
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
