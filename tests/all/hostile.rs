//! Misbehaving guests are stopped, and the host keeps serving.

use std::time::Duration;

use serde_json::json;
use symphony_host::extension::{
    CallError, ExtError, FsAccess, Grants, Limits, LoadOptions, Operator,
};
use symphony_tests::{TestHost, bare_host, call, with_hostile};

fn hostile(limits: Limits, grants: Grants) -> (TestHost, Operator) {
    let options = LoadOptions {
        limits: Some(limits),
        grants,
        ..LoadOptions::default()
    };
    with_hostile(bare_host(), options)
}

fn still_serves(op: &Operator) {
    assert_eq!(
        call(op, json!({"mode": "echo", "value": [1, 2]})).unwrap(),
        "[1,2]"
    );
}

#[test]
fn infinite_loop_is_stopped_by_fuel_and_the_host_keeps_serving() {
    let limits = Limits {
        fuel: 20_000_000,
        ..Limits::default()
    };
    let (_host, op) = hostile(limits, Grants::none());
    let err = call(&op, json!({"mode": "spin"})).unwrap_err();
    assert!(
        matches!(
            err,
            CallError::OutOfFuel {
                fuel: 20_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("hostile.process ran out of fuel"),
        "{err}"
    );
    still_serves(&op);
}

#[test]
fn infinite_loop_is_stopped_by_the_epoch_deadline() {
    let limits = Limits {
        fuel: u64::MAX,
        deadline: Duration::from_millis(150),
        ..Limits::default()
    };
    let (_host, op) = hostile(limits, Grants::none());
    let err = call(&op, json!({"mode": "spin"})).unwrap_err();
    assert!(matches!(err, CallError::Deadline { .. }), "{err}");
    assert!(
        err.to_string().contains("ran past its 150ms deadline"),
        "{err}"
    );
    still_serves(&op);
}

#[test]
fn memory_growth_past_the_limit_fails_cleanly() {
    let limits = Limits {
        memory: 16 << 20,
        ..Limits::default()
    };
    let (_host, op) = hostile(limits, Grants::none());
    let err = call(&op, json!({"mode": "grow"})).unwrap_err();
    match &err {
        CallError::MemoryLimit {
            limit, requested, ..
        } => {
            assert_eq!(*limit, 16 << 20);
            assert!(*requested > *limit);
        }
        other => panic!("expected a memory limit error, got {other}"),
    }
    still_serves(&op);
}

#[test]
fn a_panicking_guest_traps_and_is_replaced() {
    let (_host, op) = hostile(Limits::default(), Grants::none());
    let err = call(&op, json!({"mode": "panic"})).unwrap_err();
    assert!(matches!(err, CallError::Trap { .. }), "{err}");
    still_serves(&op);
}

#[test]
fn reading_a_host_file_without_a_grant_fails() {
    let secret = tempfile::tempdir().unwrap();
    let path = secret.path().join("secret.txt");
    std::fs::write(&path, "top secret").unwrap();
    let (_host, op) = hostile(Limits::default(), Grants::none());
    for target in [path.display().to_string(), "/etc/passwd".to_string()] {
        let err = call(&op, json!({"mode": "read", "path": target})).unwrap_err();
        match err {
            CallError::Guest {
                error: ExtError::Failed(message),
                ..
            } => {
                assert!(message.contains("cannot read"), "{message}");
            }
            other => panic!("expected the guest's read to fail, got {other}"),
        }
    }
}

#[test]
fn granted_directories_are_readable_and_read_only_when_granted_so() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("note.txt"), "granted text").unwrap();
    let grants = Grants::none().dir(data.path(), "/data", FsAccess::Read);
    let (_host, op) = hostile(Limits::default(), grants);
    let text = call(&op, json!({"mode": "read", "path": "/data/note.txt"})).unwrap();
    assert_eq!(text, "\"granted text\"");
    let err = call(
        &op,
        json!({"mode": "write", "path": "/data/new.txt", "content": "x"}),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CallError::Guest {
                error: ExtError::Failed(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(!data.path().join("new.txt").exists());
}

#[test]
fn environment_is_empty_unless_granted() {
    let (_host, op) = hostile(Limits::default(), Grants::none());
    assert_eq!(
        call(&op, json!({"mode": "env", "name": "PATH"})).unwrap(),
        "null"
    );
    let (_host, op) = hostile(Limits::default(), Grants::none().env("MODEL", "small"));
    assert_eq!(
        call(&op, json!({"mode": "env", "name": "MODEL"})).unwrap(),
        "\"small\""
    );
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn guest_stdout_and_stderr_go_to_the_host_log_line_by_line() {
    let (_host, op) = hostile(Limits::default(), Grants::none());
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let input = json!({"mode": "print", "stdout": "first line\nsecond line", "stderr": "warning: partial"});
        assert_eq!(call(&op, input).unwrap(), "\"printed\"");
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "symphony::guest: first line extension=hostile stream=\"stdout\"",
        "symphony::guest: second line extension=hostile stream=\"stdout\"",
        "symphony::guest: warning: partial extension=hostile stream=\"stderr\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn a_caller_waits_for_a_busy_instance_and_gets_it_when_freed() {
    let limits = Limits {
        fuel: u64::MAX,
        deadline: Duration::from_millis(1000),
        max_instances: 1,
        ..Limits::default()
    };
    let (_host, op) = hostile(limits, Grants::none());
    let spinner = op.clone();
    let spinning = std::thread::spawn(move || call(&spinner, json!({"mode": "spin"})));
    // Start waiting well after the spin began, so the wait (one deadline
    // long) outlasts the spin by a margin that survives a loaded machine,
    // where the epoch ticker and the spinner may be scheduled late.
    std::thread::sleep(Duration::from_millis(400));
    // The only instance is spinning; this call waits until the deadline
    // frees it, then runs on a fresh instance.
    still_serves(&op);
    let err = spinning.join().unwrap().unwrap_err();
    assert!(matches!(err, CallError::Deadline { .. }), "{err}");
}
