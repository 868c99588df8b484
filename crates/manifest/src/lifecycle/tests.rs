use super::LifecycleState::*;
use super::*;
use proptest::prelude::*;

const ALL: [LifecycleState; 7] = [
    Discovered, Resolved, Loaded, Active, Inactive, Unloaded, Failed,
];

#[test]
fn the_load_path_is_allowed_step_by_step() {
    let mut life = Lifecycle::new();
    for to in [
        Resolved, Loaded, Active, Inactive, Active, Inactive, Unloaded,
    ] {
        life.step("x", to, "test").unwrap();
    }
    assert_eq!(life.history.len(), 7);
    assert_eq!(life.history[0].from, Discovered);
}

#[test]
fn skipping_a_step_or_leaving_unloaded_is_refused() {
    let mut life = Lifecycle::new();
    let error = life.step("x", Active, "").unwrap_err();
    assert_eq!((error.from, error.to), (Discovered, Active));
    for to in [Resolved, Loaded, Active] {
        life.step("x", to, "").unwrap();
    }
    let error = life.step("x", Unloaded, "").unwrap_err();
    assert!(error.to_string().contains("deactivate it first"), "{error}");
    life.step("x", Inactive, "").unwrap();
    life.step("x", Unloaded, "").unwrap();
    for to in ALL {
        assert!(life.step("x", to, "").is_err(), "unloaded -> {to}");
    }
}

#[test]
fn crashes_quarantine_only_within_the_window() {
    let policy = CrashPolicy {
        max_failures: 3,
        window: Duration::from_secs(3600),
    };
    let mut life = Lifecycle::new();
    assert!(!life.crashed(&policy, "a".into()));
    assert!(!life.crashed(&policy, "b".into()));
    assert!(life.crashed(&policy, "c".into()));
    assert_eq!(life.failures, 3);
    assert_eq!(life.last_error.as_deref(), Some("c"));

    let short = CrashPolicy {
        max_failures: 2,
        window: Duration::ZERO,
    };
    let mut life = Lifecycle::new();
    assert!(!life.crashed(&short, "a".into()));
    std::thread::sleep(Duration::from_millis(2));
    assert!(!life.crashed(&short, "b".into()), "the first fell out");
    let never = CrashPolicy {
        max_failures: 0,
        ..policy
    };
    assert!((0..10).all(|_| !life.crashed(&never, "x".into())));
}

#[test]
fn state_numbers_round_trip() {
    for state in ALL {
        assert_eq!(LifecycleState::from_u8(state.to_u8()), state);
    }
}

proptest! {
    /// Whatever is asked, the state only ever changes along an allowed
    /// edge, the history records exactly the accepted steps, chained,
    /// and stays bounded.
    #[test]
    fn only_allowed_steps_change_the_state(steps in prop::collection::vec(0..7usize, 0..200)) {
        let mut life = Lifecycle::new();
        let mut accepted = 0usize;
        for i in steps {
            let to = ALL[i];
            let before = life.state;
            match life.step("x", to, "") {
                Ok(t) => {
                    prop_assert!(before.can_become(to));
                    prop_assert_eq!((t.from, t.to), (before, to));
                    prop_assert_eq!(life.state, to);
                    accepted += 1;
                }
                Err(_) => {
                    prop_assert!(!before.can_become(to));
                    prop_assert_eq!(life.state, before);
                }
            }
        }
        prop_assert_eq!(life.history.len(), accepted.min(HISTORY_LIMIT));
        for pair in life.history.windows(2) {
            prop_assert_eq!(pair[0].to, pair[1].from);
        }
    }
}
