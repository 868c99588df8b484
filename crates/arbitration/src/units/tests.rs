use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use proptest::prelude::{
    Strategy as _, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use symphony_bus::{Bus, Interrupt};

use super::*;
use crate::{Arbiter, ArbitrationConfig, StrategyKind, WaitError};

type Acquiring<'a> = Pin<Box<dyn Future<Output = Result<Permit<'a>, WaitError>> + Send + 'a>>;

/// Polls futures by hand, inside a runtime's context (for their timers),
/// without ever sleeping.
struct Driver {
    runtime: tokio::runtime::Runtime,
}

impl Driver {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        Driver { runtime }
    }

    fn poll<'a>(&self, future: &mut Acquiring<'a>) -> Poll<Result<Permit<'a>, WaitError>> {
        let _context = self.runtime.enter();
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    }
}

fn acquiring(
    units: &Units,
    requester: Requester,
    count: u64,
    until: Option<Instant>,
) -> Acquiring<'_> {
    Box::pin(async move { units.acquire(&requester, count, until, None).await })
}

fn arbiter(config: &str) -> Arbiter {
    Arbiter::new(
        ArbitrationConfig::parse(config, "test").unwrap(),
        None,
        None,
    )
}

#[derive(Debug, Clone)]
enum Op {
    Acquire {
        tenant: u8,
        priority: i8,
        count: u64,
        expired: bool,
    },
    Release(usize),
    Cancel(usize),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, -2i8..3, 1u64..5, prop::bool::weighted(0.2)).prop_map(
            |(tenant, priority, count, expired)| Op::Acquire {
                tenant,
                priority,
                count,
                expired
            }
        ),
        any::<usize>().prop_map(Op::Release),
        any::<usize>().prop_map(Op::Cancel),
    ]
}

proptest! {
    /// Any sequence of acquires (some already past their deadline),
    /// releases and cancellations: granted never exceeds capacity, every
    /// grant reaches its requester exactly once, and cancelled or timed-out
    /// requests leave the line and hold nothing.
    #[test]
    fn units_are_never_overgranted_lost_or_granted_twice(
        capacity in 1u64..5,
        strategy in prop::sample::select(StrategyKind::ALL.to_vec()),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let driver = Driver::new();
        let arbiter = arbiter(&format!("[slots]\ncapacity = {capacity}\nstrategy = \"{strategy}\"\n"));
        let units = Arc::clone(arbiter.slots());
        let tenants: Vec<Requester> = (0..3).map(|t| arbiter.requester(&format!("t{t}"))).collect();
        let mut held: Vec<Permit> = Vec::new();
        let mut pending: Vec<(Acquiring<'_>, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Acquire { tenant, priority, count, expired } => {
                    let requester = tenants[tenant as usize].clone().priority(priority.into());
                    let until = expired.then(|| Instant::now() - Duration::from_millis(1));
                    pending.push((acquiring(&units, requester, count, until), count));
                }
                Op::Release(i) if !held.is_empty() => {
                    let i = i % held.len();
                    drop(held.swap_remove(i));
                }
                Op::Cancel(i) if !pending.is_empty() => {
                    let i = i % pending.len();
                    drop(pending.swap_remove(i));
                }
                _ => {}
            }
            // Settle: poll every waiter until none moves.
            loop {
                let before = pending.len();
                let mut still = Vec::new();
                for (mut future, count) in pending.drain(..) {
                    match driver.poll(&mut future) {
                        Poll::Ready(Ok(permit)) => {
                            prop_assert_eq!(permit.count(), count);
                            held.push(permit);
                        }
                        Poll::Ready(Err(WaitError::TooLarge { units: asked, capacity: has, .. })) => {
                            prop_assert!(asked > has);
                        }
                        Poll::Ready(Err(WaitError::Deadline { .. })) => {}
                        Poll::Ready(Err(other)) => prop_assert!(false, "unexpected {other}"),
                        Poll::Pending => still.push((future, count)),
                    }
                }
                pending = still;
                if pending.len() == before {
                    break;
                }
            }
            let (in_use, cap, waiting) = units.usage();
            let held_units: u64 = held.iter().map(Permit::count).sum();
            prop_assert_eq!(in_use, held_units, "units counted as held but not handed over");
            prop_assert!(in_use <= cap);
            prop_assert_eq!(waiting, pending.len());
        }
        drop(pending);
        drop(held);
        let (in_use, _, waiting) = units.usage();
        prop_assert_eq!((in_use, waiting), (0, 0));
    }
}

#[test]
fn a_waiter_is_told_its_place_and_its_deadline_ends_the_wait_with_a_typed_error() {
    let arbiter = arbiter("[slots]\ncapacity = 1\nstrategy = \"fifo\"\n");
    let units = Arc::clone(arbiter.slots());
    let told = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&told);
    let holder = units.try_acquire(&arbiter.requester("a"), 1).unwrap();
    let first = arbiter.requester("a").label("node one");
    let second = arbiter
        .requester("b")
        .label("node two")
        .on_wait(Arc::new(move |e| seen.lock().unwrap().push(e.to_string())));
    let driver = Driver::new();
    let mut one = acquiring(&units, first, 1, None);
    assert!(driver.poll(&mut one).is_pending());
    let until = Instant::now() + Duration::from_millis(20);
    let error = units
        .acquire_blocking(&second, 1, Some(until), None)
        .unwrap_err();
    assert_eq!(
        told.lock().unwrap().as_slice(),
        ["node two waits for slots: 2nd in line, no wait estimate yet (fifo, tenant b)"]
    );
    let WaitError::Deadline { position, .. } = &error else {
        panic!("expected a deadline, got {error}")
    };
    assert_eq!(*position, 2);
    assert!(error.to_string().starts_with("node two waited"), "{error}");
    // It left the line: only `one` waits, and gets the slot.
    assert_eq!(units.usage().2, 1);
    drop(holder);
    assert!(matches!(driver.poll(&mut one), Poll::Ready(Ok(_))));
}

#[test]
fn an_interrupt_ends_a_wait_and_names_the_run_being_stopped() {
    let arbiter = arbiter("[slots]\ncapacity = 1\n");
    let units = Arc::clone(arbiter.slots());
    let _holder = units.try_acquire(&arbiter.requester("a"), 1).unwrap();
    let stop = Interrupt::new();
    stop.set();
    let error = units
        .acquire_blocking(
            &arbiter.requester("b").label("node x"),
            1,
            None,
            Some(&stop),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "node x stopped waiting for slots: its run was stopped"
    );
    assert_eq!(units.usage(), (1, 1, 0));
}

#[test]
fn higher_priority_is_served_first_and_the_estimate_follows_observed_holds() {
    let arbiter = arbiter("aging_ms = 3600000\n[slots]\ncapacity = 1\nstrategy = \"priority\"\n");
    let units = Arc::clone(arbiter.slots());
    let driver = Driver::new();
    // One hold observed, so estimates have a basis.
    let first = units.try_acquire(&arbiter.requester("a"), 1).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    drop(first);
    let holder = units.try_acquire(&arbiter.requester("a"), 1).unwrap();
    let estimate = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&estimate);
    let low = arbiter
        .requester("low")
        .priority(0)
        .on_wait(Arc::new(move |e| *seen.lock().unwrap() = e.estimate_ms));
    let mut low = acquiring(&units, low, 1, None);
    let mut high = acquiring(&units, arbiter.requester("high").priority(5), 1, None);
    assert!(driver.poll(&mut low).is_pending());
    assert!(driver.poll(&mut high).is_pending());
    let estimate = estimate
        .lock()
        .unwrap()
        .expect("an estimate from the observed hold");
    assert!(
        estimate >= 5.0,
        "first in line waits about one hold: {estimate} ms"
    );
    drop(holder);
    assert!(driver.poll(&mut low).is_pending());
    let Poll::Ready(Ok(permit)) = driver.poll(&mut high) else {
        panic!("the higher priority should have been served")
    };
    drop(permit);
    assert!(matches!(driver.poll(&mut low), Poll::Ready(Ok(_))));
}

#[test]
fn fairness_below_the_floor_boosts_the_starved_tenant_and_recovers() {
    let bus = Bus::new();
    let announcements = bus.subscribe("arbitration.conflict.fairness").unwrap();
    let config = ArbitrationConfig::parse(
        "fairness_floor = 0.9\naging_ms = 3600000\n[slots]\ncapacity = 1\nstrategy = \"priority\"\n",
        "test",
    )
    .unwrap();
    let arbiter = Arbiter::new(config, Some(bus), None);
    let units = Arc::clone(arbiter.slots());
    let driver = Driver::new();
    let high = arbiter.requester("high").priority(10);
    let low = arbiter.requester("low").priority(0);
    let mut held = Some(units.try_acquire(&high, 1).unwrap());
    // A sustained stream of high-priority work, and a low-priority tenant
    // that aging alone would not rescue for an hour.
    let mut waiting: Vec<(Acquiring<'_>, &str)> = Vec::new();
    for _ in 0..4 {
        waiting.push((acquiring(&units, high.clone(), 1, None), "high"));
        waiting.push((acquiring(&units, low.clone(), 1, None), "low"));
    }
    let mut served = Vec::new();
    for _ in 0..200 {
        for (future, _) in &mut waiting {
            let _ = driver.poll(future);
        }
        drop(held.take());
        let mut next = Vec::new();
        for (mut future, who) in waiting.drain(..) {
            match driver.poll(&mut future) {
                Poll::Ready(Ok(permit)) => {
                    served.push(who);
                    held = Some(permit);
                    // Each served request is followed by another.
                    let requester = if who == "high" {
                        high.clone()
                    } else {
                        low.clone()
                    };
                    next.push((acquiring(&units, requester, 1, None), who));
                }
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => next.push((future, who)),
            }
        }
        waiting = next;
    }
    let first: Vec<&str> = served[..8].to_vec();
    assert!(
        first.iter().all(|w| *w == "high"),
        "priority first: {first:?}"
    );
    let lows = served.iter().filter(|w| **w == "low").count();
    assert!(
        lows > 40,
        "the starved tenant was boosted: {lows} of {} grants",
        served.len()
    );
    let boosted = announcements
        .try_recv()
        .expect("the floor breach is announced");
    let body: serde_json::Value = serde_json::from_slice(&boosted.payload).unwrap();
    assert_eq!(body["boosted"], "low");
    let recovered = announcements.try_recv().expect("the recovery is announced");
    let body: serde_json::Value = serde_json::from_slice(&recovered.payload).unwrap();
    assert_eq!(body["recovered"], "low");
    // Held near the floor (boosting when it dips) rather than collapsing
    // to 1/2, all to the high-priority tenant.
    let stats = arbiter.stats();
    assert!(stats.resources[0].jain >= 0.8, "{:?}", stats.resources[0]);
}

#[test]
fn threads_racing_grants_against_deadlines_leave_nothing_held_or_waiting() {
    // Deadlines so short that many waits give up just as they are served:
    // the race where a grant meets a give-up must neither lose the units
    // nor give them back twice.
    let arbiter = arbiter("[slots]\ncapacity = 1\nstrategy = \"fair-share\"\n");
    let units = Arc::clone(arbiter.slots());
    let granted = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..6u64 {
            let (units, arbiter, granted) = (&units, &arbiter, &granted);
            scope.spawn(move || {
                let requester = arbiter.requester(&format!("t{}", t % 3));
                for i in 0..1_000u64 {
                    let until = Instant::now() + Duration::from_micros((i * 7 + t * 13) % 100);
                    if let Ok(permit) = units.acquire_blocking(&requester, 1, Some(until), None) {
                        granted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let (in_use, capacity, _) = units.usage();
                        assert!(in_use <= capacity, "{in_use} of {capacity} in use");
                        let held = Instant::now();
                        while held.elapsed() < Duration::from_micros(20) {
                            std::hint::spin_loop();
                        }
                        drop(permit);
                    }
                }
            });
        }
    });
    assert_eq!(units.usage(), (0, 1, 0));
    assert!(granted.into_inner() > 0);
}
