//! The search index of a template library: every template's id, name,
//! tags and description lowercased once, in one buffer, and the templates
//! carrying each tag.

use std::collections::HashMap;
use std::ops::Range;

use memchr::memmem::Finder;

use super::Template;

/// What search reads, built once when a library opens.
#[derive(Debug, Default)]
pub(super) struct SearchIndex {
    /// Each template's fields, lowercased, one after another: id, name,
    /// tags and description, each ended by a newline so that no word (a
    /// query word holds no whitespace) matches across two.
    text: String,
    /// Where each template's fields lie in `text`, by template index.
    spans: Vec<Span>,
    /// The indices (ascending) of the templates with each lowercased tag.
    by_tag: HashMap<String, Vec<usize>>,
}

/// Where one template's fields start in [`SearchIndex::text`], in the
/// order they rank: a word found earlier is found in a better field.
#[derive(Debug, Clone, Copy)]
struct Span {
    id: usize,
    name: usize,
    tags: usize,
    description: usize,
    end: usize,
}

impl Span {
    fn all(&self) -> Range<usize> {
        self.id..self.end
    }

    /// The score of a word first found at `at`: id 8, name 4, a tag 2,
    /// description 1.
    fn score(&self, at: usize) -> u32 {
        if at < self.name {
            8
        } else if at < self.tags {
            4
        } else if at < self.description {
            2
        } else {
            1
        }
    }
}

impl SearchIndex {
    /// Indexes `templates` (the library's, in its order).
    pub(super) fn new(templates: &[Template]) -> SearchIndex {
        let mut index = SearchIndex::default();
        for (i, template) in templates.iter().enumerate() {
            let text = &mut index.text;
            let id = text.len();
            push_line(text, template.id());
            let name = text.len();
            push_line(text, template.name());
            let tags = text.len();
            let mut lowered: Vec<String> =
                template.tags().iter().map(|t| t.to_lowercase()).collect();
            lowered.sort();
            lowered.dedup();
            for tag in lowered {
                text.push_str(&tag);
                text.push('\n');
                index.by_tag.entry(tag).or_default().push(i);
            }
            let description = text.len();
            push_line(text, template.description().unwrap_or_default());
            index.spans.push(Span {
                id,
                name,
                tags,
                description,
                end: text.len(),
            });
        }
        index
    }

    /// The templates among `candidates` (ascending indices) that carry
    /// every tag in `tags` (lowercased) and contain every word of `words`
    /// (lowercased, whitespace-free), each with its score: for each word,
    /// the best field it is found in. In `candidates` order.
    pub(super) fn search(
        &self,
        candidates: impl Iterator<Item = usize>,
        words: &[String],
        tags: &[String],
    ) -> Vec<(u32, usize)> {
        let finders: Vec<Finder<'_>> = words.iter().map(|w| Finder::new(w.as_bytes())).collect();
        let score = |i: usize| -> Option<(u32, usize)> {
            let span = self.spans[i];
            let text = &self.text.as_bytes()[span.all()];
            let mut total = 0;
            for finder in &finders {
                total += span.score(span.id + finder.find(text)?);
            }
            Some((total, i))
        };
        if tags.is_empty() {
            return candidates.filter_map(score).collect();
        }
        // Walk the shortest list of tagged templates, checking the others.
        let mut lists = Vec::with_capacity(tags.len());
        for tag in tags {
            match self.by_tag.get(tag) {
                Some(list) => lists.push(list.as_slice()),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((shortest, others)) = lists.split_first() else {
            return Vec::new();
        };
        let mut candidates = candidates.peekable();
        let mut hits = Vec::new();
        for &i in *shortest {
            // Both ascend: advance the candidates to `i`.
            while candidates.next_if(|&c| c < i).is_some() {}
            if candidates.next_if_eq(&i).is_none() {
                continue;
            }
            if others.iter().all(|list| list.binary_search(&i).is_ok())
                && let Some(hit) = score(i)
            {
                hits.push(hit);
            }
        }
        hits
    }
}

/// Appends `value` lowercased (as query words are) and a newline.
fn push_line(text: &mut String, value: &str) {
    text.push_str(&value.to_lowercase());
    text.push('\n');
}
