//! The index's fields and how an [`IndexDoc`] becomes a tantivy document.

use tantivy::TantivyDocument;
use tantivy::schema::{FAST, Field, INDEXED, STORED, STRING, Schema, TEXT};

use super::IndexDoc;

/// Bytes of an artifact's text kept in the index for snippets; the whole
/// text given is still indexed.
pub(super) const STORED_TEXT_BYTES: usize = 64 * 1024;

/// The index's fields, resolved once from the schema.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields {
    /// The artifact id, untokenized and stored: the delete term of an upsert
    /// and what a hit returns.
    pub id: Field,
    /// The artifact's names, tokenized so words inside a name match.
    pub names: Field,
    /// The artifact's names as whole strings, so an exact name matches.
    pub name_raw: Field,
    /// The content type, untokenized and lowercased, for the exact filter.
    pub content_type: Field,
    /// The tags, untokenized, one value each, for the exact filter.
    pub tags: Field,
    /// Who created the artifact, tokenized.
    pub creator: Field,
    /// Custom key/value fields as "key value" text.
    pub fields: Field,
    /// Creation time in unix milliseconds: the range filter and the order
    /// of a search without text.
    pub created_ms: Field,
    /// The content text, all of it indexed, none of it stored.
    pub text: Field,
    /// The first [`STORED_TEXT_BYTES`] of the content text, stored only, for
    /// snippets.
    pub snippet: Field,
}

impl Fields {
    /// The schema the index is written with; an index on disk with any other
    /// schema is replaced (see `open.rs`).
    pub(super) fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            names: b.add_text_field("names", TEXT),
            name_raw: b.add_text_field("name_raw", STRING),
            content_type: b.add_text_field("content_type", STRING),
            tags: b.add_text_field("tags", STRING),
            creator: b.add_text_field("creator", TEXT),
            fields: b.add_text_field("fields", TEXT),
            created_ms: b.add_i64_field("created_ms", INDEXED | FAST),
            text: b.add_text_field("text", TEXT),
            snippet: b.add_text_field("snippet", STORED),
        };
        (b.build(), fields)
    }

    /// The tantivy document for `doc`.
    pub(super) fn document(&self, doc: &IndexDoc) -> TantivyDocument {
        let mut out = TantivyDocument::default();
        out.add_text(self.id, &doc.id);
        for name in &doc.names {
            out.add_text(self.names, name);
            out.add_text(self.name_raw, name);
        }
        if let Some(content_type) = &doc.content_type {
            out.add_text(self.content_type, normalize_content_type(content_type));
        }
        for tag in &doc.tags {
            out.add_text(self.tags, tag);
        }
        if let Some(creator) = &doc.creator {
            out.add_text(self.creator, creator);
        }
        for (key, value) in &doc.fields {
            out.add_text(self.fields, format!("{key} {value}"));
        }
        out.add_i64(self.created_ms, doc.created_ms);
        if let Some(text) = &doc.text {
            out.add_text(self.text, text);
            out.add_text(
                self.snippet,
                prefix_at_char_boundary(text, STORED_TEXT_BYTES),
            );
        }
        out
    }
}

/// Content types compare case-insensitively (RFC 2045), so both the stored
/// value and the filter are lowercased.
pub(super) fn normalize_content_type(content_type: &str) -> String {
    content_type.trim().to_ascii_lowercase()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
pub(super) fn prefix_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
