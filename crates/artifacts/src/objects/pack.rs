//! Pack files: the small objects of one batch in one file.
//!
//! Creating a file costs more than writing 64 KiB into one (an inode to
//! find, a directory entry, a shard directory), so a batch of small puts
//! stores its objects in one pack, `objects/packs/<name>.pack`, instead of
//! one file each. A pack is written under a temporary name, synced and
//! renamed into place with the batch's other objects, and never changed
//! afterwards: it is read in place, and it goes away whole when one of its
//! objects has to become a file of its own (see [`Objects::loosen`]).
//!
//! ```text
//! "SYMPACK1"                                          magic, 8 bytes
//! object bytes, one after another                     as a loose file holds them
//! index: per object: id [u8; 32] | offset u64 LE | length u64 LE
//! footer: index offset u64 LE | count u32 LE | SHA-256 of the index [u8; 32] | "SYMPACK1"
//! ```
//!
//! Objects are stored exactly as a loose file would hold them (sealed when
//! the store is encrypted), and every read checks them against their id as
//! it does a loose file's, so the index needs only its own checksum.
//!
//! [`Objects::loosen`]: super::Objects::loosen

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::{TempObject, io_at};
use crate::ArtifactError;

/// The first and last eight bytes of every pack.
const MAGIC: &[u8; 8] = b"SYMPACK1";
/// The extension of pack files.
pub(super) const EXTENSION: &str = "pack";
/// One index entry: id, offset, length.
const ENTRY_LEN: usize = 32 + 8 + 8;
/// The footer: index offset, count, index checksum, magic.
const FOOTER_LEN: usize = 8 + 4 + 32 + 8;
/// The largest object (as stored) a batch puts into a pack; larger ones
/// get files of their own, where a file's creation is small beside the
/// writing.
pub(crate) const PACKED_MAX: usize = 256 * 1024;
/// Bytes gathered before a write to the pack file.
const WRITE_CHUNK: usize = 1 << 20;

/// An object's binary id.
pub(crate) type RawId = [u8; 32];

/// The binary form of hex id `id` (64 lowercase hex digits, checked).
pub(crate) fn raw_id(id: &str) -> Option<RawId> {
    if !super::is_id(id) {
        return None;
    }
    let mut raw = [0; 32];
    for (byte, pair) in raw.iter_mut().zip(id.as_bytes().chunks_exact(2)) {
        let digit = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        *byte = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Some(raw)
}

/// One object in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The object's id.
    pub(crate) id: RawId,
    /// Where its bytes start in the pack.
    pub(crate) offset: u64,
    /// How many bytes it has (as stored).
    pub(crate) len: u64,
}

/// A pack being written: objects are appended, then [`PackWriter::finish`]
/// writes the index.
pub(crate) struct PackWriter {
    /// The temporary file it is written to.
    pub(super) temp: TempObject,
    /// Bytes not yet written to the file.
    pending: Vec<u8>,
    /// Bytes in the pack so far, written or pending.
    len: u64,
    /// The objects appended, in order.
    pub(super) entries: Vec<Entry>,
}

impl PackWriter {
    /// A pack to be written into `temp`.
    pub(super) fn new(temp: TempObject) -> PackWriter {
        let mut pending = Vec::with_capacity(WRITE_CHUNK);
        pending.extend_from_slice(MAGIC);
        PackWriter {
            temp,
            pending,
            len: MAGIC.len() as u64,
            entries: Vec::new(),
        }
    }

    /// Appends object `id` with its stored bytes.
    pub(crate) fn append(&mut self, id: RawId, stored: &[u8]) -> Result<(), ArtifactError> {
        self.entries.push(Entry {
            id,
            offset: self.len,
            len: stored.len() as u64,
        });
        self.write(stored)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ArtifactError> {
        self.pending.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
        if self.pending.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ArtifactError> {
        let PackWriter { temp, pending, .. } = self;
        temp.file.write_all(pending).map_err(io_at(&temp.path))?;
        pending.clear();
        Ok(())
    }

    /// Writes the index and the footer; the pack is complete but not yet
    /// synced or visible.
    pub(super) fn finish(&mut self) -> Result<(), ArtifactError> {
        let index_offset = self.len;
        let mut index = Vec::with_capacity(self.entries.len() * ENTRY_LEN);
        for entry in &self.entries {
            index.extend_from_slice(&entry.id);
            index.extend_from_slice(&entry.offset.to_le_bytes());
            index.extend_from_slice(&entry.len.to_le_bytes());
        }
        let count = u32::try_from(self.entries.len())
            .map_err(|_| io_at(&self.temp.path)(io::Error::other("too many objects in a pack")))?;
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        footer.extend_from_slice(&index_offset.to_le_bytes());
        footer.extend_from_slice(&count.to_le_bytes());
        footer.extend_from_slice(&Sha256::digest(&index));
        footer.extend_from_slice(MAGIC);
        self.write(&index)?;
        self.write(&footer)?;
        self.flush()
    }
}

/// Reads the index of the pack at `path`, checking its framing and
/// checksum.
pub(crate) fn read_index(path: &Path) -> io::Result<Vec<Entry>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let invalid =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("not a pack: {what}"));
    if len < (MAGIC.len() + FOOTER_LEN) as u64 {
        return Err(invalid("too short"));
    }
    let mut footer = [0; FOOTER_LEN];
    read_exact_at(&file, &mut footer, len - FOOTER_LEN as u64)?;
    let mut magic = [0; 8];
    read_exact_at(&file, &mut magic, 0)?;
    if &magic != MAGIC || &footer[FOOTER_LEN - 8..] != MAGIC {
        return Err(invalid("bad magic"));
    }
    let index_offset = u64::from_le_bytes(footer[..8].try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(footer[8..12].try_into().expect("4 bytes")) as u64;
    let index_len = count * ENTRY_LEN as u64;
    if index_offset < MAGIC.len() as u64
        || index_offset.checked_add(index_len) != Some(len - FOOTER_LEN as u64)
    {
        return Err(invalid("the footer does not frame the index"));
    }
    let mut index = vec![0; index_len as usize];
    read_exact_at(&file, &mut index, index_offset)?;
    if Sha256::digest(&index)[..] != footer[12..44] {
        return Err(invalid("the index checksum does not match"));
    }
    let entries: Vec<Entry> = index
        .chunks_exact(ENTRY_LEN)
        .map(|e| Entry {
            id: e[..32].try_into().expect("32 bytes"),
            offset: u64::from_le_bytes(e[32..40].try_into().expect("8 bytes")),
            len: u64::from_le_bytes(e[40..48].try_into().expect("8 bytes")),
        })
        .collect();
    if entries
        .iter()
        .any(|e| e.offset < MAGIC.len() as u64 || e.offset.saturating_add(e.len) > index_offset)
    {
        return Err(invalid("an object lies outside the pack's data"));
    }
    Ok(entries)
}

/// Fills `buf` from `file` at `offset`.
pub(super) fn read_exact_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// Where a packed object is.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    /// The pack file.
    pub(crate) pack: Arc<PathBuf>,
    /// Its bytes in the pack.
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// What this process knows of the packs on disk: which object is in
/// which. Packs other processes write are found by [`Packs::refresh`],
/// which a read of an object not found does first.
#[derive(Debug)]
pub(crate) struct Packs {
    /// `objects/packs`.
    dir: PathBuf,
    known: RwLock<Known>,
}

#[derive(Debug, Default)]
struct Known {
    /// Every packed object, in one of the packs that hold it.
    by_id: HashMap<RawId, Location>,
    /// The other copies of objects packed more than once (two processes
    /// packing the same content at once): found when `by_id`'s pack goes.
    spare: HashMap<RawId, Vec<Location>>,
    /// The packs read, by file name.
    packs: HashMap<OsString, KnownPack>,
    /// Packs that did not read back (warned about once, not read again).
    unreadable: HashSet<OsString>,
}

/// A pack read from disk.
#[derive(Debug)]
struct KnownPack {
    path: Arc<PathBuf>,
    /// When it was written.
    modified: Option<SystemTime>,
    /// What it holds.
    entries: Vec<Entry>,
}

impl Packs {
    /// The packs under `objects/packs` (read by the first refresh).
    pub(super) fn new(objects: &Path) -> Packs {
        Packs {
            dir: objects.join("packs"),
            known: RwLock::default(),
        }
    }

    /// The directory packs live in.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where object `id` is packed, as far as this process knows.
    pub(crate) fn find(&self, id: &RawId) -> Option<Location> {
        self.known
            .read()
            .expect("pack map poisoned")
            .by_id
            .get(id)
            .cloned()
    }

    /// Where object `id` is packed in a pack that is still there, looking
    /// for packs other processes wrote (or loosened) when needed.
    pub(crate) fn locate(&self, id: &RawId) -> Result<Option<Location>, ArtifactError> {
        if let Some(at) = self.find(id)
            && at.pack.is_file()
        {
            return Ok(Some(at));
        }
        self.refresh()?;
        Ok(self.find(id))
    }

    /// Records a pack this process just made visible.
    pub(super) fn add(&self, path: PathBuf, entries: &[Entry]) {
        let modified = fs::metadata(&path).and_then(|m| m.modified()).ok();
        let name = path.file_name().expect("packs have names").to_os_string();
        let mut known = self.known.write().expect("pack map poisoned");
        // The newest copy wins: it may replace a damaged one.
        known.insert(name, Arc::new(path), modified, entries, true);
    }

    /// Forgets a pack that is gone.
    pub(super) fn forget(&self, path: &Path) {
        if let Some(name) = path.file_name() {
            self.known.write().expect("pack map poisoned").remove(name);
        }
    }

    /// Reads the packs on disk this process has not seen and forgets the
    /// ones that are gone. A pack that does not read back is skipped with a
    /// warning: its objects read as missing, which `verify` reports.
    pub(super) fn refresh(&self) -> Result<(), ArtifactError> {
        let mut on_disk = HashMap::new();
        match fs::read_dir(&self.dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(io_at(&self.dir))?;
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == EXTENSION) {
                        on_disk.insert(entry.file_name(), path);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&self.dir)(e)),
        }
        let mut known = self.known.write().expect("pack map poisoned");
        let gone: Vec<OsString> = known
            .packs
            .keys()
            .filter(|name| !on_disk.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            known.remove(&name);
        }
        known.unreadable.retain(|name| on_disk.contains_key(name));
        for (name, path) in on_disk {
            if known.packs.contains_key(&name) || known.unreadable.contains(&name) {
                continue;
            }
            match read_index(&path) {
                Ok(entries) => {
                    let modified = fs::metadata(&path).and_then(|m| m.modified()).ok();
                    known.insert(name, Arc::new(path), modified, &entries, false);
                }
                // Gone since the listing: unpacked by another process.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(pack = %path.display(), "skipping a pack that does not read back: {e}");
                    known.unreadable.insert(name);
                }
            }
        }
        Ok(())
    }

    /// Every packed object this process knows: id, stored length and the
    /// last change of its pack.
    pub(super) fn all(&self) -> Vec<(RawId, u64, Option<SystemTime>)> {
        let known = self.known.read().expect("pack map poisoned");
        known
            .by_id
            .iter()
            .map(|(id, at)| {
                let modified = at
                    .pack
                    .file_name()
                    .and_then(|name| known.packs.get(name))
                    .and_then(|pack| pack.modified);
                (*id, at.len, modified)
            })
            .collect()
    }

    /// When the pack holding `id` last changed.
    pub(super) fn modified(&self, id: &RawId) -> Option<SystemTime> {
        let known = self.known.read().expect("pack map poisoned");
        let at = known.by_id.get(id)?;
        known.packs.get(at.pack.file_name()?)?.modified
    }
}

impl Known {
    fn insert(
        &mut self,
        name: OsString,
        path: Arc<PathBuf>,
        modified: Option<SystemTime>,
        entries: &[Entry],
        replace: bool,
    ) {
        for entry in entries {
            let at = Location {
                pack: path.clone(),
                offset: entry.offset,
                len: entry.len,
            };
            match self.by_id.entry(entry.id) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(at);
                }
                std::collections::hash_map::Entry::Occupied(mut first) => {
                    let spare = if replace { first.insert(at) } else { at };
                    self.spare.entry(entry.id).or_default().push(spare);
                }
            }
        }
        let entries = entries.to_vec();
        self.packs.insert(
            name,
            KnownPack {
                path,
                modified,
                entries,
            },
        );
    }

    /// Forgets pack `name`; an object it held that another known pack also
    /// holds is found there from now on.
    fn remove(&mut self, name: &OsStr) {
        let Some(KnownPack { path, entries, .. }) = self.packs.remove(name) else {
            return;
        };
        for entry in entries {
            let mut spare = self.spare.remove(&entry.id).unwrap_or_default();
            spare.retain(|at| !Arc::ptr_eq(&at.pack, &path));
            if self
                .by_id
                .get(&entry.id)
                .is_some_and(|at| Arc::ptr_eq(&at.pack, &path))
            {
                match spare.pop() {
                    Some(other) => self.by_id.insert(entry.id, other),
                    None => self.by_id.remove(&entry.id),
                };
            }
            if !spare.is_empty() {
                self.spare.insert(entry.id, spare);
            }
        }
    }
}

#[cfg(test)]
mod tests;
