//! Reading JSONL input line by line without copying each line.

use std::io::BufRead;

/// The error of a line longer than `max_line` bytes (without its line end).
fn too_long(max_line: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("a line is longer than the limit of {max_line} bytes"),
    )
}

/// Calls `f` with every line of `reader`, without its `\n`, in order; the
/// last one too when no newline ends it. Lines are handed out where they
/// lie in the reader's buffer; only a line that straddles two fills of the
/// buffer is gathered into a copy first. A line of more than `max_line`
/// bytes (not counting a `\r` before its `\n`) is a read error, found
/// before more than that is held in memory. `read_error` turns a read
/// failure into the caller's error; the first error from either ends the
/// reading.
pub(crate) fn for_each_line<R: BufRead, E>(
    reader: &mut R,
    max_line: usize,
    read_error: impl Fn(std::io::Error) -> E,
    mut f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut line = |l: &[u8]| {
        if l.len() > max_line && l.strip_suffix(b"\r").is_none_or(|l| l.len() > max_line) {
            return Err(read_error(too_long(max_line)));
        }
        f(l)
    };
    for_each_chunk(reader, max_line, &read_error, |chunk| {
        let chunk = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        let mut at = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            line(&chunk[at..nl])?;
            at = nl + 1;
        }
        line(&chunk[at..])
    })
}

/// Calls `f` with chunks of whole lines of `reader`, in order: each chunk
/// ends with a `\n` except perhaps the last, and no line is split between
/// two chunks. Chunks lie in the reader's buffer where they can; a line
/// that straddles two fills is handed out alone, gathered into a copy,
/// which fails as a read error once it holds more than `max_line` bytes
/// and a `\r\n` (lines within one fill are as long as the buffer at most).
pub(crate) fn for_each_chunk<R: BufRead, E>(
    reader: &mut R,
    max_line: usize,
    read_error: impl Fn(std::io::Error) -> E,
    mut f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut split: Vec<u8> = Vec::new();
    let most = max_line.saturating_add(2);
    loop {
        let buf = reader.fill_buf().map_err(&read_error)?;
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        if !split.is_empty() {
            // The rest of a line begun in an earlier fill.
            let (take, ended) = match memchr::memchr(b'\n', buf) {
                Some(nl) => (nl + 1, true),
                None => (len, false),
            };
            if split.len().saturating_add(take) > most {
                return Err(read_error(too_long(max_line)));
            }
            split.extend_from_slice(&buf[..take]);
            reader.consume(take);
            if ended {
                f(&split)?;
                split.clear();
            }
            continue;
        }
        let rest = match memchr::memrchr(b'\n', buf) {
            Some(last) => {
                f(&buf[..=last])?;
                &buf[last + 1..]
            }
            None => buf,
        };
        if rest.len() > most {
            return Err(read_error(too_long(max_line)));
        }
        split.extend_from_slice(rest);
        reader.consume(len);
    }
    if !split.is_empty() {
        f(&split)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// A reader under test: `for_each_line` or `for_each_chunk`.
    type Read = fn(
        &mut BufReader<&[u8]>,
        usize,
        fn(std::io::Error) -> std::io::Error,
        &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()>;

    /// What `read` hands out for `text` read through a buffer of `capacity`.
    fn collect(text: &[u8], capacity: usize, read: Read) -> Vec<Vec<u8>> {
        let mut reader = BufReader::with_capacity(capacity, text);
        let mut out = Vec::new();
        read(&mut reader, usize::MAX, |e| e, &mut |l| {
            out.push(l.to_vec());
            Ok(())
        })
        .unwrap();
        out
    }

    fn lines(text: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        collect(text, capacity, |r, m, e, f| for_each_line(r, m, e, f))
    }

    #[test]
    fn agrees_with_split_at_every_buffer_size() {
        let text: &[u8] = b"a\n\nbcd\r\nefghijklmnop\nq\n\n\nlast";
        let want: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        for capacity in 1..=text.len() + 1 {
            assert_eq!(lines(text, capacity), want, "buffer of {capacity}");
        }
        // A final newline ends the last line; nothing follows it.
        let mut want = want;
        want.pop();
        let ended = b"a\n\nbcd\r\nefghijklmnop\nq\n\n\n";
        for capacity in 1..=ended.len() + 1 {
            assert_eq!(lines(ended, capacity), want, "buffer of {capacity}");
        }
        assert!(lines(b"", 4).is_empty());
    }

    fn chunks(text: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        collect(text, capacity, |r, m, e, f| for_each_chunk(r, m, e, f))
    }

    #[test]
    fn chunks_hold_whole_lines_at_every_buffer_size() {
        for text in [
            &b"a\n\nbcd\r\nefghijklmnop\nq\n\n\nlast"[..],
            b"a\n\nbcd\r\nefghijklmnop\nq\n\n\n",
            b"one line, no end",
            b"\n",
        ] {
            for capacity in 1..=text.len() + 1 {
                let chunks = chunks(text, capacity);
                assert_eq!(chunks.concat(), text, "buffer of {capacity}");
                let (last, rest) = chunks.split_last().unwrap();
                assert!(!last.is_empty());
                for c in rest {
                    assert_eq!(c.last(), Some(&b'\n'), "buffer of {capacity}");
                }
                // The chunks' lines are the text's lines: none was cut.
                let got: Vec<Vec<u8>> = chunks
                    .iter()
                    .flat_map(|c| c.strip_suffix(b"\n").unwrap_or(c).split(|&b| b == b'\n'))
                    .map(<[u8]>::to_vec)
                    .collect();
                assert_eq!(got, lines(text, capacity), "buffer of {capacity}");
            }
        }
        assert!(chunks(b"", 4).is_empty());
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_at_every_buffer_size() {
        let text: &[u8] = b"12345\n123456\r\n1234567\nok\n";
        for capacity in 1..=text.len() + 1 {
            let mut seen = Vec::new();
            let mut reader = BufReader::with_capacity(capacity, text);
            let err = for_each_line(
                &mut reader,
                6,
                |e| e,
                |l| {
                    seen.push(l.to_vec());
                    Ok(())
                },
            )
            .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
            assert!(err.to_string().contains("limit of 6 bytes"), "{err}");
            // Up to the limit (a CR before the newline not counted) is fine.
            assert_eq!(seen, [&b"12345"[..], b"123456\r"], "buffer of {capacity}");
        }
        // A line with no end is refused before it is read whole.
        let endless = vec![b'x'; 1 << 20];
        let mut reader = BufReader::with_capacity(64, &endless[..]);
        let mut held = 0;
        let err = for_each_chunk(
            &mut reader,
            1000,
            |e| e,
            |c| {
                held += c.len();
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(held, 0);
        let read = endless.len() - reader.get_ref().len();
        assert!(read <= 1002 + 64, "read {read} bytes");
    }
}
