//! The object tree: content-addressed files under `<root>/objects/ab/cdef…`.
//!
//! An object is named by the SHA-256 of its plaintext. It is written to a
//! temporary file (`objects/.tmp-…`, on the same file system as its final
//! place), synced, renamed into its shard directory, and the directory is
//! synced; a crash leaves either the whole object or nothing visible, and
//! the leftover temporary files are removed when the store is next opened.
//!
//! The small objects of a batch go into one pack file instead (see
//! [`pack`]); reads look for a loose file first, then in the packs.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::ArtifactError;

pub(crate) mod pack;
mod temp;

use pack::Packs;
pub(crate) use pack::{PACKED_MAX, PackWriter, RawId, raw_id};
use temp::TMP_PREFIX;
pub(crate) use temp::TempObject;

/// Whether `id` is an artifact id: 64 lowercase hex digits. Ids become file
/// names, so nothing else may reach a path.
pub(crate) fn is_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks that `id` is 64 lowercase hex digits.
pub(crate) fn check_id(id: &str) -> Result<(), ArtifactError> {
    if !is_id(id) {
        return Err(ArtifactError::BadId(id.to_string()));
    }
    Ok(())
}

/// The id the store gives `content`: the lowercase hex SHA-256 of its
/// plaintext, so a caller can name content before (or without) storing it.
pub fn content_id(content: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(content))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    digest
        .iter()
        .fold(String::with_capacity(digest.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
fn sync_dir(dir: &Path) -> Result<(), ArtifactError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes everything dirty on the file system holding `dir` to disk: one
/// call covers any number of files, where `fsync` would take one each.
#[cfg(target_os = "linux")]
fn syncfs(dir: &Path) -> Result<(), ArtifactError> {
    let handle = File::open(dir).map_err(io_at(dir))?;
    rustix::fs::syncfs(&handle).map_err(|e| io_at(dir)(e.into()))
}

/// An object opened for reading: its file, limited to its bytes (a pack
/// holds others after them).
pub(crate) type ObjectFile = io::Take<File>;

/// An object of a batch, staged for [`Objects::commit_batch`].
pub(crate) enum Body {
    /// Written to a temporary file of its own.
    Temp(TempObject),
    /// Appended to the batch's pack.
    Packed(RawId),
}

/// The sharded tree of object files.
pub(crate) struct Objects {
    /// `<root>/objects`.
    dir: PathBuf,
    /// The packs under `<root>/objects/packs`.
    packs: Packs,
}

impl Objects {
    /// Creates `<root>/objects` if needed and removes temporary files left by
    /// a crash: those of processes that are gone, and any older than an
    /// hour; another process writing into the store keeps its own.
    pub(crate) fn open(root: &Path) -> Result<Objects, ArtifactError> {
        let dir = root.join("objects");
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let packs = Packs::new(&dir);
        let objects = Objects { dir, packs };
        objects.clean_temps()?;
        objects.packs.refresh()?;
        Ok(objects)
    }

    /// Where object `id` lives.
    pub(crate) fn path_of(&self, id: &str) -> Result<PathBuf, ArtifactError> {
        check_id(id)?;
        Ok(self.dir.join(&id[..2]).join(&id[2..]))
    }

    /// Opens object `id` for reading: its loose file, else its place in a
    /// pack (looking for packs other processes wrote when this one knows
    /// none that holds it).
    pub(crate) fn open_object(&self, id: &str) -> Result<(ObjectFile, PathBuf), ArtifactError> {
        let path = self.path_of(id)?;
        let raw = raw_id(id).ok_or_else(|| ArtifactError::BadId(id.to_string()))?;
        for attempt in 0..2 {
            match File::open(&path) {
                Ok(file) => return Ok((file.take(u64::MAX), path)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(ArtifactError::Io { path, source }),
            }
            if let Some(at) = self.packs.find(&raw) {
                match File::open(&*at.pack) {
                    Ok(mut file) => {
                        let pack = at.pack.to_path_buf();
                        file.seek(SeekFrom::Start(at.offset))
                            .map_err(io_at(&pack))?;
                        return Ok((file.take(at.len), pack));
                    }
                    // Loosened meanwhile (its objects are files now).
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(ArtifactError::Io {
                            path: at.pack.to_path_buf(),
                            source,
                        });
                    }
                }
            }
            if attempt == 0 {
                self.packs.refresh()?;
            }
        }
        Err(ArtifactError::NotFound(id.to_string()))
    }

    /// Whether object `id` is stored, loose or packed.
    pub(crate) fn contains(&self, id: &str) -> Result<bool, ArtifactError> {
        let path = self.path_of(id)?;
        let raw = raw_id(id).ok_or_else(|| ArtifactError::BadId(id.to_string()))?;
        // Looked for loose again after the packs: one may have been
        // loosened between the two looks.
        Ok(path.is_file() || self.packs.locate(&raw)?.is_some() || path.is_file())
    }

    /// When object `id` was last written: its file's, or its pack's.
    pub(crate) fn modified(&self, id: &str) -> Option<SystemTime> {
        let loose = self
            .path_of(id)
            .ok()
            .and_then(|path| fs::metadata(path).ok())
            .and_then(|m| m.modified().ok());
        loose.or_else(|| self.packs.modified(&raw_id(id)?))
    }

    /// Makes object `id` a file of its own and returns its path, for
    /// whatever moves or removes object files (tiers, the trash): every
    /// pack holding it is loosened first, so no packed copy survives the
    /// file's removal. The path may not exist: the object is not stored.
    pub(crate) fn loosen(&self, id: &str) -> Result<PathBuf, ArtifactError> {
        let path = self.path_of(id)?;
        let raw = raw_id(id).ok_or_else(|| ArtifactError::BadId(id.to_string()))?;
        self.packs.refresh()?;
        while let Some(at) = self.packs.find(&raw) {
            self.unpack(&at.pack)?;
        }
        Ok(path)
    }

    /// Turns every object of the pack at `pack` into a loose file (made
    /// durable) and then removes the pack. Objects already loose are kept
    /// as they are.
    fn unpack(&self, pack: &Path) -> Result<(), ArtifactError> {
        let (file, entries) = match File::open(pack).and_then(|f| Ok((f, pack::read_index(pack)?)))
        {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.packs.forget(pack);
                return Ok(());
            }
            Err(e) => return Err(io_at(pack)(e)),
        };
        let mut pending = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        for entry in &entries {
            let target = self.path_of(&hex(&entry.id))?;
            let loose = fs::metadata(&target).ok().filter(|m| m.is_file());
            if loose.is_some_and(|m| m.len() == entry.len) {
                continue;
            }
            let mut temp = self.create_temp()?;
            let (mut at, end) = (entry.offset, entry.offset + entry.len);
            while at < end {
                let n = buf.len().min((end - at) as usize);
                pack::read_exact_at(&file, &mut buf[..n], at).map_err(io_at(pack))?;
                io::Write::write_all(&mut temp.file, &buf[..n]).map_err(io_at(&temp.path))?;
                at += n as u64;
            }
            pending.push((temp, target));
        }
        self.publish(&pending, None)?;
        match fs::remove_file(pack) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_at(pack)(e)),
            _ => {}
        }
        // Durable before any loosened file is moved away: a pack coming
        // back after a crash would bring back what was removed.
        sync_dir(self.packs.dir())?;
        self.packs.forget(pack);
        tracing::debug!(pack = %pack.display(), objects = entries.len(), "unpacked");
        Ok(())
    }

    /// A new pack to append a batch's small objects to.
    pub(crate) fn create_pack(&self) -> Result<PackWriter, ArtifactError> {
        Ok(PackWriter::new(self.create_temp()?))
    }

    /// Makes a batch's objects durable and visible at once (group commit):
    /// one sync of the file system for all their contents (loose files and
    /// the pack), the renames, and one more sync for the directory entries;
    /// elsewhere than Linux, each file and directory is synced. Returns,
    /// per object, whether it was new; duplicates are dropped unsynced, and
    /// a pack none of whose objects is new is dropped whole (one with some
    /// new objects keeps its copies of the others: a pack is written as its
    /// batch is read, before the commit can tell).
    pub(crate) fn commit_batch(
        &self,
        items: Vec<(Body, &str)>,
        pack: Option<PackWriter>,
    ) -> Result<Vec<bool>, ArtifactError> {
        let mut fresh = Vec::with_capacity(items.len());
        let mut pending = Vec::new();
        let mut seen = HashSet::new();
        let mut pack_needed = false;
        let mut damaged = Vec::new();
        let packed: std::collections::HashMap<RawId, u64> = pack
            .iter()
            .flat_map(|p| p.entries.iter().map(|e| (e.id, e.len)))
            .collect();
        for (body, id) in items {
            let target = self.path_of(id)?;
            let first = seen.insert(id);
            match body {
                Body::Temp(temp) => {
                    let len = temp.file.metadata().map_or(0, |m| m.len());
                    let stored = self.stored(id, &target, len)?;
                    fresh.push(stored == Stored::Missing && first);
                    if stored != Stored::Intact && first {
                        pending.push((temp, target));
                    }
                }
                Body::Packed(raw) => {
                    let len = packed.get(&raw).copied().unwrap_or(0);
                    let stored = self.stored(id, &target, len)?;
                    fresh.push(stored == Stored::Missing && first);
                    pack_needed |= stored != Stored::Intact && first;
                    if stored == Stored::Damaged && target.is_file() {
                        damaged.push(target);
                    }
                }
            }
        }
        // Needed only when one of its objects is (a packed body always
        // names an object appended to it).
        let pack = pack.filter(|_| pack_needed);
        if pending.is_empty() && pack.is_none() {
            return Ok(fresh);
        }
        self.publish(&pending, pack)?;
        // The packed copy is durable: a damaged loose file (which reads
        // would find first, and `stored` warned about) goes.
        for path in damaged {
            let _ = fs::remove_file(path);
        }
        Ok(fresh)
    }

    /// Syncs written temporary objects (and a finished pack), renames them
    /// into place and syncs the directory entries.
    fn publish(
        &self,
        loose: &[(TempObject, PathBuf)],
        pack: Option<PackWriter>,
    ) -> Result<(), ArtifactError> {
        if loose.is_empty() && pack.is_none() {
            return Ok(());
        }
        let mut pack = pack;
        if let Some(pack) = &mut pack {
            pack.finish()?;
        }
        let temps = loose.iter().map(|(temp, _)| temp);
        self.sync_contents(temps.chain(pack.as_ref().map(|p| &p.temp)))?;
        let mut dirs = Vec::new();
        for (temp, target) in loose {
            let shard = target.parent().expect("objects have a shard directory");
            if !shard.is_dir() {
                fs::create_dir_all(shard).map_err(io_at(shard))?;
                dirs.push(self.dir.clone());
            }
            fs::rename(&temp.path, target).map_err(io_at(target))?;
            dirs.push(shard.to_path_buf());
        }
        let mut placed = None;
        if let Some(pack) = &pack {
            let dir = self.packs.dir();
            if !dir.is_dir() {
                fs::create_dir_all(dir).map_err(io_at(dir))?;
                dirs.push(self.dir.clone());
            }
            // Named after its temporary file, which no other file shares.
            let name = pack
                .temp
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("pack");
            let target = dir.join(format!(
                "{}.{}",
                name.trim_start_matches(TMP_PREFIX),
                pack::EXTENSION
            ));
            fs::rename(&pack.temp.path, &target).map_err(io_at(&target))?;
            dirs.push(dir.to_path_buf());
            placed = Some(target);
        }
        dirs.sort();
        dirs.dedup();
        self.sync_entries(&dirs)?;
        if let (Some(path), Some(pack)) = (placed, &pack) {
            self.packs.add(path, &pack.entries);
        }
        Ok(())
    }

    /// Makes the temporary files' contents durable.
    fn sync_contents<'t>(
        &self,
        temps: impl Iterator<Item = &'t TempObject>,
    ) -> Result<(), ArtifactError> {
        #[cfg(target_os = "linux")]
        {
            let _ = temps;
            syncfs(&self.dir)
        }
        #[cfg(not(target_os = "linux"))]
        {
            for temp in temps {
                temp.file.sync_all().map_err(io_at(&temp.path))?;
            }
            Ok(())
        }
    }

    /// Makes the entries of `dirs` durable.
    fn sync_entries(&self, dirs: &[PathBuf]) -> Result<(), ArtifactError> {
        #[cfg(target_os = "linux")]
        {
            let _ = dirs;
            syncfs(&self.dir)
        }
        #[cfg(not(target_os = "linux"))]
        {
            dirs.iter().try_for_each(|dir| sync_dir(dir))
        }
    }

    /// Every stored object's id and its size on disk, loose or packed.
    pub(crate) fn scan(&self) -> Result<Vec<(String, u64)>, ArtifactError> {
        let mut found = Vec::new();
        for shard in fs::read_dir(&self.dir).map_err(io_at(&self.dir))? {
            let shard = shard.map_err(io_at(&self.dir))?;
            let prefix = shard.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !shard.path().is_dir() {
                continue;
            }
            let shard = shard.path();
            for entry in fs::read_dir(&shard).map_err(io_at(&shard))? {
                let entry = entry.map_err(io_at(&shard))?;
                let id = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if check_id(&id).is_ok() {
                    let len = entry.metadata().map_err(io_at(&shard))?.len();
                    found.push((id, len));
                }
            }
        }
        self.packs.refresh()?;
        let loose: HashSet<String> = found.iter().map(|(id, _)| id.clone()).collect();
        for (raw, len, _) in self.packs.all() {
            let id = hex(&raw);
            if !loose.contains(&id) {
                found.push((id, len));
            }
        }
        Ok(found)
    }

    /// What the store holds already where an object `id` of `len` stored
    /// bytes would go: its loose file at `target`, else a packed copy (in
    /// a pack still there: one another process loosened holds nothing).
    fn stored(&self, id: &str, target: &Path, len: u64) -> Result<Stored, ArtifactError> {
        let on_disk = match fs::metadata(target) {
            Ok(m) if m.is_file() => m.len(),
            _ => {
                let raw = raw_id(id).ok_or_else(|| ArtifactError::BadId(id.to_string()))?;
                match self.packs.find(&raw).filter(|at| at.pack.is_file()) {
                    Some(at) => at.len,
                    None => return Ok(Stored::Missing),
                }
            }
        };
        // The same content in the same store has the same size on disk,
        // encrypted or not.
        if on_disk == len {
            Ok(Stored::Intact)
        } else {
            tracing::warn!(id, "replacing a damaged object");
            Ok(Stored::Damaged)
        }
    }
}

/// What a store already holds where a new object would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// Nothing: the new object is fresh.
    Missing,
    /// A copy the new one duplicates.
    Intact,
    /// A copy of the wrong size, damaged outside the store: the new copy
    /// replaces it (and is still a duplicate for the counters). A new loose
    /// file is found before a damaged packed copy.
    Damaged,
}

#[cfg(test)]
mod tests;
