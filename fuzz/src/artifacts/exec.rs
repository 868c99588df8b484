//! Running operations on a real store and checking each outcome against
//! the [`Model`].

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::io::{self, Read};

use symphony_artifacts::{
    ArtifactError, ArtifactKey, ArtifactMeta, ArtifactStore, Location, StoreOptions,
};
use tempfile::TempDir;

use super::model::{self, Model, is_id, kind};
use super::ops::{GetHow, MetaSpec, Op, PutHow, id_of, resolve};
use crate::engine::Outcome;

mod whole;

/// The key of encrypted stores.
const KEY: [u8; 32] = [7; 32];

/// A store in a directory of its own, the model of what it holds, and
/// what the run saw.
pub(super) struct Session {
    // Dropped before the directory it lives in.
    store: Option<ArtifactStore>,
    dir: TempDir,
    encrypted: bool,
    pub(super) model: Model,
    pub(super) outcome: Outcome,
    previous: &'static str,
}

fn options(encrypted: bool) -> StoreOptions {
    if encrypted {
        StoreOptions::default().with_key(ArtifactKey::from_bytes(KEY))
    } else {
        StoreOptions::default()
    }
}

/// Yields its content a few bytes at a time, then fails if `fail`.
struct Trickle<'a> {
    rest: &'a [u8],
    fail: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rest.is_empty() && self.fail {
            return Err(io::Error::other("the fuzz reader fails"));
        }
        let n = self.rest.len().min(buf.len()).min(7);
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

impl Session {
    /// A fresh store in a new temporary directory.
    pub(super) fn open(encrypted: bool) -> Session {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = ArtifactStore::open(dir.path(), options(encrypted))
            .unwrap_or_else(|e| panic!("a new store does not open: {e}"));
        assert_eq!(store.is_encrypted(), encrypted);
        Session {
            store: Some(store),
            dir,
            encrypted,
            model: Model::default(),
            outcome: Outcome::default(),
            previous: "open",
        }
    }

    fn store(&self) -> &ArtifactStore {
        self.store.as_ref().expect("the store is open")
    }

    /// Compares `got` with `want` (`Ok`, or the error variant expected),
    /// recording the op's result as a feature; the value when both are
    /// `Ok`.
    fn expect<T: Debug>(
        &mut self,
        op: &'static str,
        got: Result<T, ArtifactError>,
        want: Result<(), &'static str>,
    ) -> Option<T> {
        let result = match &got {
            Ok(_) => "ok",
            Err(e) => kind(e),
        };
        self.outcome.feature(&[op, result]);
        self.outcome.feature(&[self.previous, op]);
        self.previous = op;
        match (got, want) {
            (Ok(value), Ok(())) => {
                self.outcome.accepted += 1;
                Some(value)
            }
            (Err(e), Err(expected)) if kind(&e) == expected => {
                self.outcome.rejected += 1;
                None
            }
            (got, want) => panic!("{op}: expected {want:?}, got {got:?}"),
        }
    }

    fn meta(&self, spec: &MetaSpec) -> ArtifactMeta {
        let mut meta = ArtifactMeta::default();
        meta.name = spec.name.map(str::to_string);
        meta.parent_version = spec.parent_version;
        meta.tags = spec.tags.iter().map(|t| t.to_string()).collect();
        meta.fields = spec
            .fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        meta.content_type = spec.content_type.map(str::to_string);
        meta.creator = spec.creator.map(str::to_string);
        meta.derived_from = spec.derived_from.iter().map(|&sel| self.id(sel)).collect();
        meta.pinned = spec.pinned;
        meta
    }

    fn id(&self, sel: u8) -> String {
        resolve(sel, &self.model.order, self.model.last.as_ref())
    }

    /// Runs `op` and checks it.
    pub(super) fn run(&mut self, op: &Op) {
        let name = op.name();
        match op {
            Op::Put(content, spec, how) => self.put(name, content, spec, *how),
            Op::Batch(items) => self.batch(name, items),
            Op::Get(sel, how) => self.get(name, &self.id(*sel), *how),
            Op::Contains(sel) => {
                let id = self.id(*sel);
                let want = if is_id(&id) { Ok(()) } else { Err("BadId") };
                let live = self
                    .model
                    .arts
                    .get(&id)
                    .is_some_and(|a| a.location != Location::Trashed);
                let got = self.store().contains(&id);
                if let Some(found) = self.expect(name, got, want) {
                    assert_eq!(found, live, "contains({id})");
                }
            }
            Op::Info(sel) => self.info(name, &self.id(*sel)),
            Op::Pin(sel, pinned) => self.pin(name, &self.id(*sel), *pinned),
            Op::Retag(sel, add, remove) => {
                let id = self.id(*sel);
                let add: Vec<String> = add.iter().map(|t| t.to_string()).collect();
                let remove: Vec<String> = remove.iter().map(|t| t.to_string()).collect();
                let want = match self.model.arts.contains_key(&id) {
                    false => Err("NotFound"),
                    true if add.iter().any(|t| t.trim().is_empty()) => Err("Invalid"),
                    true => Ok(()),
                };
                let got = self.store().retag(&id, &add, &remove);
                if self.expect(name, got, want).is_some() {
                    let art = self.model.arts.get_mut(&id).expect("checked");
                    art.tags.extend(add);
                    for tag in &remove {
                        art.tags.remove(tag);
                    }
                }
            }
            Op::History(name_) => {
                let want = self.model.version(name_, None).map(drop);
                let got = self.store().history(name_);
                if let Some(history) = self.expect(name, got, want) {
                    let versions = &self.model.versions[*name_];
                    assert_eq!(history.len(), versions.len(), "history of {name_}");
                    for (i, (info, ver)) in history.iter().zip(versions).enumerate() {
                        self.check_version(info, name_, i as u32 + 1, ver);
                    }
                }
            }
            Op::Version(name_, version, read) => self.version(name, name_, *version, *read),
            Op::Links(sel) => self.links(name, &self.id(*sel)),
            Op::Audit(tag, trashed) => self.audit(name, *tag, *trashed),
            Op::Clean(kind, dry_run) => self.clean(name, *kind, *dry_run),
            Op::Undo(sel) => {
                let id = self.id(*sel);
                let want = match self.model.arts.get(&id) {
                    _ if !is_id(&id) => Err("BadId"),
                    Some(art) if art.in_trash && art.location != Location::Hot => Ok(()),
                    _ => Err("Retention"),
                };
                let got = self.store().undo_delete(&id, 7);
                if self.expect(name, got, want).is_some() {
                    let art = self.model.arts.get_mut(&id).expect("checked");
                    art.location = Location::Hot;
                    art.in_trash = false;
                }
            }
            Op::Reopen(wrong_first) => {
                drop(self.store.take());
                if *wrong_first {
                    let got = ArtifactStore::open(self.dir.path(), options(!self.encrypted));
                    self.expect("reopen_other_mode", got, Err("ModeMismatch"));
                }
                let got = ArtifactStore::open(self.dir.path(), options(self.encrypted));
                self.store = self.expect(name, got, Ok(()));
            }
            Op::Diff(name_, from, to) => self.diff(name, name_, *from, *to),
        }
    }

    fn put(&mut self, op: &'static str, content: &[u8], spec: &MetaSpec, how: PutHow) {
        let meta = match how {
            PutHow::With | PutHow::Failing => self.meta(spec),
            PutHow::Reader | PutHow::Plain => ArtifactMeta::default(),
        };
        let id = id_of(content);
        let want = match (self.model.refusal(&meta, &BTreeSet::new()), how) {
            (Some(refusal), _) => Err(refusal),
            (None, PutHow::Failing) => Err("Input"),
            (None, _) => Ok(()),
        };
        let deduplicated = self.model.hot(&id);
        let store = self.store();
        let got = match how {
            PutHow::With => store.put_with(content, &meta),
            PutHow::Reader => store.put_reader(Trickle {
                rest: content,
                fail: false,
            }),
            PutHow::Failing => store.put_with(
                Trickle {
                    rest: content,
                    fail: true,
                },
                &meta,
            ),
            PutHow::Plain => {
                let got = store.put(content);
                if let Some(stored) = self.expect(op, got, want) {
                    assert_eq!(stored, id, "put: the id is the SHA-256 of the content");
                    self.model.put(content, &id, &meta);
                }
                return;
            }
        };
        if let Some(outcome) = self.expect(op, got, want) {
            self.check_put(&outcome, content, &id, deduplicated, &meta);
        }
    }

    fn check_put(
        &mut self,
        outcome: &symphony_artifacts::PutOutcome,
        content: &[u8],
        id: &str,
        deduplicated: bool,
        meta: &ArtifactMeta,
    ) {
        assert_eq!(outcome.id, id, "the id is the SHA-256 of the content");
        assert_eq!(outcome.size, content.len() as u64, "the size of {id}");
        assert_eq!(
            outcome.deduplicated, deduplicated,
            "deduplicated put of {id}"
        );
        match (self.model.put(content, id, meta), &outcome.version) {
            (None, None) => {}
            (Some((number, ver)), Some(info)) => {
                let name = meta.name.as_deref().expect("named");
                self.check_version(info, name, number, &ver);
            }
            (want, got) => panic!("put of {id} reports version {got:?}, expected {want:?}"),
        }
    }

    fn check_version(
        &self,
        info: &symphony_artifacts::VersionInfo,
        name: &str,
        number: u32,
        ver: &model::Ver,
    ) {
        assert_eq!(
            (
                info.name.as_str(),
                info.version,
                &info.id,
                info.parent,
                &info.creator
            ),
            (name, number, &ver.id, ver.parent, &ver.creator),
            "version {number} of {name}"
        );
        assert_eq!(info.size, self.model.arts[&ver.id].content.len() as u64);
    }

    fn batch(&mut self, op: &'static str, items: &[(Vec<u8>, MetaSpec)]) {
        let metas: Vec<ArtifactMeta> = items.iter().map(|(_, spec)| self.meta(spec)).collect();
        let pending: BTreeSet<String> = items.iter().map(|(c, _)| id_of(c)).collect();
        let want = match metas.iter().find_map(|m| self.model.refusal(m, &pending)) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        };
        let got = self.store().put_batch(
            items
                .iter()
                .zip(&metas)
                .map(|((content, _), meta)| (&content[..], meta.clone())),
        );
        let Some(outcomes) = self.expect(op, got, want) else {
            return;
        };
        assert_eq!(outcomes.len(), items.len(), "one outcome per item");
        for ((outcome, (content, _)), meta) in outcomes.iter().zip(items).zip(&metas) {
            let id = id_of(content);
            let deduplicated = self.model.hot(&id);
            self.check_put(outcome, content, &id, deduplicated, meta);
        }
    }

    fn get(&mut self, op: &'static str, id: &str, how: GetHow) {
        let want = self.model.read(id, how != GetHow::Verify);
        let store = self.store();
        let got = match how {
            GetHow::Get => store.get(id),
            GetHow::GetTo => {
                let mut out = Vec::new();
                store.get_to(id, &mut out).map(|n| {
                    assert_eq!(n, out.len() as u64, "get_to counts what it wrote");
                    out
                })
            }
            GetHow::Open => store.open_artifact(id).map(|mut reader| {
                assert_eq!(reader.id(), id);
                let mut out = Vec::new();
                if let Err(e) = reader.read_to_end(&mut out) {
                    panic!("reading artifact {id} fails: {e}");
                }
                out
            }),
            GetHow::Verify => store.verify(id).map(|n| vec![0; n as usize]),
        };
        let expected = want.as_ref().map(drop).map_err(|e| *e);
        if let (Some(content), Ok(stored)) = (self.expect(op, got, expected), &want) {
            match how {
                GetHow::Verify => assert_eq!(content.len(), stored.len(), "verify({id})"),
                _ => assert!(&content == stored, "{op}({id}) returns other content"),
            }
        }
    }

    fn info(&mut self, op: &'static str, id: &str) {
        let want = match self.model.arts.get(id) {
            _ if !is_id(id) => Err("BadId"),
            None => Err("NotFound"),
            Some(_) => Ok(()),
        };
        let got = self.store().info(id);
        let Some(info) = self.expect(op, got, want) else {
            return;
        };
        let art = &self.model.arts[id];
        assert_eq!(info.id, id);
        assert_eq!(info.size, art.content.len() as u64, "size of {id}");
        assert_eq!(info.content_type, art.content_type, "content type of {id}");
        assert_eq!(info.creator, art.creator, "creator of {id}");
        assert_eq!(
            info.tags,
            art.tags.iter().cloned().collect::<Vec<_>>(),
            "tags of {id}"
        );
        let fields: Vec<(String, String)> = art.fields.clone().into_iter().collect();
        assert_eq!(info.fields, fields, "fields of {id}");
        assert_eq!(info.access_count, art.reads, "reads of {id}");
        assert_eq!(info.copies, art.copies, "copies of {id}");
        assert_eq!(
            info.references,
            self.model.references(id),
            "references to {id}"
        );
        assert_eq!(info.pinned, art.pinned, "pin of {id}");
        assert_eq!(info.location, art.location, "location of {id}");
    }

    fn pin(&mut self, op: &'static str, id: &str, pinned: bool) {
        let location = self.model.arts.get(id).map(|a| a.location);
        let want = match location {
            Some(Location::Trashed) if pinned => Err("Invalid"),
            None => Err("NotFound"),
            Some(_) => Ok(()),
        };
        let got = self.store().pin(id, pinned);
        if self.expect(op, got, want).is_some() {
            let art = self.model.arts.get_mut(id).expect("checked");
            art.pinned = pinned;
            if pinned && matches!(art.location, Location::Warm | Location::Cold) {
                art.location = Location::Hot;
            }
        }
    }

    fn version(&mut self, op: &'static str, name: &str, version: Option<u32>, read: bool) {
        let found = self
            .model
            .version(name, version)
            .map(|(n, v)| (n, v.clone()));
        if !read {
            let got = self.store().version(name, version);
            let want = found.as_ref().map(drop).map_err(|e| *e);
            if let (Some(info), Ok((number, ver))) = (self.expect(op, got, want), &found) {
                self.check_version(&info, name, *number, ver);
            }
            return;
        }
        let want = match &found {
            Ok((_, ver)) => self.model.read(&ver.id.clone(), true),
            Err(e) => Err(*e),
        };
        let got = self.store().get_version(name, version);
        let expected = want.as_ref().map(drop).map_err(|e| *e);
        if let (Some(content), Ok(stored)) = (self.expect(op, got, expected), &want) {
            assert!(
                &content == stored,
                "get_version({name}, {version:?}) returns other content"
            );
        }
    }
}
