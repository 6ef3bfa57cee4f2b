//! The decrypting, decompressing, strict tar member stream every reader
//! path shares.
//!
//! The tar layer is parsed here rather than with `tar::Archive` because the
//! format allows only one narrow shape (ustar regular files with known
//! names) and a reader must see — and refuse — every extension header,
//! link or device instead of having it interpreted. Header decoding itself
//! (checksums, octal sizes) is the `tar` crate's.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use crate::archive::crypto::Identities;
use crate::error::{ArchiveProblem as P, DecryptFailure, Error};
use crate::format::{
    self, MANIFEST_MEMBER, MAX_MANIFEST_BYTES, MAX_PART_BYTES, MAX_SUMS_BYTES, SUMS_MEMBER,
};
use crate::Result;

/// Limits a reader enforces on untrusted archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadLimits {
    /// Most members accepted.
    pub max_members: u64,
    /// Most decompressed bytes accepted in all.
    pub max_total_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            max_members: 100_000,
            max_total_bytes: 1 << 40,
        }
    }
}

impl ReadLimits {
    /// Sets the most members accepted.
    pub fn max_members(mut self, n: u64) -> Self {
        self.max_members = n;
        self
    }

    /// Sets the most decompressed bytes accepted.
    pub fn max_total_bytes(mut self, n: u64) -> Self {
        self.max_total_bytes = n;
        self
    }
}

/// Trailing zero padding accepted after the end-of-archive marker.
const MAX_TRAILING: u64 = 1 << 20;
/// zstd window accepted (log2): 16 MiB, far above what redarc writes and
/// small enough to keep a hostile frame from demanding a huge buffer.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;

/// Which layer failed first, so one `io::Error` can be told apart as a
/// storage error, a decryption failure or a decompression failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    None,
    Source,
    Age,
}

pub(crate) struct Tagged<R> {
    inner: R,
    layer: Layer,
    flag: Rc<Cell<Layer>>,
}

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        if r.is_err() && self.flag.get() == Layer::None {
            self.flag.set(self.layer);
        }
        r
    }
}

/// What kind of member a name denotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Part { entity: String, index: u32 },
    Sums,
    Manifest,
}

/// A member header that passed the structural checks.
#[derive(Debug, Clone)]
pub(crate) struct MemberHeader {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) size: u64,
}

/// The plaintext layers: zstd over age over the source.
pub(crate) type Plain<R> = zstd::stream::read::Decoder<
    'static,
    io::BufReader<Tagged<age::stream::StreamReader<io::BufReader<Tagged<R>>>>>,
>;

/// Members of a plaintext (decompressed) tar stream `S`.
pub(crate) struct MemberStream<S: Read> {
    inner: S,
    flag: Rc<Cell<Layer>>,
    limits: ReadLimits,
    members: u64,
    total: u64,
    seen_sums: bool,
    seen_manifest: bool,
    names: std::collections::HashSet<String>,
}

impl<R: Read> MemberStream<Plain<R>> {
    /// Decrypts and decompresses `source`.
    pub(crate) fn open(
        source: R,
        identities: &Identities,
        limits: ReadLimits,
    ) -> Result<MemberStream<Plain<R>>> {
        let flag = Rc::new(Cell::new(Layer::None));
        let source = Tagged {
            inner: source,
            layer: Layer::Source,
            flag: flag.clone(),
        };
        let plain = identities
            .decrypt(source)
            .map_err(|e| match (&e, flag.get()) {
                (_, Layer::Source) => {
                    Error::io("reading the archive", io::Error::other("read failed"))
                }
                _ => e,
            })?;
        let plain = Tagged {
            inner: plain,
            layer: Layer::Age,
            flag: flag.clone(),
        };
        let mut inner =
            zstd::stream::read::Decoder::new(plain).map_err(|e| Error::io("starting zstd", e))?;
        inner
            .window_log_max(ZSTD_WINDOW_LOG_MAX)
            .map_err(|e| Error::io("configuring zstd", e))?;
        Ok(MemberStream::with_flag(inner, flag, limits))
    }
}

impl<S: Read> MemberStream<S> {
    /// Reads members from an already decrypted and decompressed tar stream.
    #[cfg_attr(not(fuzzing), allow(dead_code))]
    pub(crate) fn plaintext(tar: S, limits: ReadLimits) -> MemberStream<S> {
        MemberStream::with_flag(tar, Rc::new(Cell::new(Layer::None)), limits)
    }

    fn with_flag(inner: S, flag: Rc<Cell<Layer>>, limits: ReadLimits) -> MemberStream<S> {
        MemberStream {
            inner,
            flag,
            limits,
            members: 0,
            total: 0,
            seen_sums: false,
            seen_manifest: false,
            names: Default::default(),
        }
    }

    /// Turns an error from the layered reader into the right kind.
    fn lower(&self, e: io::Error) -> Error {
        match self.flag.get() {
            Layer::Source => Error::io("reading the archive", e),
            Layer::Age => Error::Decrypt(DecryptFailure::Payload),
            Layer::None => Error::archive(P::Compression),
        }
    }

    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.lower(e)),
            }
        }
        self.total += filled as u64;
        if self.total > self.limits.max_total_bytes {
            return Err(Error::archive(P::TooLarge {
                limit: self.limits.max_total_bytes,
            }));
        }
        Ok(filled)
    }

    /// Reads the next member header, or `None` at the end-of-archive marker
    /// (after checking that only zero padding follows, to the very end of
    /// every layer).
    pub(crate) fn next_header(&mut self) -> Result<Option<MemberHeader>> {
        let offset = self.total;
        let mut block = [0u8; 512];
        let n = self.read_full(&mut block)?;
        if n == 0 {
            return Err(Error::archive(P::Trailing(
                "the tar stream ends without its end-of-archive marker".into(),
            )));
        }
        if n < 512 {
            return Err(Error::archive(P::Trailing(
                "the tar stream is truncated".into(),
            )));
        }
        if block.iter().all(|&b| b == 0) {
            self.finish_trailer()?;
            return Ok(None);
        }
        let at = |problem| Error::Archive {
            member: None,
            offset: Some(offset),
            problem,
        };
        let header = tar::Header::from_byte_slice(&block);
        let sum: u32 = block[..148]
            .iter()
            .chain(&block[156..])
            .map(|&b| u32::from(b))
            .sum::<u32>()
            + 8 * 32;
        if header.cksum().ok() != Some(sum) {
            return Err(at(P::Tar("header checksum mismatch".into())));
        }
        if header.as_ustar().is_none() && header.as_gnu().is_none() {
            return Err(at(P::Tar("not a ustar header".into())));
        }
        let name_bytes = header.path_bytes();
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let member_err = |problem| Error::Archive {
            member: Some(crate::error::printable(&name)),
            offset: Some(offset),
            problem,
        };
        let entry_type = header.entry_type();
        if !(entry_type.is_file() && matches!(block[156], b'0' | 0)) {
            return Err(member_err(P::NotRegularFile));
        }
        if std::str::from_utf8(&name_bytes).is_err()
            || name.is_empty()
            || name.starts_with('/')
            || name.contains('\\')
            || name.contains('\0')
            || name
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty())
        {
            return Err(member_err(P::UnsafePath));
        }
        let (kind, cap) = if name == MANIFEST_MEMBER {
            (Kind::Manifest, MAX_MANIFEST_BYTES)
        } else if name == SUMS_MEMBER {
            (Kind::Sums, MAX_SUMS_BYTES)
        } else if let Some((entity, index)) = format::parse_part_path(&name) {
            (
                Kind::Part {
                    entity: entity.to_string(),
                    index,
                },
                MAX_PART_BYTES,
            )
        } else {
            return Err(member_err(P::UnlistedMember));
        };
        if !self.names.insert(name.clone()) {
            return Err(member_err(P::DuplicateMember));
        }
        self.members += 1;
        if self.members > self.limits.max_members {
            return Err(member_err(P::TooManyMembers {
                limit: self.limits.max_members,
            }));
        }
        if self.seen_manifest {
            return Err(member_err(P::Order(
                "nothing may follow manifest.json".into(),
            )));
        }
        match kind {
            Kind::Part { .. } if self.seen_sums => {
                return Err(member_err(P::Order(
                    "entity parts must precede SHA256SUMS".into(),
                )))
            }
            // A manifest without SHA256SUMS before it is not refused here:
            // SHA256SUMS after it fails "nothing may follow", and none at all
            // is reported as missing once the stream ends.
            Kind::Sums => self.seen_sums = true,
            Kind::Manifest => self.seen_manifest = true,
            Kind::Part { .. } => {}
        }
        let size = header
            .entry_size()
            .map_err(|_| member_err(P::Tar("size field is malformed".into())))?;
        if size > cap {
            return Err(member_err(P::TooLarge { limit: cap }));
        }
        Ok(Some(MemberHeader { name, kind, size }))
    }

    /// Reads the data of the member just announced into `buf` (replacing its
    /// contents), and skips the padding to the next block.
    pub(crate) fn read_data(&mut self, header: &MemberHeader, buf: &mut Vec<u8>) -> Result<()> {
        // The size was capped in next_header, so this allocation is bounded.
        // Not cleared first: a reused buffer of the same size is then not
        // zeroed again, and every byte is overwritten (or the read fails).
        buf.resize(header.size as usize, 0);
        let n = self.read_full(buf)?;
        if (n as u64) < header.size {
            return Err(Error::member(
                &header.name,
                P::Trailing("member data is truncated".into()),
            ));
        }
        let pad = (512 - (header.size % 512) as usize) % 512;
        let mut padding = [0u8; 512];
        if self.read_full(&mut padding[..pad])? < pad {
            return Err(Error::member(
                &header.name,
                P::Trailing("member padding is truncated".into()),
            ));
        }
        Ok(())
    }

    /// After the first zero block: the rest must be zeros (at least one more
    /// block, at most [`MAX_TRAILING`]), read to the end of every layer so
    /// age's final authentication runs.
    fn finish_trailer(&mut self) -> Result<()> {
        let mut rest = 0u64;
        let mut buf = [0u8; 8192];
        loop {
            let n = self.read_full(&mut buf)?;
            if n == 0 {
                break;
            }
            if buf[..n].iter().any(|&b| b != 0) {
                return Err(Error::archive(P::Trailing(
                    "data follows the end-of-archive marker".into(),
                )));
            }
            rest += n as u64;
            // The second end-of-archive block is not part of the padding allowance.
            if rest > MAX_TRAILING + 512 {
                return Err(Error::archive(P::Trailing(
                    "too much padding after the end-of-archive marker".into(),
                )));
            }
        }
        if rest < 512 {
            return Err(Error::archive(P::Trailing(
                "the end-of-archive marker is incomplete".into(),
            )));
        }
        Ok(())
    }
}
