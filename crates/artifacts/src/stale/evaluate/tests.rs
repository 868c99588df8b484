//! Engine rules, one test per rule, and the protection property.

use proptest::prelude::*;

use super::*;
use crate::stale::score::tests::facts;

const NOW: i64 = 100 * DAY_MS;

fn age_policy() -> RetentionPolicy {
    RetentionPolicy {
        max_age_days: Some(30),
        min_access_count: Some(2),
        min_quality: Some(0.3),
        ..RetentionPolicy::default()
    }
}

fn only(policy: &RetentionPolicy, f: ArtifactFacts) -> Decision {
    evaluate(policy, &[f], NOW).remove(0)
}

#[test]
fn old_low_value_is_deleted_with_reasons() {
    let f = ArtifactFacts {
        created_ms: NOW - 41 * DAY_MS,
        quality: 0.12,
        ..facts(1)
    };
    let d = only(&age_policy(), f);
    assert_eq!(d.action, Action::Delete);
    let text: Vec<String> = d.reasons.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        text,
        [
            "older than 30 days (41 days)",
            "accessed 0 times (< 2)",
            "quality 0.12 < 0.30"
        ]
    );
}

#[test]
fn old_but_valuable_is_kept() {
    let f = ArtifactFacts {
        created_ms: 0,
        access_count: 5,
        quality: 0.9,
        ..facts(1)
    };
    assert_eq!(only(&age_policy(), f).action, Action::Keep);
}

#[test]
fn protected_artifacts_survive_the_age_rule() {
    let old = ArtifactFacts {
        created_ms: 0,
        ..facts(1)
    };
    let cases = [
        (
            ArtifactFacts {
                pinned: true,
                ..old.clone()
            },
            "pinned",
        ),
        (
            ArtifactFacts {
                tags: vec!["keep".into()],
                ..old.clone()
            },
            "tagged keep",
        ),
        (
            ArtifactFacts {
                tags: vec!["training".into()],
                ..old.clone()
            },
            "training data",
        ),
    ];
    for (f, reason) in cases {
        let d = only(&age_policy(), f);
        assert_eq!(d.action, Action::Keep);
        assert_eq!(d.reasons[0].to_string(), reason);
    }
    let unpreserved = RetentionPolicy {
        preserve_training: false,
        ..age_policy()
    };
    let f = ArtifactFacts {
        tags: vec!["training".into()],
        ..old
    };
    assert_eq!(only(&unpreserved, f).action, Action::Delete);
}

#[test]
fn idle_artifacts_move_down_but_pinned_stay_hot() {
    let policy = RetentionPolicy {
        archive_after_days: Some(14),
        cold_after_days: Some(60),
        ..RetentionPolicy::default()
    };
    let at = |idle_days: i64, tier| ArtifactFacts {
        created_ms: 0,
        last_access_ms: Some(NOW - idle_days * DAY_MS),
        tier,
        ..facts(1)
    };
    assert_eq!(only(&policy, at(3, Tier::Hot)).action, Action::Keep);
    assert_eq!(
        only(&policy, at(20, Tier::Hot)).action,
        Action::Archive(Tier::Warm)
    );
    assert_eq!(
        only(&policy, at(61, Tier::Hot)).action,
        Action::Archive(Tier::Cold)
    );
    assert_eq!(
        only(&policy, at(61, Tier::Warm)).action,
        Action::Archive(Tier::Cold)
    );
    assert_eq!(only(&policy, at(20, Tier::Cold)).action, Action::Keep);
    let pinned = ArtifactFacts {
        pinned: true,
        ..at(90, Tier::Hot)
    };
    assert_eq!(only(&policy, pinned).action, Action::Keep);
    let kept = ArtifactFacts {
        tags: vec!["keep".into()],
        ..at(20, Tier::Hot)
    };
    let d = only(&policy, kept);
    assert_eq!(d.action, Action::Archive(Tier::Warm));
    assert_eq!(
        d.reasons[1].to_string(),
        "idle 20 days (≥ 14), to the warm tier"
    );
}

#[test]
fn budget_deletes_lowest_scores_first() {
    let policy = RetentionPolicy {
        max_total_bytes: Some(5 << 20),
        ..RetentionPolicy::default()
    };
    let mib = 1 << 20;
    let mut all = Vec::new();
    for (n, accesses) in [(1u8, 9u64), (2, 0), (3, 3), (4, 1)] {
        all.push(ArtifactFacts {
            size: 2 * mib,
            access_count: accesses,
            ..facts(n)
        });
    }
    all.push(ArtifactFacts {
        size: 2 * mib,
        pinned: true,
        ..facts(5)
    });
    let d = evaluate(&policy, &all, NOW);
    let deleted: Vec<&str> = d
        .iter()
        .filter(|d| d.action == Action::Delete)
        .map(|d| &d.id[..2])
        .collect();
    // 10 MiB against a 5 MiB budget: the two never/once-read go first, then
    // the thrice-read; the pinned one is never chosen.
    assert_eq!(deleted, ["02", "03", "04"]);
    assert_eq!(
        d[1].reasons[0].to_string(),
        "over the size budget by 5.0 MiB"
    );
}

#[test]
fn human_bytes_formats() {
    assert_eq!(human_bytes(512), "512 B");
    assert_eq!(human_bytes(3_250_586), "3.1 MiB");
    assert_eq!(human_bytes(2 << 30), "2.0 GiB");
}

fn arb_facts() -> impl Strategy<Value = Vec<ArtifactFacts>> {
    let tag = prop::sample::select(vec!["keep", "training", "x", "golden"]);
    let one = (
        0u64..5_000,
        0i64..200,
        prop::option::of(0i64..200),
        0u64..10,
        prop_oneof![Just(f64::NAN), -0.5f64..1.5],
        prop::collection::vec(tag, 0..3),
        any::<bool>(),
        (0u64..3, 1u64..3),
        prop::sample::select(vec![Tier::Hot, Tier::Warm, Tier::Cold]),
    );
    prop::collection::vec(one, 0..24).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    (size, created, access, count, quality, tags, pinned, (refs, copies), tier),
                )| {
                    ArtifactFacts {
                        id: format!("{i:064x}"),
                        size,
                        content_type: None,
                        created_ms: created * DAY_MS,
                        last_access_ms: access.map(|a| a * DAY_MS),
                        access_count: count,
                        quality,
                        tags: tags.into_iter().map(String::from).collect(),
                        pinned,
                        references: refs,
                        copies,
                        tier,
                    }
                },
            )
            .collect()
    })
}

fn arb_policy() -> impl Strategy<Value = RetentionPolicy> {
    (
        prop::option::of(0u32..100),
        prop::option::of(0u64..5),
        prop::option::of(0.0f64..=1.0),
        any::<bool>(),
        prop::option::of(1u64..20_000),
        prop::option::of(0u32..50),
        prop::option::of(0u32..50),
    )
        .prop_map(
            |(age, count, quality, training, budget, warm, cold)| RetentionPolicy {
                max_age_days: age,
                min_access_count: count,
                min_quality: quality,
                keep_tags: vec!["keep".into(), "golden".into()],
                preserve_training: training,
                max_total_bytes: budget,
                archive_after_days: warm,
                cold_after_days: cold,
                ..RetentionPolicy::default()
            },
        )
}

proptest! {
    #[test]
    fn protected_never_deleted_and_decisions_deterministic(
        policy in arb_policy(),
        all in arb_facts(),
        now_days in 0i64..400,
    ) {
        let now = now_days * DAY_MS;
        let decisions = evaluate(&policy, &all, now);
        prop_assert_eq!(decisions.len(), all.len());
        for (f, d) in all.iter().zip(&decisions) {
            prop_assert_eq!(&f.id, &d.id);
            prop_assert!((0.0..=1.0).contains(&d.score));
            let protected = f.pinned
                || f.tags.iter().any(|t| policy.keep_tags.contains(t))
                || (policy.preserve_training && f.tags.iter().any(|t| t == "training"));
            if protected {
                prop_assert_ne!(d.action, Action::Delete, "{}", d);
            }
            if f.pinned {
                prop_assert_eq!(d.action, Action::Keep, "{}", d);
            }
            if let Action::Archive(tier) = d.action {
                prop_assert!(tier > f.tier);
            }
        }
        // The same inputs give the same decisions, in any order.
        let again = evaluate(&policy, &all, now);
        prop_assert_eq!(format!("{decisions:?}"), format!("{again:?}"));
        let mut reversed_input = all.clone();
        reversed_input.reverse();
        let mut reversed = evaluate(&policy, &reversed_input, now);
        reversed.reverse();
        prop_assert_eq!(format!("{decisions:?}"), format!("{reversed:?}"));
    }
}
