//! The literal search every record and every walked string goes through.
//!
//! A plain DFA search is bound by latency: each step loads the next state
//! from the one before, a few cycles per byte whatever the table holds.
//! This search cuts texts of [`LANE_MIN`] bytes or more into four lanes and
//! steps all four in the same loop, so the four loads overlap; lanes 1–3
//! start [`Literals::max_len`] bytes before their own stretch, in step with
//! the others, so that each is in the right state where its stretch begins.
//! A table that fits holds 16-bit states. docs/performance.md has what
//! each step changed in redaction throughput.
//!
//! The automaton itself is the `aho-corasick` crate's (standard semantics,
//! ASCII case-insensitive; its trie with failure links, which is quicker
//! to build than its DFA), resolved into a dense table with byte classes
//! and with its match states numbered last, so that "is this a match" is
//! one comparison of the state the loop already holds.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{Anchored, MatchKind};

/// Texts shorter than this are searched in one lane.
const LANE_MIN: usize = 256;

/// Entries of a table that fits the common case (the built-in literals need
/// about 45,000). A fixed size lets a masked index go unchecked.
const TABLE: usize = 1 << 16;

/// The transition table: fixed-size when it fits (then every state number
/// fits 16 bits, and half the bytes keep more of the table in the cache),
/// else as long as needed.
#[derive(Clone)]
enum Table {
    Small(Box<[u16; TABLE]>),
    Large(Box<[u32]>),
}

/// One transition lookup.
trait Step {
    fn at(&self, index: usize) -> u32;
}

impl Step for [u16; TABLE] {
    #[inline(always)]
    fn at(&self, index: usize) -> u32 {
        // Every index `new` makes is below TABLE; the mask proves it.
        u32::from(self[index & (TABLE - 1)])
    }
}

impl Step for [u32] {
    #[inline(always)]
    fn at(&self, index: usize) -> u32 {
        // Every index `new` makes is in the table; 0 (the start state)
        // keeps a bug from turning into a panic.
        self.get(index).copied().unwrap_or(0)
    }
}

/// A set of literals, searched ASCII case-insensitively for every
/// occurrence, overlapping ones included.
#[derive(Clone)]
pub(crate) struct Literals {
    /// Byte → class: bytes no literal tells apart share a column.
    class: [u8; 256],
    /// `trans[state + class]` is the next state; states are premultiplied
    /// by the number of classes.
    trans: Table,
    start: u32,
    /// States from here on end at least one literal; a power of two above
    /// every other state, so that `a | b | c | d >= first_match` tells
    /// whether any of four states is a match.
    first_match: u32,
    stride: u32,
    /// The literals ending in each match state, by `(state - first_match) / stride`.
    ends: Vec<Box<[u32]>>,
    /// Length of each literal, by literal index.
    lens: Vec<usize>,
    max_len: usize,
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Literals")
            .field("literals", &self.lens.len())
            .field("classes", &self.stride)
            .finish_non_exhaustive()
    }
}

impl Literals {
    /// Builds the search for `literals` (non-empty, none empty). `None`
    /// when the automaton cannot be built or does not fit the table's
    /// 32-bit state numbers.
    pub(crate) fn new(literals: &[String]) -> Option<Literals> {
        let automaton = aho_corasick::nfa::noncontiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .build(literals)
            .ok()?;
        // Byte classes, from the literals alone: the automaton tells two
        // bytes apart exactly when they differ after ASCII case folding and
        // one of them occurs in a literal; every byte that occurs in none
        // sends every state back to the start, so they share class 0. A
        // test checks this against the automaton's columns, whose reading
        // took most of the 7–12 ms the table used to cost (now about 1 ms).
        let fold = |b: u8| usize::from(b.to_ascii_lowercase());
        let mut occurs = [false; 256];
        for &b in literals.iter().flat_map(|l| l.as_bytes()) {
            occurs[fold(b)] = true;
        }
        // One byte of each class, by class number: first the bytes in no
        // literal, if there are any.
        let mut representative: Vec<u8> = Vec::new();
        if let Some(other) = (0..=255u8).find(|&b| !occurs[fold(b)]) {
            representative.push(other);
        }
        let mut class = [0u8; 256];
        for b in 0..=255u8 {
            if occurs[usize::from(b)] {
                class[usize::from(b)] = u8::try_from(representative.len()).ok()?;
                representative.push(b);
            }
        }
        for b in 0..=255u8 {
            class[usize::from(b)] = class[fold(b)];
        }
        let stride = representative.len();
        let start = automaton.start_state(Anchored::No).ok()?;
        // Every state reachable from the start, numbered in the order found
        // (`index` maps the automaton's state id to that number), and its
        // next state by class.
        let mut states = Vec::new();
        let mut index: Vec<Option<usize>> = Vec::new();
        let mut number = |sid: StateID, states: &mut Vec<StateID>| {
            let i = sid.as_usize();
            if index.len() <= i {
                index.resize(i + 1, None);
            }
            *index[i].get_or_insert_with(|| {
                states.push(sid);
                states.len() - 1
            })
        };
        number(start, &mut states);
        let mut rows: Vec<usize> = Vec::new();
        while let Some(&s) = states.get(rows.len() / stride) {
            for &b in &representative {
                rows.push(number(
                    automaton.next_state(Anchored::No, s, b),
                    &mut states,
                ));
            }
        }
        let next = |s: usize, c: usize| rows[s * stride + c];
        // Match states last.
        let (mut order, matching): (Vec<usize>, Vec<usize>) =
            (0..states.len()).partition(|&s| !automaton.is_match(states[s]));
        let first_match = order.len();
        order.extend(matching);
        let mut renumbered = vec![0usize; states.len()];
        for (new, &old) in order.iter().enumerate() {
            renumbered[old] = new;
        }
        // Match states from a power of two on, past every other state.
        let match_base = (first_match * stride).next_power_of_two();
        let id = |s: usize| {
            let n = renumbered[s];
            let at = if n < first_match {
                n * stride
            } else {
                match_base + (n - first_match) * stride
            };
            u32::try_from(at).ok()
        };
        let len = match_base + (states.len() - first_match) * stride;
        let mut trans = vec![0u32; len.max(TABLE)];
        for old in 0..states.len() {
            let row = usize::try_from(id(old)?).ok()?;
            for c in 0..stride {
                trans[row + c] = id(next(old, c))?;
            }
        }
        let small: Option<Vec<u16>> = (trans.len() == TABLE)
            .then(|| trans.iter().map(|&t| u16::try_from(t).ok()).collect())
            .flatten();
        let trans = match small.map(|t| <Box<[u16; TABLE]>>::try_from(t.into_boxed_slice())) {
            Some(Ok(small)) => Table::Small(small),
            _ => Table::Large(trans.into_boxed_slice()),
        };
        let ends = order[first_match..]
            .iter()
            .map(|&old| {
                let s = states[old];
                (0..automaton.match_len(s))
                    .map(|i| automaton.match_pattern(s, i).as_u32())
                    .collect()
            })
            .collect();
        Some(Literals {
            class,
            trans,
            start: id(0)?,
            first_match: u32::try_from(match_base).ok()?,
            stride: u32::try_from(stride).ok()?,
            ends,
            lens: literals.iter().map(String::len).collect(),
            max_len: literals.iter().map(String::len).max().unwrap_or(0),
        })
    }

    /// Calls `f(start, literal)` for every occurrence of every literal in
    /// `text` (literal by index into the list given to [`Literals::new`]),
    /// until `f` returns `true`; returns whether it did.
    ///
    /// Every occurrence is reported once, in no particular order.
    pub(crate) fn each(&self, text: &[u8], f: impl FnMut(usize, usize) -> bool) -> bool {
        match &self.trans {
            Table::Small(t) => self.each_in(&**t, text, f),
            Table::Large(t) => self.each_in(&**t, text, f),
        }
    }

    fn each_in<T: Step + ?Sized>(
        &self,
        trans: &T,
        text: &[u8],
        mut f: impl FnMut(usize, usize) -> bool,
    ) -> bool {
        // Four lanes of `len` steps each. Lane k > 0 starts `w` bytes
        // before the stretch it reports, so that it is in the right state
        // where that stretch begins (the warm-up runs in step with the other
        // lanes, not before them); it reports nothing in those `w` bytes,
        // which the lane before it covers.
        let w = self.max_len;
        let len = (text.len() + 3 * w) / 4;
        if text.len() < LANE_MIN || len <= 2 * w {
            return self.lane(trans, text, 0, self.start, &mut f);
        }
        let step = len - w;
        let starts = [0, step, 2 * step, 3 * step];
        let (t0, t1, t2, t3) = (
            &text[..len],
            &text[step..step + len],
            &text[2 * step..2 * step + len],
            &text[3 * step..3 * step + len],
        );
        let mut s0 = self.start;
        let (mut s1, mut s2, mut s3) = (s0, s0, s0);
        let first_match = self.first_match;
        // One index over four slices of the same length: the compiler drops
        // the bounds checks, and the loop advances one counter, not four
        // pointers.
        for i in 0..len {
            s0 = self.step(trans, s0, t0[i]);
            s1 = self.step(trans, s1, t1[i]);
            s2 = self.step(trans, s2, t2[i]);
            s3 = self.step(trans, s3, t3[i]);
            if s0 | s1 | s2 | s3 >= first_match
                && self.report_lanes([s0, s1, s2, s3], &starts, i + 1, w, &mut f)
            {
                return true;
            }
        }
        // The rest of the text, after the last lane.
        self.lane(trans, text, 3 * step + len, s3, &mut f)
    }

    /// One lane over `text[from..]`, in `state` at `from`.
    fn lane<T: Step + ?Sized>(
        &self,
        trans: &T,
        text: &[u8],
        from: usize,
        state: u32,
        f: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        let mut s = state;
        for (i, &b) in text.iter().enumerate().skip(from) {
            s = self.step(trans, s, b);
            if s >= self.first_match && self.report(s, i + 1, f) {
                return true;
            }
        }
        false
    }

    #[inline(always)]
    fn step<T: Step + ?Sized>(&self, trans: &T, state: u32, byte: u8) -> u32 {
        trans.at(state as usize + usize::from(self.class[usize::from(byte)]))
    }

    /// Reports the matches of the lanes in a match state, lane `k` at
    /// `starts[k] + end`, except those of lanes 1–3 still in their first
    /// `warm_up` bytes. Out of line: matches are rare next to steps, and
    /// the step loop keeps its registers for the four lanes.
    #[cold]
    #[inline(never)]
    fn report_lanes(
        &self,
        states: [u32; 4],
        starts: &[usize; 4],
        end: usize,
        warm_up: usize,
        f: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        states
            .into_iter()
            .zip(starts)
            .enumerate()
            .any(|(k, (s, &b))| {
                s >= self.first_match && (k == 0 || end > warm_up) && self.report(s, b + end, f)
            })
    }

    /// Reports every literal ending at `end` in match state `state`.
    fn report(&self, state: u32, end: usize, f: &mut impl FnMut(usize, usize) -> bool) -> bool {
        let k = ((state - self.first_match) / self.stride) as usize;
        let Some(ends) = self.ends.get(k) else {
            return false;
        };
        ends.iter().any(|&lit| {
            let len = self.lens.get(lit as usize).copied().unwrap_or(0);
            f(end - len, lit as usize)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn literals(words: &[&str]) -> Literals {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        Literals::new(&words).unwrap()
    }

    /// Every (start, literal) by brute force.
    fn naive(words: &[&str], text: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for start in 0..text.len() {
            for (i, w) in words.iter().enumerate() {
                if text[start..].len() >= w.len()
                    && text[start..start + w.len()].eq_ignore_ascii_case(w.as_bytes())
                {
                    found.push((start, i));
                }
            }
        }
        found
    }

    fn all(l: &Literals, text: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        l.each(text, |s, i| {
            found.push((s, i));
            false
        });
        found.sort_unstable();
        found
    }

    const WORDS: &[&str] = &[
        "sk",
        "sk-",
        "sk-ant-",
        "key",
        "secret",
        "token",
        "x-amz-credential",
    ];

    #[test]
    fn finds_overlapping_occurrences_in_any_case() {
        let l = literals(WORDS);
        let text = b"SK-ANT-x my_Secret_KEY tokentoken";
        assert_eq!(all(&l, text), naive(WORDS, text));
        assert_eq!(all(&l, text).len(), 7);
    }

    #[test]
    fn occurrences_across_lane_borders_are_found_once() {
        let l = literals(WORDS);
        // Long enough for four lanes; the literal sits at every offset, so
        // it straddles each lane border and each warm-up's end in turn.
        for len in [1000, 1003] {
            for at in 0..len - 16 - 6 {
                let mut text = vec![b'.'; len];
                text[at..at + 16].copy_from_slice(b"x-amz-credential");
                text[len - 6..].copy_from_slice(b"secret");
                assert_eq!(all(&l, &text), naive(WORDS, &text), "at {at} of {len}");
            }
        }
    }

    #[test]
    fn stops_when_told() {
        let l = literals(WORDS);
        let text = "key ".repeat(200);
        let mut calls = 0;
        assert!(l.each(text.as_bytes(), |_, _| {
            calls += 1;
            calls == 3
        }));
        assert_eq!(calls, 3);
        assert!(!l.each(b"nothing here", |_, _| true));
    }

    #[test]
    fn a_table_past_the_fixed_size_gives_the_same_answers() {
        // Thousands of distinct 12-byte literals need far more than TABLE entries.
        let words: Vec<String> = (0..3000u32)
            .map(|i| format!("w{:011}", i.wrapping_mul(2_654_435_761)))
            .collect();
        let l = Literals::new(&words).unwrap();
        assert!(matches!(l.trans, Table::Large(_)));
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut text = "-".repeat(700).into_bytes();
        for (k, w) in words.iter().step_by(600).enumerate() {
            let at = 11 + k * 130;
            text[at..at + 12].copy_from_slice(w.to_uppercase().as_bytes());
        }
        let found = all(&l, &text);
        assert_eq!(found, naive(&refs, &text));
        assert_eq!(found.len(), 5);
        assert!(matches!(literals(WORDS).trans, Table::Small(_)));
    }

    /// The classes `new` derives from the literals against the partition
    /// read off the automaton: bytes share a class exactly when every
    /// state sends them to the same state.
    fn classes_match_the_automaton(words: &[String]) -> Result<(), TestCaseError> {
        let l = Literals::new(words).unwrap();
        let nfa = aho_corasick::nfa::noncontiguous::NFA::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap();
        let mut states = vec![nfa.start_state(Anchored::No).unwrap()];
        let mut seen: std::collections::HashSet<StateID> = states.iter().copied().collect();
        let mut i = 0;
        while let Some(&s) = states.get(i) {
            for b in 0..=255u8 {
                let next = nfa.next_state(Anchored::No, s, b);
                if seen.insert(next) {
                    states.push(next);
                }
            }
            i += 1;
        }
        let column = |b: u8| -> Vec<StateID> {
            states
                .iter()
                .map(|&s| nfa.next_state(Anchored::No, s, b))
                .collect()
        };
        let mut ids = std::collections::HashMap::new();
        let columns: Vec<usize> = (0..=255u8)
            .map(|b| {
                let fresh = ids.len();
                *ids.entry(column(b)).or_insert(fresh)
            })
            .collect();
        for b1 in 0..256 {
            for b2 in 0..256 {
                prop_assert_eq!(
                    l.class[b1] == l.class[b2],
                    columns[b1] == columns[b2],
                    "bytes {} and {}",
                    b1,
                    b2
                );
            }
        }
        Ok(())
    }

    #[test]
    fn byte_classes_are_the_automatons_own() {
        let words: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
        classes_match_the_automaton(&words).unwrap();
        // Every ASCII byte in some literal.
        let every: Vec<String> = (0..=127u8).map(|b| char::from(b).to_string()).collect();
        classes_match_the_automaton(&every).unwrap();
        assert_eq!(literals(&["a", "b"]).stride, 3);
    }

    proptest! {
        #[test]
        fn classes_agree_with_the_automaton(
            words in proptest::collection::vec("[a-dA-D0-2_\\-é]{1,6}", 1..8)
        ) {
            classes_match_the_automaton(&words)?;
        }

        #[test]
        fn agrees_with_brute_force(
            text in proptest::collection::vec(
                prop_oneof![
                    Just(b's'), Just(b'k'), Just(b'-'), Just(b'K'), Just(b'e'),
                    Just(b'y'), Just(b'a'), Just(b'n'), Just(b't'), Just(b'o'),
                    any::<u8>(),
                ],
                0..1200,
            )
        ) {
            let l = literals(WORDS);
            prop_assert_eq!(all(&l, &text), naive(WORDS, &text));
        }
    }
}
