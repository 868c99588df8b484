//! What the artifact store should hold after each operation: a plain
//! in-memory account of every artifact, version and link, and the outcome
//! each operation should have.

use std::collections::{BTreeMap, BTreeSet};

use symphony_artifacts::{ArtifactError, ArtifactMeta, Location};

/// What the store should say about one artifact.
#[derive(Debug, Clone)]
pub(super) struct Art {
    pub(super) content: Vec<u8>,
    pub(super) content_type: Option<String>,
    pub(super) creator: Option<String>,
    pub(super) tags: BTreeSet<String>,
    pub(super) fields: BTreeMap<String, String>,
    pub(super) pinned: bool,
    /// Puts of this content.
    pub(super) copies: u64,
    pub(super) location: Location,
    /// Whether the trash holds a copy (left there when the content is put
    /// again after being deleted, until an undo takes it out).
    pub(super) in_trash: bool,
    /// Counted reads.
    pub(super) reads: u64,
}

impl Art {
    /// Whether retention may not delete it: pinned, or tagged `keep` or
    /// `training` (the default policy's protections).
    pub(super) fn protected(&self) -> bool {
        self.pinned || self.tags.contains("keep") || self.tags.contains("training")
    }
}

/// One version of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ver {
    pub(super) id: String,
    pub(super) parent: Option<u32>,
    pub(super) creator: Option<String>,
}

/// The expected state of a store.
#[derive(Debug, Default)]
pub(super) struct Model {
    pub(super) arts: BTreeMap<String, Art>,
    /// Ids in the order they were first stored.
    pub(super) order: Vec<String>,
    /// The id stored last.
    pub(super) last: Option<String>,
    pub(super) versions: BTreeMap<String, Vec<Ver>>,
    /// Derived-from links, (child, parent).
    pub(super) links: BTreeSet<(String, String)>,
    pub(super) puts: u64,
    pub(super) bytes_saved: u64,
}

/// Whether `id` is an artifact id: 64 lowercase hex digits.
pub(super) fn is_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The variant of an error, to compare with what the model expects.
pub(super) fn kind(e: &ArtifactError) -> &'static str {
    match e {
        ArtifactError::BadId(_) => "BadId",
        ArtifactError::NotFound(_) => "NotFound",
        ArtifactError::Integrity { .. } => "Integrity",
        ArtifactError::ModeMismatch { .. } => "ModeMismatch",
        ArtifactError::Input(_) => "Input",
        ArtifactError::UnknownName(_) => "UnknownName",
        ArtifactError::UnknownVersion { .. } => "UnknownVersion",
        ArtifactError::Invalid(_) => "Invalid",
        ArtifactError::Retention(_) => "Retention",
        ArtifactError::NotText { .. } => "NotText",
        _ => "other",
    }
}

impl Model {
    /// The error a put with `meta` should fail with before storing
    /// anything, checked as the store does (tags, name, parent version,
    /// then each derived-from id, then the parent version's existence);
    /// `pending` are the ids of the same batch.
    pub(super) fn refusal(
        &self,
        meta: &ArtifactMeta,
        pending: &BTreeSet<String>,
    ) -> Option<&'static str> {
        if meta.tags.iter().any(|t| t.trim().is_empty()) {
            return Some("Invalid");
        }
        if meta.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Some("Invalid");
        }
        if meta.parent_version.is_some() && meta.name.is_none() {
            return Some("Invalid");
        }
        for parent in &meta.derived_from {
            if !is_id(parent) {
                return Some("BadId");
            }
            if !pending.contains(parent) && !self.arts.contains_key(parent) {
                return Some("NotFound");
            }
        }
        if let (Some(name), Some(version)) = (&meta.name, meta.parent_version) {
            match self.versions.get(name).map_or(0, Vec::len) as u32 {
                0 => return Some("UnknownName"),
                latest if version == 0 || version > latest => return Some("UnknownVersion"),
                _ => {}
            }
        }
        None
    }

    /// Whether putting `id` again stores nothing new: its object is in
    /// the hot tree.
    pub(super) fn hot(&self, id: &str) -> bool {
        self.arts
            .get(id)
            .is_some_and(|a| a.location == Location::Hot)
    }

    /// Records a put that the store accepted; returns the version it
    /// should report (number, parent, creator of that version) when named.
    pub(super) fn put(
        &mut self,
        content: &[u8],
        id: &str,
        meta: &ArtifactMeta,
    ) -> Option<(u32, Ver)> {
        let deduplicated = self.hot(id);
        self.puts += 1;
        if deduplicated {
            self.bytes_saved += content.len() as u64;
        }
        if !self.arts.contains_key(id) {
            self.order.push(id.to_string());
        }
        let art = self.arts.entry(id.to_string()).or_insert_with(|| Art {
            content: content.to_vec(),
            content_type: None,
            creator: None,
            tags: BTreeSet::new(),
            fields: BTreeMap::new(),
            pinned: false,
            copies: 0,
            location: Location::Hot,
            in_trash: false,
            reads: 0,
        });
        art.copies += 1;
        art.location = Location::Hot;
        art.content_type = art.content_type.take().or(meta.content_type.clone());
        art.creator = art.creator.take().or(meta.creator.clone());
        art.pinned |= meta.pinned;
        art.tags.extend(meta.tags.iter().cloned());
        for (key, value) in &meta.fields {
            art.fields.insert(key.clone(), value.clone());
        }
        for parent in &meta.derived_from {
            self.links.insert((id.to_string(), parent.clone()));
        }
        self.last = Some(id.to_string());
        let name = meta.name.as_ref()?;
        let versions = self.versions.entry(name.clone()).or_default();
        let latest = versions.len() as u32;
        let parent = meta.parent_version.or((latest > 0).then_some(latest));
        if let Some(p) = parent
            && let Some(based_on) = versions.get(p as usize - 1)
            && based_on.id == id
        {
            return Some((p, based_on.clone()));
        }
        let ver = Ver {
            id: id.to_string(),
            parent,
            creator: meta.creator.clone(),
        };
        versions.push(ver.clone());
        Some((latest + 1, ver))
    }

    /// What a read of `id` should give: its content, or the error.
    /// Counts the read and brings archived content back when it works.
    pub(super) fn read(&mut self, id: &str, counted: bool) -> Result<Vec<u8>, &'static str> {
        if !is_id(id) {
            return Err("BadId");
        }
        match self.arts.get_mut(id) {
            Some(art) if art.location != Location::Trashed => {
                art.location = Location::Hot;
                art.reads += u64::from(counted);
                Ok(art.content.clone())
            }
            _ => Err("NotFound"),
        }
    }

    /// Version `version` of `name` (the latest when `None`), or the error.
    pub(super) fn version(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<(u32, &Ver), &'static str> {
        let versions = self
            .versions
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or("UnknownName")?;
        let wanted = version.unwrap_or(versions.len() as u32);
        match wanted.checked_sub(1).and_then(|i| versions.get(i as usize)) {
            Some(ver) => Ok((wanted, ver)),
            None => Err("UnknownVersion"),
        }
    }

    /// How many versions and derived-from links point at `id`.
    pub(super) fn references(&self, id: &str) -> u64 {
        let versions = self
            .versions
            .values()
            .flatten()
            .filter(|v| v.id == id)
            .count();
        let links = self.links.iter().filter(|(_, parent)| parent == id).count();
        (versions + links) as u64
    }

    /// The artifacts not in the trash.
    pub(super) fn live(&self) -> impl Iterator<Item = (&String, &Art)> {
        self.arts
            .iter()
            .filter(|(_, a)| a.location != Location::Trashed)
    }
}

/// The rank of a location among the tiers, hot first.
pub(super) fn rank(location: Location) -> u8 {
    match location {
        Location::Hot => 0,
        Location::Warm => 1,
        Location::Cold => 2,
        Location::Trashed => 3,
    }
}
