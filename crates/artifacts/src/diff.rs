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
mod tests {
    use super::*;

    #[test]
    fn counts_changed_lines_and_renders_a_unified_diff() {
        let diff = TextDiff::between("v1", "a\nb\nc\n", "v2", "a\nB\nc\nd\n");
        assert_eq!((diff.added, diff.removed), (2, 1));
        assert!(
            diff.unified.starts_with("--- v1\n+++ v2\n"),
            "{}",
            diff.unified
        );
        assert!(diff.unified.contains("-b\n+B\n"), "{}", diff.unified);
        assert!(diff.unified.contains("+d\n"), "{}", diff.unified);
    }

    #[test]
    fn equal_texts_have_an_empty_diff() {
        let diff = TextDiff::between("v1", "same\n", "v2", "same\n");
        assert_eq!(
            (diff.added, diff.removed, diff.unified.as_str()),
            (0, 0, "")
        );
    }
}
