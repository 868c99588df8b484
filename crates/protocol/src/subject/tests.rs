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

mod within {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![Just("a".to_string()), Just("b".to_string())]
    }

    fn pattern() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(prop_oneof![token(), Just("*".to_string())], 0..3),
            any::<bool>(),
        )
            .prop_map(|(mut tokens, tail)| {
                if tail || tokens.is_empty() {
                    tokens.push(">".into());
                }
                tokens.join(".")
            })
    }

    fn subject() -> impl Strategy<Value = String> {
        proptest::collection::vec(token(), 1..5).prop_map(|t| t.join("."))
    }

    proptest! {
        /// A pattern within a grant never reaches a subject the grant does
        /// not: what the service relies on to confine extension peers.
        #[test]
        fn a_pattern_within_another_matches_nothing_more(
            inner in pattern(),
            outer in pattern(),
            subjects in proptest::collection::vec(subject(), 1..20),
        ) {
            if pattern_within(&inner, &outer) {
                for subject in &subjects {
                    prop_assert!(
                        !subject_matches(&inner, subject) || subject_matches(&outer, subject),
                        "{inner} within {outer}, but {subject} escapes"
                    );
                }
            }
        }
    }

    #[test]
    fn a_pattern_is_within_itself_and_not_within_a_narrower_one() {
        for p in ["a", "a.*", "a.>", "*.b", ">"] {
            assert!(pattern_within(p, p), "{p}");
        }
        assert!(!pattern_within("a.*", "a.b"));
        assert!(!pattern_within("a.>", "a.*.c"));
        assert!(!pattern_within("a", "a.>"));
    }
}

#[test]
fn an_inbox_names_its_endpoint_and_number_and_is_a_valid_subject() {
    for (endpoint, number) in [("echo", 0), ("a.b", 7), ("svc", u64::MAX)] {
        let inbox = inbox(endpoint, number);
        assert_eq!(inbox, format!("_inbox.{endpoint}.{number}"));
        assert!(validate_subject(&inbox).is_ok(), "{inbox}");
    }
}

proptest::proptest! {
    /// The one-pass check accepts only what the token-by-token check
    /// accepts, and accepts every plain subject.
    #[test]
    fn the_fast_subject_check_agrees_with_the_full_one(
        text in "[a-z0-9.*> \t\u{a0}é_-]{0,12}",
    ) {
        if plain_subject(text.as_bytes()) {
            proptest::prop_assert!(check_tokens(&text, false).is_ok(), "{text:?}");
        }
        if check_tokens(&text, false).is_ok() && text.is_ascii() {
            proptest::prop_assert!(plain_subject(text.as_bytes()), "{text:?}");
        }
    }
}
