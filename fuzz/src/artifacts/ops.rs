//! The operations an `artifacts` input decodes to, and the pools of
//! contents, names, tags and ids they draw from.
//!
//! An input is a flags byte (bit 0: an encrypted store), then operations,
//! each an opcode byte and its operand bytes; bytes past the end read as 0.

use std::ops::Range;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::engine::Rng;

/// Most operations one input runs: opening a store costs milliseconds, so
/// runs stay short.
pub(super) const MAX_OPS: usize = 16;

/// How a put hands over its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PutHow {
    /// `put_with` from a slice.
    With,
    /// `put_reader` (no metadata) from a reader that yields a few bytes at
    /// a time.
    Reader,
    /// `put` (no metadata).
    Plain,
    /// `put_with` from a reader that fails after its content.
    Failing,
}

/// How a read gets the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GetHow {
    /// `get`.
    Get,
    /// `get_to` into a buffer.
    GetTo,
    /// `open_artifact`, read to the end.
    Open,
    /// `verify`.
    Verify,
}

/// A cleaning policy that makes the outcome predictable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CleanKind {
    /// Everything idle (all of it) goes warm.
    Warm,
    /// Everything idle goes cold.
    Cold,
    /// A budget of 0 bytes: every unprotected artifact with content is
    /// deleted.
    Budget,
}

/// The metadata of a put, before ids are resolved.
#[derive(Debug, Clone, Default)]
pub(super) struct MetaSpec {
    pub(super) name: Option<&'static str>,
    pub(super) parent_version: Option<u32>,
    pub(super) tags: Vec<&'static str>,
    pub(super) fields: Vec<(&'static str, &'static str)>,
    pub(super) content_type: Option<&'static str>,
    pub(super) creator: Option<&'static str>,
    pub(super) derived_from: Vec<u8>,
    pub(super) pinned: bool,
}

/// One operation; ids are selectors, resolved against the model when run.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Put(Vec<u8>, MetaSpec, PutHow),
    Batch(Vec<(Vec<u8>, MetaSpec)>),
    Get(u8, GetHow),
    Contains(u8),
    Info(u8),
    Pin(u8, bool),
    Retag(u8, Vec<&'static str>, Vec<&'static str>),
    History(&'static str),
    Version(&'static str, Option<u32>, bool),
    Links(u8),
    Audit(Option<&'static str>, bool),
    Clean(CleanKind, bool),
    Undo(u8),
    Reopen(bool),
    Diff(&'static str, u32, u32),
}

impl Op {
    /// A short name, for features.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Op::Put(_, _, how) => match how {
                PutHow::With => "put_with",
                PutHow::Reader => "put_reader",
                PutHow::Plain => "put",
                PutHow::Failing => "put_failing",
            },
            Op::Batch(_) => "put_batch",
            Op::Get(_, how) => match how {
                GetHow::Get => "get",
                GetHow::GetTo => "get_to",
                GetHow::Open => "open_artifact",
                GetHow::Verify => "verify",
            },
            Op::Contains(_) => "contains",
            Op::Info(_) => "info",
            Op::Pin(..) => "pin",
            Op::Retag(..) => "retag",
            Op::History(_) => "history",
            Op::Version(_, _, read) => {
                if *read {
                    "get_version"
                } else {
                    "version"
                }
            }
            Op::Links(_) => "links",
            Op::Audit(..) => "audit",
            Op::Clean(kind, dry) => match (kind, dry) {
                (_, true) => "clean_dry",
                (CleanKind::Warm, _) => "clean_warm",
                (CleanKind::Cold, _) => "clean_cold",
                (CleanKind::Budget, _) => "clean_budget",
            },
            Op::Undo(_) => "undo_delete",
            Op::Reopen(_) => "reopen",
            Op::Diff(..) => "diff",
        }
    }
}

/// Names to version under; the blank one is refused.
pub(super) const NAMES: &[&str] = &["report", "models/weights", "ünï", " "];
/// Tags; `keep` and `training` protect from deletion, blank ones are
/// refused.
pub(super) const TAGS: &[&str] = &["keep", "training", "run:1", "x", "", " \t"];
const FIELD_KEYS: &[&str] = &["a", "b"];
const FIELD_VALUES: &[&str] = &["1", "", "two words"];
const CONTENT_TYPES: &[&str] = &["text/plain", "application/json"];
const CREATORS: &[&str] = &["ext-a", "user"];
/// Strings that are not artifact ids.
const BAD_IDS: &[&str] = &[
    "",
    "xyz",
    "../../etc/passwd",
    "000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000",
    "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
];

/// Contents worth storing: empty, tiny, text, JSON, not UTF-8, near
/// twins (for diffs and dedup), and 64 KiB and one byte more (an
/// encrypted store seals 64 KiB chunks).
pub(super) fn pool() -> &'static [Vec<u8>] {
    static POOL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let big: Vec<u8> = (0..64u32 << 10)
            .map(|i| b"symphony\n"[i as usize % 9])
            .collect();
        let mut bigger = big.clone();
        bigger.push(b'!');
        vec![
            Vec::new(),
            b"a".to_vec(),
            b"hello world\n".to_vec(),
            br#"{"k": 1, "v": [true, null]}"#.to_vec(),
            b"line one\nline two\n".to_vec(),
            vec![0xff, 0xfe, 0x00, 0x01],
            b"hello world!\n".to_vec(),
            b"line one\nline 2\n".to_vec(),
            big,
            bigger,
        ]
    })
}

/// The SHA-256 of `content` in lowercase hex: an artifact's id.
pub(super) fn id_of(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Resolves an id selector: one of `known` (ids stored so far, in order),
/// `last`, the id of a pool content, an id never stored, or not an id.
pub(super) fn resolve(sel: u8, known: &[String], last: Option<&String>) -> String {
    let pool = pool();
    let k = usize::from(sel / 8);
    let pool_id = || id_of(&pool[k % pool.len()]);
    match sel % 8 {
        0..=3 if !known.is_empty() => known[k % known.len()].clone(),
        5 => id_of(&[b"never stored ".as_slice(), &[sel]].concat()),
        6 => match k % (BAD_IDS.len() + 1) {
            // A real id in upper case.
            0 => known
                .first()
                .cloned()
                .unwrap_or_else(pool_id)
                .to_uppercase(),
            i => BAD_IDS[i - 1].to_string(),
        },
        7 => last.cloned().unwrap_or_else(pool_id),
        _ => pool_id(),
    }
}

/// Reads bytes, 0 past the end.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.byte()) % items.len()]
    }

    fn content(&mut self) -> Vec<u8> {
        let b = self.byte();
        if b < 0xc0 {
            return self.pick_content(b);
        }
        let len = usize::from(b & 0x3f);
        (0..len).map(|_| self.byte()).collect()
    }

    fn pick_content(&self, b: u8) -> Vec<u8> {
        let pool = pool();
        pool[usize::from(b) % pool.len()].clone()
    }

    fn meta(&mut self) -> MetaSpec {
        let flags = self.byte();
        let mut meta = MetaSpec::default();
        if flags & 1 != 0 {
            meta.name = Some(self.pick(NAMES));
        }
        if flags & 2 != 0 {
            meta.parent_version = Some(u32::from(self.byte() % 5));
        }
        if flags & 4 != 0 {
            for _ in 0..1 + self.byte() % 2 {
                let tag = self.pick(TAGS);
                meta.tags.push(tag);
            }
        }
        if flags & 8 != 0 {
            for _ in 0..1 + self.byte() % 2 {
                let field = (self.pick(FIELD_KEYS), self.pick(FIELD_VALUES));
                meta.fields.push(field);
            }
        }
        if flags & 16 != 0 {
            meta.content_type = Some(self.pick(CONTENT_TYPES));
        }
        if flags & 32 != 0 {
            meta.creator = Some(self.pick(CREATORS));
        }
        if flags & 64 != 0 {
            meta.derived_from.push(self.byte());
        }
        meta.pinned = flags & 128 != 0;
        meta
    }

    fn tags(&mut self) -> Vec<&'static str> {
        let n = self.byte() % 3;
        (0..n).map(|_| self.pick(TAGS)).collect()
    }

    fn op(&mut self) -> Op {
        match self.byte() % 15 {
            0 | 1 => {
                let content = self.content();
                let meta = self.meta();
                let how =
                    self.pick(&[PutHow::With, PutHow::Reader, PutHow::Plain, PutHow::Failing]);
                Op::Put(content, meta, how)
            }
            2 => {
                let n = 1 + self.byte() % 3;
                Op::Batch((0..n).map(|_| (self.content(), self.meta())).collect())
            }
            3 => {
                let id = self.byte();
                Op::Get(
                    id,
                    self.pick(&[GetHow::Get, GetHow::GetTo, GetHow::Open, GetHow::Verify]),
                )
            }
            4 => Op::Contains(self.byte()),
            5 => Op::Info(self.byte()),
            6 => {
                let id = self.byte();
                Op::Pin(id, !self.byte().is_multiple_of(3))
            }
            7 => {
                let id = self.byte();
                let add = self.tags();
                Op::Retag(id, add, self.tags())
            }
            8 => {
                let name = self.pick(NAMES);
                match self.byte() % 3 {
                    0 => Op::History(name),
                    how => {
                        let version = self.byte() % 6;
                        Op::Version(name, version.checked_sub(1).map(u32::from), how == 2)
                    }
                }
            }
            9 => Op::Links(self.byte()),
            10 => {
                let tag = match self.byte() % 4 {
                    0 => None,
                    _ => Some(self.pick(TAGS)),
                };
                Op::Audit(tag, self.byte() % 2 == 1)
            }
            11 => {
                let kind = self.pick(&[CleanKind::Warm, CleanKind::Cold, CleanKind::Budget]);
                Op::Clean(kind, self.byte().is_multiple_of(4))
            }
            12 => Op::Undo(self.byte()),
            13 => Op::Reopen(self.byte() % 2 == 1),
            _ => {
                let name = self.pick(NAMES);
                let from = u32::from(self.byte() % 4);
                Op::Diff(name, from, u32::from(self.byte() % 4))
            }
        }
    }
}

/// Whether the store is encrypted, and the operations with the bytes each
/// came from.
pub(super) fn decode(data: &[u8]) -> (bool, Vec<(Op, Range<usize>)>) {
    let mut cursor = Cursor { data, at: 0 };
    let encrypted = cursor.byte() & 1 == 1;
    let mut ops = Vec::new();
    while cursor.at < data.len() && ops.len() < MAX_OPS {
        let start = cursor.at;
        let op = cursor.op();
        ops.push((op, start..cursor.at.min(data.len())));
    }
    (encrypted, ops)
}

/// The structure-aware mutation: drops, copies, moves or swaps whole
/// operations, or writes a new one.
pub(super) fn mutate(rng: &mut Rng, data: &mut Vec<u8>) -> bool {
    if data.is_empty() {
        data.push(0);
    }
    let (_, ops) = decode(data);
    let spans: Vec<Range<usize>> = ops.into_iter().map(|(_, span)| span).collect();
    let pick = |rng: &mut Rng| spans.get(rng.below(spans.len())).cloned();
    match rng.below(6) {
        0 => match pick(rng) {
            Some(span) => drop(data.drain(span)),
            None => return false,
        },
        1 | 2 => {
            // A new operation: an opcode and a few operand bytes.
            let at = pick(rng).map_or(data.len(), |s| s.start);
            let mut op = vec![rng.below(15) as u8];
            op.extend((0..rng.below(8)).map(|_| rng.next_u64() as u8));
            data.splice(at..at, op);
        }
        3 => {
            let (Some(from), Some(to)) = (pick(rng), pick(rng)) else {
                return false;
            };
            let copy = data[from].to_vec();
            data.splice(to.start..to.start, copy);
        }
        4 => {
            let (Some(a), Some(b)) = (pick(rng), pick(rng)) else {
                return false;
            };
            if a.end <= b.start {
                let (first, second) = (data[a.clone()].to_vec(), data[b.clone()].to_vec());
                data.splice(b, first);
                data.splice(a, second);
            }
        }
        _ => data[0] ^= 1,
    }
    true
}
