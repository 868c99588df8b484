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
