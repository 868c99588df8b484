//! Property tests of the strategies on a simulated clock: a resource of
//! `capacity` units serving jobs through the same [`Queue`] and ledger the
//! real resources use, time advanced by events, never by sleeping.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::ledger::Book;
use crate::queue::{Ask, Queue};
use crate::strategy::{EarliestDeadline, FairShare, PriorityAging, RoundRobin, Strategy};

/// A job for the simulated resource.
#[derive(Debug, Clone)]
struct Job {
    tenant: u32,
    priority: i32,
    /// Arrival, from the start.
    arrive: Duration,
    /// Due, from the start.
    due: Option<Duration>,
    units: u64,
    service: Duration,
}

/// When each job started and ended, in grant order.
#[derive(Debug, Clone)]
struct Served {
    job: usize,
    start: Duration,
    end: Duration,
}

/// Runs `jobs` on a resource of `capacity` with `strategy`, as `Units`
/// does: a job takes free units at once if nobody waits, otherwise joins
/// the line; freed units go to the line's next (if it fits). Checks on the
/// way that granted never exceeds capacity.
fn simulate(
    strategy: Box<dyn Strategy>,
    capacity: u64,
    jobs: &[Job],
    weights: &[f64],
) -> Result<Vec<Served>, TestCaseError> {
    let t0 = Instant::now();
    let mut book = Book::default();
    for (t, w) in weights.iter().enumerate() {
        book.set_weight(t as u32, *w);
    }
    let mut queue: Queue<usize> = Queue::new(strategy, t0);
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| (jobs[j].arrive, j));
    let mut arrivals = order.into_iter().peekable();
    let mut running: Vec<(Duration, u64)> = Vec::new();
    let mut in_use = 0u64;
    let mut served = Vec::new();
    let tenants = weights.len() as u32;
    loop {
        let next_end = running.iter().map(|(end, _)| *end).min();
        let next_arrival = arrivals.peek().map(|&j| jobs[j].arrive);
        let now = match (next_end, next_arrival) {
            (None, None) => break,
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or_default(),
        };
        running.retain(|(end, units)| {
            if *end <= now {
                in_use -= units;
                false
            } else {
                true
            }
        });
        while let Some(&j) = arrivals.peek() {
            if jobs[j].arrive > now {
                break;
            }
            arrivals.next();
            let job = &jobs[j];
            if queue.is_empty() && in_use + job.units <= capacity {
                in_use += job.units;
                running.push((now + job.service, job.units));
                served.push(Served {
                    job: j,
                    start: now,
                    end: now + job.service,
                });
                continue;
            }
            let ask = Ask {
                tenant: job.tenant,
                priority: job.priority,
                deadline: job.due.map(|d| t0 + d),
                units: job.units,
            };
            queue.push(ask, t0 + now, j);
        }
        loop {
            let free = capacity - in_use;
            let next = book.with_context(t0 + now, t0, tenants, capacity, |ctx| {
                let head = queue.peek(ctx)?;
                (head.entry.units <= free).then(|| queue.pop(ctx)).flatten()
            });
            let Some(waiter) = next else { break };
            let j = waiter.payload;
            book.charge(jobs[j].tenant, 0, jobs[j].units, capacity);
            in_use += jobs[j].units;
            prop_assert!(in_use <= capacity, "granted {in_use} of {capacity}");
            running.push((now + jobs[j].service, jobs[j].units));
            served.push(Served {
                job: j,
                start: now,
                end: now + jobs[j].service,
            });
        }
    }
    // No request lost or granted twice.
    let mut seen: Vec<usize> = served.iter().map(|s| s.job).collect();
    seen.sort_unstable();
    prop_assert_eq!(seen, (0..jobs.len()).collect::<Vec<_>>());
    Ok(served)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A low-priority request facing a sustained stream of higher-priority
    /// work is served once its aged priority passes theirs: after at most
    /// the jobs that arrived within (Δpriority) aging steps of it.
    #[test]
    fn aging_serves_every_request_within_a_bound_under_a_stream_of_higher_priority(
        step_ms in 1u64..50,
        gap in 1u64..10,
        service in 1u64..10,
        high in 1i32..20,
        low_at in 0u64..200,
    ) {
        // Arrivals at least as fast as service: the high stream alone keeps
        // the resource busy and its line growing.
        let gap = gap.min(service);
        let mut jobs: Vec<Job> = (0..2000)
            .map(|i| Job { tenant: 0, priority: high, arrive: ms(i * gap), due: None, units: 1, service: ms(service) })
            .collect();
        jobs.push(Job { tenant: 1, priority: 0, arrive: ms(low_at), due: None, units: 1, service: ms(service) });
        let low = jobs.len() - 1;
        let served = simulate(Box::new(PriorityAging { step: ms(step_ms) }), 1, &jobs, &[1.0, 1.0])?;
        let start = served.iter().find(|s| s.job == low).unwrap().start;
        // Jobs that can outrank it arrived before low_at + Δ·step (+1 for a tie).
        let horizon = ms(low_at) + ms(step_ms) * (high as u32 + 1);
        let ahead = jobs[..low].iter().filter(|j| j.arrive <= horizon).count() as u32;
        let bound = ms(low_at) + ms(service) * (ahead + 1);
        prop_assert!(start <= bound, "served at {start:?}, bound {bound:?}");
    }

    /// Backlogged tenants under fair share: after every grant, each
    /// tenant's grants divided by its weight stay within one request of
    /// every other's.
    #[test]
    fn fair_share_keeps_every_tenant_within_one_request_of_its_weighted_share(
        weights in proptest::collection::vec(1u8..5, 2..5),
        capacity in 1u64..4,
        per_tenant in 20usize..60,
    ) {
        let weights: Vec<f64> = weights.into_iter().map(f64::from).collect();
        let mut jobs = Vec::new();
        for (t, _) in weights.iter().enumerate() {
            for _ in 0..per_tenant {
                jobs.push(Job { tenant: t as u32, priority: 0, arrive: Duration::ZERO, due: None, units: 1, service: ms(1) });
            }
        }
        let served = simulate(Box::new(FairShare), capacity, &jobs, &weights)?;
        let mut grants = vec![0u64; weights.len()];
        let mut left = vec![per_tenant; weights.len()];
        for (i, s) in served.iter().enumerate() {
            let tenant = jobs[s.job].tenant as usize;
            left[tenant] -= 1;
            // The first `capacity` jobs took free units before anyone
            // waited: not arbitrated, not counted.
            if i < capacity as usize {
                continue;
            }
            grants[tenant] += 1;
            let backlogged: Vec<usize> = (0..weights.len()).filter(|&t| left[t] > 0).collect();
            for &a in &backlogged {
                for &b in &backlogged {
                    let lag = grants[a] as f64 / weights[a] - grants[b] as f64 / weights[b];
                    prop_assert!(lag <= (1.0 / weights[a]).max(1.0 / weights[b]) + 1e-9,
                        "tenant {a} ahead of {b} by {lag} with grants {grants:?} and weights {weights:?}");
                }
            }
        }
    }

    /// Earliest deadline first misses no deadline when the jobs fit
    /// (utilisation ≤ 1), whatever order they arrive in.
    #[test]
    fn earliest_deadline_first_misses_nothing_while_utilisation_is_at_most_one(
        services in proptest::collection::vec(1u64..20, 1..40),
        slack in proptest::collection::vec(0u64..5, 40),
        arrival_order in proptest::collection::vec(any::<u64>(), 40),
    ) {
        // A feasible schedule exists: in deadline order, each job's
        // deadline covers every job before it.
        let mut due = 0;
        let mut extra = 0;
        let mut jobs: Vec<Job> = services.iter().zip(&slack).map(|(&s, &e)| {
            extra += e;
            due += s;
            Job { tenant: 0, priority: 0, arrive: Duration::ZERO, due: Some(ms(due + extra)), units: 1, service: ms(s) }
        }).collect();
        // They all arrive at once, queued in a random order behind a
        // blocker that holds the resource for nothing.
        let mut keyed: Vec<(u64, Job)> = arrival_order.iter().copied().zip(jobs.drain(..)).collect();
        keyed.sort_by_key(|(k, _)| *k);
        let mut jobs = vec![Job { tenant: 0, priority: 0, arrive: Duration::ZERO, due: None, units: 1, service: Duration::ZERO }];
        jobs.extend(keyed.into_iter().map(|(_, j)| j));
        let served = simulate(Box::new(EarliestDeadline), 1, &jobs, &[1.0])?;
        for s in &served {
            if let Some(due) = jobs[s.job].due {
                prop_assert!(s.end <= due, "job {} ended at {:?}, due {:?}", s.job, s.end, due);
            }
        }
    }

    /// Round-robin: between two grants to one backlogged tenant, every
    /// other backlogged tenant gets at most one.
    #[test]
    fn round_robin_serves_each_waiting_tenant_once_per_round(
        tenants in 2u32..6,
        per_tenant in 5usize..30,
    ) {
        let mut jobs = Vec::new();
        for i in 0..per_tenant {
            for t in 0..tenants {
                // Arrivals skewed: tenant 0 first in every batch.
                let _ = i;
                jobs.push(Job { tenant: t, priority: 0, arrive: Duration::ZERO, due: None, units: 1, service: ms(1) });
            }
        }
        let weights = vec![1.0; tenants as usize];
        let served = simulate(Box::new(RoundRobin::default()), 1, &jobs, &weights)?;
        let sequence: Vec<u32> = served.iter().skip(1).map(|s| jobs[s.job].tenant).collect();
        // Until some tenant runs out, grants cycle through all tenants.
        let full_rounds = (per_tenant - 1) * tenants as usize;
        for window in sequence[..full_rounds].chunks(tenants as usize) {
            let mut seen = window.to_vec();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), window.len(), "a tenant served twice in one round: {:?}", window);
        }
    }

    /// Jobs of several units never take more than is free and a large one
    /// is not starved by small ones behind it (no barging).
    #[test]
    fn mixed_sizes_never_exceed_capacity_and_all_are_served(
        sizes in proptest::collection::vec(1u64..4, 1..60),
        services in proptest::collection::vec(1u64..10, 60),
        gaps in proptest::collection::vec(0u64..3, 60),
    ) {
        let mut at = 0;
        let jobs: Vec<Job> = sizes.iter().zip(&services).zip(&gaps).enumerate().map(|(i, ((&units, &s), &g))| {
            at += g;
            Job { tenant: (i % 3) as u32, priority: (i % 4) as i32, arrive: ms(at), due: None, units, service: ms(s) }
        }).collect();
        for strategy in crate::StrategyKind::ALL {
            simulate(strategy.build(ms(5)), 3, &jobs, &[1.0, 2.0, 1.0])?;
        }
    }
}
