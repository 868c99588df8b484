//! What the catalog records about artifacts: the metadata given with a put
//! ([`ArtifactMeta`]) and what it reports back ([`ArtifactInfo`],
//! [`VersionInfo`], [`ListQuery`]).

use serde::Serialize;

use super::quality::Quality;

/// Metadata to record with a put. Everything is optional; the default
/// records only the size and the time.
///
/// Storing content that is already stored merges: new tags and fields are
/// added, the first content type and creator stay.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ArtifactMeta {
    /// A MIME type, e.g. `application/json`.
    pub content_type: Option<String>,
    /// Who made it: an extension, a user, a run.
    pub creator: Option<String>,
    /// Labels to filter by, e.g. `training`, `run:4f2a`.
    pub tags: Vec<String>,
    /// Custom key/value pairs.
    pub fields: Vec<(String, String)>,
    /// Records the content as the next version of this name.
    pub name: Option<String>,
    /// The version of `name` this one is based on; the latest when unset.
    pub parent_version: Option<u32>,
    /// Ids of the artifacts this one was derived from (e.g. a node's inputs).
    pub derived_from: Vec<String>,
    /// Pinned artifacts are never archived or deleted by retention.
    pub pinned: bool,
}

impl ArtifactMeta {
    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the creator.
    pub fn creator(mut self, creator: impl Into<String>) -> Self {
        self.creator = Some(creator.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds a custom field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Records the content as the next version of `name`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Bases the new version on `version` of the name instead of the latest.
    pub fn parent_version(mut self, version: u32) -> Self {
        self.parent_version = Some(version);
        self
    }

    /// Records that the content was derived from artifact `id`.
    pub fn derived_from(mut self, id: impl Into<String>) -> Self {
        self.derived_from.push(id.into());
        self
    }

    /// Pins the artifact against retention.
    pub fn pinned(mut self, pinned: bool) -> Self {
        self.pinned = pinned;
        self
    }

    /// Whether recording this metadata can change what search finds: all
    /// of it but the pin is indexed or reaches the index (a name becomes a
    /// version; derived-from links are kept in step with it too, to be
    /// safe). A put of content already stored with none of it leaves the
    /// search document as it was.
    pub(crate) fn changes_search(&self) -> bool {
        self.content_type.is_some()
            || self.creator.is_some()
            || !self.tags.is_empty()
            || !self.fields.is_empty()
            || self.name.is_some()
            || !self.derived_from.is_empty()
    }
}

/// Where an artifact's content lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// In the local object tree.
    Hot,
    /// Compressed in the local warm tier.
    Warm,
    /// In the cold (object storage) tier.
    Cold,
    /// In the trash, restorable until the undo window closes.
    Trashed,
}

impl Location {
    /// The name stored in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Hot => "hot",
            Location::Warm => "warm",
            Location::Cold => "cold",
            Location::Trashed => "trashed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Location> {
        Some(match s {
            "hot" => Location::Hot,
            "warm" => Location::Warm,
            "cold" => Location::Cold,
            "trashed" => Location::Trashed,
            _ => return None,
        })
    }
}

/// Everything the catalog knows about one artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ArtifactInfo {
    /// The SHA-256 of the content, in hex.
    pub id: String,
    /// Content length in bytes.
    pub size: u64,
    /// The MIME type given when it was stored.
    pub content_type: Option<String>,
    /// When it was first stored (Unix milliseconds).
    pub created_ms: i64,
    /// Who stored it first.
    pub creator: Option<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Custom fields, sorted by key.
    pub fields: Vec<(String, String)>,
    /// Reads of the content.
    pub access_count: u64,
    /// The last read (Unix milliseconds).
    pub last_access_ms: Option<i64>,
    /// How many times this content was put (1 + deduplicated puts).
    pub copies: u64,
    /// Versions and derived-from links that point at it.
    pub references: u64,
    /// Protected from retention.
    pub pinned: bool,
    /// Where the content lives.
    pub location: Location,
    /// The quality score.
    pub quality: Quality,
}

impl ArtifactInfo {
    /// The value of custom field `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One version of a named artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VersionInfo {
    /// The name.
    pub name: String,
    /// 1 for the first version, then counting up.
    pub version: u32,
    /// The content of this version.
    pub id: String,
    /// The version this one was based on.
    pub parent: Option<u32>,
    /// When the version was recorded (Unix milliseconds).
    pub created_ms: i64,
    /// Who recorded it.
    pub creator: Option<String>,
    /// The content length in bytes.
    pub size: u64,
}

/// Which artifacts [`ArtifactStore::list`](super::ArtifactStore::list)
/// returns, newest first.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Only artifacts with every one of these tags.
    pub tags: Vec<String>,
    /// Only this content type.
    pub content_type: Option<String>,
    /// Only artifacts created at or after this time (Unix milliseconds).
    pub created_after_ms: Option<i64>,
    /// Only artifacts created before this time (Unix milliseconds).
    pub created_before_ms: Option<i64>,
    /// Include trashed artifacts.
    pub include_trashed: bool,
    /// Skip this many.
    pub offset: usize,
    /// Return at most this many.
    pub limit: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            tags: Vec::new(),
            content_type: None,
            created_after_ms: None,
            created_before_ms: None,
            include_trashed: false,
            offset: 0,
            limit: 100,
        }
    }
}

/// The current time in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
