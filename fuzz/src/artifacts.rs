//! The `artifacts` target: a short sequence of operations on a fresh
//! [`ArtifactStore`](symphony_artifacts::ArtifactStore), each checked against an
//! in-memory model (see [`fuzz`]).

mod exec;
mod model;
mod ops;

use crate::engine::{Outcome, Rng, Target};

/// The `artifacts` target, for the smoke fuzzer.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactsTarget;

impl Target for ArtifactsTarget {
    fn name(&self) -> &'static str {
        "artifacts"
    }

    fn seeds(&self) -> Vec<(&'static str, Vec<u8>)> {
        SEEDS
            .iter()
            .map(|(name, ops)| (*name, ops.to_vec()))
            .collect()
    }

    fn run(&self, data: &[u8]) -> Outcome {
        run(data)
    }

    fn mutate(&self, rng: &mut Rng, data: &mut Vec<u8>) -> bool {
        ops::mutate(rng, data)
    }

    fn max_input(&self) -> usize {
        512
    }
}

/// The fuzz target: opens a store in a new temporary directory (encrypted
/// when bit 0 of the first byte is set), runs up to 16 operations decoded
/// from the rest of `data` and checks each against a model of what the
/// store holds, then audits the whole store.
///
/// The operations: puts (from a slice, a trickling reader, a reader that
/// fails, a batch; with names, parent versions, tags, fields, content
/// types, creators, derived-from links and pins), reads (`get`, `get_to`,
/// `open_artifact`, `verify`), `contains`, `info`, `pin`, `retag`,
/// `history`, `version`, `get_version`, links, `diff`, cleaning with
/// policies whose outcome is certain (everything warm, everything cold, a
/// budget of 0 bytes; or a dry run), `undo_delete`, and reopening the store
/// (first in the wrong mode). Ids are the SHA-256 of the content; a read
/// gives back exactly what was put, archived content comes back
/// transparently, trashed content is gone until undone; versions count up
/// from 1 and storing the version's own content again adds none;
/// metadata merges (first content type and creator, tags and fields
/// added); unknown ids, names and versions, blank tags and names, and ids
/// that are not ids are each the error they should be; statistics,
/// listings and `verify_all` agree with the model. A panic is a bug.
pub fn fuzz(data: &[u8]) {
    run(data);
}

fn run(data: &[u8]) -> Outcome {
    let (encrypted, ops) = ops::decode(data);
    let mut session = exec::Session::open(encrypted);
    session
        .outcome
        .feature(&["store", if encrypted { "encrypted" } else { "plain" }]);
    for (op, _) in &ops {
        session.run(op);
    }
    session.audit("final_audit", None, true);
    let locations: Vec<String> = session
        .model
        .arts
        .values()
        .map(|a| format!("{:?}{}", a.location, if a.in_trash { "+trash" } else { "" }))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    session
        .outcome
        .feature(&["locations", &locations.join(",")]);
    std::mem::take(&mut session.outcome)
}

/// The seeds; see `ops` for the encoding. Opcodes: 0 put, 2 batch, 3 read,
/// 4 contains, 5 info, 6 pin, 7 retag, 8 versions, 9 links, 10 audit,
/// 11 clean, 12 undo, 13 reopen, 14 diff.
const SEEDS: &[(&str, &[u8])] = &[
    (
        "seed-versions",
        &[
            0, // a plain store
            0, 2, 0x01, 0, 0, // put "hello world\n" as report
            0, 6, 0x21, 0, 0, 0, // put "hello world!\n" as report, by ext-a
            0, 2, 0x03, 0, 1, 0, // put "hello world\n" as report on version 1
            8, 0, 0, // history of report
            8, 0, 1, 0, // its latest version
            8, 0, 1, 5, // version 4, which it does not have
            8, 0, 2, 2, // the content of version 1
            14, 0, 1, 2, // diff 1..2
            14, 0, 2, 2, // diff 2..2
            5, 7, // info of the last put
        ],
    ),
    (
        "seed-links-and-tags",
        &[
            0, // a plain store
            0, 3, 0x1c, 1, 0, 2, 0, 0, 2, 1, 0, // JSON with tags, a field, a type
            0, 4, 0x40, 0, 0, // derived from the first
            9, 0, // links of the first
            9, 8, // links of the second
            7, 8, 1, 1, 1, 3, // retag the second: +training -x
            7, 0, 1, 4, 0, // retag with a blank tag
            0, 1, 0x04, 0, 4, 0, // put with a blank tag
            0, 1, 0x40, 5, 0, // derived from an unknown id
            0, 1, 0x40, 6, 0, // derived from a bad id
            0, 1, 0x02, 1, 0, // a parent version without a name
            0, 1, 0x03, 2, 3, 0, // a parent version of an unknown name
            10, 1, 0, 0, // list tagged keep
            5, 0, // info of the first
        ],
    ),
    (
        "seed-retention-encrypted",
        &[
            1, // an encrypted store
            0, 2, 0x80, 0, // pinned
            0, 4, 0x04, 0, 0, 0, // tagged keep
            0, 5, 0, 2, // not UTF-8, by put
            0, 0, 0, 0, // empty
            0, 8, 0, 1, // 64 KiB, by reader
            11, 0, 1, // everything warm
            5, 16, // info of the third
            3, 16, 0, // read it back from warm
            11, 1, 1, // everything cold
            11, 2, 1, // a budget of 0 bytes
            10, 0, 1, // list with the trash
            3, 16, 0, // read a trashed one
            12, 16, // undo its delete
            12, 16, // and again
            13, 1, // reopen, first in the wrong mode
            3, 32, 2, // read the 64 KiB back from cold
        ],
    ),
    (
        "seed-batch-and-failures",
        &[
            0, // a plain store
            2, 2, 2, 0, 2, 1, 0, 9, 0x40, 20, // a batch: twins, one named, one derived
            0, 1, 0, 3, // a reader that fails
            0, 1, 0x04, 0, 4, 3, // a blank tag, refused before reading
            3, 6, 0, // read an upper-case id
            3, 14, 1, // read the empty id
            4, 5, // contains an unknown id
            4, 6, // contains a bad id
            5, 5, // info of an unknown id
            6, 5, 1, // pin an unknown id
            3, 0, 3, // verify the first
            10, 0, 0, // audit
            13, 0, // reopen
            5, 0, // info of the first
        ],
    ),
    ("seed-empty", &[0]),
];

#[cfg(test)]
mod tests;
