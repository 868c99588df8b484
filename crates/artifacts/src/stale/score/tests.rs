use super::*;
use crate::stale::Tier;

/// Facts for tests: an artifact created at 0, never read.
pub(crate) fn facts(n: u8) -> ArtifactFacts {
    ArtifactFacts {
        id: format!("{n:02x}").repeat(32),
        size: 100,
        content_type: None,
        created_ms: 0,
        last_access_ms: None,
        access_count: 0,
        quality: 0.5,
        tags: vec![],
        pinned: false,
        references: 0,
        copies: 1,
        tier: Tier::Hot,
    }
}

#[test]
fn recency_halves_per_half_life() {
    let policy = RetentionPolicy {
        weights: crate::stale::Weights {
            recency: 1.0,
            frequency: 0.0,
            quality: 0.0,
            training: 0.0,
            uniqueness: 0.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let f = facts(1);
    assert!((value_score(&policy, &f, 0) - 1.0).abs() < 1e-9);
    assert!((value_score(&policy, &f, 30 * DAY_MS) - 0.5).abs() < 1e-9);
    assert!((value_score(&policy, &f, 60 * DAY_MS) - 0.25).abs() < 1e-9);
}

#[test]
fn more_use_quality_and_dependents_score_higher() {
    let policy = RetentionPolicy::default();
    let now = 40 * DAY_MS;
    let base = facts(1);
    let s0 = value_score(&policy, &base, now);
    for better in [
        ArtifactFacts {
            access_count: 9,
            ..base.clone()
        },
        ArtifactFacts {
            quality: 0.9,
            ..base.clone()
        },
        ArtifactFacts {
            references: 2,
            ..base.clone()
        },
        ArtifactFacts {
            tags: vec!["training".into()],
            ..base.clone()
        },
        ArtifactFacts {
            last_access_ms: Some(now),
            ..base.clone()
        },
    ] {
        let s = value_score(&policy, &better, now);
        assert!(s > s0 && (0.0..=1.0).contains(&s), "{s} vs {s0}");
    }
}

#[test]
fn odd_inputs_stay_in_range() {
    let policy = RetentionPolicy::default();
    let f = ArtifactFacts {
        quality: f64::NAN,
        created_ms: i64::MAX,
        access_count: u64::MAX,
        references: u64::MAX,
        copies: u64::MAX,
        ..facts(1)
    };
    for now in [i64::MIN, 0, i64::MAX] {
        let s = value_score(&policy, &f, now);
        assert!((0.0..=1.0).contains(&s), "{s}");
    }
}
