use proptest::prelude::*;
use symphony_protocol::subject_matches;

use super::*;

#[test]
fn literal_star_and_rest_tokens_match_as_the_subject_rules_say() {
    let mut list = Sublist::default();
    for (i, pattern) in ["a.*", "a.>", "a.b.*", "*.b.c", ">", "a.*.c.>"]
        .iter()
        .enumerate()
    {
        list.insert(pattern, i);
    }
    let hits = |list: &Sublist<usize>, subject: &str| {
        let mut found = Vec::new();
        list.matches(subject, |v| found.push(*v));
        found.sort_unstable();
        found
    };
    assert_eq!(hits(&list, "a.b"), [0, 1, 4]);
    assert_eq!(hits(&list, "a.b.c"), [1, 2, 3, 4]);
    assert_eq!(hits(&list, "a.x.c.d.e"), [1, 4, 5]);
    assert_eq!(hits(&list, "a"), [4]);
    assert!(list.any_match("z.b.c"));
    list.remove("a.>", |v| *v == 1);
    assert_eq!(hits(&list, "a.b.c"), [2, 3, 4]);
    list.retain(|v| *v != 4);
    assert_eq!(hits(&list, "a"), Vec::<usize>::new());
    assert!(!list.any_match("q"));
    assert_eq!(list.all().len(), 4);
    list.retain(|_| false);
    assert!(list.is_empty(), "emptied branches are pruned");
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string())
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(prop_oneof![token(), Just("*".to_string())], 0..4),
        any::<bool>(),
    )
        .prop_filter_map("a pattern has a token", |(mut tokens, rest)| {
            if rest {
                tokens.push(">".into());
            }
            (!tokens.is_empty()).then(|| tokens.join("."))
        })
}

proptest! {
    /// The trie finds exactly what checking every pattern finds, through
    /// inserts and removals.
    #[test]
    fn the_trie_agrees_with_matching_every_pattern(
        patterns in proptest::collection::vec(pattern(), 0..30),
        removed in proptest::collection::vec(any::<usize>(), 0..10),
        subjects in proptest::collection::vec(proptest::collection::vec(token(), 1..6), 1..20),
    ) {
        let mut list = Sublist::default();
        let mut model: Vec<(String, usize)> = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            list.insert(p, i);
            model.push((p.clone(), i));
        }
        for r in removed {
            if model.is_empty() {
                break;
            }
            let (p, v) = model.remove(r % model.len());
            list.remove(&p, |x| *x == v);
        }
        prop_assert_eq!(list.all().len(), model.len());
        for subject in subjects {
            let subject = subject.join(".");
            let mut found = Vec::new();
            list.matches(&subject, |v| found.push(*v));
            found.sort_unstable();
            let mut expected: Vec<usize> = model
                .iter()
                .filter(|(p, _)| subject_matches(p, &subject))
                .map(|(_, v)| *v)
                .collect();
            expected.sort_unstable();
            prop_assert_eq!(&found, &expected, "subject {}", subject);
            prop_assert_eq!(list.any_match(&subject), !expected.is_empty());
        }
    }
}
