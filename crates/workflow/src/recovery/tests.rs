use serde_json::json;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn exp(base_ms: u64, factor: f64, max_ms: u64) -> BackoffPolicy {
    BackoffPolicy::Exponential {
        base_ms,
        factor,
        max_ms,
        jitter: 0.0,
    }
}

#[test]
fn constant_delay_never_changes() {
    let b = BackoffPolicy::Constant {
        delay_ms: 250,
        jitter: 0.0,
    };
    for attempt in [0, 1, 2, 10, u32::MAX] {
        assert_eq!(b.delay(attempt), ms(250));
    }
    assert_eq!(b.cap(), ms(250));
}

#[test]
fn linear_grows_by_base_up_to_the_cap() {
    let b = BackoffPolicy::Linear {
        base_ms: 100,
        max_ms: 350,
        jitter: 0.0,
    };
    let delays: Vec<_> = (0..=5).map(|n| b.delay(n)).collect();
    assert_eq!(
        delays,
        [ms(100), ms(100), ms(200), ms(300), ms(350), ms(350)]
    );
    assert_eq!(b.delay(u32::MAX), ms(350));
}

#[test]
fn exponential_multiplies_up_to_the_cap() {
    let b = exp(100, 2.0, 5_000);
    let delays: Vec<_> = (1..=8).map(|n| b.delay(n)).collect();
    let expected = [100, 200, 400, 800, 1600, 3200, 5000, 5000].map(ms);
    assert_eq!(delays, expected);
    assert_eq!(b.delay(0), ms(100));
    assert_eq!(b.delay(u32::MAX), ms(5_000));
    // Fractional factors keep sub-millisecond precision.
    assert_eq!(exp(10, 1.5, 1_000).delay(2), ms(15));
    assert_eq!(exp(1, 1.5, 1_000).delay(2), Duration::from_micros(1_500));
}

#[test]
fn degenerate_parameters_do_not_panic() {
    assert_eq!(exp(0, 2.0, 1_000).delay(u32::MAX), Duration::ZERO);
    assert_eq!(exp(u64::MAX, 2.0, u64::MAX).delay(u32::MAX), ms(u64::MAX));
    // A bad factor reads as 1 (validate reports it).
    for factor in [f64::NAN, f64::INFINITY, 0.5, -3.0] {
        assert_eq!(exp(100, factor, 1_000).delay(9), ms(100), "{factor}");
    }
    // A base above the cap is capped.
    assert_eq!(exp(900, 2.0, 500).delay(1), ms(500));
}

#[test]
fn jitter_shortens_by_at_most_its_fraction() {
    let b = BackoffPolicy::Exponential {
        base_ms: 1_000,
        factor: 2.0,
        max_ms: 60_000,
        jitter: 0.25,
    };
    assert_eq!(b.jittered_delay(1, 0.0), ms(1_000));
    assert_eq!(b.jittered_delay(1, 1.0), ms(750));
    assert_eq!(b.jittered_delay(2, 0.5), ms(1_750));
    // Out-of-range samples are clamped; NaN means no jitter.
    assert_eq!(b.jittered_delay(1, 7.0), ms(750));
    assert_eq!(b.jittered_delay(1, -1.0), ms(1_000));
    assert_eq!(b.jittered_delay(1, f64::NAN), ms(1_000));
    // Huge delays keep their precision (found by the property test).
    let huge = BackoffPolicy::Constant {
        delay_ms: 2_452_104_401_260_969,
        jitter: 0.5,
    };
    assert_eq!(huge.jittered_delay(1, 0.0), huge.delay(1));
    // No jitter configured: the sample does nothing.
    assert_eq!(exp(1_000, 2.0, 60_000).jittered_delay(1, 1.0), ms(1_000));
}

#[test]
fn validate_catches_bad_parameters() {
    assert_eq!(exp(1, 0.5, 9).validate(), Err(RecoveryError::Factor(0.5)));
    assert!(matches!(
        exp(1, f64::NAN, 9).validate(),
        Err(RecoveryError::Factor(_))
    ));
    let jittery = BackoffPolicy::Linear {
        base_ms: 1,
        max_ms: 9,
        jitter: 1.5,
    };
    assert_eq!(jittery.validate(), Err(RecoveryError::Jitter(1.5)));
    assert_eq!(BackoffPolicy::default().validate(), Ok(()));

    let no_attempts = RecoveryPolicy::Retry {
        max_attempts: 0,
        backoff: BackoffPolicy::default(),
        on: None,
    };
    assert_eq!(no_attempts.validate(), Err(RecoveryError::NoAttempts));
    let bad_backoff = RecoveryPolicy::Retry {
        max_attempts: 2,
        backoff: exp(1, 0.0, 9),
        on: None,
    };
    assert_eq!(bad_backoff.validate(), Err(RecoveryError::Factor(0.0)));
    let nameless = RecoveryPolicy::FallbackNode(" ".into());
    assert_eq!(nameless.validate(), Err(RecoveryError::EmptyFallbackNode));
    assert_eq!(
        RecoveryError::Factor(0.5).to_string(),
        "backoff factor must be a finite number of at least 1, not 0.5"
    );
}

#[test]
fn retry_delay_counts_attempts() {
    let policy = RecoveryPolicy::Retry {
        max_attempts: 3,
        backoff: BackoffPolicy::Constant {
            delay_ms: 50,
            jitter: 0.0,
        },
        on: None,
    };
    assert_eq!(policy.retry_delay(1), Some(ms(50)));
    assert_eq!(policy.retry_delay(2), Some(ms(50)));
    assert_eq!(policy.retry_delay(3), None);
    assert_eq!(policy.retry_delay(u32::MAX), None);
    for other in [
        RecoveryPolicy::FailRun,
        RecoveryPolicy::Fallback(json!(1)),
        RecoveryPolicy::RestartFromCheckpoint,
    ] {
        assert_eq!(other.retry_delay(1), None);
    }
    assert_eq!(RecoveryPolicy::default(), RecoveryPolicy::FailRun);
}

#[test]
fn reads_the_documented_json() {
    let policy: RecoveryPolicy = serde_json::from_value(json!({"retry": {
        "max_attempts": 3,
        "backoff": {"exponential": {"base_ms": 100, "factor": 2.0, "max_ms": 5000}}
    }}))
    .unwrap();
    assert_eq!(
        policy,
        RecoveryPolicy::Retry {
            max_attempts: 3,
            backoff: exp(100, 2.0, 5_000),
            on: None,
        }
    );
    let cases = [
        (
            json!({"retry": {"max_attempts": 2}}),
            RecoveryPolicy::Retry {
                max_attempts: 2,
                backoff: BackoffPolicy::default(),
                on: None,
            },
        ),
        (
            json!({"fallback": {"text": "n/a"}}),
            RecoveryPolicy::Fallback(json!({"text": "n/a"})),
        ),
        (
            json!({"fallback_node": "cheap"}),
            RecoveryPolicy::FallbackNode("cheap".into()),
        ),
        (
            json!({"skip_with_default": null}),
            RecoveryPolicy::SkipWithDefault(Value::Null),
        ),
        (json!("fail_run"), RecoveryPolicy::FailRun),
        (
            json!("restart_from_checkpoint"),
            RecoveryPolicy::RestartFromCheckpoint,
        ),
    ];
    for (value, expected) in cases {
        let parsed: RecoveryPolicy = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(parsed, expected, "{value}");
    }
}

#[test]
fn backoff_json_defaults_and_round_trip() {
    let linear: BackoffPolicy = serde_json::from_value(json!({"linear": {"base_ms": 10}})).unwrap();
    assert_eq!(linear.cap(), ms(DEFAULT_MAX_BACKOFF_MS));
    let factorless: BackoffPolicy =
        serde_json::from_value(json!({"exponential": {"base_ms": 10, "jitter": 0.1}})).unwrap();
    assert_eq!(
        factorless,
        BackoffPolicy::Exponential {
            base_ms: 10,
            factor: 2.0,
            max_ms: DEFAULT_MAX_BACKOFF_MS,
            jitter: 0.1,
        }
    );
    // Zero jitter is left out when written.
    assert_eq!(
        serde_json::to_value(exp(100, 2.0, 5_000)).unwrap(),
        json!({"exponential": {"base_ms": 100, "factor": 2.0, "max_ms": 5000}})
    );
    for policy in [
        RecoveryPolicy::Retry {
            max_attempts: 4,
            backoff: factorless,
            on: None,
        },
        RecoveryPolicy::SkipWithDefault(json!([1, 2])),
        RecoveryPolicy::FailRun,
    ] {
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            serde_json::from_str::<RecoveryPolicy>(&text).unwrap(),
            policy
        );
    }
}

#[test]
fn rejects_malformed_json() {
    for bad in [
        json!({"retry": {"max_attempts": 3, "max_attempt": 4}}),
        json!({"retry": {}}),
        json!({"exponential_backoff": {}}),
        json!("retry"),
        json!({"fallback_node": 7}),
    ] {
        assert!(
            serde_json::from_value::<RecoveryPolicy>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    for bad in [
        json!({"linear": {"base_ms": 10, "factor": 2.0}}),
        json!({"constant": {}}),
        json!({"constant": {"delay_ms": -5}}),
    ] {
        assert!(
            serde_json::from_value::<BackoffPolicy>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn refusals_are_not_retried_unless_a_policy_names_them() {
    let default: RecoveryPolicy =
        serde_json::from_value(json!({"retry": {"max_attempts": 3}})).unwrap();
    for kind in [
        FailureKind::Trap,
        FailureKind::Timeout,
        FailureKind::Unavailable,
        FailureKind::Failed,
    ] {
        assert!(default.retries(kind), "{kind:?} is retried by default");
    }
    for kind in [
        FailureKind::InvalidInput,
        FailureKind::InvalidConfig,
        FailureKind::Denied,
        FailureKind::Interrupted,
    ] {
        assert!(!default.retries(kind), "{kind:?} is not retried by default");
    }
    let only_denied: RecoveryPolicy =
        serde_json::from_value(json!({"retry": {"max_attempts": 2, "on": ["denied"]}})).unwrap();
    assert!(only_denied.retries(FailureKind::Denied));
    assert!(!only_denied.retries(FailureKind::Trap));
    assert!(!RecoveryPolicy::FailRun.retries(FailureKind::Trap));
    let unknown = serde_json::from_value::<RecoveryPolicy>(
        json!({"retry": {"max_attempts": 2, "on": ["crash"]}}),
    );
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown variant `crash`")
    );
}
