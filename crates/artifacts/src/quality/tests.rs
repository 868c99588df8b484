use super::*;

#[test]
fn structure_ranks_json_over_text_over_binary_and_punishes_broken_json() {
    let json = br#"{"answer": 42, "items": [1, 2, 3]}"#;
    let s = |b: &[u8], t| structure(b, b.len() as u64, t);
    assert_eq!(s(json, Some("application/json")), 1.0);
    assert_eq!(s(json, None), 1.0);
    assert_eq!(s(b"plain words that are text", None), 0.7);
    assert_eq!(
        s(
            &[0xff, 0xfe, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
            None
        ),
        0.5
    );
    assert_eq!(
        s(b"{\"broken\": tru and more", Some("application/json")),
        0.2
    );
    assert_eq!(s(b"", None), 0.0);
    assert_eq!(s(b"tiny", None), 0.35);
}

#[test]
fn a_sample_cut_inside_a_character_is_still_text() {
    let text = "é".repeat(20);
    let sample = &text.as_bytes()[..9];
    assert_eq!(structure(sample, text.len() as u64, None), 0.7);
}

#[test]
fn usage_grows_with_reads_and_references_and_stays_below_one() {
    let unused = Quality::new(1.0, 0, 0);
    assert_eq!(unused.usage, 0.0);
    assert!((unused.score - 0.6).abs() < 1e-9);
    let read = Quality::new(1.0, 5, 0);
    let referenced = Quality::new(1.0, 5, 3);
    assert!(read.usage > 0.0 && referenced.usage > read.usage);
    assert!(Quality::new(1.0, u64::MAX, u64::MAX).score <= 1.0);
}
