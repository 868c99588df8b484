use super::similar;

#[test]
fn typos_are_similar_and_other_names_are_not() {
    assert!(similar("sentences", "sentence"));
    assert!(similar("keywords", "KEYWORDS"));
    assert!(similar("summary", "sumary"));
    assert!(!similar("tone", "tune2x"));
    assert!(!similar("a", "b"));
}
