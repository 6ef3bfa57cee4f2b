//! A fast acceptance test for the ordinary JSONL record.
//!
//! Every record that `redact`, `pack` and `verify` copy without changing is
//! still checked to be one JSON value, and that check used to cost as much
//! as finding the secrets. Most records are compact JSON: printable bytes,
//! no whitespace but spaces, modest nesting. For those, [`grammatical`]
//! walks the tokens once and skips string contents with a vectorised search
//! for the next quote or backslash. Anything it is not sure of (control
//! bytes, tabs, invalid UTF-8, deep nesting, any syntax error) it leaves to
//! the exact check in [`super::reader::check_json_line`], which produces the
//! error message. It may send a valid line there; it never accepts an
//! invalid one (`fuzz::jsonl` checks that against serde_json).

/// Deepest nesting the fast path follows; deeper lines take the exact check.
const MAX_DEPTH: u32 = 64;

/// `Some(escapes)` when `line` is certainly UTF-8 holding exactly one
/// grammatical JSON value, `escapes` telling whether any string spells a
/// `\u` escape (those still need the surrogate check); `None` when unsure.
pub(crate) fn grammatical(line: &[u8]) -> Option<bool> {
    // One pass over the bytes: no control byte (so the only whitespace is
    // the space, and no string holds a raw control character), and UTF-8.
    // (Two plain folds: each compiles to a vectorised min/max.)
    let lo = line.iter().fold(u8::MAX, |lo, &b| lo.min(b));
    let hi = line.iter().fold(0u8, |hi, &b| hi.max(b));
    if lo < 0x20 || (hi >= 0x80 && std::str::from_utf8(line).is_err()) {
        return None;
    }
    let mut s = Tokens {
        b: line,
        at: 0,
        u_escape: false,
    };
    // One bit per open container, lowest for the innermost: 1 = object.
    let mut stack: u64 = 0;
    let mut depth: u32 = 0;
    'value: loop {
        s.spaces();
        let opened = match s.peek()? {
            b'{' => Some(1),
            b'[' => Some(0),
            b'"' => {
                s.at += 1;
                s.string()?;
                None
            }
            b't' => s.word(b"true").map(|()| None)?,
            b'f' => s.word(b"false").map(|()| None)?,
            b'n' => s.word(b"null").map(|()| None)?,
            b'-' | b'0'..=b'9' => s.number().map(|()| None)?,
            _ => return None,
        };
        if let Some(object) = opened {
            if depth == MAX_DEPTH {
                return None;
            }
            s.at += 1;
            s.spaces();
            let close = if object == 1 { b'}' } else { b']' };
            if s.peek()? == close {
                s.at += 1;
            } else {
                stack = stack << 1 | object;
                depth += 1;
                if object == 1 {
                    s.key()?;
                }
                continue 'value;
            }
        }
        // A value is complete: what follows closes containers or goes on.
        loop {
            s.spaces();
            if depth == 0 {
                return (s.at == line.len()).then_some(s.u_escape);
            }
            let object = stack & 1 == 1;
            match s.peek()? {
                b',' => {
                    s.at += 1;
                    if object {
                        s.spaces();
                        s.key()?;
                    }
                    continue 'value;
                }
                b'}' if object => {}
                b']' if !object => {}
                _ => return None,
            }
            s.at += 1;
            stack >>= 1;
            depth -= 1;
        }
    }
}

/// The first `"` or `\\` in `b` at or after `from`.
///
/// Most strings in a record are short (keys, ids, timestamps), and a
/// vectorised search costs more to set up than they take to read; so the
/// first words are tested eight bytes at a time in a register, and only a
/// longer string goes to `memchr2`.
#[inline]
fn quote_or_backslash(b: &[u8], from: usize) -> Option<usize> {
    const WORDS: usize = 4;
    let mut at = from;
    for _ in 0..WORDS {
        let Some(Ok(word)) = b.get(at..at + 8).map(<[u8; 8]>::try_from) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let found = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'));
        if found != 0 {
            // The lowest flagged byte is always a real zero byte.
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    memchr::memchr2(b'"', b'\\', b.get(at..)?).map(|i| at + i)
}

/// `c` in every byte of a word.
const fn splat(c: u8) -> u64 {
    c as u64 * 0x0101_0101_0101_0101
}

/// The high bit of each byte of `w` that is zero, exact up to and including
/// the lowest zero byte (a borrow may also flag bytes above it).
const fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(1)) & !w & splat(0x80)
}

/// A cursor over the bytes of one line.
struct Tokens<'a> {
    b: &'a [u8],
    at: usize,
    u_escape: bool,
}

impl Tokens<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// An object key and its colon, starting at the key's quote.
    fn key(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        self.string()?;
        self.spaces();
        if self.peek()? != b':' {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// The rest of a string whose opening quote is consumed.
    #[inline(always)]
    fn string(&mut self) -> Option<()> {
        loop {
            self.at = quote_or_backslash(self.b, self.at)?;
            if self.peek()? == b'"' {
                self.at += 1;
                return Some(());
            }
            match *self.b.get(self.at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                b'u' => {
                    let hex = self.b.get(self.at + 2..self.at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.u_escape = true;
                    self.at += 6;
                }
                _ => return None,
            }
        }
    }

    /// `true`, `false` or `null`.
    fn word(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.at..self.at + word.len())? != word {
            return None;
        }
        self.at += word.len();
        Some(())
    }

    fn digits(&mut self) -> usize {
        let from = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - from
    }

    /// A number by the JSON grammar.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => {
                self.at += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::{grammatical, quote_or_backslash};
    use proptest::prelude::*;

    fn serde_accepts(line: &[u8]) -> bool {
        std::str::from_utf8(line)
            .ok()
            .is_some_and(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok())
    }

    #[test]
    fn accepts_ordinary_records() {
        for line in [
            r#"{"id":1,"name":"a\"b\\c\/d\u00e9","tags":[],"o":{},"n":null}"#,
            r#"[true,false,null,-0,0.5,1e9,-2.5E-3,12345678901234567890123]"#,
            r#" { "a" : [ 1 , { "b" : "ünï" } ] } "#,
            r#""just a string""#,
            "0",
            "[[[[[]]]]]",
        ] {
            assert!(grammatical(line.as_bytes()).is_some(), "{line}");
            assert!(serde_accepts(line.as_bytes()), "{line}");
        }
        assert_eq!(grammatical(br#"{"a":"\u00e9"}"#), Some(true));
        assert_eq!(grammatical(br#"{"a":"\n"}"#), Some(false));
    }

    #[test]
    fn refuses_or_defers_what_is_not_one_value() {
        for line in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":1}{}",
            "[1] x",
            "01",
            "-",
            "1.",
            "1e",
            "1e+",
            ".5",
            "+1",
            "tru",
            "nulll",
            "\"open",
            "\"bad \\x escape\"",
            "\"\\u12G4\"",
            "[1}",
            "{\"a\":1]",
            "\"tab\there\"",
            "[1,\t2]",
        ] {
            assert_eq!(grammatical(line.as_bytes()), None, "{line:?}");
        }
        assert_eq!(grammatical(b"\"\xff\""), None);
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(grammatical(deep.as_bytes()), None);
        assert!(serde_accepts(deep.as_bytes()));
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Everything serde_json writes (compact or pretty on one line is
        /// not a JSONL shape; compact is) takes the fast path.
        #[test]
        fn serialised_values_are_accepted(v in json()) {
            let line = serde_json::to_vec(&v).unwrap_or_default();
            prop_assert!(grammatical(&line).is_some());
        }

        /// The word-at-a-time search finds the same byte as a plain one,
        /// wherever the quote or backslash sits and whatever surrounds it.
        #[test]
        fn word_search_finds_the_first_quote_or_backslash(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), Just(0x21u8), Just(0x5bu8), Just(0xa2u8), any::<u8>()],
                0..80,
            ),
            from in any::<prop::sample::Index>(),
        ) {
            let from = if bytes.is_empty() { 0 } else { from.index(bytes.len() + 1) };
            let plain = bytes[from..].iter().position(|&b| b == b'"' || b == b'\\').map(|i| from + i);
            prop_assert_eq!(quote_or_backslash(&bytes, from), plain);
        }

        /// Never accepts what serde_json refuses, however a line is damaged.
        #[test]
        fn damaged_values_are_never_accepted_wrongly(
            v in json(),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        ) {
            let mut line = serde_json::to_vec(&v).unwrap_or_default();
            for (at, byte, how) in cuts {
                if line.is_empty() {
                    break;
                }
                let i = at.index(line.len());
                let set = b"{}[]\",:\\ 0-.eu1tfn";
                let byte = set[usize::from(byte) % set.len()];
                match how {
                    0 => line[i] = byte,
                    1 => line.insert(i, byte),
                    _ => {
                        line.remove(i);
                    }
                }
            }
            if grammatical(&line).is_some() {
                prop_assert!(serde_accepts(&line), "{}", String::from_utf8_lossy(&line));
            }
        }
    }
}
