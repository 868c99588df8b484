//! Line diffs between two versions of a text artifact.

use serde::Serialize;
use similar::{ChangeTag, TextDiff as LineDiff};

/// A line-by-line comparison of two text artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TextDiff {
    /// Lines only in the newer text.
    pub added: usize,
    /// Lines only in the older text.
    pub removed: usize,
    /// A unified diff (`---`/`+++` headers, `@@` hunks, 3 lines of context);
    /// empty when the texts are equal.
    pub unified: String,
}

impl TextDiff {
    /// Compares `old` (labelled `old_label`) with `new`.
    pub(crate) fn between(old_label: &str, old: &str, new_label: &str, new: &str) -> TextDiff {
        let diff = LineDiff::from_lines(old, new);
        let (mut added, mut removed) = (0, 0);
        for change in diff.iter_all_changes() {
            match change.tag() {
                ChangeTag::Insert => added += 1,
                ChangeTag::Delete => removed += 1,
                ChangeTag::Equal => {}
            }
        }
        let unified = if added + removed == 0 {
            String::new()
        } else {
            diff.unified_diff()
                .context_radius(3)
                .header(old_label, new_label)
                .to_string()
        };
        TextDiff {
            added,
            removed,
            unified,
        }
    }
}

#[cfg(test)]
mod tests;
