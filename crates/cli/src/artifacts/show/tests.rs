use super::*;

#[test]
fn dates_parse_to_utc_midnight_and_bad_ones_say_what_is_expected() {
    assert_eq!(parse_time("--since", "1970-01-02").unwrap(), 86_400_000);
    assert_eq!(
        parse_time("--since", "2026-11-22").unwrap(),
        1_795_305_600_000
    );
    assert_eq!(parse_time("--since", "1234").unwrap(), 1234);
    let err = parse_time("--until", "22/11/2026").unwrap_err().to_string();
    assert!(
        err.contains("--until 22/11/2026: expected YYYY-MM-DD"),
        "{err}"
    );
    assert!(parse_time("--until", "2026-13-01").is_err());
}

#[test]
fn a_listing_row_names_a_few_tags_and_counts_the_rest() {
    let tags: Vec<String> = (0..1500).map(|i| format!("node:n{i}")).collect();
    let row = tag_list(&tags);
    assert!(row.ends_with("(+1494 more)"), "{row}");
    assert!(row.len() < 100, "{row}");
    let few = vec!["a".to_string(), "b".to_string()];
    assert_eq!(tag_list(&few), "a,b");
}
