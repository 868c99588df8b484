//! Generic mutations: byte-level edits, splices with other corpus inputs
//! and dictionary tokens, plus the target's own structure-aware hints.

use super::{Rng, Target};

/// Bytes worth trying: msgpack markers (nil, the never-used 0xc1, bool,
/// bin/str/array/map/ext headers, fixint edges), integer edges, and text
/// delimiters.
const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
    0xc7, 0xc9, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde,
    0xdf, 0xe0, 0xfe, 0xff, b'"', b'\\', b'{', b'}', b'[', b']', b'\n', b'=', b':', b',',
];

/// Numbers worth writing over a number in text: edges of the integer
/// types, floats JSON and TOML read differently, and zero.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "255",
    "65536",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "1.5",
    "1e308",
    "1e400",
    "-1e-400",
    "3.0",
    "0.1",
];

/// A mutant of a random input of `corpus`, as the smoke fuzzer makes them:
/// one to four mutations, each a structure-aware hint from `target` half
/// the time (when it has one), a generic one otherwise; cut to the
/// target's largest input.
pub fn mutant(target: &dyn Target, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let base = rng.below(corpus.len());
    mutant_of(target, rng, &corpus[base], corpus)
}

/// A mutant of `base`, splicing with inputs of `corpus`; see [`mutant`].
pub(super) fn mutant_of(
    target: &dyn Target,
    rng: &mut Rng,
    base: &[u8],
    corpus: &[Vec<u8>],
) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        if rng.one_in(2) && target.mutate(rng, &mut data) {
            continue;
        }
        mutate_bytes(rng, corpus, target.dictionary(), &mut data);
    }
    data.truncate(target.max_input());
    data
}

/// One generic mutation of `data`.
pub(super) fn mutate_bytes(
    rng: &mut Rng,
    corpus: &[Vec<u8>],
    dictionary: &[&[u8]],
    data: &mut Vec<u8>,
) {
    let len = data.len();
    match rng.below(13) {
        // Flip one bit.
        0 if len > 0 => data[rng.below(len)] ^= 1 << rng.below(8),
        // Set a byte to an interesting value.
        1 if len > 0 => {
            data[rng.below(len)] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        // A random byte.
        2 if len > 0 => data[rng.below(len)] = rng.next_u64() as u8,
        // Truncate.
        3 if len > 0 => data.truncate(rng.below(len)),
        // Splice: the front of this input, the back of another.
        4 => {
            let other = &corpus[rng.below(corpus.len())];
            let keep = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(keep);
            data.extend_from_slice(&other[from..]);
        }
        // Insert random bytes.
        5 => {
            let at = rng.below(len + 1);
            let count = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..count).map(|_| rng.next_u64() as u8).collect();
            data.splice(at..at, bytes);
        }
        // Insert or write a dictionary token.
        6 | 7 if !dictionary.is_empty() => {
            let token = dictionary[rng.below(dictionary.len())];
            let at = rng.below(len + 1);
            if rng.one_in(2) {
                data.splice(at..at, token.iter().copied());
            } else {
                let end = (at + token.len()).min(len);
                data.splice(at..end, token.iter().copied());
            }
        }
        // Replace a number written in text.
        8 if len > 0 => {
            let digits: Vec<usize> = (0..len).filter(|&i| data[i].is_ascii_digit()).collect();
            if let Some(&at) = rng.pick(&digits) {
                let mut start = at;
                while start > 0 && data[start - 1].is_ascii_digit() {
                    start -= 1;
                }
                let mut end = at;
                while end < len && (data[end].is_ascii_digit() || data[end] == b'.') {
                    end += 1;
                }
                let number = INTERESTING_NUMBERS[rng.below(INTERESTING_NUMBERS.len())];
                data.splice(start..end, number.bytes());
            }
        }
        // Insert a piece of another input.
        9 => {
            let other = &corpus[rng.below(corpus.len())];
            let from = rng.below(other.len() + 1);
            let to = from + rng.below((other.len() - from).min(64) + 1);
            let at = rng.below(len + 1);
            data.splice(at..at, other[from..to].iter().copied());
        }
        // Delete or duplicate a range.
        _ if len > 0 => {
            let from = rng.below(len);
            let to = from + 1 + rng.below((len - from).min(64));
            if rng.one_in(2) {
                data.drain(from..to);
            } else {
                let copy = data[from..to].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
        }
        // Empty input: start from some random bytes.
        _ => data.extend((0..1 + rng.below(16)).map(|_| rng.next_u64() as u8)),
    }
}
