use super::ExecutionState::*;
use super::*;

const ALLOWED: [(ExecutionState, ExecutionState); 9] = [
    (Pending, Running),
    (Pending, Cancelled),
    (Running, Paused),
    (Paused, Running),
    (Running, Completed),
    (Running, Failed),
    (Running, Cancelled),
    (Paused, Cancelled),
    (Failed, Running),
];

#[test]
fn exactly_the_listed_transitions_are_allowed() {
    for from in ExecutionState::ALL {
        for to in ExecutionState::ALL {
            let expected = ALLOWED.contains(&(from, to));
            assert_eq!(from.can_become(to), expected, "{from} -> {to}");
            assert_eq!(from.transition("r", to).is_ok(), expected);
        }
    }
}

#[test]
fn terminal_states_have_no_way_out() {
    for state in ExecutionState::ALL {
        let has_exit = ExecutionState::ALL.iter().any(|&to| state.can_become(to));
        assert_eq!(state.is_terminal(), !has_exit, "{state}");
    }
    assert!(Completed.is_terminal() && Cancelled.is_terminal());
    assert!(!Failed.is_terminal());
}

#[test]
fn rejection_names_run_from_and_to() {
    let err = Completed.transition("run-7", Running).unwrap_err();
    assert_eq!(
        err,
        RunTransitionError {
            run: "run-7".into(),
            from: Completed,
            to: Running
        }
    );
    assert_eq!(
        err.to_string(),
        "run run-7: cannot go from completed to running"
    );
}

#[test]
fn serializes_lowercase() {
    for state in ExecutionState::ALL {
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{}\"", state.as_str()));
        assert_eq!(state.to_string(), state.as_str());
        let back: ExecutionState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
    }
    assert!(serde_json::from_str::<ExecutionState>("\"Running\"").is_err());
}

#[test]
fn progress_counts_and_percent() {
    let p = Progress::new(10, 5, 1, 2);
    assert_eq!(
        (p.total(), p.done(), p.remaining(), p.percent()),
        (10, 8, 2, 80.0)
    );
    assert_eq!((p.completed(), p.failed(), p.skipped()), (5, 1, 2));
    assert_eq!(Progress::new(3, 2, 0, 0).percent(), 66.7);
    assert_eq!(Progress::new(0, 0, 0, 0).percent(), 100.0);
    assert_eq!(Progress::new(4, 0, 0, 0).percent(), 0.0);
    assert_eq!(Progress::new(4, 9, 0, 0).percent(), 100.0);
    // Never 100 too early, never 0 once something is done.
    assert_eq!(Progress::new(100_000, 99_999, 0, 0).percent(), 99.9);
    assert_eq!(Progress::new(100_000, 1, 0, 0).percent(), 0.1);
}

#[test]
fn progress_serializes_every_figure() {
    let json = serde_json::to_value(Progress::new(4, 1, 1, 0)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "total": 4, "done": 2, "completed": 1, "failed": 1,
            "skipped": 0, "percent": 50.0
        })
    );
}
