//! A small seeded generator and the character sets the sample data uses.
//!
//! Written here rather than taken from `rand` because the sample export must
//! be byte-for-byte reproducible for a seed across `rand` versions and
//! platforms (rand documents that `SmallRng` is not), and because it is the
//! hottest loop of the generator.

use base64::Engine as _;

/// wyrand: one 64-bit state, one multiply per output, good enough
/// statistical quality for synthetic data (not for cryptography).
pub(crate) struct Rng(u64);

pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub(crate) const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
pub(crate) const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const DIGITS: &[u8] = b"0123456789";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const B64URL: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The RFC 4648 base32 alphabet AWS key ids are drawn from.
pub(crate) const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Crockford base32, as in ULIDs.
pub(crate) const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The bech32 data alphabet (age keys and recipients).
pub(crate) const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Mix the seed so that small seeds (0, 1, 2) start far apart.
        let mut r = Rng(seed ^ 0x243f_6a88_85a3_08d3);
        r.next_u64();
        r
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0).wrapping_mul(u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db));
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by multiply-shift.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    pub(crate) fn usize(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as u64, hi as u64) as usize
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// One element of a non-empty constant table.
    ///
    /// Every caller passes a literal table, so the slice is never empty.
    pub(crate) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// Appends `n` characters drawn from `alphabet` (ASCII).
    pub(crate) fn push(&mut self, out: &mut String, alphabet: &[u8], n: usize) {
        out.reserve(n);
        let len = alphabet.len() as u64;
        for _ in 0..n {
            out.push(char::from(alphabet[self.below(len) as usize]));
        }
    }

    pub(crate) fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push(&mut s, alphabet, n);
        s
    }

    pub(crate) fn hex(&mut self, n: usize) -> String {
        self.chars(HEX, n)
    }

    pub(crate) fn digits(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        // No leading zero: these stand for numeric ids.
        self.push(&mut s, b"123456789", 1);
        self.push(&mut s, DIGITS, n.saturating_sub(1));
        s
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }

    /// Standard padded base64 of `n` random bytes, optionally after a fixed
    /// prefix of real bytes (key headers, PNG magic) so encodings start the
    /// way real ones do.
    pub(crate) fn base64_of(&mut self, prefix: &[u8], n: usize) -> String {
        let mut raw = prefix.to_vec();
        raw.extend_from_slice(&self.bytes(n));
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    /// A version-4 UUID.
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let mut s = String::with_capacity(36);
        let hex = |v: u64, from: u32, n: u32, s: &mut String| {
            for i in 0..n {
                let nib = (v >> (60 - 4 * (from + i))) & 0xf;
                s.push(char::from(HEX[nib as usize]));
            }
        };
        hex(a, 0, 8, &mut s);
        s.push('-');
        hex(a, 8, 4, &mut s);
        s.push_str("-4");
        hex(a, 13, 3, &mut s);
        s.push('-');
        s.push(char::from(b"89ab"[(b >> 62) as usize]));
        hex(b, 1, 3, &mut s);
        s.push('-');
        hex(b, 4, 12, &mut s);
        s
    }
}

/// Percent-encodes everything outside the URL-unreserved set, as SDKs do
/// for query values such as base64 signatures and session tokens.
pub(crate) fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let xa: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..16).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let v = r.range(3, 9);
            assert!((3..=9).contains(&v));
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn uuid_has_the_v4_shape() {
        let mut r = Rng::new(2);
        for _ in 0..100 {
            let u = r.uuid();
            assert_eq!(u.len(), 36);
            assert_eq!(&u[14..15], "4");
            assert!("89ab".contains(&u[19..20]));
            assert_eq!(u.matches('-').count(), 4);
        }
    }

    #[test]
    fn pct_encodes_base64_specials() {
        assert_eq!(pct("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
