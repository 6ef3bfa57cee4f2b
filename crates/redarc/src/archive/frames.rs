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
    zstd: zstd::bulk::Compressor<'static>,
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
            zstd: compressor(level)?,
            pending: Vec::new(),
            out: Vec::new(),
            framed: false,
        })
    }

    /// Compresses `data` (at most [`FRAME_BYTES`], or `pending` when
    /// `None`) as one frame and writes it.
    fn frame(&mut self, data: Option<&[u8]>) -> io::Result<()> {
        let data = data.unwrap_or(&self.pending);
        self.out.clear();
        self.out
            .reserve(zstd::zstd_safe::compress_bound(data.len()));
        self.zstd.compress_to_buffer(data, &mut self.out)?;
        self.pending.clear();
        self.framed = true;
        self.inner.write_all(&self.out)
    }

    /// Compresses the gathered bytes, if any, as one frame.
    fn frame_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.frame(None)
    }

    fn finish(mut self) -> io::Result<W> {
        if !self.pending.is_empty() || !self.framed {
            // The rest, or an empty frame: zstd readers refuse an empty stream.
            self.frame(None)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.is_empty() && buf.len() >= FRAME_BYTES {
            // A whole frame straight from the caller's buffer.
            let (frame, _) = buf.split_at(FRAME_BYTES);
            self.frame(Some(frame))?;
            return Ok(FRAME_BYTES);
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
    }
}
