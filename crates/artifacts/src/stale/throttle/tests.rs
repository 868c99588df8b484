use std::sync::Mutex;

use super::*;

/// A clock that only moves when slept on, recording each sleep.
#[derive(Default)]
pub(crate) struct FakeClock {
    /// The current time and every sleep so far.
    pub(crate) state: Mutex<(Duration, Vec<Duration>)>,
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.state.lock().unwrap().0
    }

    fn sleep(&self, duration: Duration) {
        let mut state = self.state.lock().unwrap();
        state.0 += duration;
        state.1.push(duration);
    }
}

#[test]
fn bytes_bucket_sleeps_for_the_debt() {
    let clock = Arc::new(FakeClock::default());
    let policy = ThrottlePolicy {
        max_bytes_per_sec: Some(100),
        max_ops_per_sec: None,
    };
    let mut throttle = Throttle::new(&policy, clock.clone());
    throttle.admit(100); // the first second's worth is there
    throttle.admit(250); // 2.5 s of debt
    throttle.admit(50); // another 0.5 s
    let sleeps = clock.state.lock().unwrap().1.clone();
    assert_eq!(
        sleeps,
        [Duration::from_millis(2500), Duration::from_millis(500)]
    );
    assert_eq!(throttle.slept(), Duration::from_secs(3));
}

#[test]
fn ops_bucket_paces_operations_and_unlimited_never_sleeps() {
    let clock = Arc::new(FakeClock::default());
    let policy = ThrottlePolicy {
        max_bytes_per_sec: None,
        max_ops_per_sec: Some(2.0),
    };
    let mut throttle = Throttle::new(&policy, clock.clone());
    for _ in 0..6 {
        throttle.admit(1 << 30);
    }
    // Two free, then one every half second.
    assert_eq!(clock.state.lock().unwrap().1.len(), 4);
    assert_eq!(throttle.slept(), Duration::from_secs(2));

    let mut free = Throttle::new(&ThrottlePolicy::default(), clock.clone());
    free.admit(u64::MAX);
    assert_eq!(free.slept(), Duration::ZERO);
}
