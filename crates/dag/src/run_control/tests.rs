use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::Wake;
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use ExecutionState::*;

/// Generous: a condvar wake takes microseconds, but this machine may be
/// busy compiling. The issue's bound is 100 ms.
const PROMPT: Duration = Duration::from_millis(100);
/// Long enough for a spawned worker to reach its checkpoint.
const SETTLE: Duration = Duration::from_millis(30);

fn running() -> RunControl {
    let control = RunControl::new("run-1");
    control.start().unwrap();
    control
}

#[test]
fn starts_pending_and_names_its_run() {
    let control = RunControl::new("run-1");
    assert_eq!(control.state(), Pending);
    assert_eq!(control.run_id(), "run-1");
}

#[test]
fn each_command_makes_its_transition() {
    let control = running();
    control.pause().unwrap();
    assert_eq!(control.state(), Paused);
    control.resume().unwrap();
    assert_eq!(control.state(), Running);
    control.fail().unwrap();
    assert_eq!(control.state(), Failed);
    control.retry_failed().unwrap();
    assert_eq!(control.state(), Running);
    control.complete().unwrap();
    assert_eq!(control.state(), Completed);

    for from in [Pending, Running, Paused] {
        let control = RunControl::new("c");
        if from != Pending {
            control.start().unwrap();
        }
        if from == Paused {
            control.pause().unwrap();
        }
        control.cancel().unwrap();
        assert_eq!(control.state(), Cancelled, "cancel from {from}");
    }
}

#[test]
fn refused_commands_change_nothing_and_say_why() {
    let control = RunControl::new("run-9");
    let err = control.pause().unwrap_err();
    assert_eq!(
        (err.from, err.to, err.run.as_str()),
        (Pending, Paused, "run-9")
    );
    assert!(control.resume().is_err());
    assert!(control.retry_failed().is_err());
    assert!(control.complete().is_err());
    assert!(control.fail().is_err());
    assert_eq!(control.state(), Pending);

    control.start().unwrap();
    assert!(control.start().is_err(), "already running");
    assert!(control.resume().is_err(), "not paused");
    assert!(control.retry_failed().is_err(), "not failed");
    control.fail().unwrap();
    // Failed -> Running is retry-failed, not resume or start.
    assert_eq!(control.resume().unwrap_err().from, Failed);
    assert_eq!(control.start().unwrap_err().from, Failed);
    assert!(control.cancel().is_err());
    assert_eq!(control.state(), Failed);
}

#[test]
fn terminal_states_refuse_everything() {
    let completed = running();
    completed.complete().unwrap();
    let cancelled = running();
    cancelled.cancel().unwrap();
    for control in [completed, cancelled] {
        let before = control.state();
        for to in ExecutionState::ALL {
            assert!(control.transition(to).is_err());
        }
        assert!(control.pause().is_err() && control.resume().is_err());
        assert!(control.cancel().is_err() && control.retry_failed().is_err());
        assert_eq!(control.state(), before);
    }
}

#[test]
fn transition_returns_the_state_left() {
    let control = running();
    assert_eq!(control.transition(Paused), Ok(Running));
    assert_eq!(control.transition(Cancelled), Ok(Paused));
}

#[test]
fn checkpoint_directs_by_state() {
    let control = running();
    assert_eq!(control.checkpoint(), Directive::Continue);
    assert_eq!(
        control.wait_while_paused(Duration::ZERO),
        Directive::Continue
    );
    control.pause().unwrap();
    assert_eq!(control.wait_while_paused(Duration::ZERO), Directive::Wait);
    assert_eq!(
        control.wait_while_paused(Duration::from_millis(5)),
        Directive::Wait
    );
    control.resume().unwrap();
    control.fail().unwrap();
    assert_eq!(control.checkpoint(), Directive::Stop);
    control.retry_failed().unwrap();
    control.complete().unwrap();
    assert_eq!(control.checkpoint(), Directive::Stop);
    let pending = RunControl::new("p");
    assert_eq!(pending.wait_while_paused(Duration::ZERO), Directive::Wait);
    pending.cancel().unwrap();
    assert_eq!(pending.checkpoint(), Directive::Stop);
}

/// Spawns `workers` threads blocked in `checkpoint`, applies `command`
/// once they wait, and returns each worker's directive with how long after
/// the command it woke.
fn wake_latency(
    control: &RunControl,
    workers: usize,
    command: impl FnOnce(&RunControl),
) -> Vec<(Directive, Duration)> {
    let (tx, rx) = mpsc::channel();
    for _ in 0..workers {
        let (control, tx) = (control.clone(), tx.clone());
        thread::spawn(move || {
            let directive = control.checkpoint();
            tx.send((directive, Instant::now())).unwrap();
        });
    }
    thread::sleep(SETTLE);
    assert!(rx.try_recv().is_err(), "workers must wait while paused");
    let commanded = Instant::now();
    command(control);
    (0..workers)
        .map(|_| {
            let (directive, woke) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            (directive, woke.saturating_duration_since(commanded))
        })
        .collect()
}

#[test]
fn resume_wakes_paused_workers_promptly() {
    let control = running();
    control.pause().unwrap();
    for (directive, latency) in wake_latency(&control, 4, |c| c.resume().unwrap()) {
        assert_eq!(directive, Directive::Continue);
        assert!(latency < PROMPT, "woke after {latency:?}");
    }
}

#[test]
fn cancel_wakes_paused_workers_promptly() {
    let control = running();
    control.pause().unwrap();
    for (directive, latency) in wake_latency(&control, 4, |c| c.cancel().unwrap()) {
        assert_eq!(directive, Directive::Stop);
        assert!(latency < PROMPT, "woke after {latency:?}");
    }
}

#[test]
fn start_releases_workers_waiting_for_it() {
    let control = RunControl::new("r");
    for (directive, latency) in wake_latency(&control, 2, |c| c.start().unwrap()) {
        assert_eq!(directive, Directive::Continue);
        assert!(latency < PROMPT, "woke after {latency:?}");
    }
}

#[test]
fn timed_wait_returns_early_on_resume() {
    let control = running();
    control.pause().unwrap();
    let waiter = {
        let control = control.clone();
        thread::spawn(move || {
            let directive = control.wait_while_paused(Duration::from_secs(10));
            (directive, Instant::now())
        })
    };
    thread::sleep(SETTLE);
    let resumed = Instant::now();
    control.resume().unwrap();
    let (directive, woke) = waiter.join().unwrap();
    assert_eq!(directive, Directive::Continue);
    assert!(woke.saturating_duration_since(resumed) < PROMPT);
}

#[test]
fn pause_takes_effect_at_the_next_checkpoint() {
    // A worker loops over "nodes" and checks in between; a pause stops it
    // from starting more until resumed.
    let control = running();
    let started = Arc::new(Mutex::new(0usize));
    let worker = {
        let (control, started) = (control.clone(), started.clone());
        thread::spawn(move || {
            while control.checkpoint() == Directive::Continue {
                *started.lock().unwrap() += 1;
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    thread::sleep(SETTLE);
    control.pause().unwrap();
    // At most the node in flight finishes; then nothing new starts.
    thread::sleep(Duration::from_millis(10));
    let frozen = *started.lock().unwrap();
    thread::sleep(SETTLE);
    assert_eq!(*started.lock().unwrap(), frozen);
    control.resume().unwrap();
    thread::sleep(SETTLE);
    assert!(*started.lock().unwrap() > frozen);
    control.cancel().unwrap();
    worker.join().unwrap();
}

/// A minimal executor: polls `future` on this thread, parking in between.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

#[test]
fn async_checkpoint_waits_without_blocking_and_wakes_promptly() {
    let control = running();
    assert_eq!(block_on(control.checkpoint_async()), Directive::Continue);
    control.pause().unwrap();
    for (command, expected) in [
        (
            RunControl::resume as fn(&RunControl) -> _,
            Directive::Continue,
        ),
        (RunControl::cancel, Directive::Stop),
    ] {
        if control.state() == Running {
            control.pause().unwrap();
        }
        let waiter = {
            let control = control.clone();
            thread::spawn(move || (block_on(control.checkpoint_async()), Instant::now()))
        };
        thread::sleep(SETTLE);
        let commanded = Instant::now();
        command(&control).unwrap();
        let (directive, woke) = waiter.join().unwrap();
        assert_eq!(directive, expected);
        assert!(woke.saturating_duration_since(commanded) < PROMPT);
    }
    assert!(control.lock().wakers.is_empty(), "wakers are drained");
}
