use super::*;

#[test]
fn wildcards_follow_nats_rules() {
    let table = [
        ("a.b", "a.b", true),
        ("a.*", "a.b", true),
        ("a.*", "a", false),
        ("a.*.c", "a.b.c", true),
        ("a.>", "a.b.c", true),
        ("a.>", "a", false),
        (">", "a", true),
        ("a.b", "a.b.c", false),
        ("a.*", "a.", false),
        ("a.>", "a.", false),
    ];
    for (pattern, subject, expected) in table {
        assert_eq!(
            subject_matches(pattern, subject),
            expected,
            "{pattern} vs {subject}"
        );
    }
}

#[test]
fn malformed_subjects_and_patterns_say_what_is_wrong() {
    assert!(validate_subject("exec.42.done").is_ok());
    assert!(validate_pattern("exec.*.>").is_ok());
    let table = [
        (validate_subject("a..b"), "token 2 is empty"),
        (validate_subject("a.*"), "wildcards are for subscriptions"),
        (validate_pattern("a.>.b"), "'>' must be the last token"),
        (validate_pattern("a.b*"), "must be whole tokens"),
        (validate_subject("a b"), "contains whitespace"),
        (validate_subject(""), "subject is empty"),
    ];
    for (result, expected) in table {
        let message = result.unwrap_err();
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
}
