//! Storing, reading, searching and inspecting artifacts.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use symphony_host::artifacts::{ArtifactStore, SearchPage};
use symphony_host::protocol::Message;

use super::{MAX_CHUNK, MAX_INLINE, Request, default_limit};

/// Stores content in the Artifact Store ([`ArtifactStored`]): inline up to
/// [`MAX_INLINE`] bytes, or a file the service reads (any size, streamed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ArtifactPut {
    /// The content, inline. Exactly one of `content` and `path`.
    #[serde(default, with = "serde_bytes")]
    pub content: Option<Vec<u8>>,
    /// A file to store.
    #[serde(default)]
    pub path: Option<String>,
    /// Records it as the next version of this name.
    #[serde(default)]
    pub name: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A MIME type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Custom fields, as `[key, value]` pairs.
    #[serde(default)]
    pub fields: Vec<(String, String)>,
    /// Who made it.
    #[serde(default)]
    pub creator: Option<String>,
    /// The version of `name` it is based on; default: the latest.
    #[serde(default)]
    pub parent_version: Option<u32>,
    /// Ids of the artifacts it was derived from.
    #[serde(default)]
    pub derived_from: Vec<String>,
    /// Protect it from retention.
    #[serde(default)]
    pub pin: bool,
}
message!(ArtifactPut, "artifact.put", |m: &ArtifactPut| {
    match (&m.content, &m.path) {
        (Some(content), None) if content.len() > MAX_INLINE => Err(format!(
            "{} bytes inline is more than {MAX_INLINE}; send large content by path",
            content.len()
        )),
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err("give either content or path".into()),
    }
});
request!(ArtifactPut => ArtifactStored);

/// Content was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactStored {
    /// Its id (the SHA-256 of the content, hex).
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
    /// The same content was already stored.
    pub deduplicated: bool,
    /// The version recorded, when the put named it: `{"name", "version",
    /// "id", "parent", "created_ms", "creator", "size"}`.
    #[serde(default)]
    pub version: Option<Value>,
}
message!(ArtifactStored, "reply.artifact-stored");

/// Reads up to `max` bytes of an artifact from `offset`
/// ([`ArtifactChunk`]); read a large one chunk by chunk, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactGet {
    /// The artifact's id.
    pub id: String,
    /// Where to start. Default: 0.
    #[serde(default)]
    pub offset: u64,
    /// The most bytes to return, at most [`MAX_CHUNK`]. Default: that.
    #[serde(default = "max_chunk")]
    pub max: u32,
}
fn max_chunk() -> u32 {
    MAX_CHUNK as u32
}
message!(ArtifactGet, "artifact.get", |m: &ArtifactGet| {
    if m.max == 0 || m.max as usize > MAX_CHUNK {
        Err(format!("max must be 1 to {MAX_CHUNK} bytes, not {}", m.max))
    } else {
        Ok(())
    }
});
request!(ArtifactGet => ArtifactChunk);

/// Part of an artifact's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactChunk {
    /// The artifact.
    pub id: String,
    /// Where these bytes start.
    pub offset: u64,
    /// Its whole size.
    pub size: u64,
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}
message!(ArtifactChunk, "reply.artifact-chunk");

/// Searches the Artifact Store ([`ArtifactHits`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactSearch {
    /// Words to match, e.g. `revenue "next quarter"`; empty matches all.
    #[serde(default)]
    pub text: String,
    /// Tags every hit carries.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The content type every hit has.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Only artifacts created at or after this time (Unix ms).
    #[serde(default)]
    pub created_after_ms: Option<i64>,
    /// Only artifacts created before this time (Unix ms).
    #[serde(default)]
    pub created_before_ms: Option<i64>,
    /// Hits to skip. Default: 0.
    #[serde(default)]
    pub offset: usize,
    /// The most hits. Default: 20.
    #[serde(default = "default_limit")]
    pub limit: usize,
}
impl Default for ArtifactSearch {
    /// Every artifact, the first page of 20 (as a request that leaves the
    /// fields out).
    fn default() -> Self {
        ArtifactSearch {
            text: String::new(),
            tags: Vec::new(),
            content_type: None,
            created_after_ms: None,
            created_before_ms: None,
            offset: 0,
            limit: default_limit(),
        }
    }
}

message!(ArtifactSearch, "artifact.search", |m: &ArtifactSearch| {
    if m.limit > 1000 {
        Err(format!("limit {} is more than 1000", m.limit))
    } else if m.offset.saturating_add(m.limit) > 10_000 {
        Err(format!(
            "offset {} + limit {} pages deeper than 10000 hits",
            m.offset, m.limit
        ))
    } else {
        Ok(())
    }
});
request!(ArtifactSearch => ArtifactHits);

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactHits {
    /// Matches in all.
    pub total: usize,
    /// This page, best first: `{"id", "score", "highlight": {"fragment",
    /// "offset", "ranges"} or null, "artifact": its info, "names": the
    /// names it is a version of}` per hit.
    pub hits: Vec<Value>,
}
message!(ArtifactHits, "reply.artifact-hits");

impl ArtifactHits {
    /// A page of `store`'s search results in the reply's form, each hit with
    /// its info and names.
    pub fn from_page(store: &ArtifactStore, page: &SearchPage) -> ArtifactHits {
        let hits = page
            .hits
            .iter()
            .map(|hit| {
                json!({
                    "id": hit.id,
                    "score": hit.score,
                    "highlight": hit.highlight.as_ref().map(|h| json!({
                        "fragment": h.fragment,
                        "offset": h.offset,
                        "ranges": h.ranges.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
                    })),
                    "artifact": store.info(&hit.id).ok(),
                    "names": store.names_of(&hit.id).unwrap_or_default(),
                })
            })
            .collect();
        ArtifactHits {
            total: page.total,
            hits,
        }
    }
}

/// An artifact's metadata ([`ArtifactInfoReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactInfoRequest {
    /// The artifact's id.
    pub id: String,
}
message!(ArtifactInfoRequest, "artifact.info");
request!(ArtifactInfoRequest => ArtifactInfoReply);

/// An artifact's metadata: size, type, tags, fields, reads, quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactInfoReply {
    /// As `symphony artifacts show --json` prints it.
    pub info: Value,
}
message!(ArtifactInfoReply, "reply.artifact-info");
