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
