//! The zstd layer of the archive writer.
//!
//! By default the tar stream is cut into independent zstd frames of
//! [`FRAME_BYTES`] each, every one compressed in a single call from one
//! contiguous slice: mostly straight from the part buffer, without the
//! copy into the streaming encoder's window buffer, and without the slower
//! match finder the streaming encoder needs once that buffer wraps. On the
//! 200 MB sample this compresses in about 0.33 s of CPU instead of 0.40 s,
//! for a 0.1 % larger archive (docs/performance.md). Concatenated frames
//! are one zstd stream to every reader: `zstd -d`, and this crate's own.
//!
//! With zstd worker threads asked for, the streaming encoder is used, as
//! its threads need it.

use std::io::{self, Write};

/// Uncompressed bytes per frame: large enough that the frames lose next to
/// nothing in ratio, small enough to keep two buffers of it in memory.
pub(crate) const FRAME_BYTES: usize = 2 << 20;

/// log2 of the match finder's hash table at the default level, one less
/// than zstd's own choice for level 1: the table then fits the core's
/// cache better. On the redacted 200 MB sample pack used 2–3 % less CPU
/// and time for a 1.3 % larger archive (38.4 MB against 37.9 MB; the
/// `tar | zstd -3` pipeline makes 46.8 MB): docs/performance.md.
pub(crate) const DEFAULT_HASH_LOG: u32 = 12;

/// Most whole frames one write compresses at once, with
/// [`compress_beside`]. Each call starts a thread (some tens of
/// microseconds against some 10 ms to compress a frame) and leaves it at
/// most half as many buffers.
const BESIDE_GROUP: usize = 8;

/// Compresses `frame` into `out` with `zstd`.
fn compress_frame(
    zstd: &mut zstd::bulk::Compressor<'static>,
    frame: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    out.clear();
    out.reserve(zstd::zstd_safe::compress_bound(frame.len()));
    zstd.compress_to_buffer(frame, out).map(|_| ())
}

/// Compresses `frames` in order and hands each compressed frame to
/// `write`: the even ones with `other` on a thread beside this one, the
/// odd ones with `own` here (`out` is `own`'s buffer), so that of an odd
/// number of frames the other thread takes the larger share. `spare`
/// holds buffers for the other thread's frames; they are returned for
/// the next call. If the thread does not start, all are compressed here.
fn compress_beside(
    frames: &[&[u8]],
    (own, out): (&mut zstd::bulk::Compressor<'static>, &mut Vec<u8>),
    other: &mut zstd::bulk::Compressor<'static>,
    mut spare: Vec<Vec<u8>>,
    mut write: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<Vec<Vec<u8>>> {
    let even: Vec<&[u8]> = frames.iter().step_by(2).copied().collect();
    spare.resize_with(spare.len().max(even.len()), Vec::new);
    std::thread::scope(|scope| {
        let (done, compressed) = std::sync::mpsc::channel::<io::Result<Vec<u8>>>();
        let mut bufs = spare;
        let beside = std::thread::Builder::new()
            .name("redarc-zstd".into())
            .spawn_scoped(scope, move || {
                for (frame, mut buf) in even.into_iter().zip(bufs.drain(..)) {
                    let result = compress_frame(other, frame, &mut buf).map(|()| buf);
                    let failed = result.is_err();
                    if done.send(result).is_err() || failed {
                        break;
                    }
                }
                bufs
            });
        let mut returned = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            if i % 2 == 1 || beside.is_err() {
                compress_frame(own, frame, out)?;
                write(out)?;
            } else {
                let buf = compressed
                    .recv()
                    .map_err(|_| io::Error::other("a compression thread stopped"))??;
                write(&buf)?;
                returned.push(buf);
            }
        }
        if let Ok(handle) = beside {
            let rest = handle
                .join()
                .map_err(|_| io::Error::other("a compression thread panicked"))?;
            returned.extend(rest);
        }
        Ok(returned)
    })
}

/// A frame compressor at `level`, with a content checksum.
fn compressor(level: i32) -> io::Result<zstd::bulk::Compressor<'static>> {
    let mut zstd = zstd::bulk::Compressor::new(level)?;
    zstd.include_checksum(true)?;
    if level == crate::archive::DEFAULT_LEVEL {
        zstd.set_parameter(zstd::zstd_safe::CParameter::HashLog(DEFAULT_HASH_LOG))?;
    }
    Ok(zstd)
}

/// The zstd layer: independent frames, or the streaming encoder.
pub(crate) enum Compressor<W: Write> {
    /// Frames compressed one slice at a time.
    Frames(Frames<W>),
    /// zstd's streaming encoder (used for its worker threads).
    Stream(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    /// A compressor at `level` with a content checksum in every frame;
    /// `threads` > 0 asks for zstd's worker threads.
    pub(crate) fn new(inner: W, level: i32, threads: u32) -> io::Result<Compressor<W>> {
        if threads == 0 {
            return Frames::new(inner, level).map(Compressor::Frames);
        }
        let mut zstd = zstd::stream::write::Encoder::new(inner, level)?;
        zstd.include_checksum(true)?;
        zstd.multithread(threads)?;
        Ok(Compressor::Stream(zstd))
    }

    /// Compresses what is left and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Frames(f) => f.finish(),
            Compressor::Stream(s) => s.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Frames(f) => f.write(buf),
            Compressor::Stream(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Frames(f) => f.flush(),
            Compressor::Stream(s) => s.flush(),
        }
    }
}

/// A writer that compresses what it is given into zstd frames of
/// [`FRAME_BYTES`] (the last one shorter), written to `inner` as each is
/// done.
pub(crate) struct Frames<W: Write> {
    inner: W,
    level: i32,
    zstd: zstd::bulk::Compressor<'static>,
    /// The second compressor and its buffers, for writes of several whole
    /// frames; made at its first use.
    beside: Option<(zstd::bulk::Compressor<'static>, Vec<Vec<u8>>)>,
    /// Bytes of the frame being gathered, when writes come in pieces.
    pending: Vec<u8>,
    /// The compressed frame.
    out: Vec<u8>,
    /// Whether a frame was written: a stream needs at least one.
    framed: bool,
}

impl<W: Write> Frames<W> {
    fn new(inner: W, level: i32) -> io::Result<Frames<W>> {
        Ok(Frames {
            inner,
            level,
            zstd: compressor(level)?,
            beside: None,
            pending: Vec::new(),
            out: Vec::new(),
            framed: false,
        })
    }

    /// Compresses the gathered bytes as one frame and writes it.
    fn frame(&mut self) -> io::Result<()> {
        compress_frame(&mut self.zstd, &self.pending, &mut self.out)?;
        self.pending.clear();
        self.framed = true;
        self.inner.write_all(&self.out)
    }

    /// Compresses `frames`, whole frames straight from the caller's
    /// buffer, and writes them in order: two or more with every other one
    /// on a thread beside this one.
    fn frames(&mut self, frames: &[&[u8]]) -> io::Result<()> {
        if self.beside.is_none() && frames.len() >= 2 {
            self.beside = Some((compressor(self.level)?, Vec::new()));
        }
        let Frames {
            inner,
            zstd,
            beside,
            out,
            framed,
            ..
        } = self;
        match beside {
            Some((other, spare)) if frames.len() >= 2 => {
                let bufs = std::mem::take(spare);
                *spare = compress_beside(frames, (zstd, out), other, bufs, |frame| {
                    inner.write_all(frame)
                })?;
            }
            _ => {
                for frame in frames {
                    compress_frame(zstd, frame, out)?;
                    inner.write_all(out)?;
                }
            }
        }
        *framed |= !frames.is_empty();
        Ok(())
    }

    /// Compresses the gathered bytes, if any, as one frame.
    fn frame_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.frame()
    }

    fn finish(mut self) -> io::Result<W> {
        if !self.pending.is_empty() || !self.framed {
            // The rest, or an empty frame: zstd readers refuse an empty stream.
            self.frame()?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.is_empty() && buf.len() >= FRAME_BYTES {
            // Whole frames straight from the caller's buffer.
            let frames: Vec<&[u8]> = buf.chunks_exact(FRAME_BYTES).take(BESIDE_GROUP).collect();
            self.frames(&frames)?;
            return Ok(frames.len() * FRAME_BYTES);
        }
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(FRAME_BYTES);
        }
        let take = buf.len().min(FRAME_BYTES - self.pending.len());
        self.pending.extend_from_slice(&buf[..take]);
        if self.pending.len() == FRAME_BYTES {
            self.frame_pending()?;
        }
        Ok(take)
    }

    /// Ends the current frame early, so that everything written so far
    /// reaches `inner`, and flushes `inner`.
    fn flush(&mut self) -> io::Result<()> {
        self.frame_pending()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compress(writes: &[&[u8]], threads: u32) -> Vec<u8> {
        let mut c = Compressor::new(Vec::new(), 1, threads).unwrap();
        for w in writes {
            c.write_all(w).unwrap();
        }
        c.finish().unwrap()
    }

    fn text(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32)
            .map(|i| b"{\"id\":1234,\"note\":\"some text\"}\n"[(i ^ seed) as usize % 31])
            .collect()
    }

    #[test]
    fn frames_decompress_to_the_input_with_standard_zstd() {
        let big = text(5 * FRAME_BYTES + 777, 3);
        let header = [7u8; 512];
        let pieces: Vec<&[u8]> = vec![&header, &big, &[0u8; 300], &header, &big[..1000]];
        let framed = compress(&pieces, 0);
        let want: Vec<u8> = pieces.concat();
        // One stream to a reader that knows nothing of the frames.
        let mut got = Vec::new();
        zstd::stream::read::Decoder::new(&framed[..])
            .and_then(|mut d| io::copy(&mut d, &mut got))
            .unwrap();
        assert_eq!(got, want);
        // Several frames, each with a content checksum.
        let frames = (want.len()).div_ceil(FRAME_BYTES);
        assert!(frames >= 6, "{frames}");
        // Compressed about as well as by the streaming encoder: each frame
        // starts without history, which costs this repetitive text little.
        let streamed = compress(&pieces, 1);
        assert!(
            framed.len() <= streamed.len() + frames * 256,
            "{} vs {}",
            framed.len(),
            streamed.len()
        );
    }

    #[test]
    fn the_default_level_uses_the_smaller_hash_table() {
        // Text whose repeats lie further apart than a 4096-entry table
        // keeps track of: the smaller table finds fewer of them.
        let mut rng = 0x9e37_79b9_u32;
        let mut word = || {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            format!("{{\"k\":\"{:08x}{:08x}\"}}\n", rng, rng.rotate_left(7))
        };
        let words: Vec<String> = (0..20_000).map(|_| word()).collect();
        let data: Vec<u8> = words
            .iter()
            .chain(words.iter())
            .flat_map(|w| w.bytes())
            .collect();
        let framed = compress(&[&data[..FRAME_BYTES.min(data.len())]], 0);
        let mut plain = zstd::bulk::Compressor::new(1).unwrap();
        plain.include_checksum(true).unwrap();
        let unset = plain
            .compress(&data[..FRAME_BYTES.min(data.len())])
            .unwrap();
        assert_ne!(framed, unset);
        let got = zstd::stream::decode_all(&framed[..]).unwrap();
        assert_eq!(got, &data[..FRAME_BYTES.min(data.len())]);
    }

    #[test]
    fn a_flipped_byte_fails_the_frame_checksum() {
        let framed = compress(&[&text(100_000, 5)], 0);
        let mut bad = framed.clone();
        // A byte in the middle of the compressed data.
        let at = bad.len() / 2;
        bad[at] ^= 0x40;
        let mut sink = Vec::new();
        let read = zstd::stream::read::Decoder::new(&bad[..])
            .and_then(|mut d| io::copy(&mut d, &mut sink));
        assert!(read.is_err());
    }

    #[test]
    fn nothing_written_is_still_a_zstd_stream() {
        let framed = compress(&[], 0);
        assert!(!framed.is_empty());
        let mut got = Vec::new();
        zstd::stream::read::Decoder::new(&framed[..])
            .and_then(|mut d| io::copy(&mut d, &mut got))
            .unwrap();
        assert!(got.is_empty());
    }

    proptest! {
        // Each case compresses megabytes: a few cases cover the patterns.
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_write_pattern_round_trips(
            sizes in proptest::collection::vec(0usize..(3 * FRAME_BYTES / 2), 0..6),
            seed in any::<u32>(),
        ) {
            let data: Vec<Vec<u8>> = sizes.iter().enumerate()
                .map(|(i, &n)| text(n, seed ^ i as u32))
                .collect();
            let pieces: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            let framed = compress(&pieces, 0);
            let mut got = Vec::new();
            zstd::stream::read::Decoder::new(&framed[..])
                .and_then(|mut d| io::copy(&mut d, &mut got))
                .unwrap();
            prop_assert_eq!(got, pieces.concat());
        }

        #[test]
        fn large_writes_make_the_same_bytes_as_plain_ones(
            writes in proptest::collection::vec(
                (
                    prop_oneof![
                        0usize..600,
                        (FRAME_BYTES - 2)..(FRAME_BYTES + 2),
                        0usize..(5 * FRAME_BYTES),
                        Just(BESIDE_GROUP * FRAME_BYTES + FRAME_BYTES / 2),
                    ],
                    any::<bool>(),
                    any::<bool>(),
                ),
                0..6,
            ),
            seed in any::<u32>(),
        ) {
            // Each write goes in whole, so that whole frames are compressed
            // two at a time, or in slices under a frame, which never are,
            // with a flush after some: the bytes must not depend on the way.
            let data: Vec<Vec<u8>> = writes.iter().enumerate()
                .map(|(i, &(n, _, _))| text(n, seed ^ i as u32))
                .collect();
            let mut plain = Compressor::new(Vec::new(), 1, 0).unwrap();
            let mut large = Compressor::new(Vec::new(), 1, 0).unwrap();
            for (bytes, &(_, as_large, flush)) in data.iter().zip(&writes) {
                for slice in bytes.chunks(FRAME_BYTES / 3) {
                    plain.write_all(slice).unwrap();
                }
                if as_large {
                    large.write_all(bytes).unwrap();
                } else {
                    for slice in bytes.chunks(FRAME_BYTES / 2 + 1) {
                        large.write_all(slice).unwrap();
                    }
                }
                if flush {
                    plain.flush().unwrap();
                    large.flush().unwrap();
                }
            }
            let (plain, large) = (plain.finish().unwrap(), large.finish().unwrap());
            prop_assert!(plain == large, "{} vs {} bytes", plain.len(), large.len());
            let got = zstd::stream::decode_all(&large[..]).unwrap();
            prop_assert!(got == data.concat());
        }
    }

    #[test]
    fn a_failed_write_beside_is_an_error_and_stops() {
        // A writer that takes two frames and then fails.
        struct FailsAfter(usize);
        impl Write for FailsAfter {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let big = text(6 * FRAME_BYTES, 9);
        let mut c = Compressor::new(FailsAfter(2), 1, 0).unwrap();
        let err = c.write_all(&big).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }
}
