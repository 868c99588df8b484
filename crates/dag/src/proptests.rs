//! Property tests: the run state machine and backoff delays.

use std::time::Duration;

use proptest::prelude::*;

use crate::{BackoffPolicy, ExecutionState, RunControl};

/// A command any party may send a run.
#[derive(Debug, Clone, Copy)]
enum Command {
    Start,
    Pause,
    Resume,
    Cancel,
    RetryFailed,
    Complete,
    Fail,
    To(ExecutionState),
}

fn command() -> impl Strategy<Value = Command> {
    let state = proptest::sample::select(ExecutionState::ALL.to_vec());
    prop_oneof![
        Just(Command::Start),
        Just(Command::Pause),
        Just(Command::Resume),
        Just(Command::Cancel),
        Just(Command::RetryFailed),
        Just(Command::Complete),
        Just(Command::Fail),
        state.prop_map(Command::To),
    ]
}

fn backoff() -> impl Strategy<Value = BackoffPolicy> {
    let jitter = prop_oneof![Just(0.0), 0.0..=1.0f64];
    prop_oneof![
        (any::<u64>(), jitter.clone())
            .prop_map(|(delay_ms, jitter)| BackoffPolicy::Constant { delay_ms, jitter }),
        (any::<u64>(), any::<u64>(), jitter.clone()).prop_map(|(base_ms, max_ms, jitter)| {
            BackoffPolicy::Linear {
                base_ms,
                max_ms,
                jitter,
            }
        }),
        (
            any::<u64>(),
            prop_oneof![1.0..4.0f64, 1.0..1e9f64, any::<f64>()],
            any::<u64>(),
            jitter,
        )
            .prop_map(|(base_ms, factor, max_ms, jitter)| {
                BackoffPolicy::Exponential {
                    base_ms,
                    factor,
                    max_ms,
                    jitter,
                }
            }),
    ]
}

fn attempt() -> impl Strategy<Value = u32> {
    prop_oneof![0..64u32, any::<u32>(), Just(u32::MAX - 1)]
}

proptest! {
    #[test]
    fn commands_only_follow_allowed_edges(commands in prop::collection::vec(command(), 0..64)) {
        use ExecutionState::*;
        let control = RunControl::new("prop");
        for command in commands {
            let before = control.state();
            let (result, target, only_from) = match command {
                Command::Start => (control.start(), Running, Some(Pending)),
                Command::Pause => (control.pause(), Paused, None),
                Command::Resume => (control.resume(), Running, Some(Paused)),
                Command::Cancel => (control.cancel(), Cancelled, None),
                Command::RetryFailed => (control.retry_failed(), Running, Some(Failed)),
                Command::Complete => (control.complete(), Completed, None),
                Command::Fail => (control.fail(), Failed, None),
                Command::To(to) => (control.transition(to).map(drop), to, None),
            };
            let after = control.state();
            let allowed = before.can_become(target) && only_from.is_none_or(|s| s == before);
            match result {
                Ok(()) => {
                    prop_assert!(allowed, "{before} -> {target} was accepted");
                    prop_assert_eq!(after, target);
                }
                Err(e) => {
                    prop_assert!(!allowed, "{before} -> {target} was refused");
                    prop_assert_eq!(after, before);
                    prop_assert_eq!((e.from, e.to), (before, target));
                    prop_assert_eq!(e.run.as_str(), "prop");
                }
            }
            if before.is_terminal() {
                prop_assert_eq!(after, before, "left terminal state {}", before);
            }
        }
    }

    #[test]
    fn backoff_never_exceeds_its_cap(policy in backoff(), attempt in attempt(), sample in any::<f64>()) {
        let delay = policy.delay(attempt);
        prop_assert!(delay <= policy.cap(), "{delay:?} > {:?}", policy.cap());
        let jittered = policy.jittered_delay(attempt, sample);
        prop_assert!(jittered <= delay);
        let jitter = policy.jitter();
        // The cut is at most the jitter fraction (1 µs of float slack).
        let floor = delay
            .saturating_sub(delay.mul_f64(jitter))
            .saturating_sub(Duration::from_micros(1));
        prop_assert!(jittered >= floor, "{jittered:?} < {floor:?}");
    }

    #[test]
    fn backoff_never_shrinks(policy in backoff(), attempt in attempt()) {
        let next = attempt.saturating_add(1);
        prop_assert!(policy.delay(attempt) <= policy.delay(next),
            "delay({attempt}) > delay({next}) for {policy:?}");
    }

    #[test]
    fn backoff_reaches_its_cap(base_ms in 1..10_000u64, factor in 1.5..4.0f64, max_ms in 0..=u64::from(u32::MAX)) {
        let linear = BackoffPolicy::Linear { base_ms, max_ms, jitter: 0.0 };
        let exponential = BackoffPolicy::Exponential { base_ms, factor, max_ms, jitter: 0.0 };
        for policy in [linear, exponential] {
            prop_assert_eq!(policy.delay(u32::MAX), policy.cap());
        }
    }
}
